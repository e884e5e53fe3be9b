// xsimd implementations of the kernels, templated on the xsimd architecture.
// Included only by simd_table.cpp, which is compiled once per ISA with that
// ISA's flags. Everything here has internal linkage (anonymous namespace) so
// that no inline function compiled with, say, AVX-512 flags can be picked by
// the linker for code that runs on a CPU without it; for the same reason it
// avoids std::min/std::max and other shared inline templates on floats.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "exp_core.h"
#include "table.h"

namespace edgeattn::detail {
namespace {

template <class A>
using fbatch = xsimd::batch<float, A>;
template <class A>
using ibatch = xsimd::batch<std::int32_t, A>;

// a * b + c with one rounding where the ISA has FMA. xsimd 8.1 has no AVX-512F
// fma: its generic a * b + c stays a multiply and an add under
// -ffp-contract=off, which halves the FMA rate of every AVX-512 kernel.
template <class A>
fbatch<A> fmadd(const fbatch<A>& a, const fbatch<A>& b, const fbatch<A>& c) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<A, xsimd::avx512f>) return _mm512_fmadd_ps(a, b, c);
#endif
  return xsimd::fma(a, b, c);
}
// c - a * b, likewise.
template <class A>
fbatch<A> fnmadd(const fbatch<A>& a, const fbatch<A>& b, const fbatch<A>& c) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<A, xsimd::avx512f>) return _mm512_fnmadd_ps(a, b, c);
#endif
  return xsimd::fnma(a, b, c);
}

// Tails: the last n % W elements go through the same vector code as the
// rest, via a masked load and store (AVX-512F, AVX2: no access to the lanes
// past the end) or a zero-padded copy elsewhere, so each element sees the
// same arithmetic wherever it sits in the array. The copy loops cost more
// than the vectors of a 196-float row (a 14 x 14 feature map).
#if defined(__AVX512F__)
inline __mmask16 avx512_tail_mask(std::size_t count) {
  return static_cast<__mmask16>((1u << count) - 1);
}
#endif
#if defined(__AVX2__)
inline __m256i avx2_tail_mask(std::size_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#endif
template <class A>
fbatch<A> load_tail(const float* p, std::size_t count, float fill = 0.0f) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<A, xsimd::avx512f>)
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), avx512_tail_mask(count), p);
#endif
#if defined(__AVX2__)
  if constexpr (fbatch<A>::size == 8) {
    const __m256i m = avx2_tail_mask(count);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
#endif
  alignas(64) float tmp[fbatch<A>::size];
  for (std::size_t i = 0; i < fbatch<A>::size; ++i) tmp[i] = i < count ? p[i] : fill;
  return fbatch<A>::load_aligned(tmp);
}
template <class A>
void store_tail(float* p, std::size_t count, const fbatch<A>& v) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<A, xsimd::avx512f>)
    return _mm512_mask_storeu_ps(p, avx512_tail_mask(count), v);
#endif
#if defined(__AVX2__)
  if constexpr (fbatch<A>::size == 8) return _mm256_maskstore_ps(p, avx2_tail_mask(count), v);
#endif
  alignas(64) float tmp[fbatch<A>::size];
  v.store_aligned(tmp);
  for (std::size_t i = 0; i < count; ++i) p[i] = tmp[i];
}

// A whole vector when count is the width, else the tail (the rest filled).
template <class A>
fbatch<A> load_n(const float* p, std::size_t count, float fill = 0.0f) {
  return count == fbatch<A>::size ? fbatch<A>::load_unaligned(p) : load_tail<A>(p, count, fill);
}
template <class A>
void store_n(float* p, std::size_t count, const fbatch<A>& v) {
  if (count == fbatch<A>::size) v.store_unaligned(p);
  else store_tail<A>(p, count, v);
}

// y = f(x) elementwise.
template <class A, class F>
EDGEATTN_FLATTEN void map1(const float* x, float* y, std::size_t n, F f) {
  constexpr std::size_t W = fbatch<A>::size;
  std::size_t i = 0;
  for (; i + W <= n; i += W) f(fbatch<A>::load_unaligned(x + i)).store_unaligned(y + i);
  if (i < n) store_tail<A>(y + i, n - i, f(load_tail<A>(x + i, n - i)));
}
// y = f(a, b) elementwise.
template <class A, class F>
EDGEATTN_FLATTEN void map2(const float* a, const float* b, float* y, std::size_t n, F f) {
  constexpr std::size_t W = fbatch<A>::size;
  std::size_t i = 0;
  for (; i + W <= n; i += W)
    f(fbatch<A>::load_unaligned(a + i), fbatch<A>::load_unaligned(b + i)).store_unaligned(y + i);
  if (i < n)
    store_tail<A>(y + i, n - i, f(load_tail<A>(a + i, n - i), load_tail<A>(b + i, n - i)));
}

// Horizontal sum (kMax false) or maximum by halving: lanes [0, w) combined
// with lanes [w, 2w) for w = W/2 down to 1, in registers (a stored copy
// combined lane by lane put a store-to-load chain of about 50 cycles on
// every softmax row). hsum adds in this order on every ISA, so its bits do
// not depend on the vector code that ran. (xsimd 8.1's hadd adds in another
// order, and its AVX-512F version uses AVX512DQ.)
template <class A, bool kMax>
float halve(const fbatch<A>& v) {
  constexpr std::size_t W = fbatch<A>::size;
#if defined(__SSE2__)
  const auto op = [](__m128 a, __m128 b) { return kMax ? _mm_max_ps(a, b) : _mm_add_ps(a, b); };
  __m128 x;
  if constexpr (W == 4) {
    x = v;
  } else {
#if defined(__AVX__)
    __m256 y;
#if defined(__AVX512F__)
    if constexpr (W == 16) {
      const __m512 z = v;
      const __m256 lo = _mm512_castps512_ps256(z);
      const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(z), 1));
      y = kMax ? _mm256_max_ps(lo, hi) : _mm256_add_ps(lo, hi);
    } else
#endif
    {
      y = v;
    }
    x = op(_mm256_castps256_ps128(y), _mm256_extractf128_ps(y, 1));
#endif
  }
  x = op(x, _mm_movehl_ps(x, x));
  return _mm_cvtss_f32(op(x, _mm_shuffle_ps(x, x, 1)));
#elif defined(__ARM_NEON)
  static_assert(W == 4, "NEON vectors hold four floats");
  const float32x4_t x = v;
  const float32x2_t h = kMax ? vmax_f32(vget_low_f32(x), vget_high_f32(x))
                             : vadd_f32(vget_low_f32(x), vget_high_f32(x));
  const float a = vget_lane_f32(h, 0), b = vget_lane_f32(h, 1);
  return kMax ? (a > b ? a : b) : a + b;
#endif
}
template <class A>
float hsum(const fbatch<A>& v) {
  return halve<A, false>(v);
}
template <class A>
float hmax(const fbatch<A>& v) {
  return halve<A, true>(v);
}

// exp_core's primitives for xsimd batches.
template <class A>
struct BatchOps {
  using F = fbatch<A>;
  using I = ibatch<A>;
  static F splat(float v) { return F(v); }
  static I splat_int(std::int32_t v) { return I(v); }
  static F min(F a, F b) { return xsimd::min(a, b); }
  static F max(F a, F b) { return xsimd::max(a, b); }
  static F fma(F a, F b, F c) { return fmadd(a, b, c); }
  static F fnma(F a, F b, F c) { return fnmadd(a, b, c); }
  static I bits(F v) { return xsimd::bitwise_cast<I>(v); }
  static F from_bits(I v) { return xsimd::bitwise_cast<F>(v); }
  static I shift_right(I v, int n) { return v >> n; }
  static I shift_left(I v, int n) { return v << n; }
  // x == x is false only for NaN (xsimd 8.1's AVX-512 != is an ordered
  // compare, false for NaN, so it cannot be used for this test).
  static F keep_nan(F x, F y) { return xsimd::select(x == x, y, x); }
  static F select_lt(F a, F b, F y, F z) { return xsimd::select(a < b, y, z); }
};

template <class A>
EDGEATTN_ALWAYS_INLINE fbatch<A> exp_batch(fbatch<A> x) {
  return exp_core<BatchOps<A>, true>(x);
}
// exp of x <= 0 (softmax after its maximum): see exp_core.h.
template <class A>
EDGEATTN_ALWAYS_INLINE fbatch<A> exp_nonpositive(fbatch<A> x) {
  return exp_nonpositive_core<BatchOps<A>, true>(x);
}
// AVX-512F rounds with vrndscaleps and applies 2^n with a zero-masked
// vscalefps: 9 operations instead of 14, the same bits (the same n, f and
// polynomial, an exact product, 0 below -125 and for -inf, NaN kept).
template <class A>
EDGEATTN_ALWAYS_INLINE fbatch<A> exp2_nonpositive(fbatch<A> x) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<A, xsimd::avx512f>) {
    const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const fbatch<A> p = exp2_poly<BatchOps<A>>(x - fbatch<A>(n));
    const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-125.0f), _CMP_NLT_UQ);
    return _mm512_maskz_scalef_ps(keep, p, n);
  }
#endif
  return exp2_nonpositive_core<BatchOps<A>>(x);
}

// tanh x = x P(x^2) / Q(x^2), |x| clamped to 9 (where tanh x rounds to +-1
// in float): a minimax rational fit of degrees 5 and 3 in x^2, the form of
// Eigen's fast float tanh, with coefficients from tools/fit_math.py (3.5e-7
// worst error evaluated in float). 17 operations and one division, where a
// tanh built on exp needs about 30; the result is clamped to [-1, 1].
template <class A>
EDGEATTN_ALWAYS_INLINE fbatch<A> tanh_batch(fbatch<A> x) {
  using F = fbatch<A>;
  // Constants first: x86 min/max return their second operand when either is
  // NaN, so a NaN input passes through every clamp (NEON's propagate it).
  const F xc = xsimd::min(F(9.0f), xsimd::max(F(-9.0f), x));
  const F t = xc * xc;
  F p(1.825527576326813e-11f);
  p = fmadd(p, t, F(-1.2780444258453372e-08f));
  p = fmadd(p, t, F(9.26741813600529e-06f));
  p = fmadd(p, t, F(0.002920761238783598f));
  p = fmadd(p, t, F(0.1291922777891159f));
  p = fmadd(p, t, F(0.9999999403953552f));
  F q(0.0002281001361552626f);
  q = fmadd(q, t, F(0.02376316487789154f));
  q = fmadd(q, t, F(0.4625251293182373f));
  q = fmadd(q, t, F(1.0f));
  return xsimd::min(F(1.0f), xsimd::max(F(-1.0f), xc * p / q));
}

// sigmoid x = (1 + tanh(x / 2)) / 2: the rational tanh above costs about
// half of 1 / (1 + exp(-x)), with the same one division; its 3.5e-7 error
// halves. Exact 0 and 1 beyond |x| = 18 (the true value is within 1.6e-8).
template <class A>
EDGEATTN_ALWAYS_INLINE fbatch<A> sigmoid_batch(fbatch<A> x) {
  using F = fbatch<A>;
  const F half(0.5f);
  return fmadd(half, tanh_batch<A>(half * x), half);
}

template <class A>
float dot(const float* a, const float* b, std::size_t n) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size;
  F s0(0.0f), s1(0.0f), s2(0.0f), s3(0.0f);
  std::size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    s0 = fmadd(F::load_unaligned(a + i), F::load_unaligned(b + i), s0);
    s1 = fmadd(F::load_unaligned(a + i + W), F::load_unaligned(b + i + W), s1);
    s2 = fmadd(F::load_unaligned(a + i + 2 * W), F::load_unaligned(b + i + 2 * W), s2);
    s3 = fmadd(F::load_unaligned(a + i + 3 * W), F::load_unaligned(b + i + 3 * W), s3);
  }
  for (; i + W <= n; i += W) s0 = fmadd(F::load_unaligned(a + i), F::load_unaligned(b + i), s0);
  if (i < n) s1 = fmadd(load_tail<A>(a + i, n - i), load_tail<A>(b + i, n - i), s1);
  return hsum<A>((s0 + s1) + (s2 + s3));
}

template <class A>
void axpy(float alpha, const float* x, float* y, std::size_t n) {
  const fbatch<A> va(alpha);
  map2<A>(x, y, y, n, [&](auto xv, auto yv) { return fmadd(va, xv, yv); });
}
// Row r of rows contiguous rows of n times a[r]: one call for a whole
// feature map, so a 196-float row (14 x 14) pays no call of its own.
template <class A>
void scale_rows(const float* a, const float* x, std::size_t rows, std::size_t n, float* y) {
  for (std::size_t r = 0; r < rows; ++r) {
    const fbatch<A> va(a[r]);
    map1<A>(x + r * n, y + r * n, n, [&](auto v) { return va * v; });
  }
}
template <class A>
void add(const float* a, const float* b, float* y, std::size_t n) {
  map2<A>(a, b, y, n, [](auto u, auto v) { return u + v; });
}
template <class A>
void mul(const float* a, const float* b, float* y, std::size_t n) {
  map2<A>(a, b, y, n, [](auto u, auto v) { return u * v; });
}
template <class A>
void add_scalar(const float* a, float b, float* y, std::size_t n) {
  const fbatch<A> vb(b);
  map1<A>(a, y, n, [&](auto v) { return v + vb; });
}

template <class A>
void scale_mul(float alpha, const float* a, const float* b, float* y, std::size_t n) {
  const fbatch<A> va(alpha);
  map2<A>(a, b, y, n, [&](auto u, auto v) { return (va * u) * v; });
}

// The sum of x[0..n) and, with kMax, its maximum in the same pass (global
// average and max pooling read each row once). Four chains cover the add
// latency.
template <class A, bool kMax>
float sum_max(const float* x, std::size_t n, float* max) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size;
  const float lowest = -std::numeric_limits<float>::infinity();
  F s[4] = {F(0.0f), F(0.0f), F(0.0f), F(0.0f)}, m[4] = {F(lowest), F(lowest), F(lowest), F(lowest)};
  const auto take = [&](std::size_t k, const F& v) {
    s[k] += v;
    if constexpr (kMax) m[k] = xsimd::max(m[k], v);
  };
  std::size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W)
    for (std::size_t k = 0; k < 4; ++k) take(k, F::load_unaligned(x + i + k * W));
  for (; i + W <= n; i += W) take(0, F::load_unaligned(x + i));
  if (i < n) {
    s[1] += load_tail<A>(x + i, n - i);
    if constexpr (kMax) m[1] = xsimd::max(m[1], load_tail<A>(x + i, n - i, lowest));
  }
  if constexpr (kMax) *max = hmax<A>(xsimd::max(xsimd::max(m[0], m[1]), xsimd::max(m[2], m[3])));
  return hsum<A>((s[0] + s[1]) + (s[2] + s[3]));
}

template <class A>
float reduce_sum(const float* x, std::size_t n) {
  return sum_max<A, false>(x, n, nullptr);
}

// Mean (and maximum, if max is not null) of each of rows contiguous rows,
// the last row first: a map just written is most recent in the cache at its
// end, so the rows still cached are read before the others evict them.
template <class A>
void global_pool(const float* x, std::size_t rows, std::size_t n, float* mean, float* max) {
  const float count = n ? static_cast<float>(n) : 1.0f;  // n == 0: mean 0, max -inf
  for (std::size_t r = rows; r-- > 0;) {
    const float* xr = x + r * n;
    const float s = max ? sum_max<A, true>(xr, n, max + r) : sum_max<A, false>(xr, n, nullptr);
    mean[r] = s / count;  // sum, then divide, as torch.mean on CPU
  }
}

template <class A>
EDGEATTN_ALWAYS_INLINE float reduce_max(const float* x, std::size_t n) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size;
  const float ninf = -std::numeric_limits<float>::infinity();
  F m0(ninf), m1(ninf);
  std::size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    m0 = xsimd::max(m0, F::load_unaligned(x + i));
    m1 = xsimd::max(m1, F::load_unaligned(x + i + W));
  }
  for (; i + W <= n; i += W) m0 = xsimd::max(m0, F::load_unaligned(x + i));
  if (i < n) m1 = xsimd::max(m1, load_tail<A>(x + i, n - i, ninf));
  return hmax<A>(xsimd::max(m0, m1));
}

// First maximum in one pass over the row: per lane the maximum over blocks
// of four vectors and the first block that reached it (a strict > keeps
// the earliest). The first block holding the row maximum is the smallest
// such block over the lanes that hold it; a search from there (at most
// four vectors, or the tail) finds the element. Block numbers are floats,
// exact below 2^24 blocks; longer rows search from the start.
template <class A>
std::size_t argmax(const float* x, std::size_t n) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size, B = 4 * W;
  if (n == 0) return 0;
  const float ninf = -std::numeric_limits<float>::infinity();
  const auto ld = [&](std::size_t j) { return F::load_unaligned(x + j); };
  F m(ninf), at(0.0f), block(0.0f), sum(0.0f);
  std::size_t i = 0;
  for (; i + B <= n; i += B) {
    const F v0 = ld(i), v1 = ld(i + W), v2 = ld(i + 2 * W), v3 = ld(i + 3 * W);
    const F bm = xsimd::max(xsimd::max(v0, v1), xsimd::max(v2, v3));
    sum += (v0 + v1) + (v2 + v3);  // NaN if any element is NaN (or infinities cancel)
    at = xsimd::select(bm > m, block, at);
    m = xsimd::max(m, bm);
    block += F(1.0f);
  }
  // As torch.argmax, a NaN is the maximum and the first one wins; max()'s
  // NaN rules differ by ISA, so a row with one takes this search instead.
  bool nan = xsimd::any(xsimd::isnan(sum));
  for (std::size_t j = i; j < n && !nan; ++j) nan = std::isnan(x[j]);
  for (std::size_t j = 0; nan && j < n; ++j)
    if (std::isnan(x[j])) return j;
  float mx = hmax<A>(m);
  std::size_t start = i;  // the tail, unless a block holds the maximum
  if (i < n) {
    const float tail = reduce_max<A>(x + i, n - i);
    if (tail > mx) mx = tail;
  }
  alignas(64) float lm[W], la[W];
  m.store_aligned(lm);
  at.store_aligned(la);
  for (std::size_t l = 0; l < W; ++l)
    if (lm[l] == mx && static_cast<std::size_t>(la[l]) * B < start) start = static_cast<std::size_t>(la[l]) * B;
  if (n / B >= (std::size_t{1} << 24)) start = 0;
  const F mv(mx);
  for (i = start; i + W <= n; i += W)
    if (xsimd::any(ld(i) == mv)) break;
  for (; i < n; ++i)
    if (x[i] == mx) return i;
  return 0;
}

// Mask bytes as 1.0f / 0.0f.
template <class A>
fbatch<A> load_mask(const std::uint8_t* m, std::size_t count) {
  alignas(64) float tmp[fbatch<A>::size];
  for (std::size_t i = 0; i < fbatch<A>::size; ++i) tmp[i] = (i < count && m[i]) ? 1.0f : 0.0f;
  return fbatch<A>::load_aligned(tmp);
}

// Softmax in three passes: max, exp and sum, scale by 1/sum. Masked-out
// elements become -inf before the max and exactly 0 after the exp.
template <class A>
void softmax(const float* x, const std::uint8_t* mask, float* y, std::size_t n) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size;
  const float ninf = -std::numeric_limits<float>::infinity();
  auto masked = [&](std::size_t i, std::size_t count, F v) {
    return mask ? xsimd::select(load_mask<A>(mask + i, count) != F(0.0f), v, F(ninf)) : v;
  };
  F mv(ninf);
  std::size_t any = mask ? 0 : n;
  for (std::size_t i = 0; i < n; i += W) {
    const std::size_t c = n - i < W ? n - i : W;
    const F v = c == W ? F::load_unaligned(x + i) : load_tail<A>(x + i, c, ninf);
    mv = xsimd::max(mv, masked(i, c, v));
    if (mask)
      for (std::size_t j = 0; j < c; ++j) any += mask[i + j] != 0;
  }
  if (any == 0) {
    for (std::size_t i = 0; i < n; ++i) y[i] = 0.0f;
    return;
  }
  const F m(hmax<A>(mv));
  F sum(0.0f);
  for (std::size_t i = 0; i < n; i += W) {
    const std::size_t c = n - i < W ? n - i : W;
    const F v = c == W ? F::load_unaligned(x + i) : load_tail<A>(x + i, c, ninf);
    F e = exp_nonpositive<A>(masked(i, c, v) - m);
    if (mask) e = xsimd::select(load_mask<A>(mask + i, c) != F(0.0f), e, F(0.0f));
    sum += e;
    if (c == W)
      e.store_unaligned(y + i);
    else
      store_tail<A>(y + i, c, e);
  }
  const float inv = 1.0f / hsum<A>(sum);
  scale_rows<A>(&inv, y, 1, n, y);
}

// The first half of kernels::online_softmax2, 16 rows at a time: every
// row's new maximum m' first (independent rows keep the core busy where one
// row's reductions would wait on each other), then, a vector of rows at a
// time, a = 2^(m - m') (1 for a row with nothing attended yet: m = m' =
// -inf), l *= a, m = m', and O's rows times a (times 1 is exact, so no
// branch). shift[r] = m', or 0 where m' is -inf (2^(-inf - 0) = 0).
template <class A>
void softmax2_rescale(const float* s, std::size_t lds, std::size_t rows, std::size_t n, float* m,
                      float* l, float* o, std::size_t ldo, std::size_t dv, float* shift) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size, R = 16;
  const F ninf(-std::numeric_limits<float>::infinity());
  for (std::size_t r0 = 0; r0 < rows; r0 += R) {
    const std::size_t count = rows - r0 < R ? rows - r0 : R;
    float mn[R], alpha[R];
    for (std::size_t r = 0; r < count; ++r) {
      const float bm = reduce_max<A>(s + (r0 + r) * lds, n);
      mn[r] = bm > m[r0 + r] ? bm : m[r0 + r];
    }
    for (std::size_t r = 0; r < count; r += W) {
      const std::size_t c = count - r < W ? count - r : W;
      const F mv = load_n<A>(m + r0 + r, c, 0.0f), nv = load_n<A>(mn + r, c, 0.0f);
      const auto seen = nv != ninf;
      const F a = xsimd::select(seen, exp2_nonpositive<A>(mv - nv), F(1.0f));
      store_n<A>(alpha + r, c, a);
      store_n<A>(l + r0 + r, c, load_n<A>(l + r0 + r, c, 0.0f) * a);
      store_n<A>(m + r0 + r, c, nv);
      store_n<A>(shift + r0 + r, c, xsimd::select(seen, nv, F(0.0f)));
    }
    for (std::size_t r = 0; r < count; ++r)
      scale_rows<A>(alpha + r, o + (r0 + r) * ldo, 1, dv, o + (r0 + r) * ldo);
  }
}

// Two vectors of a row's second half: s = 2^(s - shift) in place, each
// added to its own sum (even vectors to sum0, odd ones to sum1).
template <class A>
EDGEATTN_ALWAYS_INLINE void exp2_pair(float* s, const fbatch<A>& shift, fbatch<A>& sum0,
                                      fbatch<A>& sum1) {
  using F = fbatch<A>;
  const F e0 = exp2_nonpositive<A>(F::load_unaligned(s) - shift);
  const F e1 = exp2_nonpositive<A>(F::load_unaligned(s + F::size) - shift);
  e0.store_unaligned(s);
  e1.store_unaligned(s + F::size);
  sum0 += e0;
  sum1 += e1;
}

// The second half for one row: 2^(s - shift) in place, whole vector pairs
// in the loop and the tail once after it; returns the row's sum.
template <class A>
EDGEATTN_ALWAYS_INLINE float exp2_row(float* s, std::size_t n, float shift) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size;
  const F vs(shift);
  F sum0(0.0f), sum1(0.0f);
  std::size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) exp2_pair<A>(s + i, vs, sum0, sum1);
  for (; i < n; i += W) {
    const std::size_t c = n - i < W ? n - i : W;
    const F e = exp2_nonpositive<A>(load_n<A>(s + i, c, -std::numeric_limits<float>::infinity()) - vs);
    store_n<A>(s + i, c, e);
    sum0 += e;
  }
  return hsum<A>(sum0 + sum1);
}

// kernels::online_softmax2: the rescale, then per row the exponentials and
// l += their sum.
template <class A>
void online_softmax2(float* s, std::size_t lds, std::size_t rows, std::size_t n, float* m,
                     float* l, float* o, std::size_t ldo, std::size_t dv) {
  constexpr std::size_t R = 16;
  for (std::size_t r0 = 0; r0 < rows; r0 += R) {
    const std::size_t count = rows - r0 < R ? rows - r0 : R;
    float shift[R];
    softmax2_rescale<A>(s + r0 * lds, lds, count, n, m + r0, l + r0, o + r0 * ldo, ldo, dv, shift);
    for (std::size_t r = 0; r < count; ++r) l[r0 + r] += exp2_row<A>(s + (r0 + r) * lds, n, shift[r]);
  }
}

template <class A>
void vexp(const float* x, float* y, std::size_t n) {
  map1<A>(x, y, n, [](auto v) { return exp_batch<A>(v); });
}
// Sampling's weights: the no-FMA exp (bitwise the same on every ISA, see
// exp_core.h) of x - shift, masked, zero-padded to 16, and the 16 lane sums
// in chunk order, in one pass. Past n the input is -inf, so e = 0.
template <class A>
void exp_lanes16(const float* x, const std::uint8_t* mask, std::size_t n, float shift, float* e,
                 float* lanes) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size, V = 16 / W;  // vectors per 16 lanes
  static_assert(16 % W == 0, "16 lanes must be whole vectors");
  const float ninf = -std::numeric_limits<float>::infinity();
  constexpr int K = 4;  // vectors in flight, whole chunks of 16
  static_assert(K * W % 16 == 0, "a group is whole chunks");
  using G = GroupOps<BatchOps<A>, K>;
  F acc[V];
  for (std::size_t v = 0; v < V; ++v) acc[v] = F(0.0f);
  std::size_t c = 0;
  for (; c + K * W <= n; c += K * W) {
    const typename G::F xs = G::F::make([&](int k) { return F::load_unaligned(x + c + k * W) - F(shift); });
    typename G::F es = exp_nonpositive_core<G, false>(xs);
    for (int k = 0; k < K; ++k) {
      F& ev = es.v[k];
      if (mask) ev = xsimd::select(load_mask<A>(mask + c + k * W, W) != F(0.0f), ev, F(0.0f));
      acc[k % V] += ev;  // chunk order within each lane
      ev.store_unaligned(e + c + k * W);
    }
  }
  for (; c < n; c += 16)
    for (std::size_t v = 0; v < V; ++v) {
      const std::size_t i = c + v * W, left = i < n ? n - i : 0, cnt = left < W ? left : W;
      F ev(0.0f);
      if (cnt > 0) {
        const F xv = cnt == W ? F::load_unaligned(x + i) : load_tail<A>(x + i, cnt, ninf);
        ev = exp_nonpositive_core<BatchOps<A>, false>(xv - F(shift));
        if (mask) ev = xsimd::select(load_mask<A>(mask + i, cnt) != F(0.0f), ev, F(0.0f));
      }
      acc[v] += ev;
      ev.store_unaligned(e + i);
    }
  for (std::size_t v = 0; v < V; ++v) acc[v].store_unaligned(lanes + v * W);
}

template <class A>
void vtanh(const float* x, float* y, std::size_t n) {
  map1<A>(x, y, n, [](auto v) { return tanh_batch<A>(v); });
}
template <class A>
void sigmoid(const float* x, float* y, std::size_t n) {
  map1<A>(x, y, n, [](auto v) { return sigmoid_batch<A>(v); });
}

template <class A>
void relu(const float* x, float* y, std::size_t n) {
  const fbatch<A> zero(0.0f);
  map1<A>(x, y, n, [&](auto v) { return xsimd::max(v, zero); });
}
template <class A>
void silu(const float* x, float* y, std::size_t n) {
  map1<A>(x, y, n, [](auto v) { return v * sigmoid_batch<A>(v); });
}
// V vectors of positions at a time, their sums and maxima in registers
// over all rows; the tail goes through the same code on a padded copy
// of each row's last elements.
template <class A, std::size_t V>
std::size_t rows_mean_max_blocks(const float* x, std::size_t ldx, std::size_t rows,
                                 const float* scale, float* mean, float* max, std::size_t i,
                                 std::size_t n) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size;
  const F ninf(-std::numeric_limits<float>::infinity()), vrows(static_cast<float>(rows));
  for (; i + V * W <= n; i += V * W) {
    F s[V], m[V];
    for (std::size_t v = 0; v < V; ++v) s[v] = F(0.0f), m[v] = ninf;
    for (std::size_t r = 0; r < rows; ++r) {
      const float* xr = x + r * ldx + i;
      const F a(scale ? scale[r] : 1.0f);
      for (std::size_t v = 0; v < V; ++v) {
        const F t = scale ? a * F::load_unaligned(xr + v * W) : F::load_unaligned(xr + v * W);
        s[v] += t;
        m[v] = xsimd::max(m[v], t);
      }
    }
    for (std::size_t v = 0; v < V; ++v) {
      (s[v] / vrows).store_unaligned(mean + i + v * W);
      m[v].store_unaligned(max + i + v * W);
    }
  }
  return i;
}

template <class A>
void rows_mean_max(const float* x, std::size_t ldx, std::size_t rows, const float* scale,
                   float* mean, float* max, std::size_t n) {
  using F = fbatch<A>;
  // Six vectors of columns: twelve add and max chains (2 + 2 per cycle at 3
  // cycles' latency) fit the 16 AVX2 registers; narrower blocks for the rest.
  std::size_t i = rows_mean_max_blocks<A, 6>(x, ldx, rows, scale, mean, max, 0, n);
  i = rows_mean_max_blocks<A, 2>(x, ldx, rows, scale, mean, max, i, n);
  i = rows_mean_max_blocks<A, 1>(x, ldx, rows, scale, mean, max, i, n);
  if (i == n) return;
  const std::size_t cnt = n - i;
  F s(0.0f), m(-std::numeric_limits<float>::infinity());
  for (std::size_t r = 0; r < rows; ++r) {
    const F xv = load_tail<A>(x + r * ldx + i, cnt);
    const F t = scale ? F(scale[r]) * xv : xv;
    s += t;
    m = xsimd::max(m, t);
  }
  store_tail<A>(mean + i, cnt, s / F(static_cast<float>(rows)));
  store_tail<A>(max + i, cnt, m);
}

// The gate math of one row, a vector of hidden units at a time (tails
// through zero-padded copies, so every unit sees the same arithmetic).
template <class A, class F>
EDGEATTN_FLATTEN void for_vectors(std::size_t n, F body) {
  constexpr std::size_t W = fbatch<A>::size;
  for (std::size_t i = 0; i < n; i += W) body(i, n - i < W ? n - i : W);
}

// Gate math in two passes over chunks of kGateChunk units: first the
// activations, whose vectors are independent so that one's exp and division
// latency hides behind the next's, then the state update. Per unit the
// arithmetic is that of one fused pass.
constexpr std::size_t kGateChunk = 64;

template <class A>
void gru_gates(const float* gx, const float* gh, const float* h, float* h_out, std::size_t n) {
  using F = fbatch<A>;
  float act[2][kGateChunk];
  for (std::size_t u = 0; u < n; u += kGateChunk) {
    const std::size_t m = n - u < kGateChunk ? n - u : kGateChunk;
    for (std::size_t g = 0; g < 2; ++g)  // r, z
      map2<A>(gx + g * n + u, gh + g * n + u, act[g], m, [](F a, F b) { return sigmoid_batch<A>(a + b); });
    const float *xn = gx + 2 * n + u, *hn = gh + 2 * n + u;
    for_vectors<A>(m, [&](std::size_t i, std::size_t cnt) {
      const F r = load_n<A>(act[0] + i, cnt), z = load_n<A>(act[1] + i, cnt);
      const F nn = tanh_batch<A>(load_n<A>(xn + i, cnt) + r * load_n<A>(hn + i, cnt));
      store_n<A>(h_out + u + i, cnt, (F(1.0f) - z) * nn + z * load_n<A>(h + u + i, cnt));
    });
  }
}

template <class A>
void lstm_gates(const float* gx, const float* gh, float* c, float* h_out, std::size_t n) {
  using F = fbatch<A>;
  float act[4][kGateChunk];
  for (std::size_t u = 0; u < n; u += kGateChunk) {
    const std::size_t m = n - u < kGateChunk ? n - u : kGateChunk;
    for (std::size_t g = 0; g < 4; ++g) {  // i, f, g, o
      const float *x = gx + g * n + u, *y = gh + g * n + u;
      if (g == 2) map2<A>(x, y, act[g], m, [](F a, F b) { return tanh_batch<A>(a + b); });
      else map2<A>(x, y, act[g], m, [](F a, F b) { return sigmoid_batch<A>(a + b); });
    }
    for_vectors<A>(m, [&](std::size_t k, std::size_t cnt) {
      const auto a = [&](std::size_t g) { return load_n<A>(act[g] + k, cnt); };
      const F cn = a(1) * load_n<A>(c + u + k, cnt) + a(0) * a(2);
      store_n<A>(c + u + k, cnt, cn);
      store_n<A>(h_out + u + k, cnt, a(3) * tanh_batch<A>(cn));
    });
  }
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

template <class A>
void conv_rows(const float* x, std::size_t ldx, const float* w, std::size_t kh, std::size_t kw,
               float* y, std::size_t ldy, std::size_t rows, std::size_t n) {
  std::size_t r = 0;
  if (kh == 3) r = conv_rows_by_tap_columns<A, 3>(x, ldx, w, kw, y, ldy, rows, n);
  if (kh == 5) r = conv_rows_by_tap_columns<A, 5>(x, ldx, w, kw, y, ldy, rows, n);
  if (kh == 7) r = conv_rows_by_tap_columns<A, 7>(x, ldx, w, kw, y, ldy, rows, n);
  conv_rows_by_tap_rows<A>(x + r * ldx, ldx, w, kh, kw, y + r * ldy, ldy, rows - r, 0, n);
}

// Additive scores, one key row at a time, fused: the sum of v tanh(q + k)
// stays in registers (tails: zero-padded q, k and v add v * tanh(0) = 0).
template <class A>
void additive_scores(const float* q, const float* k, std::size_t ldk, std::size_t n,
                     std::size_t a_dim, const float* v, float* out) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size;
  for (std::size_t j = 0; j < n; ++j) {
    const float* kj = k + j * ldk;
    F acc0(0.0f), acc1(0.0f);
    std::size_t a = 0;
    for (; a + 2 * W <= a_dim; a += 2 * W) {
      const F t0 = tanh_batch<A>(F::load_unaligned(q + a) + F::load_unaligned(kj + a));
      const F t1 = tanh_batch<A>(F::load_unaligned(q + a + W) + F::load_unaligned(kj + a + W));
      acc0 = fmadd(F::load_unaligned(v + a), t0, acc0);
      acc1 = fmadd(F::load_unaligned(v + a + W), t1, acc1);
    }
    for (; a < a_dim; a += W) {
      const std::size_t c = a_dim - a < W ? a_dim - a : W;
      const F t = tanh_batch<A>(load_tail<A>(q + a, c) + load_tail<A>(kj + a, c));
      acc0 = fmadd(load_tail<A>(v + a, c), t, acc0);
    }
    out[j] = hsum<A>(acc0 + acc1);
  }
}

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
      const F xv = F::load_unaligned(x + p);
#pragma GCC unroll 8
      for (std::size_t j = 0; j < R; ++j) acc[j] = fmadd(F::load_unaligned(r + j * lda + p), xv, acc[j]);
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
      const float* r = a + i * lda + j;
      const F xi(x[i]);
      for (std::size_t v = 0; v < V; ++v) c[v] = fmadd(xi, F::load_unaligned(r + v * W), c[v]);
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

// y = A^T x (+ bias) from GemvPanels: in each panel, blocks of up to 8
// vectors of outputs stay in registers while the panel's rows stream past.
template <class A>
void gemv_t_panels(std::size_t m, std::size_t n, const float* pa, const float* x, const float* bias,
                   float* y, bool backward) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size, P = kernels::GemvPanels::kPanel;
  constexpr std::size_t V = P / W < 8 ? P / W : 8;
  static_assert(P % (V * W) == 0, "a panel is whole blocks of vectors");
  const std::size_t panels = (n + P - 1) / P;
  for (std::size_t q = 0; q < panels; ++q) {
    const std::size_t p = backward ? panels - 1 - q : q;
    for (std::size_t j0 = p * P; j0 < n && j0 < (p + 1) * P; j0 += V * W) {
      const float* col = pa + p * m * P + (j0 - p * P);
      F c[V];
      for (std::size_t v = 0; v < V; ++v) c[v] = F(0.0f);
      for (std::size_t i = 0; i < m; ++i) {
        const F xi(x[i]);
        for (std::size_t v = 0; v < V; ++v) c[v] = fmadd(xi, F::load_aligned(col + i * P + v * W), c[v]);
      }
      for (std::size_t v = 0; v < V && j0 + v * W < n; ++v) {
        const std::size_t j = j0 + v * W, cnt = n - j < W ? n - j : W;
        store_n<A>(y + j, cnt, bias ? c[v] + load_n<A>(bias + j, cnt) : c[v]);
      }
    }
  }
}

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
// caller's scratch tile and are dropped. A tile of at most half the rows
// runs the half-height kernel (each element's FMA sequence, so its bits,
// are the same): 50 rows of 8 then cost 52 row-passes, not 56.
template <class A, std::size_t MR>
void gemm_micro(std::size_t kc, const float* a, std::size_t lda, std::size_t rows,
                const float* pb, std::size_t panels, std::size_t ldpb, float* c, std::size_t ldc,
                float alpha, float beta) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size;
  if constexpr (MR >= 6 && MR % 2 == 0)
    if (rows <= MR / 2)
      return gemm_micro<A, MR / 2>(kc, a, lda, rows, pb, panels, ldpb, c, ldc, alpha, beta);
  const float* ar[MR];
#pragma GCC unroll 16
  for (std::size_t i = 0; i < MR; ++i) ar[i] = a + (i < rows ? i : rows - 1) * lda;
  const F va(alpha), vb(beta);
  for (std::size_t q = 0; q < panels; ++q, pb += ldpb, c += 2 * W) {
    F acc0[MR], acc1[MR];
#pragma GCC unroll 16
    for (std::size_t i = 0; i < MR; ++i) acc0[i] = acc1[i] = F(0.0f);
    const float* b = pb;
    for (std::size_t p = 0; p < kc; ++p, b += 2 * W) micro_step<A, MR>(ar, p, b, acc0, acc1);
#pragma GCC unroll 16
    for (std::size_t i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
      F r0 = va * acc0[i], r1 = va * acc1[i];
      if (beta != 0.0f) {
        r0 = fmadd(vb, F::load_unaligned(ci), r0);
        r1 = fmadd(vb, F::load_unaligned(ci + W), r1);
      }
      r0.store_unaligned(ci);
      r1.store_unaligned(ci + W);
    }
  }
}

// gemm_micro's C += A B (alpha = beta = 1, the same bits) with the second
// half of the online softmax of MR other rows woven into its first panel:
// e[r] = 2^(e[r] - shift[r]) over kc scores, sums[r] = their sum, as
// exp2_row gives them. After every 2W / MR k-steps, one pair of vectors:
// the product keeps the FMA pipes busy while the exp's adds, rounds and
// compares go to the others (Zen 5: bench_attention sdpa_L1024_d32 664 ->
// 639 us). The body has no branch, so GCC keeps the 16 accumulators in
// registers. Needs kc a multiple of 2W and MR dividing 2W.
template <class A, std::size_t MR>
void pv_exp2(std::size_t kc, const float* a, std::size_t lda, std::size_t rows, const float* pb,
             std::size_t panels, std::size_t ldpb, float* c, std::size_t ldc, float* e,
             std::size_t lde, const float* shift, float* sums) {
  using F = fbatch<A>;
  constexpr std::size_t W = F::size, Q = 2 * W / MR;
  static_assert(2 * W % MR == 0, "k-steps per exp pair");
  const float* ar[MR];
#pragma GCC unroll 16
  for (std::size_t i = 0; i < MR; ++i) ar[i] = a + (i < rows ? i : rows - 1) * lda;
  F acc0[MR], acc1[MR];
#pragma GCC unroll 16
  for (std::size_t i = 0; i < MR; ++i) acc0[i] = acc1[i] = F(0.0f);
  const float* b = pb;
  std::size_t p = 0;
  for (std::size_t r = 0; r < MR; ++r) {
    const F vs(shift[r]);
    F sum0(0.0f), sum1(0.0f);
    for (std::size_t j = 0; j < kc; j += 2 * W) {
#pragma GCC unroll 4
      for (std::size_t q = 0; q < Q; ++q, ++p, b += 2 * W) micro_step<A, MR>(ar, p, b, acc0, acc1);
      exp2_pair<A>(e + r * lde + j, vs, sum0, sum1);
    }
    sums[r] = hsum<A>(sum0 + sum1);
  }
#pragma GCC unroll 16
  for (std::size_t i = 0; i < MR; ++i) {
    float* ci = c + i * ldc;
    (F::load_unaligned(ci) + acc0[i]).store_unaligned(ci);  // gemm_micro's C + 1 acc
    (F::load_unaligned(ci + W) + acc1[i]).store_unaligned(ci + W);
  }
  if (panels > 1)
    gemm_micro<A, MR>(kc, a, lda, rows, pb + ldpb, panels - 1, ldpb, c + 2 * W, ldc, 1.0f, 1.0f);
}

// Independent FMA chains, enough to cover FMA latency x throughput on every
// core this targets (4 cycles x 2 pipes needs 8; 12 leaves margin).
template <class A>
double fma_peak(std::size_t iters, float* sink) {
  using F = fbatch<A>;
  constexpr int kChains = 12;
  F acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = F(static_cast<float>(j));
  const F a(0.999f), b(1e-3f);
  for (std::size_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < kChains; ++j) acc[j] = fmadd(acc[j], a, b);
  }
  F s(0.0f);
  for (int j = 0; j < kChains; ++j) s += acc[j];
  *sink = hsum<A>(s);
  return 2.0 * kChains * F::size * static_cast<double>(iters);
}

// pv_exp2 where its schedule fits the register tile (AVX-512's 8 x 32).
template <class A, std::size_t MR>
constexpr PvExp2Kernel pv_exp2_for() {
  if constexpr (2 * fbatch<A>::size % MR == 0) return pv_exp2<A, MR>;
  return nullptr;
}

// Register tile MR x 2 vectors (leaving registers for the two B vectors and
// the broadcast); a kc x nc block of B stays in L2, a kc x nr panel in L1.
template <class A, std::size_t MR>
KernelTable make_table(Isa isa) {
  constexpr std::size_t NR = 2 * fbatch<A>::size;
  GemmBlocking bl;
  bl.mr = MR;
  bl.nr = NR;
  bl.kc = 256;
  bl.nc = 2048;
  return KernelTable{isa,          dot<A>,       axpy<A>,         scale_rows<A>,    add<A>,
                     mul<A>,       add_scalar<A>, scale_mul<A>, reduce_sum<A>, reduce_max<A>, global_pool<A>, argmax<A>,
                     softmax<A>,
                     vexp<A>,      exp_lanes16<A>, vtanh<A>,     sigmoid<A>,      relu<A>, silu<A>, rows_mean_max<A>, gru_gates<A>, lstm_gates<A>, conv_rows<A>, online_softmax2<A>,
                     additive_scores<A>, gemv<A>,      gemv_t<A>,  gemv_t_panels<A>,
                     bl,           gemm_micro<A, MR>, nullptr, fma_peak<A>,
                     softmax2_rescale<A>, pv_exp2_for<A, MR>()};
}

}  // namespace
}  // namespace edgeattn::detail
