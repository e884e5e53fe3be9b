// Elementwise kernels: dot, axpy, scale_rows, add, mul, add_scalar,
// scale_mul.
// Part of the SIMD kernels, included only through simd_kernels.h (one
// translation unit per ISA; everything in an anonymous namespace).
#pragma once

#include "common.h"

namespace edgeattn::detail {
namespace {

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

}  // namespace
}  // namespace edgeattn::detail
