// Picks each kernel family's implementation for an ISA level. No math here.
#pragma once
#include "common/cpu.h"
#include "kernels/gemm/gemm.h"

namespace fe {

// The GEMM microkernel and its cache blocking for `isa` (for T = float or double).
template <class T>
const gemm::UKernel<T>& gemm_ukernel(Isa isa);

// The FMA throughput probe for `isa`: returns the flops done in `iters` rounds on one thread.
using ProbeFn = double (*)(int64_t);
ProbeFn fma_probe_fn(Isa isa);

}  // namespace fe
