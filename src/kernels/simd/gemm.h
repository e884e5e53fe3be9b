// The GEMM micro-kernel over packed B panels, and the FMA peak probe.
// Part of the SIMD kernels, included only through simd_kernels.h (one
// translation unit per ISA; everything in an anonymous namespace).
#pragma once

#include "common.h"

namespace edgeattn::detail {
namespace {

// One k-step of the micro-kernel's tile: element p of each row stream
// broadcast against the two vectors of the packed B panel at b.
template <class A, std::size_t MR>
EDGEATTN_ALWAYS_INLINE void micro_step(const float* const (&ar)[MR], std::size_t p, const float* b,
                                       fbatch<A> (&acc0)[MR], fbatch<A> (&acc1)[MR]) {
  using F = fbatch<A>;
  const F b0 = F::load_aligned(b);
  const F b1 = F::load_aligned(b + F::size);
#pragma GCC unroll 16
  for (std::size_t i = 0; i < MR; ++i) {
    const F ai(ar[i][p]);
    acc0[i] = fmadd(ai, b0, acc0[i]);
    acc1[i] = fmadd(ai, b1, acc1[i]);
  }
}

// The GEMM micro-kernel: an MR x 2W tile of C held in 2*MR registers; each
// step broadcasts one element from each of MR rows of A (read in place, as
// XNNPACK does: MR sequential streams) against two vectors of the packed,
// 64-byte-aligned B panel; then the same rows against the next panel. Rows
// past `rows` re-read the last valid row; their results land in the
// caller's scratch tile and are dropped. The epilogue (bias, activation)
// runs on the registers before the store. A tile of at most half the rows
// runs the half-height kernel (each element's FMA sequence, so its bits,
// are the same): 50 rows of 8 then cost 52 row-passes, not 56.
template <class A, std::size_t MR>
void gemm_micro(std::size_t kc, const float* a, std::size_t lda, std::size_t rows,
                const float* pb, std::size_t panels, std::size_t ldpb, float* c, std::size_t ldc,
                float alpha, float beta, const float* bias, Activation act) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size;
  if constexpr (MR >= 6 && MR % 2 == 0)
    if (rows <= MR / 2)
      return gemm_micro<A, MR / 2>(kc, a, lda, rows, pb, panels, ldpb, c, ldc, alpha, beta, bias, act);
  const float* ar[MR];
#pragma GCC unroll 16
  for (std::size_t i = 0; i < MR; ++i) ar[i] = a + (i < rows ? i : rows - 1) * lda;
  const F va(alpha), vb(beta);
  for (std::size_t q = 0; q < panels; ++q, pb += ldpb, c += 2 * W) {
    F acc0[MR], acc1[MR];
#pragma GCC unroll 16
    for (std::size_t i = 0; i < MR; ++i) acc0[i] = acc1[i] = F(0.0f);
    const float* b = pb;
    for (std::size_t p = 0; p < kc; ++p, b += 2 * W) {
      EDGEATTN_MCA_BEGIN("gemm_micro", MR);
      micro_step<A, MR>(ar, p, b, acc0, acc1);
      EDGEATTN_MCA_END("gemm_micro", MR);
    }
#pragma GCC unroll 16
    for (std::size_t i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
      F r0 = va * acc0[i], r1 = va * acc1[i];
      if (beta != 0.0f) {
        r0 = fmadd(vb, F::load_unaligned(ci), r0);
        r1 = fmadd(vb, F::load_unaligned(ci + W), r1);
      }
      if (bias) {  // broadcast here: held across the k-loop, MR more registers spilled (llvm-mca)
        const F b(bias[i < rows ? i : rows - 1]);
        r0 += b, r1 += b;
      }
      if (act != Activation::none) r0 = activation<A>(act, r0), r1 = activation<A>(act, r1);
      r0.store_unaligned(ci);
      r1.store_unaligned(ci + W);
    }
  }
}

// gemm_narrow on MR rows against NV vectors of B's row: MR * NV
// accumulators, each element of A broadcast once for its NV FMAs.
template <class A, std::size_t NV, std::size_t MR>
EDGEATTN_ALWAYS_INLINE void narrow_rows(std::size_t k, const float* a, std::size_t lda, const float* b,
                                        std::size_t n, float* c, std::size_t ldc) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size, L = kernels::kNarrowCols;
  F acc[MR][NV];
#pragma GCC unroll 24
  for (std::size_t i = 0; i < MR; ++i)
    for (std::size_t v = 0; v < NV; ++v) acc[i][v] = F(0.0f);
  for (std::size_t p = 0; p < k; ++p) {
    EDGEATTN_MCA_BEGIN("gemm_narrow", MR);
    F bv[NV];
#pragma GCC unroll 4
    for (std::size_t v = 0; v < NV; ++v) bv[v] = F::load_unaligned(b + p * L + v * W);
#pragma GCC unroll 24
    for (std::size_t i = 0; i < MR; ++i) {
      const F ai(a[i * lda + p]);
#pragma GCC unroll 4
      for (std::size_t v = 0; v < NV; ++v) acc[i][v] = fmadd(ai, bv[v], acc[i][v]);
    }
    EDGEATTN_MCA_END("gemm_narrow", MR);
  }
  for (std::size_t i = 0; i < MR; ++i)
    for (std::size_t v = 0; v < NV; ++v)
      if (v * W < n) store_n<A>(c + i * ldc + v * W, n - v * W < W ? n - v * W : W, acc[i][v]);
}

// Rows in blocks filling the vector registers (32 on AVX-512 and AArch64,
// 16 elsewhere) beside B's NV vectors and the broadcast, at most 24, then
// in blocks of 4 and one at a time. MR row streams of A also keep that many misses
// in flight when A comes from DRAM.
template <class A, std::size_t NV>
void gemm_narrow_nv(std::size_t m, std::size_t k, const float* a, std::size_t lda, const float* b, std::size_t n,
                    float* c, std::size_t ldc) {
#if defined(__aarch64__)
  constexpr std::size_t regs = 32;
#else
  constexpr std::size_t regs = fbatch<A>::size == 16 ? 32 : 16;
#endif
  constexpr std::size_t fit = (regs - NV - 1) / NV, MR = fit < 24 ? fit : 24;
  constexpr std::size_t MR4 = MR < 4 ? MR : 4;
  std::size_t i = 0;
  for (; i + MR <= m; i += MR) narrow_rows<A, NV, MR>(k, a + i * lda, lda, b, n, c + i * ldc, ldc);
  for (; i + MR4 <= m; i += MR4) narrow_rows<A, NV, MR4>(k, a + i * lda, lda, b, n, c + i * ldc, ldc);
  for (; i < m; ++i) narrow_rows<A, NV, 1>(k, a + i * lda, lda, b, n, c + i * ldc, ldc);
}

template <class A>
void gemm_narrow(std::size_t m, std::size_t k, const float* a, std::size_t lda, const float* b, std::size_t n,
                 float* c, std::size_t ldc) {
  constexpr std::size_t W = fbatch<A>::size;
  static_assert(kernels::kNarrowCols % W == 0, "B's rows are whole vectors");
  switch ((n + W - 1) / W) {
    case 1: return gemm_narrow_nv<A, 1>(m, k, a, lda, b, n, c, ldc);
    case 2: return gemm_narrow_nv<A, 2>(m, k, a, lda, b, n, c, ldc);
    case 3: return gemm_narrow_nv<A, 3>(m, k, a, lda, b, n, c, ldc);
    case 4: return gemm_narrow_nv<A, 4>(m, k, a, lda, b, n, c, ldc);
    default: return;
  }
}

// Independent FMA chains, enough to cover FMA latency x throughput on every
// core this targets (4 cycles x 2 pipes needs 8; 12 leaves margin). Each
// chain runs through the addend, as the kernels accumulate: ARM cores
// forward an FMA's result to the next one's accumulator early, not to its
// multiplicands (chained through a multiplicand, llvm-mca's A57 model gives
// half the rate).
template <class A>
double fma_peak(std::size_t iters, float* sink) {
  using F = fbatch<A>;
  constexpr int kChains = 12;
  // Twelve named accumulators: GCC keeps an array of them on the stack on
  // AArch64 and stores it every iteration, which halves the rate there.
#define EDGEATTN_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define EDGEATTN_CHAIN_INIT(j) F c##j(static_cast<float>(j));
#define EDGEATTN_CHAIN_STEP(j) c##j = fmadd(a, b, c##j);
#define EDGEATTN_CHAIN_SUM(j) +c##j
  EDGEATTN_CHAINS(EDGEATTN_CHAIN_INIT)
  const F a(0.999f), b(1e-3f);
  for (std::size_t i = 0; i < iters; ++i) {
    EDGEATTN_MCA_BEGIN("fma_peak", kChains);
    EDGEATTN_CHAINS(EDGEATTN_CHAIN_STEP)
    EDGEATTN_MCA_END("fma_peak", kChains);
  }
  *sink = hsum<A>(F(0.0f) EDGEATTN_CHAINS(EDGEATTN_CHAIN_SUM));
#undef EDGEATTN_CHAIN_SUM
#undef EDGEATTN_CHAIN_STEP
#undef EDGEATTN_CHAIN_INIT
#undef EDGEATTN_CHAINS
  return 2.0 * kChains * F::size * static_cast<double>(iters);
}

}  // namespace
}  // namespace edgeattn::detail
