// The fused GRU and LSTM gate updates.
// Part of the SIMD kernels, included only through simd_kernels.h (one
// translation unit per ISA; everything in an anonymous namespace).
#pragma once

#include "common.h"
#include "math.h"

namespace edgeattn::detail {
namespace {

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

}  // namespace
}  // namespace edgeattn::detail
