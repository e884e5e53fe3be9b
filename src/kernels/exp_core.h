// The exp algorithm, written once for a scalar float and for xsimd batches
// (Ops supplies the primitives). Cody-Waite reduction x = n ln2 + r with
// |r| <= ln2/2, e^r by a degree-5 minimax polynomial with p(0) = 1
// (tools/fit_math.py: 9.2e-8 relative, 1.7e-7 evaluated in float), then 2^n
// applied as two exact power-of-two factors so that n from -150 to 128 needs
// no special case (denormal results included).
//
// kFused selects FMA for the polynomial (fast path) or separate multiply and
// add: with the library compiled -ffp-contract=off, the unfused form is the
// same IEEE operation sequence on every ISA, so its results are bitwise
// identical everywhere (the seeded sampling path relies on that).
#pragma once

#include <cstdint>

// For the per-vector math functions: called once per vector in hot loops,
// where a call would pass the vector through memory.
#if defined(__GNUC__)
#define EDGEATTN_ALWAYS_INLINE __attribute__((always_inline)) inline
// Inline every call in the function: GCC 12 leaves a lambda called from two
// sites (main loop and tail) out of line, which re-broadcasts its constants
// on every call (tanh over 4096 floats took twice as long).
#define EDGEATTN_FLATTEN __attribute__((flatten))
#else
#define EDGEATTN_ALWAYS_INLINE inline
#define EDGEATTN_FLATTEN
#endif

namespace edgeattn::detail {

constexpr float kExpMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer

// e^r by the reduction and polynomial; t holds n = round(x / ln2) in the
// low bits of its mantissa (t - magic = n).
template <class Ops, bool kFused>
EDGEATTN_ALWAYS_INLINE typename Ops::F exp_poly(typename Ops::F x, typename Ops::F& t) {
  using F = typename Ops::F;
  const auto madd = [](F a, F b, F c) { return kFused ? Ops::fma(a, b, c) : a * b + c; };
  const auto nmadd = [](F a, F b, F c) { return kFused ? Ops::fnma(a, b, c) : c - a * b; };
  const F magic = Ops::splat(kExpMagic);
  t = madd(x, Ops::splat(1.44269504088896341f), magic);
  const F nf = t - magic;
  F r = nmadd(nf, Ops::splat(0.693359375f), x);  // ln2 split in a high part with
  r = nmadd(nf, Ops::splat(-2.12194440e-4f), r);  // few bits and the remainder
  F p = Ops::splat(0.008290293626487255f);
  p = madd(p, r, Ops::splat(0.04189788177609444f));
  p = madd(p, r, Ops::splat(0.1666763573884964f));
  p = madd(p, r, Ops::splat(0.4999915063381195f));
  p = madd(p, r, Ops::splat(0.9999997019767761f));
  return madd(p, r, Ops::splat(1.0f));
}

template <class Ops, bool kFused>
EDGEATTN_ALWAYS_INLINE typename Ops::F exp_core(typename Ops::F x) {
  using F = typename Ops::F;
  using I = typename Ops::I;
  F t;
  const F p = exp_poly<Ops, kFused>(Ops::min(Ops::max(x, Ops::splat(-104.0f)), Ops::splat(89.0f)), t);
  const I n = Ops::bits(t) - Ops::bits(Ops::splat(kExpMagic));
  const I n1 = Ops::shift_right(n, 1);
  const I n2 = n - n1;
  const F s1 = Ops::from_bits(Ops::shift_left(n1 + Ops::splat_int(127), 23));
  const F s2 = Ops::from_bits(Ops::shift_left(n2 + Ops::splat_int(127), 23));
  return Ops::keep_nan(x, p * s1 * s2);  // min/max dropped a NaN input
}

// p 2^n, where t = n + kExpMagic holds the integer n in its low mantissa
// bits; 2^n built in the exponent field (normal for -126 < n < 128).
template <class Ops>
EDGEATTN_ALWAYS_INLINE typename Ops::F times_pow2(typename Ops::F p, typename Ops::F t) {
  return p * Ops::from_bits(Ops::shift_left(
                 Ops::bits(t) - Ops::bits(Ops::splat(kExpMagic)) + Ops::splat_int(127), 23));
}

// exp of x <= 0, as softmax takes it once the maximum is subtracted: results
// below e^-87 (1.6e-38) are 0, so every other result is a normal float and
// one power-of-two factor serves; no clamp either (a NaN stays NaN through
// the arithmetic, -inf gives 0). 15 operations against exp_core's 23, and no
// denormal ever (which ARMv7 NEON would flush).
template <class Ops, bool kFused>
EDGEATTN_ALWAYS_INLINE typename Ops::F exp_nonpositive_core(typename Ops::F x) {
  using F = typename Ops::F;
  F t;
  const F p = exp_poly<Ops, kFused>(x, t);
  return Ops::select_lt(x, Ops::splat(-87.0f), Ops::splat(0.0f), times_pow2<Ops>(p, t));
}

// 2^f for |f| <= 1/2 by a degree-5 minimax fit (tools/fit_math.py: 1.9e-7
// relative in float).
template <class Ops>
EDGEATTN_ALWAYS_INLINE typename Ops::F exp2_poly(typename Ops::F f) {
  using F = typename Ops::F;
  F p = Ops::splat(0.001326469355262816f);
  p = Ops::fma(p, f, Ops::splat(0.009671501815319061f));
  p = Ops::fma(p, f, Ops::splat(0.05550733581185341f));
  p = Ops::fma(p, f, Ops::splat(0.24022242426872253f));
  p = Ops::fma(p, f, Ops::splat(0.6931470036506653f));
  return Ops::fma(p, f, Ops::splat(1.0f));
}

// 2^x for x <= 0, the base-2 softmax of FlashAttention (Dao et al. 2022):
// scores that arrive multiplied by log2 e need no Cody-Waite step, as
// x = n + f splits exactly (n = x rounded to nearest even). Below 2^-125
// the result is 0, so it is never denormal; -inf gives 0, NaN stays NaN.
// 12 operations on a chain 4 shorter than exp_nonpositive_core's.
template <class Ops>
EDGEATTN_ALWAYS_INLINE typename Ops::F exp2_nonpositive_core(typename Ops::F x) {
  using F = typename Ops::F;
  const F magic = Ops::splat(kExpMagic);
  const F t = x + magic;
  const F p = exp2_poly<Ops>(x - (t - magic));
  return Ops::select_lt(x, Ops::splat(-125.0f), Ops::splat(0.0f), times_pow2<Ops>(p, t));
}

// K independent values through the same code, each operation applied to
// all K before the next: a long dependent chain (the unfused exp is about
// 50 cycles deep) then offers K chains to the out-of-order window at once
// instead of one after another. Per value the operation sequence is that of
// Ops, so the results are bitwise those of Ops.
template <class T, int K>
struct Group {
  T v[K];
  template <class Fn>
  static Group make(Fn f) {
    Group r;
    for (int k = 0; k < K; ++k) r.v[k] = f(k);
    return r;
  }
  friend Group operator+(const Group& a, const Group& b) { return make([&](int k) { return a.v[k] + b.v[k]; }); }
  friend Group operator-(const Group& a, const Group& b) { return make([&](int k) { return a.v[k] - b.v[k]; }); }
  friend Group operator*(const Group& a, const Group& b) { return make([&](int k) { return a.v[k] * b.v[k]; }); }
};

template <class Ops, int K>
struct GroupOps {
  using F = Group<typename Ops::F, K>;
  using I = Group<typename Ops::I, K>;
  static F splat(float x) { return F::make([&](int) { return Ops::splat(x); }); }
  static I splat_int(std::int32_t x) { return I::make([&](int) { return Ops::splat_int(x); }); }
  static F fma(const F& a, const F& b, const F& c) { return F::make([&](int k) { return Ops::fma(a.v[k], b.v[k], c.v[k]); }); }
  static F fnma(const F& a, const F& b, const F& c) { return F::make([&](int k) { return Ops::fnma(a.v[k], b.v[k], c.v[k]); }); }
  static I bits(const F& x) { return I::make([&](int k) { return Ops::bits(x.v[k]); }); }
  static F from_bits(const I& x) { return F::make([&](int k) { return Ops::from_bits(x.v[k]); }); }
  static I shift_left(const I& x, int n) { return I::make([&](int k) { return Ops::shift_left(x.v[k], n); }); }
  static F select_lt(const F& a, const F& b, const F& y, const F& z) {
    return F::make([&](int k) { return Ops::select_lt(a.v[k], b.v[k], y.v[k], z.v[k]); });
  }
};

}  // namespace edgeattn::detail
