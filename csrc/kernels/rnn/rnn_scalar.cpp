// Recurrent gate kernels compiled for the scalar level (see rnn_body.inc); only the fill functions have
// external linkage.
#include "kernels/rnn/rnn.h"

namespace fe {
namespace rnn {
namespace {
#include "kernels/rnn/rnn_body.inc"
}  // namespace

void fill_scalar(Kernels<float>* k) { fill_kernels(k); }
void fill_scalar(Kernels<double>* k) { fill_kernels(k); }

}  // namespace rnn
}  // namespace fe
