// Dispatch tables: one entry per ISA level for each kernel family, with that ISA's tuning.
// Blocking: B micro-panel (kc x nr) in L1, A block (mc x kc) in L2, B block (kc x nc) in L3;
// tuned on a Zen 4/5 core (48 KiB L1d, 1 MiB L2, 32 MiB shared L3).
#include "dispatch.h"

#include <stdexcept>
#include <string>

namespace fe {
namespace {
using gemm::UKernel;

UKernel<float> kSgemm[] = {
    {gemm::sgemm_ukernel_4x8_scalar, 4, 8, 128, 256, 4096, "sgemm_ukernel_4x8_scalar"},
#ifdef FIRSTEPOCH_HAVE_AVX2
    {gemm::sgemm_ukernel_6x16_avx2, 6, 16, 144, 256, 4096, "sgemm_ukernel_6x16_avx2"},
#else
    {nullptr, 0, 0, 0, 0, 0, nullptr},
#endif
#ifdef FIRSTEPOCH_HAVE_AVX512
    {gemm::sgemm_ukernel_14x32_avx512, 14, 32, 140, 256, 4096, "sgemm_ukernel_14x32_avx512"},
#else
    {nullptr, 0, 0, 0, 0, 0, nullptr},
#endif
};

UKernel<double> kDgemm[] = {
    {gemm::dgemm_ukernel_4x8_scalar, 4, 8, 128, 256, 4096, "dgemm_ukernel_4x8_scalar"},
#ifdef FIRSTEPOCH_HAVE_AVX2
    {gemm::dgemm_ukernel_6x8_avx2, 6, 8, 96, 256, 4096, "dgemm_ukernel_6x8_avx2"},
#else
    {nullptr, 0, 0, 0, 0, 0, nullptr},
#endif
#ifdef FIRSTEPOCH_HAVE_AVX512
    {gemm::dgemm_ukernel_14x16_avx512, 14, 16, 112, 256, 4096, "dgemm_ukernel_14x16_avx512"},
#else
    {nullptr, 0, 0, 0, 0, 0, nullptr},
#endif
};

template <class Table>
const auto& pick(const Table& table, Isa isa) {
  const auto& entry = table[static_cast<int>(isa)];
  if (!entry.fn) throw std::runtime_error(std::string("no kernel compiled for ISA ") + isa_name(isa));
  return entry;
}
}  // namespace

template <>
const gemm::UKernel<float>& gemm_ukernel<float>(Isa isa) {
  return pick(kSgemm, isa);
}
template <>
const gemm::UKernel<double>& gemm_ukernel<double>(Isa isa) {
  return pick(kDgemm, isa);
}

void set_gemm_blocking(bool dbl, Isa isa, int mc, int kc, int nc) {
  auto apply = [&](auto& e) {
    if (mc % e.mr || nc % e.nr || mc <= 0 || kc <= 0 || nc <= 0)
      throw std::invalid_argument("blocking: mc must be a positive multiple of mr=" + std::to_string(e.mr) +
                                  " and nc of nr=" + std::to_string(e.nr));
    e.mc = mc;
    e.kc = kc;
    e.nc = nc;
  };
  if (dbl) {
    pick(kDgemm, isa);
    apply(kDgemm[static_cast<int>(isa)]);
  } else {
    pick(kSgemm, isa);
    apply(kSgemm[static_cast<int>(isa)]);
  }
}

ProbeFn fma_probe_fn(Isa isa) {
  switch (isa) {
    case Isa::scalar: return gemm::fma_probe_scalar;
#ifdef FIRSTEPOCH_HAVE_AVX2
    case Isa::avx2: return gemm::fma_probe_avx2;
#endif
#ifdef FIRSTEPOCH_HAVE_AVX512
    case Isa::avx512: return gemm::fma_probe_avx512;
#endif
    default: break;
  }
  throw std::runtime_error(std::string("no probe compiled for ISA ") + isa_name(isa));
}

}  // namespace fe
