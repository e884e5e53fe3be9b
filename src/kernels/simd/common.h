// The vocabulary of every SIMD kernel: batch types, FMA, loads and stores of
// partial vectors, horizontal sums and maxima, elementwise drivers.
// Part of the SIMD kernels, included only through simd_kernels.h (one
// translation unit per ISA; everything in an anonymous namespace).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "../exp_core.h"
#include "../module_kernels.h"
#include "../table.h"

// llvm-mca regions (tools/mca_report.sh builds with EDGEATTN_MCA_MARKERS):
// comments around one iteration of a hot loop, named with a number (the
// tile's rows, say), so that the analysis reads exactly the code the
// compiler emitted for it. Nothing at all in every other build.
#if defined(EDGEATTN_MCA_MARKERS) && (defined(__aarch64__) || defined(__arm__))
#if defined(__aarch64__)
#define EDGEATTN_MCA_COMMENT "//"
#else
#define EDGEATTN_MCA_COMMENT "@"
#endif
#define EDGEATTN_MCA_BEGIN(name, n) asm volatile(EDGEATTN_MCA_COMMENT " LLVM-MCA-BEGIN " name "_%c0" ::"i"(n))
#define EDGEATTN_MCA_END(name, n) asm volatile(EDGEATTN_MCA_COMMENT " LLVM-MCA-END " name "_%c0" ::"i"(n))
#else
#define EDGEATTN_MCA_BEGIN(name, n)
#define EDGEATTN_MCA_END(name, n)
#endif

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

// Asks for the line at `at` of each of R rows `ld` bytes apart, into L2 (a
// hint: it never faults). A kernel streaming a block of weight rows from
// DRAM prefetches the next block's rows at the same offset, so that twice
// the misses are in flight: the hardware prefetcher alone kept 4 rows of
// 4608 floats at 20-25 GB/s on Zen 4, with the next 4 asked for 42-46.
constexpr std::size_t kLineBytes = 64, kLineFloats = kLineBytes / sizeof(float);
template <std::size_t R>
EDGEATTN_ALWAYS_INLINE void prefetch_rows(const void* at, std::size_t ld) {
  for (std::size_t r = 0; r < R; ++r) __builtin_prefetch(static_cast<const char*>(at) + r * ld, 0, 2);
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
  // On NEON, xsimd 8.1's bitwise_cast calls vreinterpretq through a table
  // of function pointers that GCC leaves as calls: four calls per vector in
  // exp (found by tools/mca_report.sh). The intrinsic is a no-op move.
  static I bits(F v) {
#if defined(__ARM_NEON)
    if constexpr (std::is_base_of_v<xsimd::neon, A>) return I(vreinterpretq_s32_f32(v));
#endif
    return xsimd::bitwise_cast<I>(v);
  }
  static F from_bits(I v) {
#if defined(__ARM_NEON)
    if constexpr (std::is_base_of_v<xsimd::neon, A>) return F(vreinterpretq_f32_s32(v));
#endif
    return xsimd::bitwise_cast<F>(v);
  }
  static I shift_right(I v, int n) { return v >> n; }
  static I shift_left(I v, int n) { return v << n; }
  // x == x is false only for NaN (xsimd 8.1's AVX-512 != is an ordered
  // compare, false for NaN, so it cannot be used for this test).
  static F keep_nan(F x, F y) { return xsimd::select(x == x, y, x); }
  static F select_lt(F a, F b, F y, F z) { return xsimd::select(a < b, y, z); }
};

// Mask bytes as 1.0f / 0.0f.
template <class A>
fbatch<A> load_mask(const std::uint8_t* m, std::size_t count) {
  alignas(64) float tmp[fbatch<A>::size];
  for (std::size_t i = 0; i < fbatch<A>::size; ++i) tmp[i] = (i < count && m[i]) ? 1.0f : 0.0f;
  return fbatch<A>::load_aligned(tmp);
}

}  // namespace
}  // namespace edgeattn::detail
