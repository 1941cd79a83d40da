// Picks each kernel family's implementation for an ISA level: one table per family, one mechanism for
// all of them. No math here. A family is a struct of function pointers (gemm::UKernel<T>,
// conv::Kernels<T>, ...) with a kFamily name and a fill(K*, IsaTag<I>) per level in its <family>_isa.cpp.
#pragma once
#include <cstdint>

#include "common/cpu.h"
#include "kernels/activation/activation.h"
#include "kernels/attention/attention.h"
#include "kernels/conv/conv.h"
#include "kernels/conv/direct.h"
#include "kernels/conv/winograd.h"
#include "kernels/gemm/gemm.h"
#include "kernels/interp/interp.h"
#include "kernels/norm/norm.h"
#include "kernels/optim/optim.h"
#include "kernels/pool/pool.h"
#include "kernels/reduce/reduce.h"
#include "kernels/rnn/rnn.h"
#include "kernels/softmax/softmax.h"

namespace fe {

// The kernels of family K (e.g. conv::Kernels<float>) for `isa`, the active level by default; throws
// std::runtime_error if that level was not compiled in.
template <class K>
const K& kernels(Isa isa);
template <class K>
const K& kernels() {
  return kernels<K>(active_isa());
}

// Tuning only (bench/tune_gemm.py): overrides an ISA's cache blocking for float or double GEMM.
void set_gemm_blocking(bool dbl, Isa isa, int mc, int kc, int nc);

}  // namespace fe
