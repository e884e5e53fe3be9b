// Elementwise activations and transcendental functions, and sampling's
// exp that is bitwise the same on every ISA.
// Part of the SIMD kernels, included only through simd_kernels.h (one
// translation unit per ISA; everything in an anonymous namespace).
#pragma once

#include "common.h"
#include "math.h"

namespace edgeattn::detail {
namespace {

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

}  // namespace
}  // namespace edgeattn::detail
