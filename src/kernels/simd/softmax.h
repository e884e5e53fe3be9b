// Softmax, masked, and the online (streaming) softmax in base 2 with its
// rescale half.
// Part of the SIMD kernels, included only through simd_kernels.h (one
// translation unit per ISA; everything in an anonymous namespace).
#pragma once

#include "common.h"
#include "math.h"
#include "elementwise.h"
#include "reductions.h"

namespace edgeattn::detail {
namespace {

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

}  // namespace
}  // namespace edgeattn::detail
