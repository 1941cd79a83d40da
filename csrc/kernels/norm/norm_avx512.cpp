// Batch-norm loops compiled for the avx512 level (see norm_body.inc); only the fill functions have
// external linkage.
#include "kernels/norm/norm.h"

namespace fe {
namespace norm {
namespace {
#include "kernels/norm/norm_body.inc"
}  // namespace

void fill_avx512(Kernels<float>* k) { fill_kernels(k); }
void fill_avx512(Kernels<double>* k) { fill_kernels(k); }

}  // namespace norm
}  // namespace fe
