// Reductions along a row: sums, maxima, global pooling, argmax, and the
// mean/max across channels of CBAM's spatial branch.
// Part of the SIMD kernels, included only through simd_kernels.h (one
// translation unit per ISA; everything in an anonymous namespace).
#pragma once

#include "common.h"

namespace edgeattn::detail {
namespace {

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

}  // namespace
}  // namespace edgeattn::detail
