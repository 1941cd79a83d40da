// Picks each kernel family's implementation for an ISA level. No math here.
#pragma once
#include "common/cpu.h"
#include "kernels/gemm/gemm.h"
#include "kernels/conv/conv.h"
#include "kernels/norm/norm.h"
#include "kernels/optim/optim.h"
#include "kernels/rnn/rnn.h"
#include "kernels/softmax/softmax.h"

namespace fe {

// The GEMM microkernel and its cache blocking for `isa` (for T = float or double).
template <class T>
const gemm::UKernel<T>& gemm_ukernel(Isa isa);

// The FMA throughput probe for `isa`: returns the flops done in `iters` rounds on one thread.
// The softmax-family row kernels for `isa`.
template <class T>
const softmax::Kernels<T>& softmax_kernels(Isa isa);

// im2col / col2im and pooling for `isa`.
template <class T>
const conv::Kernels<T>& conv_kernels(Isa isa);

// Batch normalisation for `isa`.
template <class T>
const norm::Kernels<T>& norm_kernels(Isa isa);

// The fused optimizer updates for `isa`.
template <class T>
const optim::Kernels<T>& optim_kernels(Isa isa);

// The recurrent layers' gate kernels for `isa`.
template <class T>
const rnn::Kernels<T>& rnn_kernels(Isa isa);

// Tuning only (bench/tune_gemm.py): overrides an ISA's cache blocking for float or double GEMM.
void set_gemm_blocking(bool dbl, Isa isa, int mc, int kc, int nc);

using ProbeFn = double (*)(int64_t);
ProbeFn fma_probe_fn(Isa isa);

}  // namespace fe
