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
// activation.h's formulas on one vector. The clamps keep a NaN (min and
// max would drop it on x86); hardswish needs no select: NaN times the clamp
// is NaN.
template <class A, Activation Act>
EDGEATTN_ALWAYS_INLINE fbatch<A> activation(fbatch<A> v) {
  using F = fbatch<A>;
  const F zero(0.0f), three(3.0f), six(6.0f);
  if constexpr (Act == Activation::relu) return xsimd::max(v, zero);
  if constexpr (Act == Activation::relu6) return xsimd::select(xsimd::isnan(v), v, xsimd::min(xsimd::max(v, zero), six));
  if constexpr (Act == Activation::sigmoid) return sigmoid_batch<A>(v);
  if constexpr (Act == Activation::silu) return v * sigmoid_batch<A>(v);
  if constexpr (Act == Activation::hardsigmoid)
    return xsimd::select(xsimd::isnan(v), v, xsimd::min(xsimd::max(v + three, zero), six) / six);
  if constexpr (Act == Activation::hardswish) return v * xsimd::min(xsimd::max(v + three, zero), six) / six;
  return v;
}

// The run-time choice, once per call (a loop) or per stored tile (GEMM).
#define EDGEATTN_ACTIVATION_CASES(X) \
  X(relu) X(relu6) X(sigmoid) X(silu) X(hardsigmoid) X(hardswish)
template <class A>
EDGEATTN_ALWAYS_INLINE fbatch<A> activation(Activation act, fbatch<A> v) {
  switch (act) {
#define EDGEATTN_ACTIVATION_CASE(a) \
  case Activation::a: return activation<A, Activation::a>(v);
    EDGEATTN_ACTIVATION_CASES(EDGEATTN_ACTIVATION_CASE)
#undef EDGEATTN_ACTIVATION_CASE
    case Activation::none: break;
  }
  return v;
}

template <class A>
void activate(Activation act, const float* x, float* y, std::size_t n) {
  switch (act) {
#define EDGEATTN_ACTIVATION_CASE(a) \
  case Activation::a: return map1<A>(x, y, n, [](auto v) { return activation<A, Activation::a>(v); });
    EDGEATTN_ACTIVATION_CASES(EDGEATTN_ACTIVATION_CASE)
#undef EDGEATTN_ACTIVATION_CASE
    case Activation::none: break;
  }
  if (x != y) map1<A>(x, y, n, [](auto v) { return v; });
}
template <class A>
void sigmoid(const float* x, float* y, std::size_t n) {
  activate<A>(Activation::sigmoid, x, y, n);
}
template <class A>
void relu(const float* x, float* y, std::size_t n) {
  activate<A>(Activation::relu, x, y, n);
}
template <class A>
void silu(const float* x, float* y, std::size_t n) {
  activate<A>(Activation::silu, x, y, n);
}

}  // namespace
}  // namespace edgeattn::detail
