// Dispatch tables: one per kernel family and type, with one entry per ISA level, each filled once (on
// first use) by that level's fill function. A level not compiled into this build stays empty.
#include "dispatch.h"

#include <stdexcept>
#include <string>

namespace fe {
namespace {

#ifdef FIRSTEPOCH_HAVE_AVX2
constexpr bool kHaveAvx2 = true;
#else
constexpr bool kHaveAvx2 = false;
#endif
#ifdef FIRSTEPOCH_HAVE_AVX512
constexpr bool kHaveAvx512 = true;
#else
constexpr bool kHaveAvx512 = false;
#endif

template <class K>
struct Table {
  K entry[3] = {};
  bool filled[3] = {false, false, false};
};

template <class K>
Table<K> make_table() {
  Table<K> t;
  fill(&t.entry[0], IsaTag<Isa::scalar>{});
  t.filled[0] = true;
  if constexpr (kHaveAvx2) {
    fill(&t.entry[1], IsaTag<Isa::avx2>{});
    t.filled[1] = true;
  }
  if constexpr (kHaveAvx512) {
    fill(&t.entry[2], IsaTag<Isa::avx512>{});
    t.filled[2] = true;
  }
  return t;
}

// The table of family K (writable only for set_gemm_blocking).
template <class K>
K& entry(Isa isa) {
  static Table<K> table = make_table<K>();
  const int i = static_cast<int>(isa);
  if (!table.filled[i])
    throw std::runtime_error(std::string("no ") + K::kFamily + " kernels compiled for ISA " + isa_name(isa));
  return table.entry[i];
}

}  // namespace

template <class K>
const K& kernels(Isa isa) {
  return entry<K>(isa);
}

#define FE_FAMILY(K)                                   \
  template const K<float>& kernels<K<float>>(Isa);   \
  template const K<double>& kernels<K<double>>(Isa);
FE_FAMILY(gemm::UKernel)
FE_FAMILY(conv::Kernels)
FE_FAMILY(conv::direct::Kernels)
FE_FAMILY(conv::winograd::Transforms)
FE_FAMILY(pool::Kernels)
FE_FAMILY(norm::Kernels)
FE_FAMILY(optim::Kernels)
FE_FAMILY(rnn::Kernels)
FE_FAMILY(softmax::Kernels)
FE_FAMILY(interp::Kernels)
FE_FAMILY(activation::Kernels)
FE_FAMILY(attention::Kernels)
FE_FAMILY(reduce::Kernels)
#undef FE_FAMILY

void set_gemm_blocking(bool dbl, Isa isa, int mc, int kc, int nc) {
  auto apply = [&](auto& e) {
    if (mc % e.mr || nc % e.nr || mc <= 0 || kc <= 0 || nc <= 0)
      throw std::invalid_argument("blocking: mc must be a positive multiple of mr=" + std::to_string(e.mr) +
                                  " and nc of nr=" + std::to_string(e.nr));
    e.mc = mc;
    e.kc = kc;
    e.nc = nc;
  };
  if (dbl)
    apply(entry<gemm::UKernel<double>>(isa));
  else
    apply(entry<gemm::UKernel<float>>(isa));
}

}  // namespace fe
