// Softmax-family row kernels compiled for the avx2 level (see softmax_rows.inc); only the fill
// functions have external linkage.
#include "kernels/softmax/softmax.h"

namespace fe {
namespace softmax {
namespace {
#include "kernels/softmax/softmax_rows.inc"
}  // namespace

void fill_avx2(Kernels<float>* k) { fill_kernels(k); }
void fill_avx2(Kernels<double>* k) { fill_kernels(k); }

}  // namespace softmax
}  // namespace fe
