// Vector exp, exp2, tanh and sigmoid cores (exp_core.h holds the
// polynomials shared with the scalar path).
// Part of the SIMD kernels, included only through simd_kernels.h (one
// translation unit per ISA; everything in an anonymous namespace).
#pragma once

#include "common.h"

namespace edgeattn::detail {
namespace {

template <class A>
EDGEATTN_ALWAYS_INLINE fbatch<A> exp_batch(fbatch<A> x) {
  return exp_core<BatchOps<A>, true>(x);
}
// exp of x <= 0 (softmax after its maximum): see exp_core.h.
template <class A>
EDGEATTN_ALWAYS_INLINE fbatch<A> exp_nonpositive(fbatch<A> x) {
  return exp_nonpositive_core<BatchOps<A>, true>(x);
}
#if defined(__AVX512F__)
// 2^x for x <= 128 on AVX-512F: rounded with vrndscaleps, 2^n applied with
// a zero-masked vscalefps (0 below -125 and for -inf, inf from 128, NaN
// kept).
EDGEATTN_ALWAYS_INLINE __m512 exp2_avx512(__m512 x) {
  using F = fbatch<xsimd::avx512f>;
  const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const F p = exp2_poly<BatchOps<xsimd::avx512f>>(F(x) - F(n));
  const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-125.0f), _CMP_NLT_UQ);
  return _mm512_maskz_scalef_ps(keep, p, n);
}
#endif
// On AVX-512F exp2_avx512: 9 operations instead of 14, the same bits (the
// same n, f and polynomial, an exact product).
template <class A>
EDGEATTN_ALWAYS_INLINE fbatch<A> exp2_nonpositive(fbatch<A> x) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<A, xsimd::avx512f>) return exp2_avx512(x);
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
// half of 1 / (1 + exp(-x)) built on a generic exp, with the same one
// division; its 3.5e-7 error halves. Exact 0 and 1 beyond |x| = 18 (the
// true value is within 1.6e-8). AVX-512's exp2 is short enough to turn
// that round (below).
template <class A>
EDGEATTN_ALWAYS_INLINE fbatch<A> sigmoid_batch(fbatch<A> x) {
  using F = fbatch<A>;
#if defined(__AVX512F__)
  // AVX-512: 1 / (1 + 2^a), a = -x log2 e, with exp2_avx512: 13
  // operations against the tanh form's 17 (sigmoid/4096 1.10 -> 0.74 us; a
  // SiLU GEMM epilogue 10-13% faster). a is clamped to 128 (x = -inf gives
  // 0) with the constant first so that NaN passes; x = +inf gives 1.
  if constexpr (std::is_same_v<A, xsimd::avx512f>) {
    const F a = xsimd::min(F(128.0f), F(-1.4426950408889634f) * x);
    return F(1.0f) / (F(1.0f) + F(exp2_avx512(a)));
  }
#endif
  const F half(0.5f);
  return fmadd(half, tanh_batch<A>(half * x), half);
}

}  // namespace
}  // namespace edgeattn::detail
