// Matrix-vector products: gemv, gemv_multi (gemv_multi_w's float rows) and
// gemv_t (typed weights and GemvPanels: weights.h).
// Part of the SIMD kernels, included only through simd_kernels.h (one
// translation unit per ISA; everything in an anonymous namespace).
#pragma once

#include "common.h"

namespace edgeattn::detail {
namespace {

// The sums of 8 vectors into out[0..8): xsimd's haddp (a transpose-add)
// where 8 or 4 lanes make a vector; AVX-512 first adds each vector's 256-bit
// halves (xsimd 8.1's AVX-512 haddp needs AVX512DQ).
template <class A>
void hsum8(const fbatch<A>* v, float* out) {
  constexpr std::size_t W = fbatch<A>::size;
  if constexpr (W == 16) {  // AVX-512, the only 16-lane ISA
#if defined(__AVX512F__)
    xsimd::batch<float, xsimd::avx2> h[8];
    for (std::size_t i = 0; i < 8; ++i)
      h[i] = _mm256_add_ps(_mm512_castps512_ps256(v[i]),
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v[i]), 1)));
    xsimd::haddp(h).store_unaligned(out);
#endif
  } else {
    static_assert(8 % W == 0, "8 sums must be whole vectors");
    for (std::size_t j = 0; j < 8; j += W) xsimd::haddp(v + j).store_unaligned(out + j);
  }
}

// The sums of N vectors into out[0..N): one transpose-add for 8, else one
// horizontal sum each.
template <class A, std::size_t N>
EDGEATTN_ALWAYS_INLINE void hsum_n(const fbatch<A>* v, float* out) {
  if constexpr (N == 8) {
    hsum8<A>(v, out);
  } else {
    for (std::size_t j = 0; j < N; ++j) out[j] = hsum<A>(v[j]);
  }
}

// y = alpha A x + beta y, rows in blocks of 8: 8 FMA chains share each load
// of x, and one transpose-add reduces the block.
template <class A>
void gemv(std::size_t m, std::size_t k, float alpha, const float* a, std::size_t lda,
          const float* x, float beta, float* y) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size, R = 8;
  auto finish = [&](std::size_t i, float s) {
    y[i] = beta == 0.0f ? alpha * s : alpha * s + beta * y[i];
  };
  std::size_t i = 0;
  for (; i + R <= m; i += R) {
    const float* r = a + i * lda;
    F acc[R];
    for (std::size_t j = 0; j < R; ++j) acc[j] = F(0.0f);
    std::size_t p = 0;
    for (; p + W <= k; p += W) {
      EDGEATTN_MCA_BEGIN("gemv", R);
      const F xv = F::load_unaligned(x + p);
#pragma GCC unroll 8
      for (std::size_t j = 0; j < R; ++j) acc[j] = fmadd(F::load_unaligned(r + j * lda + p), xv, acc[j]);
      EDGEATTN_MCA_END("gemv", R);
    }
    if (p < k) {
      const F xv = load_tail<A>(x + p, k - p);
      for (std::size_t j = 0; j < R; ++j) acc[j] = fmadd(load_tail<A>(r + j * lda + p, k - p), xv, acc[j]);
    }
    float sums[R];
    hsum8<A>(acc, sums);
    for (std::size_t j = 0; j < R; ++j) finish(i + j, sums[j]);
  }
  for (; i < m; ++i) finish(i, dot<A>(a + i * lda, x, k));
}

// gemv_multi for NX products over R rows of A at a time: each vector of a
// row is loaded once for its NX chains and each vector of x once for the R
// rows (loads per FMA 1 / NX + 1 / R); R streams of A also keep more misses
// in flight than one: ResNet's 512 x 4608 weights streamed at 9 GB/s one row
// at a time. The next R rows (`next`, if any) are prefetched line by line
// alongside. Eight sums of one row reduce by one transpose-add.
template <class A, std::size_t NX, std::size_t R>
EDGEATTN_ALWAYS_INLINE void gemv_multi_rows(std::size_t k, const float* a, std::size_t lda, const float* x,
                                            std::size_t ldx, float* y, std::size_t ldy, const float* next) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size;
  F acc[R][NX];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t j = 0; j < NX; ++j) acc[r][j] = F(0.0f);
  std::size_t p = 0;
  for (; p + W <= k; p += W) {
    if (next && p % kLineFloats == 0) prefetch_rows<R>(next + p, lda * sizeof(float));
    F av[R];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < R; ++r) av[r] = F::load_unaligned(a + r * lda + p);
#pragma GCC unroll 8
    for (std::size_t j = 0; j < NX; ++j) {
      const F xv = F::load_unaligned(x + j * ldx + p);
#pragma GCC unroll 8
      for (std::size_t r = 0; r < R; ++r) acc[r][j] = fmadd(av[r], xv, acc[r][j]);
    }
  }
  if (p < k) {
    for (std::size_t j = 0; j < NX; ++j) {
      const F xv = load_tail<A>(x + j * ldx + p, k - p);
      for (std::size_t r = 0; r < R; ++r) acc[r][j] = fmadd(load_tail<A>(a + r * lda + p, k - p), xv, acc[r][j]);
    }
  }
  for (std::size_t r = 0; r < R; ++r) hsum_n<A, NX>(acc[r], y + r * ldy);
}

// Rows in blocks of R (the accumulators and R row vectors fit 16 registers
// where vectors are 4 or 8 lanes, 32 where 16), then one at a time.
template <class A, std::size_t NX>
void gemv_multi_n(std::size_t m, std::size_t k, const float* a, std::size_t lda, const float* x,
                  std::size_t ldx, float* y, std::size_t ldy) {
  constexpr std::size_t budget = fbatch<A>::size == 16 ? 16 : 8;
  constexpr std::size_t R = budget / NX > 4 ? 4 : budget / NX < 1 ? 1 : budget / NX;
  std::size_t i = 0;
  for (; i + R <= m; i += R)
    gemv_multi_rows<A, NX, R>(k, a + i * lda, lda, x, ldx, y + i * ldy, ldy, i + 2 * R <= m ? a + (i + R) * lda : nullptr);
  for (; i < m; ++i) gemv_multi_rows<A, NX, 1>(k, a + i * lda, lda, x, ldx, y + i * ldy, ldy, nullptr);
}

template <class A>
void gemv_multi(std::size_t m, std::size_t k, const float* a, std::size_t lda, const float* x,
                std::size_t ldx, std::size_t nx, float* y, std::size_t ldy) {
  switch (nx) {
    case 1: return gemv_multi_n<A, 1>(m, k, a, lda, x, ldx, y, ldy);
    case 2: return gemv_multi_n<A, 2>(m, k, a, lda, x, ldx, y, ldy);
    case 3: return gemv_multi_n<A, 3>(m, k, a, lda, x, ldx, y, ldy);
    case 4: return gemv_multi_n<A, 4>(m, k, a, lda, x, ldx, y, ldy);
    case 5: return gemv_multi_n<A, 5>(m, k, a, lda, x, ldx, y, ldy);
    case 6: return gemv_multi_n<A, 6>(m, k, a, lda, x, ldx, y, ldy);
    case 7: return gemv_multi_n<A, 7>(m, k, a, lda, x, ldx, y, ldy);
    case 8: return gemv_multi_n<A, 8>(m, k, a, lda, x, ldx, y, ldy);
    default: return;
  }
}

// y = alpha A^T x + beta y: columns in blocks of V vectors held in
// registers while the rows stream past, each row scaled by its x. V = 8
// keeps 8 independent FMA chains (latency 4 x 2 pipes) busy; narrower
// blocks take the columns left over. Rows go last to first: attention's
// context pass follows a scores pass that read the same rows (keys ==
// values) first to last, so it starts on the rows still in L1 (Luong
// decoder step, 50 x 256: 1.48 -> 1.15 us on a 32 KiB L1).
template <class A>
void gemv_t_finish(fbatch<A> acc, float* out, std::size_t count, float alpha, float beta) {
  using F = fbatch<A>;
  F r = F(alpha) * acc;
  if (beta != 0.0f)
    r = fmadd(F(beta), count == F::size ? F::load_unaligned(out) : load_tail<A>(out, count), r);
  if (count == F::size)
    r.store_unaligned(out);
  else
    store_tail<A>(out, count, r);
}

template <class A, std::size_t V>
std::size_t gemv_t_blocks(std::size_t m, std::size_t k, float alpha, const float* a, std::size_t lda,
                          const float* x, float beta, float* y, std::size_t j) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size;
  for (; j + V * W <= k; j += V * W) {
    F c[V];
    for (std::size_t v = 0; v < V; ++v) c[v] = F(0.0f);
    for (std::size_t i = m; i-- > 0;) {
      EDGEATTN_MCA_BEGIN("gemv_t", V);
      const float* r = a + i * lda + j;
      const F xi(x[i]);
      for (std::size_t v = 0; v < V; ++v) c[v] = fmadd(xi, F::load_unaligned(r + v * W), c[v]);
      EDGEATTN_MCA_END("gemv_t", V);
    }
    for (std::size_t v = 0; v < V; ++v) gemv_t_finish<A>(c[v], y + j + v * W, W, alpha, beta);
  }
  return j;
}

template <class A>
void gemv_t(std::size_t m, std::size_t k, float alpha, const float* a, std::size_t lda,
            const float* x, float beta, float* y) {
  using F = fbatch<A>;
  std::size_t j = gemv_t_blocks<A, 8>(m, k, alpha, a, lda, x, beta, y, 0);
  j = gemv_t_blocks<A, 4>(m, k, alpha, a, lda, x, beta, y, j);
  j = gemv_t_blocks<A, 1>(m, k, alpha, a, lda, x, beta, y, j);
  if (j < k) {  // the tail, through a zero-padded load
    const std::size_t count = k - j;
    F c(0.0f);
    for (std::size_t i = m; i-- > 0;) c = fmadd(F(x[i]), load_tail<A>(a + i * lda + j, count), c);
    gemv_t_finish<A>(c, y + j, count, alpha, beta);
  }
}

}  // namespace
}  // namespace edgeattn::detail
