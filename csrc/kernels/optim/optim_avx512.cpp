// Fused optimizer updates compiled for the avx512 level (see optim_body.inc); only the fill functions
// have external linkage.
#include "kernels/optim/optim.h"

namespace fe {
namespace optim {
namespace {
#include "kernels/optim/optim_body.inc"
}  // namespace

void fill_avx512(Kernels<float>* k) { fill_kernels(k); }
void fill_avx512(Kernels<double>* k) { fill_kernels(k); }

}  // namespace optim
}  // namespace fe
