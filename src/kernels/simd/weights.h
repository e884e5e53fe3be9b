// Typed weights (weights.h) widened in registers: GEMV over typed rows, the
// recurrent step's GEMV over typed panels, and rows widened to floats for
// the GEMM's B panels. Part of the SIMD kernels, included only through
// simd_kernels.h (one translation unit per ISA; an anonymous namespace).
#pragma once

#include "common.h"
#include "gemv.h"

namespace edgeattn::detail {
namespace {

template <WeightType T>
constexpr std::size_t kParts = 4 / (T == WeightType::f32 ? 4 : T == WeightType::i8 ? 1 : 2);

#if defined(__aarch64__)
// f16 part B by fcvtl (exact for every finite half): the part's halves
// narrowed out of the words, then converted.
template <class A, std::size_t B>
EDGEATTN_ALWAYS_INLINE fbatch<A> fcvtl_f16(const ibatch<A>& w) {
  const uint32x4_t words = vreinterpretq_u32_s32(w);
  return vcvt_f32_f16(vreinterpret_f16_u16(B == 0 ? vmovn_u32(words) : vshrn_n_u32(words, 16)));
}
#endif

// Part B of a vector of words as floats: the elements l + 16 B of each
// word l (weights.h's lane groups). bf16 is the high half of a float.
// f16 is converted by AArch64's fcvtl; elsewhere its bits move into a
// float's places and one multiply rebiases the exponent (exact, subnormals
// included), or on ARMv7 NEON, which flushes float subnormals, integer
// operations alone do. x86's F16C (vcvtph2ps) is not used: the halves must
// first be gathered across lanes (vpmovdw, or vpshufb + vpermq), and on
// Zen 4 that measured no faster than the shifts with AVX-512
// (gemv_t_panels 256x768 f16: 10.4 us against 9.9) and slower with AVX2
// (12.1 against 9.6). int8 is sign-extended by two shifts and converted.
template <class A, WeightType T, std::size_t B>
EDGEATTN_ALWAYS_INLINE fbatch<A> widen_part(const ibatch<A>& w) {
  using I = ibatch<A>;
  using Ops = BatchOps<A>;
  if constexpr (T == WeightType::f32) {
    return Ops::from_bits(w);
  } else if constexpr (T == WeightType::bf16) {
    return Ops::from_bits(B == 0 ? I(w << 16) : I(w & I(static_cast<std::int32_t>(0xFFFF0000u))));
  } else if constexpr (T == WeightType::f16) {
#if defined(__aarch64__)
    return fcvtl_f16<A, B>(w);
#else
    using F = fbatch<A>;
    // the half in the top 16 bits, then sign in 31 (spread to 28-30 by the
    // arithmetic shift), exponent in 27-23, mantissa in 22-13: a float
    // 2^-112 times the half's value, subnormal halves included
    const I t = (B == 0 ? I(w << 16) : I(w & I(static_cast<std::int32_t>(0xFFFF0000u)))) >> 3;
    if constexpr (!std::is_same_v<A, xsimd::neon>) {
      return Ops::from_bits(t & I(static_cast<std::int32_t>(0x8FFFE000u))) * F(0x1p112f);
    } else {  // ARMv7 NEON flushes float subnormals: exponent rebiased in integers
      // (the subnormal test in integers: GCC compiles a float compare on
      // ARMv7 NEON lane by lane, NEON's flushing compare not being IEEE's;
      // llvm-mca, A57: 56 -> 23 cycles per 16 halves)
      const I o = t & I(0x0FFFE000);
      const I norm = o + I(0x38000000);
      const I sub = Ops::bits(Ops::from_bits(o | I(0x38800000)) - F(0x1p-14f));
      const I mag = xsimd::select(o < I(0x00800000), sub, norm);
      return Ops::from_bits(mag | (t & I(static_cast<std::int32_t>(0x80000000u))));
    }
#endif
  } else {
    const I q = B == 3 ? I(w >> 24) : I(I(w << (24 - 8 * B)) >> 24);
    return xsimd::batch_cast<float>(q);
  }
}

template <class A>
EDGEATTN_ALWAYS_INLINE ibatch<A> load_words(const void* row, std::size_t word) {
  return ibatch<A>::load_unaligned(static_cast<const std::int32_t*>(row) + word);
}

// R rows' dot products with x over the lane groups [g0, g1) (x where a
// part's elements fall past k: zeros, as the weights there): each vector
// of words is loaded once per row and each vector of x once for the R rows.
// (The parts' products are written out rather than looped over through a
// helper taking arrays by pointer: that kept the accumulators in memory,
// llvm-mca: the NEON panel loop 40 -> 48 cycles on a Cortex-A53, 16 -> 25
// on ARMv7's A57.)
template <class A, WeightType T, std::size_t R, bool Tail>
EDGEATTN_ALWAYS_INLINE void dot_groups_w(std::size_t g0, std::size_t g1, std::size_t k, const WeightRows& a,
                                         const float* x, fbatch<A>* acc) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size, P = kParts<T>, G = 16 * P;
  const auto* base = static_cast<const unsigned char*>(a.data);
  for (std::size_t g = g0; g < g1; ++g) {
    for (std::size_t s = 0; s < 16; s += W) {
      const auto x_at = [&](std::size_t b) {
        const std::size_t o = g * G + b * 16 + s;
        if constexpr (!Tail) return F::load_unaligned(x + o);
        return o < k ? load_n<A>(x + o, k - o < W ? k - o : W) : F(0.0f);
      };
      const F x0 = x_at(0), x1 = P > 1 ? x_at(1) : x0, x2 = P > 2 ? x_at(2) : x0, x3 = P > 2 ? x_at(3) : x0;
#pragma GCC unroll 8
      for (std::size_t r = 0; r < R; ++r) {
        const ibatch<A> w = load_words<A>(base + r * a.ld, g * 16 + s);
        acc[r] = fmadd(widen_part<A, T, 0>(w), x0, acc[r]);
        if constexpr (P > 1) acc[r] = fmadd(widen_part<A, T, 1>(w), x1, acc[r]);
        if constexpr (P > 2) {
          acc[r] = fmadd(widen_part<A, T, 2>(w), x2, acc[r]);
          acc[r] = fmadd(widen_part<A, T, 3>(w), x3, acc[r]);
        }
      }
    }
  }
}

// R rows' dot products with x over k elements into out; eight sums reduce
// by one transpose-add.
template <class A, WeightType T, std::size_t R>
EDGEATTN_ALWAYS_INLINE void dot_rows_w(std::size_t k, const WeightRows& a, const float* x, float* out) {
  using F = fbatch<A>;
  constexpr std::size_t G = 16 * kParts<T>;
  F acc[R];
  for (std::size_t r = 0; r < R; ++r) acc[r] = F(0.0f);
  const std::size_t full = k / G;
  dot_groups_w<A, T, R, false>(0, full, k, a, x, acc);
  if (full * G < k) dot_groups_w<A, T, R, true>(full, full + 1, k, a, x, acc);
  hsum_n<A, R>(acc, out);
}

// y[i] = alpha (scale[i] sum_c a[i][c] x[c]) + beta y[i] (beta 0: y not
// read), R rows at a time: R word vectors and R accumulators stay in
// registers (8 of each where there are 32).
template <class A, WeightType T>
void gemv_w_typed(std::size_t m, std::size_t k, float alpha, const WeightRows& a, const float* x,
                  float beta, float* y) {
  constexpr std::size_t R = fbatch<A>::size == 16 ? 8 : 4;
  const auto finish = [&](std::size_t i, float s) {
    if (a.scale) s *= a.scale[i];
    y[i] = beta == 0.0f ? alpha * s : alpha * s + beta * y[i];
  };
  std::size_t i = 0;
  float sums[R];
  for (; i + R <= m; i += R) {
    dot_rows_w<A, T, R>(k, a.from_row(i), x, sums);
    for (std::size_t r = 0; r < R; ++r) finish(i + r, sums[r]);
  }
  for (; i < m; ++i) {
    dot_rows_w<A, T, 1>(k, a.from_row(i), x, sums);
    finish(i, sums[0]);
  }
}

template <class A>
void gemv_w(std::size_t m, std::size_t k, float alpha, WeightRows a, const float* x, float beta,
            float* y) {
  switch (a.type) {
    case WeightType::f32:
      if (a.scale) return gemv_w_typed<A, WeightType::f32>(m, k, alpha, a, x, beta, y);
      return gemv<A>(m, k, alpha, static_cast<const float*>(a.data), a.ld / sizeof(float), x, beta, y);
    case WeightType::bf16: return gemv_w_typed<A, WeightType::bf16>(m, k, alpha, a, x, beta, y);
    case WeightType::f16: return gemv_w_typed<A, WeightType::f16>(m, k, alpha, a, x, beta, y);
    case WeightType::i8: return gemv_w_typed<A, WeightType::i8>(m, k, alpha, a, x, beta, y);
  }
}

// R rows against NX vectors x (ldx apart) over k elements, y[r ldy + j]
// (times the rows' int8 scales): each row's vector of words widened once
// for the NX products, each vector of x loaded once for the R rows.
// A part whose elements start past k is skipped (x there is not ours).
// The next R rows' words (`next`, if any) are prefetched as gemv_multi_rows
// does.
template <class A, WeightType T, std::size_t R, std::size_t NX>
EDGEATTN_ALWAYS_INLINE void multi_rows_w(std::size_t k, const WeightRows& a, const float* x, std::size_t ldx,
                                         float* y, std::size_t ldy, const unsigned char* next) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size, P = kParts<T>, G = 16 * P;
  F acc[R][NX];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t j = 0; j < NX; ++j) acc[r][j] = F(0.0f);
  const auto* base = static_cast<const unsigned char*>(a.data);
  static_assert(16 * sizeof(std::uint32_t) == kLineBytes, "a group's words per row are one line");
  for (std::size_t g = 0; g * G < k; ++g) {
    if (next) prefetch_rows<R>(next + g * kLineBytes, a.ld);
    for (std::size_t s = 0; s < 16; s += W) {
      F part[R][P];
#pragma GCC unroll 8
      for (std::size_t r = 0; r < R; ++r) {
        const ibatch<A> w = load_words<A>(base + r * a.ld, g * 16 + s);
        part[r][0] = widen_part<A, T, 0>(w);
        if constexpr (P > 1) part[r][1] = widen_part<A, T, 1>(w);
        if constexpr (P > 2) part[r][2] = widen_part<A, T, 2>(w), part[r][3] = widen_part<A, T, 3>(w);
      }
#pragma GCC unroll 4
      for (std::size_t b = 0; b < P; ++b) {
        const std::size_t o = g * G + b * 16 + s;
        if (o >= k) continue;
        const std::size_t n = k - o < W ? k - o : W;
#pragma GCC unroll 8
        for (std::size_t j = 0; j < NX; ++j) {
          const F xv = load_n<A>(x + j * ldx + o, n);
#pragma GCC unroll 8
          for (std::size_t r = 0; r < R; ++r) acc[r][j] = fmadd(part[r][b], xv, acc[r][j]);
        }
      }
    }
  }
  for (std::size_t r = 0; r < R; ++r) {
    float sums[NX];
    hsum_n<A, NX>(acc[r], sums);
    const float scale = a.scale ? a.scale[r] : 1.0f;
    for (std::size_t j = 0; j < NX; ++j) y[r * ldy + j] = sums[j] * scale;
  }
}

// Rows in blocks of R as gemv_multi_n, then one at a time.
template <class A, WeightType T, std::size_t NX>
void gemv_multi_w_n(std::size_t m, std::size_t k, const WeightRows& a, const float* x, std::size_t ldx,
                    float* y, std::size_t ldy) {
  constexpr std::size_t budget = fbatch<A>::size == 16 ? 16 : 8;
  constexpr std::size_t R = budget / NX > 2 ? 2 : budget / NX < 1 ? 1 : budget / NX;
  std::size_t i = 0;
  for (; i + R <= m; i += R)
    multi_rows_w<A, T, R, NX>(k, a.from_row(i), x, ldx, y + i * ldy, ldy,
                              i + 2 * R <= m ? static_cast<const unsigned char*>(a.from_row(i + R).data) : nullptr);
  for (; i < m; ++i) multi_rows_w<A, T, 1, NX>(k, a.from_row(i), x, ldx, y + i * ldy, ldy, nullptr);
}

template <class A, WeightType T>
void gemv_multi_typed(std::size_t m, std::size_t k, const WeightRows& a, const float* x, std::size_t ldx,
                      std::size_t nx, float* y, std::size_t ldy) {
  switch (nx) {
    case 1: return gemv_multi_w_n<A, T, 1>(m, k, a, x, ldx, y, ldy);
    case 2: return gemv_multi_w_n<A, T, 2>(m, k, a, x, ldx, y, ldy);
    case 3: return gemv_multi_w_n<A, T, 3>(m, k, a, x, ldx, y, ldy);
    case 4: return gemv_multi_w_n<A, T, 4>(m, k, a, x, ldx, y, ldy);
    case 5: return gemv_multi_w_n<A, T, 5>(m, k, a, x, ldx, y, ldy);
    case 6: return gemv_multi_w_n<A, T, 6>(m, k, a, x, ldx, y, ldy);
    case 7: return gemv_multi_w_n<A, T, 7>(m, k, a, x, ldx, y, ldy);
    case 8: return gemv_multi_w_n<A, T, 8>(m, k, a, x, ldx, y, ldy);
    default: return;
  }
}

template <class A>
void gemv_multi_w(std::size_t m, std::size_t k, WeightRows a, const float* x, std::size_t ldx, std::size_t nx,
                  float* y, std::size_t ldy) {
  switch (a.type) {
    case WeightType::f32:
      if (a.scale) return gemv_multi_typed<A, WeightType::f32>(m, k, a, x, ldx, nx, y, ldy);
      return gemv_multi<A>(m, k, static_cast<const float*>(a.data), a.ld / sizeof(float), x, ldx, nx, y, ldy);
    case WeightType::bf16: return gemv_multi_typed<A, WeightType::bf16>(m, k, a, x, ldx, nx, y, ldy);
    case WeightType::f16: return gemv_multi_typed<A, WeightType::f16>(m, k, a, x, ldx, nx, y, ldy);
    case WeightType::i8: return gemv_multi_typed<A, WeightType::i8>(m, k, a, x, ldx, nx, y, ldy);
  }
}

// Row 0's elements [begin, begin + n) dequantized into y, a lane group at
// a time; a group the range covers in part is widened whole (rows are
// whole groups) into a tile and the range's part copied: short rows (a 1x1
// conv's 16 to 48 input channels, in int8 less than a group) element by
// element took a fifth of an int8 MobileNet's time.
template <class A, WeightType T>
void widen_typed(const WeightRows& a, std::size_t begin, std::size_t n, float* y) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size, G = 16 * kParts<T>;
  const F scale(a.scale ? a.scale[0] : 1.0f);
  const auto group = [&](std::size_t gi, float* out) {
    for (std::size_t s = 0; s < 16; s += W) {
      const ibatch<A> w = load_words<A>(a.data, gi * 16 + s);
      (widen_part<A, T, 0>(w) * scale).store_unaligned(out + s);
      if constexpr (kParts<T> > 1) (widen_part<A, T, 1>(w) * scale).store_unaligned(out + s + 16);
      if constexpr (kParts<T> > 2) {
        (widen_part<A, T, 2>(w) * scale).store_unaligned(out + s + 32);
        (widen_part<A, T, 3>(w) * scale).store_unaligned(out + s + 48);
      }
    }
  };
  const std::size_t end = begin + n;
  for (std::size_t c = begin; c < end;) {
    const std::size_t gi = c / G, lo = c % G, hi = end - gi * G < G ? end - gi * G : G;
    if (lo == 0 && hi == G) {
      group(gi, y + c - begin);
    } else {
      alignas(64) float tile[G];
      group(gi, tile);
      std::memcpy(y + c - begin, tile + lo, (hi - lo) * sizeof(float));
    }
    c = gi * G + hi;
  }
}

template <class A>
void widen_w(WeightRows a, std::size_t begin, std::size_t n, float* y) {
  switch (a.type) {
    case WeightType::f32: return widen_typed<A, WeightType::f32>(a, begin, n, y);
    case WeightType::bf16: return widen_typed<A, WeightType::bf16>(a, begin, n, y);
    case WeightType::f16: return widen_typed<A, WeightType::f16>(a, begin, n, y);
    case WeightType::i8: return widen_typed<A, WeightType::i8>(a, begin, n, y);
  }
}

// y = A^T x (* scale) (+ bias) over GemvPanels' rows (a panel's row i holds
// its 64 outputs of input i in lane groups): NV vectors of words per pass
// (NV x parts accumulators, at most 8) stay in registers while the panel's
// rows stream past. Word vector v of a row holds, in part b, the outputs
// v W / 16 G + 16 b + v W % 16 onward.
// (llvm-mca's regions, one name per type: the names may hold no digits)
#define EDGEATTN_PANEL_MCA(MARK)                                                   \
  if constexpr (T == WeightType::f32) { MARK("gemv_t_panels", NV); }               \
  else if constexpr (T == WeightType::bf16) { MARK("gemv_t_panels_bfloat", NV); }  \
  else if constexpr (T == WeightType::f16) { MARK("gemv_t_panels_half", NV); }     \
  else { MARK("gemv_t_panels_int", NV); }
template <class A, WeightType T, std::size_t NV>
EDGEATTN_ALWAYS_INLINE void panel_pass(std::size_t m, const WeightRows& pa, std::size_t v0, const float* x,
                                       const float* scale, const float* bias, float* y, std::size_t outs) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size, P = kParts<T>, G = 16 * P;
  F c[NV * P];  // word vector v's part b at v P + b
  for (std::size_t q = 0; q < NV * P; ++q) c[q] = F(0.0f);
  const auto* row = static_cast<const unsigned char*>(pa.data);
  for (std::size_t i = 0; i < m; ++i, row += pa.ld) {
    EDGEATTN_PANEL_MCA(EDGEATTN_MCA_BEGIN)
    const F xi(x[i]);
#pragma GCC unroll 8
    for (std::size_t v = 0; v < NV; ++v) {
      const ibatch<A> w = load_words<A>(row, (v0 + v) * W);
      c[v * P] = fmadd(xi, widen_part<A, T, 0>(w), c[v * P]);
      if constexpr (P > 1) c[v * P + 1] = fmadd(xi, widen_part<A, T, 1>(w), c[v * P + 1]);
      if constexpr (P > 2) {
        c[v * P + 2] = fmadd(xi, widen_part<A, T, 2>(w), c[v * P + 2]);
        c[v * P + 3] = fmadd(xi, widen_part<A, T, 3>(w), c[v * P + 3]);
      }
    }
    EDGEATTN_PANEL_MCA(EDGEATTN_MCA_END)
  }
#pragma GCC unroll 8
  for (std::size_t v = 0; v < NV; ++v) {
    const std::size_t word = (v0 + v) * W;
#pragma GCC unroll 4
    for (std::size_t b = 0; b < P; ++b) {
      const std::size_t j = word / 16 * G + b * 16 + word % 16;
      if (j >= outs) continue;
      const std::size_t cnt = outs - j < W ? outs - j : W;
      F r = c[v * P + b];
      if (scale) r = r * load_n<A>(scale + j, cnt);
      if (bias) r = r + load_n<A>(bias + j, cnt);
      store_n<A>(y + j, cnt, r);
    }
  }
}
#undef EDGEATTN_PANEL_MCA

template <class A, WeightType T>
void gemv_t_panels_typed(std::size_t m, std::size_t n, const WeightRows& pa, const float* scale,
                         const float* x, const float* bias, float* y, bool backward) {
  constexpr std::size_t P = kernels::GemvPanels::kPanel, W = fbatch<A>::size;
  constexpr std::size_t vectors = P / kParts<T> / W;  // word vectors in a panel's row
  // ARMv7's f16 widening holds 7 constants in its 16 registers: with 8
  // accumulators 3 spill (llvm-mca, A57: 35 cycles per 16 halves; with 4, 23)
  constexpr std::size_t acc = std::is_same_v<A, xsimd::neon> && T == WeightType::f16 ? 4 : 8;
  constexpr std::size_t NV = acc / kParts<T> < vectors ? acc / kParts<T> : vectors;
  static_assert(vectors % NV == 0, "a panel's row is whole passes");
  const std::size_t panels = (n + P - 1) / P;
  for (std::size_t q = 0; q < panels; ++q) {
    const std::size_t p = backward ? panels - 1 - q : q, j0 = p * P;
    const std::size_t outs = n - j0 < P ? n - j0 : P;
    for (std::size_t v0 = 0; v0 < vectors; v0 += NV)
      panel_pass<A, T, NV>(m, pa.from_row(p * m), v0, x, scale ? scale + j0 : nullptr,
                           bias ? bias + j0 : nullptr, y + j0, outs);
  }
}

template <class A>
void gemv_t_panels(std::size_t m, std::size_t n, WeightRows pa, const float* scale, const float* x,
                   const float* bias, float* y, bool backward) {
  switch (pa.type) {
    case WeightType::f32: return gemv_t_panels_typed<A, WeightType::f32>(m, n, pa, scale, x, bias, y, backward);
    case WeightType::bf16: return gemv_t_panels_typed<A, WeightType::bf16>(m, n, pa, scale, x, bias, y, backward);
    case WeightType::f16: return gemv_t_panels_typed<A, WeightType::f16>(m, n, pa, scale, x, bias, y, backward);
    case WeightType::i8: return gemv_t_panels_typed<A, WeightType::i8>(m, n, pa, scale, x, bias, y, backward);
  }
}

}  // namespace
}  // namespace edgeattn::detail
