// CPU feature detection and the ISA level every kernel family dispatches on.
#pragma once
#include <string>
#include <vector>

namespace fe {

enum class Isa { scalar = 0, avx2 = 1, avx512 = 2 };

// An environment setting as the FIRSTEPOCH_* variables read it: any case, surrounding whitespace ignored.
// Returns the value trimmed and lower-cased ("" when unset or blank); given (may be null) gets it trimmed
// only, for messages.
std::string env_setting(const char* var, std::string* given = nullptr);

const char* isa_name(Isa isa);
// Parses "scalar" | "avx2" | "avx512"; throws std::invalid_argument otherwise.
Isa isa_from_name(const std::string& name);

// What this CPU (and OS, for the register state) supports and this build compiled in.
bool cpu_supports(Isa isa);
std::vector<Isa> available_isas();

// The level in use: the best available, or FIRSTEPOCH_ISA if set (checked once, at first call).
Isa active_isa();
// Forces a level at run time (tests use it); throws std::runtime_error if the CPU lacks it.
void set_active_isa(Isa isa);

}  // namespace fe
