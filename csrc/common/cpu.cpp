// cpuid/xgetbv based detection (x86) plus the FIRSTEPOCH_ISA override; other targets are scalar only.
#include "common/cpu.h"

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <stdexcept>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#define FE_X86 1
#include <cpuid.h>
#endif

namespace fe {

std::string env_setting(const char* var, std::string* given) {
  const char* env = std::getenv(var);
  std::string s(env ? env : "");
  const char* space = " \t\n\r\f\v";
  const auto first = s.find_first_not_of(space);
  s = first == std::string::npos ? "" : s.substr(first, s.find_last_not_of(space) - first + 1);
  if (given) *given = s;
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

Isa isa_from_name(const std::string& name) {
  if (name == "scalar") return Isa::scalar;
  if (name == "avx2") return Isa::avx2;
  if (name == "avx512") return Isa::avx512;
  throw std::invalid_argument("FIRSTEPOCH_ISA must be one of scalar, avx2, avx512; got '" + name + "'");
}

namespace {

struct Features {
  bool avx2_fma = false;
  bool avx512f = false;
};

Features detect() {
  Features f;
#ifdef FE_X86
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = ecx & (1u << 27);
  const bool fma = ecx & (1u << 12);
  const bool avx = ecx & (1u << 28);
  if (!osxsave || !avx) return f;
  unsigned xcr0_lo, xcr0_hi;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool ymm_state = (xcr0_lo & 0x6) == 0x6;
  const bool zmm_state = (xcr0_lo & 0xe6) == 0xe6;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return f;
  const bool avx2 = ebx & (1u << 5);
  const bool avx512f = ebx & (1u << 16);
  f.avx2_fma = ymm_state && avx2 && fma;
  f.avx512f = f.avx2_fma && zmm_state && avx512f;
#endif
  return f;
}

const Features& features() {
  static const Features f = detect();
  return f;
}

bool compiled_in(Isa isa) {
  switch (isa) {
    case Isa::scalar: return true;
    case Isa::avx2:
#ifdef FIRSTEPOCH_HAVE_AVX2
      return true;
#else
      return false;
#endif
    case Isa::avx512:
#ifdef FIRSTEPOCH_HAVE_AVX512
      return true;
#else
      return false;
#endif
  }
  return false;
}

Isa initial_isa() {
  // Any case, surrounding whitespace ignored ("AVX2", " avx2\n" mean avx2); empty or blank means unset.
  std::string given;  // the variable takes any case ("AVX2"); _C.set_isa takes the exact names
  const std::string name = env_setting("FIRSTEPOCH_ISA", &given);
  if (!name.empty()) {
    Isa want;
    try {
      want = isa_from_name(name);
    } catch (const std::invalid_argument&) {
      throw std::invalid_argument("FIRSTEPOCH_ISA must be one of scalar, avx2, avx512 (any case); got '" +
                                  given + "'");
    }
    if (!cpu_supports(want))
      throw std::runtime_error(std::string("FIRSTEPOCH_ISA=") + isa_name(want) +
                               " but this CPU (or this build) does not support it");
    return want;
  }
  auto av = available_isas();
  return av.back();
}

std::atomic<int> g_active{-1};

}  // namespace

bool cpu_supports(Isa isa) {
  if (!compiled_in(isa)) return false;
  switch (isa) {
    case Isa::scalar: return true;
    case Isa::avx2: return features().avx2_fma;
    case Isa::avx512: return features().avx512f;
  }
  return false;
}

std::vector<Isa> available_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512})
    if (cpu_supports(isa)) out.push_back(isa);
  return out;
}

Isa active_isa() {
  int v = g_active.load(std::memory_order_acquire);
  if (v < 0) {
    v = static_cast<int>(initial_isa());
    g_active.store(v, std::memory_order_release);
  }
  return static_cast<Isa>(v);
}

void set_active_isa(Isa isa) {
  if (!cpu_supports(isa))
    throw std::runtime_error(std::string("ISA '") + isa_name(isa) +
                             "' is not supported by this CPU or this build");
  g_active.store(static_cast<int>(isa), std::memory_order_release);
}

}  // namespace fe
