// Compiled once per ISA (see src/CMakeLists.txt), with that ISA's compiler
// flags and EDGEATTN_ISA_<NAME> defined; instantiates the xsimd kernels for
// it and exposes them as <name>_table().
#include "simd_kernels.h"

namespace edgeattn::detail {

// The accumulator tile rows per register file: 32 vector registers (AVX-512,
// AArch64 NEON) hold a 12 x 2 tile, 16 registers (SSE, AVX2, ARMv7 NEON) 6 x 2.
#if defined(EDGEATTN_ISA_SSE2)
const KernelTable& sse2_table() {
  static const KernelTable t = make_table<xsimd::sse2, 6>(Isa::sse2);
  return t;
}
#elif defined(EDGEATTN_ISA_SSE41)
const KernelTable& sse41_table() {
  static const KernelTable t = make_table<xsimd::sse4_1, 6>(Isa::sse41);
  return t;
}
#elif defined(EDGEATTN_ISA_AVX2)
const KernelTable& avx2_table() {
  static const KernelTable t = make_table<xsimd::fma3<xsimd::avx2>, 6>(Isa::avx2);
  return t;
}
#elif defined(EDGEATTN_ISA_AVX512)
const KernelTable& avx512_table() {
  static const KernelTable t = make_table<xsimd::avx512f, 12>(Isa::avx512);
  return t;
}
#elif defined(EDGEATTN_ISA_NEON)
const KernelTable& neon_table() {
  static const KernelTable t = make_table<xsimd::neon, 6>(Isa::neon);
  return t;
}
#elif defined(EDGEATTN_ISA_NEON64)
const KernelTable& neon64_table() {
  static const KernelTable t = make_table<xsimd::neon64, 12>(Isa::neon64);
  return t;
}
#else
#error "simd_table.cpp needs EDGEATTN_ISA_<NAME> defined"
#endif

}  // namespace edgeattn::detail
