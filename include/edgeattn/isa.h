// Which instruction set the kernels run. Every kernel has a scalar
// reference and xsimd versions for the ISAs this build carries; the best one
// the CPU supports is picked once, at first use. It can be forced with
// set_isa() or the EDGEATTN_ISA environment variable ("scalar", "sse2",
// "sse41", "avx2", "avx512", "neon", "neon64", "auto").
#pragma once

#include <vector>

#include "edgeattn/status.h"

namespace edgeattn {

// Every ISA the project knows, named once; a build carries scalar and the
// ones its target compiles (cmake/EdgeattnIsa.cmake).
#define EDGEATTN_ISA_LIST(X) X(scalar) X(sse2) X(sse41) X(avx2) X(avx512) X(neon) X(neon64)

#define EDGEATTN_ISA_ENUMERATOR(name) name,
enum class Isa { EDGEATTN_ISA_LIST(EDGEATTN_ISA_ENUMERATOR) };
#undef EDGEATTN_ISA_ENUMERATOR

const char* isa_name(Isa isa);
// Parse a name as above ("auto" is not an Isa; see set_isa(const char*)).
Result<Isa> isa_from_name(const char* name);
// ISAs compiled into this binary and supported by this CPU (and OS), scalar
// first, best last.
std::vector<Isa> available_isas();
// The ISA whose kernels run now.
Isa active_isa();
// Force an ISA for all later kernel calls in this process; fails with
// `unsupported` if it is not available. Not meant to be flipped while other
// threads run kernels (they may see either table for a call in flight).
Status set_isa(Isa isa);
// The same by name; "auto" restores the best available ISA.
Status set_isa(const char* name);

}  // namespace edgeattn
