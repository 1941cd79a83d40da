// Dispatch tables: one entry per ISA level for each kernel family, with that ISA's tuning.
// Blocking: B micro-panel (kc x nr) in L1, A block (mc x kc) in L2, B block (kc x nc) in L3;
// tuned on a Zen 4/5 core (48 KiB L1d, 1 MiB L2, 32 MiB shared L3).
#include "dispatch.h"

#include <stdexcept>
#include <string>

namespace fe {
namespace {
using gemm::UKernel;

struct Blocking {
  int mc, kc, nc;
};

template <class T>
struct GemmTable {
  UKernel<T> entry[3] = {};  // indexed by Isa; fn == nullptr where not compiled in
};

template <class T>
void add(GemmTable<T>& t, Isa isa, void (*fill)(UKernel<T>*), Blocking b) {
  UKernel<T>& e = t.entry[static_cast<int>(isa)];
  fill(&e);
  e.mc = b.mc;
  e.kc = b.kc;
  e.nc = b.nc;
}

GemmTable<float>& sgemm_table() {
  static GemmTable<float> t = [] {
    GemmTable<float> t;
    add(t, Isa::scalar, gemm::sgemm_ukernels_scalar, {128, 256, 4096});
#ifdef FIRSTEPOCH_HAVE_AVX2
    add(t, Isa::avx2, gemm::sgemm_ukernels_avx2, {144, 512, 4096});
#endif
#ifdef FIRSTEPOCH_HAVE_AVX512
    add(t, Isa::avx512, gemm::sgemm_ukernels_avx512, {140, 1024, 4096});
#endif
    return t;
  }();
  return t;
}

GemmTable<double>& dgemm_table() {
  static GemmTable<double> t = [] {
    GemmTable<double> t;
    add(t, Isa::scalar, gemm::dgemm_ukernels_scalar, {128, 256, 4096});
#ifdef FIRSTEPOCH_HAVE_AVX2
    add(t, Isa::avx2, gemm::dgemm_ukernels_avx2, {96, 512, 4096});
#endif
#ifdef FIRSTEPOCH_HAVE_AVX512
    add(t, Isa::avx512, gemm::dgemm_ukernels_avx512, {56, 512, 4096});
#endif
    return t;
  }();
  return t;
}

template <class T>
UKernel<T>& pick(GemmTable<T>& table, Isa isa) {
  UKernel<T>& entry = table.entry[static_cast<int>(isa)];
  if (!entry.fn) throw std::runtime_error(std::string("no kernel compiled for ISA ") + isa_name(isa));
  return entry;
}
}  // namespace

template <>
const gemm::UKernel<float>& gemm_ukernel<float>(Isa isa) {
  return pick(sgemm_table(), isa);
}
template <>
const gemm::UKernel<double>& gemm_ukernel<double>(Isa isa) {
  return pick(dgemm_table(), isa);
}

namespace {
#ifdef FIRSTEPOCH_HAVE_AVX2
#define FE_IF_AVX2(fn) fn
#else
#define FE_IF_AVX2(fn) nullptr
#endif
#ifdef FIRSTEPOCH_HAVE_AVX512
#define FE_IF_AVX512(fn) fn
#else
#define FE_IF_AVX512(fn) nullptr
#endif

// A kernel family's entries per ISA, filled by each ISA file's fill function (null where not built).
template <class K>
struct FamilyTable {
  K entry[3] = {};
  bool filled[3] = {false, false, false};
  FamilyTable(void (*scalar)(K*), void (*avx2)(K*), void (*avx512)(K*)) {
    void (*fills[3])(K*) = {scalar, avx2, avx512};
    for (int i = 0; i < 3; ++i)
      if (fills[i]) {
        fills[i](&entry[i]);
        filled[i] = true;
      }
  }
  const K& at(Isa isa, const char* family) const {
    const int i = static_cast<int>(isa);
    if (!filled[i]) throw std::runtime_error(std::string("no ") + family + " kernels compiled for ISA " + isa_name(isa));
    return entry[i];
  }
};
}  // namespace

template <class T>
const softmax::Kernels<T>& softmax_kernels(Isa isa) {
  using K = softmax::Kernels<T>;
  static const FamilyTable<K> table(softmax::fill_scalar, FE_IF_AVX2(softmax::fill_avx2),
                                    FE_IF_AVX512(softmax::fill_avx512));
  return table.at(isa, "softmax");
}
template const softmax::Kernels<float>& softmax_kernels<float>(Isa);
template const softmax::Kernels<double>& softmax_kernels<double>(Isa);

template <class T>
const optim::Kernels<T>& optim_kernels(Isa isa) {
  using K = optim::Kernels<T>;
  static const FamilyTable<K> table(optim::fill_scalar, FE_IF_AVX2(optim::fill_avx2),
                                    FE_IF_AVX512(optim::fill_avx512));
  return table.at(isa, "optimizer");
}
template const optim::Kernels<float>& optim_kernels<float>(Isa);
template const optim::Kernels<double>& optim_kernels<double>(Isa);

template <class T>
const conv::Kernels<T>& conv_kernels(Isa isa) {
  using K = conv::Kernels<T>;
  static const FamilyTable<K> table(conv::fill_scalar, FE_IF_AVX2(conv::fill_avx2), FE_IF_AVX512(conv::fill_avx512));
  return table.at(isa, "convolution");
}
template const conv::Kernels<float>& conv_kernels<float>(Isa);
template const conv::Kernels<double>& conv_kernels<double>(Isa);

template <class T>
const norm::Kernels<T>& norm_kernels(Isa isa) {
  using K = norm::Kernels<T>;
  static const FamilyTable<K> table(norm::fill_scalar, FE_IF_AVX2(norm::fill_avx2), FE_IF_AVX512(norm::fill_avx512));
  return table.at(isa, "batch-norm");
}
template const norm::Kernels<float>& norm_kernels<float>(Isa);
template const norm::Kernels<double>& norm_kernels<double>(Isa);

template <class T>
const rnn::Kernels<T>& rnn_kernels(Isa isa) {
  using K = rnn::Kernels<T>;
  static const FamilyTable<K> table(rnn::fill_scalar, FE_IF_AVX2(rnn::fill_avx2), FE_IF_AVX512(rnn::fill_avx512));
  return table.at(isa, "recurrent");
}
template const rnn::Kernels<float>& rnn_kernels<float>(Isa);
template const rnn::Kernels<double>& rnn_kernels<double>(Isa);

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
    apply(pick(dgemm_table(), isa));
  else
    apply(pick(sgemm_table(), isa));
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
