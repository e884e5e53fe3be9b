// Direct 2-D convolution rows (depthwise and few-channel convolutions), and
// the block copies that lay out their inputs (copy_rows), and max pooling
// rows.
// Part of the SIMD kernels, included only through simd_kernels.h (one
// translation unit per ISA; everything in an anonymous namespace).
#pragma once

#include "../module_kernels.h"
#include "activations.h"
#include "common.h"

namespace edgeattn::detail {
namespace {

template <class A>
void copy_rows(const float* x, std::size_t ldx, std::size_t rows, std::size_t n, float* y, std::size_t ldy) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size;
  for (std::size_t r = 0; r < rows; ++r, x += ldx, y += ldy) {
    std::size_t c = 0;
    for (; c + W <= n; c += W) F::load_unaligned(x + c).store_unaligned(y + c);
    if (c < n) store_tail<A>(y + c, n - c, load_tail<A>(x + c, n - c));
  }
}

template <class A>
void im2col_plane(const float* x, std::size_t ldx, std::size_t kh, std::size_t kw, std::size_t ow, std::size_t n0,
                  std::size_t n1, float* col, std::size_t ldcol) {
  // The range as a part row, whole rows and a part row (any may be empty).
  const std::size_t r0 = n0 / ow, c0 = n0 % ow, head = c0 ? std::min(ow, n1 - r0 * ow) - c0 : 0;
  const std::size_t rows = (n1 - n0 - head) / ow, tail = n1 - n0 - head - rows * ow;
  const std::size_t rb = r0 + (head ? 1 : 0);  // the first whole row
  for (std::size_t i = 0; i < kh; ++i)
    for (std::size_t j = 0; j < kw; ++j) {
      const float* src = x + i * ldx + j;
      float* dst = col + (i * kw + j) * ldcol;
      if (head) copy_rows<A>(src + r0 * ldx + c0, ldx, 1, head, dst + n0, ow);
      copy_rows<A>(src + rb * ldx, ldx, rows, ow, dst + rb * ow, ow);
      if (tail) copy_rows<A>(src + (rb + rows) * ldx, ldx, 1, tail, dst + (rb + rows) * ow, ow);
    }
}

// The even lanes of a then b, in order: a stride-2 window's taps.
template <class A>
EDGEATTN_ALWAYS_INLINE fbatch<A> even_lanes(fbatch<A> a, fbatch<A> b) {
  constexpr std::size_t W = fbatch<A>::size;
  if constexpr (W == 16) {  // (each ISA's unit is built with its own flags: one branch compiles)
#if defined(__AVX512F__)
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
#endif
  } else if constexpr (W == 8) {
#if defined(__AVX2__)  // [a0 a2 b0 b2 | a4 a6 b4 b6], then the 64-bit pairs in order
    const __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
#endif
  } else {
#if defined(__SSE__)
    return _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
#elif defined(__ARM_NEON)
    return vuzpq_f32(a, b).val[0];
#endif
  }
  return a;  // (unreached: every ISA has a branch above)
}

// Blocks of W outputs; a block's taps are one load at stride 1, the even
// lanes of two at stride 2, masked where the row ends (padded with -inf),
// else (other strides) gathered into lanes. (The second load of a stride-2
// block reads one element past its last window: the next output's, when
// there is one. Gathered lanes for strides 1 and 2 made small maps, 7 or 14
// outputs wide, slower than scalar code: a vector load of lanes just
// stored waits for the stores.)
template <class A>
bool max_pool_rows(const float* x, std::size_t ldx, std::size_t kh, std::size_t kw, std::size_t sh, std::size_t sw,
                   float* y, std::size_t ldy, std::size_t rows, std::size_t n) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size;
  const float ninf = -std::numeric_limits<float>::infinity();
  auto nan = F(0.0f) != F(0.0f);
  for (std::size_t r = 0; r < rows; ++r, x += sh * ldx, y += ldy)
    for (std::size_t c = 0; c < n; c += W) {
      const std::size_t cnt = n - c < W ? n - c : W, e = 2 * cnt - 1;  // (stride 2: elements read)
      const auto taps = [&](const float* p) {
        if (sw == 1) return load_n<A>(p, cnt, ninf);
        if (sw == 2)
          return even_lanes<A>(load_n<A>(p, e < W ? e : W, ninf), c + W < n ? F::load_unaligned(p + W)
                                                                  : e > W    ? load_tail<A>(p + W, e - W, ninf)
                                                                             : F(ninf));
        alignas(64) float lanes[W];
        for (std::size_t q = 0; q < W; ++q) lanes[q] = q < cnt ? p[q * sw] : ninf;
        return F::load_aligned(lanes);
      };
      F m(ninf);
      for (std::size_t i = 0; i < kh; ++i)
        for (std::size_t j = 0; j < kw; ++j) {
          const F v = taps(x + i * ldx + c * sw + j);
          m = xsimd::select(v > m, v, m);
          nan = nan | xsimd::isnan(v);
        }
      store_n<A>(y + c, cnt, m);
    }
  return !xsimd::any(nan);
}

// R output rows (1 or 2) of V vectors each stay in registers over all
// taps, 2 V independent FMA chains; input row i meets kernel row i - r in
// output row r. Every output sums its taps in kernel-row, then column
// order, whatever R.
template <class A, std::size_t V, std::size_t R>
std::size_t conv_blocks(const float* x, std::size_t ldx, const float* w, std::size_t kh,
                        std::size_t kw, float* y, std::size_t ldy, std::size_t c, std::size_t n) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size;
  for (; c + V * W <= n; c += V * W) {
    F acc[R][V];
    for (std::size_t r = 0; r < R; ++r)
      for (std::size_t v = 0; v < V; ++v) acc[r][v] = F::load_unaligned(y + r * ldy + c + v * W);
    for (std::size_t i = 0; i < kh + R - 1; ++i) {
      const float* xr = x + i * ldx + c;
      for (std::size_t j = 0; j < kw; ++j) {
        F xv[V];
        for (std::size_t v = 0; v < V; ++v) xv[v] = F::load_unaligned(xr + j + v * W);
        for (std::size_t r = 0; r < R; ++r) {
          if (i < r || i - r >= kh) continue;
          const F wv(w[(i - r) * kw + j]);
          for (std::size_t v = 0; v < V; ++v) acc[r][v] = fmadd(wv, xv[v], acc[r][v]);
        }
      }
    }
    for (std::size_t r = 0; r < R; ++r)
      for (std::size_t v = 0; v < V; ++v) acc[r][v].store_unaligned(y + r * ldy + c + v * W);
  }
  return c;
}

// R output rows from column c0 on: blocks of 4 and 1 vectors, then a tail
// that reads only the n + kw - 1 valid floats of each row.
template <class A, std::size_t R>
void conv_rows_from(const float* x, std::size_t ldx, const float* w, std::size_t kh, std::size_t kw,
                    float* y, std::size_t ldy, std::size_t c0, std::size_t n) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size;
  std::size_t c = conv_blocks<A, 4, R>(x, ldx, w, kh, kw, y, ldy, c0, n);
  c = conv_blocks<A, 1, R>(x, ldx, w, kh, kw, y, ldy, c, n);
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t t = c; t < n; t += W) {
      const std::size_t cnt = n - t < W ? n - t : W;
      F a = load_tail<A>(y + r * ldy + t, cnt);
      for (std::size_t i = 0; i < kh; ++i)
        for (std::size_t j = 0; j < kw; ++j)
          a = fmadd(F(w[i * kw + j]), load_tail<A>(x + (r + i) * ldx + t + j, cnt), a);
      store_tail<A>(y + r * ldy + t, cnt, a);
    }
}

// Rows [0, rows) and columns from c0 by the blocks above.
template <class A>
void conv_rows_by_tap_rows(const float* x, std::size_t ldx, const float* w, std::size_t kh,
                           std::size_t kw, float* y, std::size_t ldy, std::size_t rows,
                           std::size_t c0, std::size_t n) {
  std::size_t r = 0;
  for (; r + 2 <= rows; r += 2)
    conv_rows_from<A, 2>(x + r * ldx, ldx, w, kh, kw, y + r * ldy, ldy, c0, n);
  if (r < rows) conv_rows_from<A, 1>(x + r * ldx, ldx, w, kh, kw, y + r * ldy, ldy, c0, n);
}

// Kernel heights 3, 5, 7: the KH taps of kernel column j stay in registers
// while R = 14 - KH output rows (one vector wide) take each input vector of
// that column shift, so one load feeds up to KH FMAs where conv_blocks needs
// a load and a broadcast for every two (a 7x7 kernel was load-bound at 40%
// of FMA peak). Sums run in (j, i) order. Returns the rows done.
constexpr std::size_t kConvMaxWidth = 16;

template <class A, std::size_t KH>
std::size_t conv_rows_by_tap_columns(const float* x, std::size_t ldx, const float* w,
                                     std::size_t kw, float* y, std::size_t ldy, std::size_t rows,
                                     std::size_t n) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size, R = 14 - KH;
  if (kw > kConvMaxWidth) return 0;
  float wt[KH * kConvMaxWidth];  // [j][i]: one pointer walks the taps
  for (std::size_t j = 0; j < kw; ++j)
    for (std::size_t i = 0; i < KH; ++i) wt[j * KH + i] = w[i * kw + j];
  std::size_t r0 = 0;
  for (; r0 + R <= rows; r0 += R)
    for (std::size_t c = 0; c + W <= n; c += W) {
      F acc[R];
#pragma GCC unroll 16
      for (std::size_t r = 0; r < R; ++r) acc[r] = F::load_unaligned(y + (r0 + r) * ldy + c);
      for (std::size_t j = 0; j < kw; ++j) {
        F wj[KH];
#pragma GCC unroll 16
        for (std::size_t i = 0; i < KH; ++i) wj[i] = F(wt[j * KH + i]);
        const float* xc = x + r0 * ldx + c + j;
#pragma GCC unroll 32
        for (std::size_t i = 0; i < KH + R - 1; ++i) {  // input row i meets output row r at tap i - r
          const F xv = F::load_unaligned(xc + i * ldx);
#pragma GCC unroll 16
          for (std::size_t r = 0; r < R; ++r)
            if (r <= i && i - r < KH) acc[r] = fmadd(wj[i - r], xv, acc[r]);
        }
      }
#pragma GCC unroll 16
      for (std::size_t r = 0; r < R; ++r) acc[r].store_unaligned(y + (r0 + r) * ldy + c);
    }
  if (r0 != 0) conv_rows_by_tap_rows<A>(x, ldx, w, KH, kw, y, ldy, r0, n / W * W, n);
  return r0;
}

// P output pixels of dwconv_row at once: each tap's 16 weights are loaded
// once for the P pixels (loads per FMA 1 + 1 / P; P = 4 where 16 lanes are
// one or two vectors, 2 where four: the accumulators fill the registers).
template <class A, std::size_t P>
EDGEATTN_ALWAYS_INLINE void dw_pixels(const float* x, std::size_t ldx, const float* w, std::size_t kh,
                                      std::size_t kw, std::size_t sw, float* y, Activation act) {
  using F = fbatch<A>;
  constexpr std::size_t L = kernels::kDwLanes, W = F::size, V = L / W;
  F acc[P][V];
  const float* bias = w + kh * kw * L;
  for (std::size_t p = 0; p < P; ++p)
    for (std::size_t v = 0; v < V; ++v) acc[p][v] = F::load_unaligned(bias + v * W);
  for (std::size_t i = 0; i < kh; ++i)
    for (std::size_t j = 0; j < kw; ++j) {
      const float* wt = w + (i * kw + j) * L;
      const float* xt = x + i * ldx + j * L;
      for (std::size_t v = 0; v < V; ++v) {
        const F wv = F::load_unaligned(wt + v * W);
        for (std::size_t p = 0; p < P; ++p)
          acc[p][v] = fmadd(wv, F::load_unaligned(xt + p * sw * L + v * W), acc[p][v]);
      }
    }
  for (std::size_t p = 0; p < P; ++p)
    for (std::size_t v = 0; v < V; ++v) activation<A>(act, acc[p][v]).store_unaligned(y + p * L + v * W);
}

template <class A>
void dwconv_row(const float* x, std::size_t ldx, const float* w, std::size_t kh, std::size_t kw,
                std::size_t sw, float* y, std::size_t n, Activation act) {
  constexpr std::size_t L = kernels::kDwLanes, P = L / fbatch<A>::size >= 4 ? 2 : 4;
  static_assert(L % fbatch<A>::size == 0, "16 lanes are whole vectors");
  std::size_t c = 0;
  for (; c + P <= n; c += P) dw_pixels<A, P>(x + c * sw * L, ldx, w, kh, kw, sw, y + c * L, act);
  for (; c < n; ++c) dw_pixels<A, 1>(x + c * sw * L, ldx, w, kh, kw, sw, y + c * L, act);
}

// P pixels of conv_row_oc16: each tap's 16 weights loaded once, each
// input element broadcast once per pixel (loads per FMA 1 / V + 1 / P).
template <class A, std::size_t P>
EDGEATTN_ALWAYS_INLINE void oc16_pixels(const float* x, std::size_t ldx, std::size_t plane,
                                        std::size_t channels, const float* w, std::size_t kh,
                                        std::size_t kw, std::size_t sw, float* y, Activation act) {
  using F = fbatch<A>;
  constexpr std::size_t L = kernels::kDwLanes, W = F::size, V = L / W;
  F acc[P][V];
  const float* bias = w + channels * kh * kw * L;
  for (std::size_t p = 0; p < P; ++p)
    for (std::size_t v = 0; v < V; ++v) acc[p][v] = F::load_unaligned(bias + v * W);
  for (std::size_t ch = 0; ch < channels; ++ch)
    for (std::size_t i = 0; i < kh; ++i)
      for (std::size_t j = 0; j < kw; ++j, w += L) {
        const float* xt = x + ch * plane + i * ldx + j;
        F wv[V];
        for (std::size_t v = 0; v < V; ++v) wv[v] = F::load_unaligned(w + v * W);
        for (std::size_t p = 0; p < P; ++p) {
          const F xv(xt[p * sw]);
          for (std::size_t v = 0; v < V; ++v) acc[p][v] = fmadd(wv[v], xv, acc[p][v]);
        }
      }
  for (std::size_t p = 0; p < P; ++p)
    for (std::size_t v = 0; v < V; ++v) activation<A>(act, acc[p][v]).store_unaligned(y + p * L + v * W);
}

template <class A>
void conv_row_oc16(const float* x, std::size_t ldx, std::size_t plane, std::size_t channels,
                   const float* w, std::size_t kh, std::size_t kw, std::size_t sw, float* y,
                   std::size_t n, Activation act) {
  constexpr std::size_t L = kernels::kDwLanes, V = L / fbatch<A>::size, P = V >= 4 ? 2 : V == 2 ? 4 : 8;
  std::size_t c = 0;
  for (; c + P <= n; c += P) oc16_pixels<A, P>(x + c * sw, ldx, plane, channels, w, kh, kw, sw, y + c * L, act);
  for (; c < n; ++c) oc16_pixels<A, 1>(x + c * sw, ldx, plane, channels, w, kh, kw, sw, y + c * L, act);
}

template <class A>
void conv_rows(const float* x, std::size_t ldx, const float* w, std::size_t kh, std::size_t kw,
               float* y, std::size_t ldy, std::size_t rows, std::size_t n) {
  std::size_t r = 0;
  if (kh == 3) r = conv_rows_by_tap_columns<A, 3>(x, ldx, w, kw, y, ldy, rows, n);
  if (kh == 5) r = conv_rows_by_tap_columns<A, 5>(x, ldx, w, kw, y, ldy, rows, n);
  if (kh == 7) r = conv_rows_by_tap_columns<A, 7>(x, ldx, w, kw, y, ldy, rows, n);
  conv_rows_by_tap_rows<A>(x + r * ldx, ldx, w, kh, kw, y + r * ldy, ldy, rows - r, 0, n);
}

}  // namespace
}  // namespace edgeattn::detail
