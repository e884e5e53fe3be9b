// Kernels: single-threaded primitives over raw pointers and sizes, each with
// a scalar reference and xsimd implementations for the ISAs this build
// carries (isa.h says which runs and forces another).
//
// Pointers need no particular alignment. Output buffers may alias an input
// of the same length (in-place) unless stated otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "edgeattn/activation.h"
#include "edgeattn/isa.h"
#include "edgeattn/status.h"
#include "edgeattn/tensor.h"
#include "edgeattn/weights.h"

namespace edgeattn::kernels {

// sum_i a[i] * b[i]
float dot(const float* a, const float* b, std::size_t n);
// y[i] += alpha * x[i]
void axpy(float alpha, const float* x, float* y, std::size_t n);
// y[i] = alpha * x[i]
void scale(float alpha, const float* x, float* y, std::size_t n);
// y[r * n + i] = a[r] * x[r * n + i] for rows contiguous rows of n (a
// per-channel weight on an NCHW map); y may alias x.
void scale_rows(const float* a, const float* x, std::size_t rows, std::size_t n, float* y);
// y[i] = a[i] + b[i] / a[i] * b[i]
void add(const float* a, const float* b, float* y, std::size_t n);
void mul(const float* a, const float* b, float* y, std::size_t n);
// y[i] = a[i] + b (the broadcast of a scalar; mul by a scalar is scale())
void add_scalar(const float* a, float b, float* y, std::size_t n);
// y[i] = (alpha * a[i]) * b[i], rounded after each product (one pass for
// two broadcast multiplies, e.g. a channel weight and a spatial map).
void scale_mul(float alpha, const float* a, const float* b, float* y, std::size_t n);

// Reductions along a contiguous axis. Empty input: sum 0, mean 0, max -inf.
float reduce_sum(const float* x, std::size_t n);
float reduce_max(const float* x, std::size_t n);
float reduce_mean(const float* x, std::size_t n);
// Global average (and, when max is not null, max) pooling of rows
// contiguous rows of n, one pass over each: mean[r] = reduce_mean(row r)
// bitwise, max[r] = the maximum of row r (-inf for n == 0).
void global_pool(const float* x, std::size_t rows, std::size_t n, float* mean, float* max);
// The index of the first maximum of x[0..n) (as torch.argmax: a NaN counts
// as the maximum, so the first NaN wins, on every ISA); 0 if n == 0.
std::size_t argmax(const float* x, std::size_t n);

// y = softmax(x) over n elements, stable (the maximum is subtracted first).
// mask (may be null): element i takes part only if mask[i] != 0; excluded
// elements get exactly 0. A row with nothing to attend (n == 0 or all masked)
// is all zeros instead of PyTorch's NaN. y may alias x.
void softmax(const float* x, const std::uint8_t* mask, float* y, std::size_t n);

// Elementwise transcendental functions. exp is within 1e-6 relative error of
// the exact value for |x| <= 87 (and exp(-inf) = 0, exp(+inf) = inf, exp of
// large x is inf, never NaN); tanh and sigmoid are within 1e-6 absolute.
void exp(const float* x, float* y, std::size_t n);
void tanh(const float* x, float* y, std::size_t n);
void sigmoid(const float* x, float* y, std::size_t n);
// Activations: y = max(x, 0); y = x * sigmoid(x) (SiLU / swish); y =
// act(x) for any of activation.h (sigmoid and silu within 1e-6 absolute
// and |x| 1e-6 + 1e-6, the rest exact).
void relu(const float* x, float* y, std::size_t n);
void silu(const float* x, float* y, std::size_t n);
void activate(Activation act, const float* x, float* y, std::size_t n);
// y = alpha * A x + beta * y, A row-major m x k with row stride lda.
// beta == 0 means y is not read (so it may hold garbage or NaN).
void gemv(std::size_t m, std::size_t k, float alpha, const float* a, std::size_t lda,
          const float* x, float beta, float* y);

// y = alpha * A^T x + beta * y, A row-major m x k (so y has k elements and x
// m): the weighted sum of A's rows, e.g. attention weights times values.
void gemv_t(std::size_t m, std::size_t k, float alpha, const float* a, std::size_t lda,
            const float* x, float beta, float* y);

class PackedB;

// C = act(alpha * A op(B) + beta * C + bias), all row-major. A is m x k; B
// is k x n, or n x k when trans_b (then op(B) = B^T, the shape of attention
// scores Q K^T). beta == 0 means C is not read. bias (optional): bias[i] is
// added to row i (a convolution's output channel); bias and act are applied
// as C is stored, so a 1x1 convolution makes one pass over its output. packed_b (optional): op(B) packed once
// beforehand, used instead of packing b on every call when it was packed
// for the ISA that runs; b serves any other ISA, and may be null only for a
// call on the ISA it was packed for. packed_b_col: the column of packed_b
// where this call's op(B) starts (threads splitting C's columns), a
// multiple of the tile's width with the call's columns inside one of the
// packing's column blocks (gemm_block_cols(); any call when packed_b has
// no more columns than that).
// b_weights (optional, instead of b): typed weights W [n, k] with op(B) =
// W^T (a Linear layer's weight), widened to floats as each block of B is
// packed, so the register tile never sees the storage type. a_weights
// (optional, instead of a): typed A [m, k] (a convolution's weights),
// each register tile's rows widened once per block of B.
struct GemmArgs {
  std::size_t m = 0, n = 0, k = 0;
  float alpha = 1.0f;
  const float* a = nullptr;
  std::size_t lda = 0;
  const float* b = nullptr;
  std::size_t ldb = 0;
  bool trans_b = false;
  float beta = 0.0f;
  float* c = nullptr;
  std::size_t ldc = 0;
  const PackedB* packed_b = nullptr;
  std::size_t packed_b_col = 0;
  const float* bias = nullptr;
  Activation act = Activation::none;
  WeightRows b_weights;
  WeightRows a_weights;
};

// op(B) of a GEMM (k x n) packed in the layout the active ISA's GEMM reads:
// for weights, packed once at load time instead of on every call. Move-only.
class PackedB {
 public:
  PackedB() = default;
  static Result<PackedB> pack(const float* b, std::size_t ldb, bool trans_b, std::size_t k,
                              std::size_t n);
  // W^T for weights W [n, k] when they are float32; empty for other types
  // (their blocks are widened as the GEMM packs them).
  static Result<PackedB> pack(const Weights& w);
  Isa isa() const { return isa_; }
  std::size_t k() const { return k_; }
  std::size_t n() const { return n_; }
  const float* data() const { return buf_.floats(); }
  std::size_t bytes() const { return buf_.bytes(); }
  // Rows [j0, j1) of op(B)^T back (k floats each), row j at w + (j - j0)
  // ldw: for a caller that keeps only the packed copy and sometimes needs
  // the rows.
  void to_rows(std::size_t j0, std::size_t j1, float* w, std::size_t ldw) const;

 private:
  Isa isa_ = Isa::scalar;
  std::size_t k_ = 0, n_ = 0;
  AlignedBuffer buf_;
};
// op(B) = W^T for weights W [n, k] (a Linear layer's x W^T): float32
// weights as b, with packed (if it holds them) as packed_b; any other type
// as b_weights.
void set_weights_b(GemmArgs& g, const WeightRows& w, const PackedB* packed);
inline void set_weights_b(GemmArgs& g, const Weights& w, const PackedB* packed) {
  set_weights_b(g, w.view(), packed);
}

// Scratch bytes gemm() needs for this size (enough for every compiled ISA,
// so that set_isa() after planning stays safe). Includes alignment slack.
std::size_t gemm_workspace_bytes(std::size_t m, std::size_t n, std::size_t k);
// Checks its arguments (sizes, leading dimensions, null pointers, workspace
// size) and returns invalid_argument naming the first bad one.
Status gemm(const GemmArgs& args, void* workspace, std::size_t workspace_bytes);

// Attention without materialising the scores: o_i = sum_j softmax_j(scale *
// q_i . k_j) v_j over the keys mask allows, streamed over key blocks with the
// online softmax of Milakov & Gimelshein (2018), as FlashAttention (Dao et
// al. 2022) does. q [m x d], k [n x d], v [n x dv], o [m x dv], row-major with
// leading dimensions; mask: null, or uint8 rows of n (ldmask apart; ldmask 0
// = one row for every query), nonzero = may attend. A row with nothing to
// attend gets o = 0. Threaded as ops.h attention().
struct AttendArgs {
  std::size_t m = 0, n = 0, d = 0, dv = 0;
  const float* q = nullptr;
  std::size_t ldq = 0;
  const float* k = nullptr;
  std::size_t ldk = 0;
  const float* v = nullptr;
  std::size_t ldv = 0;
  const std::uint8_t* mask = nullptr;
  std::size_t ldmask = 0;
  float scale = 1.0f;
  float* o = nullptr;
  std::size_t ldo = 0;
};

// b[j * ldb + i] = a[i * lda + j] for i < rows, j < cols (b = a^T), in 4 x 4
// register blocks where the baseline ISA has them; the same on every ISA.
void transpose(std::size_t rows, std::size_t cols, const float* a, std::size_t lda, float* b,
               std::size_t ldb);

// The micro-tile of the active ISA's GEMM (rows x columns): threaded
// operators split work on multiples of it so that results do not depend on
// the thread count.
std::size_t gemm_tile_rows();
std::size_t gemm_tile_cols();
// The columns of B the active ISA's GEMM packs in one block (BLIS's nc).
std::size_t gemm_block_cols();

}  // namespace edgeattn::kernels
