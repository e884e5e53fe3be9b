// Attention's fused kernels: additive scores, and the P V product with the
// next tile's exponentials woven in.
// Part of the SIMD kernels, included only through simd_kernels.h (one
// translation unit per ISA; everything in an anonymous namespace).
#pragma once

#include "common.h"
#include "math.h"
#include "softmax.h"
#include "gemm.h"

namespace edgeattn::detail {
namespace {

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
    gemm_micro<A, MR>(kc, a, lda, rows, pb + ldpb, panels - 1, ldpb, c + 2 * W, ldc, 1.0f, 1.0f, nullptr,
                      Activation::none);
}

}  // namespace
}  // namespace edgeattn::detail
