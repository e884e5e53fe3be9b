// Kernels: single-threaded primitives over raw pointers and sizes, each with
// a scalar reference and xsimd implementations for the ISAs this build
// carries. The best ISA the CPU supports is picked once, at first use; it can
// be forced with set_isa() or the EDGEATTN_ISA environment variable
// ("scalar", "sse2", "sse41", "avx2", "avx512", "neon", "neon64", "auto").
//
// Pointers need no particular alignment. Output buffers may alias an input
// of the same length (in-place) unless stated otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "edgeattn/status.h"
#include "edgeattn/tensor.h"

namespace edgeattn {

enum class Isa { scalar, sse2, sse41, avx2, avx512, neon, neon64 };

const char* isa_name(Isa isa);
// Parse a name as above ("auto" is not an Isa; see set_isa(const char*)).
Result<Isa> isa_from_name(const char* name);
// ISAs compiled into this binary and supported by this CPU (and OS), scalar
// first, best last.
std::vector<Isa> available_isas();
// The ISA whose kernels run now.
Isa active_isa();
// Force an ISA for all later kernel calls in this process; fails with
// `unsupported` if it is not available. Not meant to be flipped while other
// threads run kernels (they may see either table for a call in flight).
Status set_isa(Isa isa);
// The same by name; "auto" restores the best available ISA.
Status set_isa(const char* name);

namespace kernels {

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
// Seeded sampling's unnormalised weights, bitwise the same on every ISA:
// e[i] = exp(x[i] - shift) where mask (may be null) has i nonzero, else 0,
// for i < n, and 0 from n up to the next multiple of 16 (e holds that many);
// lanes[l] = e[l] + e[16 + l] + ... added in that order, so no sum depends
// on the vector width. exp by one IEEE operation sequence everywhere (no
// FMA), within 1e-6 relative of the exact value; x - shift < -87 gives 0
// (x <= shift is expected: shift is the maximum).
void exp_lanes16(const float* x, const std::uint8_t* mask, std::size_t n, float shift, float* e,
                 float* lanes);
// The index of the first maximum of x[0..n) (as torch.argmax: a NaN counts
// as the maximum, so the first NaN wins, on every ISA); 0 if n == 0.
std::size_t argmax(const float* x, std::size_t n);

// y = softmax(x) over n elements, stable (the maximum is subtracted first).
// mask (may be null): element i takes part only if mask[i] != 0; excluded
// elements get exactly 0. A row with nothing to attend (n == 0 or all masked)
// is all zeros instead of PyTorch's NaN. y may alias x.
void softmax(const float* x, const std::uint8_t* mask, float* y, std::size_t n);

// One step of the streaming (online) softmax in base 2, over `rows` rows of
// n scores already multiplied by log2 e (lds apart), as attention runs it
// block by block: per row r, m' = max(m[r], s), s = 2^(s - m') in place
// (within 1e-6 relative), l[r] = l[r] 2^(m[r] - m') + sum s, the row's dv
// accumulated outputs (o + r * ldo) scaled by 2^(m[r] - m'), then m[r] = m'.
// A row still all -inf gets zeros and keeps m, l and o.
void online_softmax2(float* s, std::size_t lds, std::size_t rows, std::size_t n, float* m,
                     float* l, float* o, std::size_t ldo, std::size_t dv);

// Elementwise transcendental functions. exp is within 1e-6 relative error of
// the exact value for |x| <= 87 (and exp(-inf) = 0, exp(+inf) = inf, exp of
// large x is inf, never NaN); tanh and sigmoid are within 1e-6 absolute.
void exp(const float* x, float* y, std::size_t n);
void tanh(const float* x, float* y, std::size_t n);
void sigmoid(const float* x, float* y, std::size_t n);
// Activations: y = max(x, 0); y = x * sigmoid(x) (SiLU / swish).
void relu(const float* x, float* y, std::size_t n);
void silu(const float* x, float* y, std::size_t n);
// Recurrent cell updates for one row of n hidden units, as torch.nn.GRU and
// torch.nn.LSTM compute them. gx: the input projection W_ih x + b_ih, gh:
// the recurrent one W_hh h + b_hh, each with the gates one after another.
// GRU (gates r, z, n): r = sigmoid(gx_r + gh_r), z = sigmoid(gx_z + gh_z),
// m = tanh(gx_n + r * gh_n), h_out = (1 - z) * m + z * h.
// LSTM (gates i, f, g, o, each gx + gh): c = sigmoid(f) * c +
// sigmoid(i) * tanh(g) (c updated in place), h_out = sigmoid(o) * tanh(c).
// h_out may alias h.
void gru_gates(const float* gx, const float* gh, const float* h, float* h_out, std::size_t n);
void lstm_gates(const float* gx, const float* gh, float* c, float* h_out, std::size_t n);
// Output rows of a stride-1 2-D cross-correlation, accumulated (direct
// convolution over a zero-padded plane): y[r * ldy + c] += sum_{i < kh,
// j < kw} w[i * kw + j] * x[(r + i) * ldx + c + j] for r < rows, c < n,
// each sum in (i, j) or (j, i) order (the blocking decides; threads never
// do); x holds rows + kh - 1 rows of at least n + kw - 1 readable floats,
// ldx apart.
void conv_rows(const float* x, std::size_t ldx, const float* w, std::size_t kh, std::size_t kw,
               float* y, std::size_t ldy, std::size_t rows, std::size_t n);
// Mean and max across `rows` rows of n (ldx apart), e.g. over the channels
// of a feature map (CBAM): with t_r = scale[r] * x[r * ldx + i] (scale null:
// t_r = x), mean[i] = (t_0 + t_1 + ... ) / rows in that order and max[i] =
// max_r t_r. Each t_r is rounded before it is added, as PyTorch's mean of a
// scaled map computes it.
void rows_mean_max(const float* x, std::size_t ldx, std::size_t rows, const float* scale,
                   float* mean, float* max, std::size_t n);

// Bahdanau's additive scores: out[j] = sum_a v[a] tanh(q[a] + k[j * ldk + a])
// for j < n, a < a_dim (q: the projected query, k: the projected keys).
void additive_scores(const float* q, const float* k, std::size_t ldk, std::size_t n,
                     std::size_t a_dim, const float* v, float* out);

// y = alpha * A x + beta * y, A row-major m x k with row stride lda.
// beta == 0 means y is not read (so it may hold garbage or NaN).
void gemv(std::size_t m, std::size_t k, float alpha, const float* a, std::size_t lda,
          const float* x, float beta, float* y);

// y = alpha * A^T x + beta * y, A row-major m x k (so y has k elements and x
// m): the weighted sum of A's rows, e.g. attention weights times values.
void gemv_t(std::size_t m, std::size_t k, float alpha, const float* a, std::size_t lda,
            const float* x, float beta, float* y);

// A row-major m x n matrix stored for y = A^T x as column panels of kPanel
// floats (the last zero-padded), each panel's m rows contiguous: a block of
// outputs then reads one contiguous run (the hardware prefetcher's best
// case) instead of m strided pieces. The layout is the same for every ISA.
// For the recurrent weights W_hh^T that every RNN step reads whole.
class GemvPanels {
 public:
  static constexpr std::size_t kPanel = 64;
  GemvPanels() = default;
  static Result<GemvPanels> pack(const float* a, std::size_t lda, std::size_t m, std::size_t n);
  std::size_t m() const { return m_; }
  std::size_t n() const { return n_; }
  const float* data() const { return buf_.floats(); }
  std::size_t bytes() const { return buf_.bytes(); }

 private:
  std::size_t m_ = 0, n_ = 0;
  AlignedBuffer buf_;
};
// y = A^T x, plus bias (n floats) unless it is null. backward visits the
// panels last to first: a loop that calls this once per step on the same A
// and alternates reads first what the previous call read last, still in L1.
// Each output sums its m products in row order either way, so the result is
// the same bit for bit. part/parts: only the part-th of `parts` even runs
// of panels (their outputs alone), so that threads can share one product.
void gemv_t_panels(const GemvPanels& a, const float* x, const float* bias, float* y, bool backward,
                   std::size_t part = 0, std::size_t parts = 1);

class PackedB;

// C = alpha * A op(B) + beta * C, all row-major. A is m x k; B is k x n, or
// n x k when trans_b (then op(B) = B^T, the shape of attention scores Q K^T).
// beta == 0 means C is not read. packed_b (optional): op(B) packed once
// beforehand, used instead of packing b on every call when it was packed
// for the ISA that runs; b must still be given (it serves any other ISA).
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
};

// op(B) of a GEMM (k x n) packed in the layout the active ISA's GEMM reads:
// for weights, packed once at load time instead of on every call. Move-only.
class PackedB {
 public:
  PackedB() = default;
  static Result<PackedB> pack(const float* b, std::size_t ldb, bool trans_b, std::size_t k,
                              std::size_t n);
  Isa isa() const { return isa_; }
  std::size_t k() const { return k_; }
  std::size_t n() const { return n_; }
  const float* data() const { return buf_.floats(); }
  std::size_t bytes() const { return buf_.bytes(); }

 private:
  Isa isa_ = Isa::scalar;
  std::size_t k_ = 0, n_ = 0;
  AlignedBuffer buf_;
};
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

}  // namespace kernels
}  // namespace edgeattn
