// Recurrent gate kernels compiled for the avx512 level (see rnn_body.inc); only the fill functions have
// external linkage.
#include <immintrin.h>

#include "kernels/rnn/rnn.h"

namespace fe {
namespace rnn {
namespace {
#include "kernels/rnn/rnn_body.inc"
}  // namespace

void fill_avx512(Kernels<float>* k) { fill_kernels(k); }
void fill_avx512(Kernels<double>* k) { fill_kernels(k); }

}  // namespace rnn
}  // namespace fe
