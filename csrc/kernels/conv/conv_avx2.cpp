// im2col / col2im and pooling compiled for the avx2 level (see conv_body.inc); only the fill
// functions have external linkage.
#include <immintrin.h>

#include "kernels/conv/conv.h"

namespace fe {
namespace conv {
namespace {
#include "kernels/conv/conv_body.inc"
}  // namespace

void fill_avx2(Kernels<float>* k) { fill_kernels(k); }
void fill_avx2(Kernels<double>* k) { fill_kernels(k); }

}  // namespace conv
}  // namespace fe
