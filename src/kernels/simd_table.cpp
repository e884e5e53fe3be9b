// Compiled once per ISA (see src/CMakeLists.txt), with that ISA's compiler
// flags and EDGEATTN_ISA_<NAME> defined; instantiates the xsimd kernels for
// it and exposes them as <name>_table().
#include "simd_kernels.h"

namespace edgeattn::detail {

// Accumulator tile rows (times two vectors) per register file: 16 registers
// (SSE, AVX2, ARMv7 NEON) hold 6 x 2; AArch64 NEON's 32 hold 12 x 2. AVX-512
// uses 8 x 2: it measured faster than 12 x 2 and 14 x 2 on Zen 5 (bench_kernels
// gemm/*), as its 16 accumulators already cover FMA latency x 2 pipes.
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
  static const KernelTable t = make_table<xsimd::avx512f, 8>(Isa::avx512);
  return t;
}
#elif defined(EDGEATTN_ISA_NEON)
const KernelTable& neon_table() {
  static const KernelTable t = make_table<xsimd::neon, 6>(Isa::neon);
  return t;
}
#elif defined(EDGEATTN_ISA_NEON64)
// 10 x 8, not the 12 x 8 that 32 registers allow: in llvm-mca's models
// (tools/mca_report.sh, docs/performance.md) every row count from 4 up
// keeps the A72 (A57 model) and A76 (Neoverse N1 model) FMA pipes full,
// while on the in-order A53 the 10-row tile models 0.50 of its FMA peak
// and the 12-row one 0.33. Each element's sum runs in the same order at
// any row count, so results are the same bits.
const KernelTable& neon64_table() {
  static const KernelTable t = make_table<xsimd::neon64, 10>(Isa::neon64);
  return t;
}
#else
#error "simd_table.cpp needs EDGEATTN_ISA_<NAME> defined"
#endif

}  // namespace edgeattn::detail
