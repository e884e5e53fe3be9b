// The fused kernels only modules call (EDGEATTN_MODULE_KERNELS in
// kernel_list.h): each has a scalar reference and xsimd versions like the
// public ones in kernels.h, but no promise to users. Internal.
#pragma once

#include <cstddef>
#include <cstdint>

#include "edgeattn/kernels.h"
#include "edgeattn/weights.h"

namespace edgeattn::kernels {

// Seeded sampling's unnormalised weights, bitwise the same on every ISA:
// e[i] = exp(x[i] - shift) where mask (may be null) has i nonzero, else 0,
// for i < n, and 0 from n up to the next multiple of 16 (e holds that many);
// lanes[l] = e[l] + e[16 + l] + ... added in that order, so no sum depends
// on the vector width. exp by one IEEE operation sequence everywhere (no
// FMA), within 1e-6 relative of the exact value; x - shift < -87 gives 0
// (x <= shift is expected: shift is the maximum).
void exp_lanes16(const float* x, const std::uint8_t* mask, std::size_t n, float shift, float* e,
                 float* lanes);

// One step of the streaming (online) softmax in base 2, over `rows` rows of
// n scores already multiplied by log2 e (lds apart), as attention runs it
// block by block: per row r, m' = max(m[r], s), s = 2^(s - m') in place
// (within 1e-6 relative), l[r] = l[r] 2^(m[r] - m') + sum s, the row's dv
// accumulated outputs (o + r * ldo) scaled by 2^(m[r] - m'), then m[r] = m'.
// A row still all -inf gets zeros and keeps m, l and o.
void online_softmax2(float* s, std::size_t lds, std::size_t rows, std::size_t n, float* m,
                     float* l, float* o, std::size_t ldo, std::size_t dv);

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
// y[r * ldy + c] = x[r * ldx + c] for r < rows, c < n: a block of a
// feature map copied (im2col, padding), row by row in vectors and a masked
// tail, where a call per row of a small map (7 or 14 floats) cost more in
// calls than in copying.
void copy_rows(const float* x, std::size_t ldx, std::size_t rows, std::size_t n, float* y, std::size_t ldy);
// The im2col rows of one zero-padded input plane for a stride-1,
// undilated kh x kw conv, pixels [n0, n1) of an output ow wide:
// col[(i kw + j) ldcol + p] = x[(p / ow + i) ldx + p % ow + j]. One call
// per plane, where a call per tap cost more than its copies on small maps
// (resnet18 + CBAM's 2x2 stage: 4608 taps of 2 x 2 floats a conv).
void im2col_plane(const float* x, std::size_t ldx, std::size_t kh, std::size_t kw, std::size_t ow, std::size_t n0,
                  std::size_t n1, float* col, std::size_t ldcol);
// Output rows of a max pool over windows inside the map: y[r ldy + c] =
// max over i < kh, j < kw of x[(r sh + i) ldx + c sw + j] for r < rows,
// c < n, a later equal value never replacing an earlier one (PyTorch's
// `val > max`); false if a NaN was among them (the caller then redoes the
// rows: PyTorch's max is NaN). Strides 1 and 2 along rows run in vectors
// (stride 2 takes the even lanes of two). A plane's rows in one call: a
// call per row cost more than its maxima on a 14 x 14 map.
bool max_pool_rows(const float* x, std::size_t ldx, std::size_t kh, std::size_t kw, std::size_t sh, std::size_t sw,
                   float* y, std::size_t ldy, std::size_t rows, std::size_t n);
// Output rows of a stride-1 2-D cross-correlation, accumulated (direct
// convolution over a zero-padded plane): y[r * ldy + c] += sum_{i < kh,
// j < kw} w[i * kw + j] * x[(r + i) * ldx + c + j] for r < rows, c < n,
// each sum in (i, j) or (j, i) order (the blocking decides; threads never
// do); x holds rows + kh - 1 rows of at least n + kw - 1 readable floats,
// ldx apart.
void conv_rows(const float* x, std::size_t ldx, const float* w, std::size_t kh, std::size_t kw,
               float* y, std::size_t ldy, std::size_t rows, std::size_t n);
// One output row of a depthwise convolution over 16 channels interleaved
// (the blocked layout [H][W][16], as ncnn's pack layouts): for c < n and
// lane l < 16, y[c * 16 + l] = act(w[kh kw 16 + l] + sum_{i < kh, j < kw}
// w[(i kw + j) 16 + l] x[i ldx + (c sw + j) 16 + l]), the bias first and
// then the taps in (i, j) order; x points at the first input row of the
// window (ldx floats apart), w holds the taps then the bias, 16 each.
void dwconv_row(const float* x, std::size_t ldx, const float* w, std::size_t kh, std::size_t kw,
                std::size_t sw, float* y, std::size_t n, Activation act);
constexpr std::size_t kDwLanes = 16;
// One output row of a dense convolution with few inputs per output (a
// network's stem: 3 channels x 3 x 3), 16 output channels as the lanes:
// y[c * 16 + l] = act(w[k 16 + l] + sum_{ch < channels, i < kh, j < kw}
// w[((ch kh + i) kw + j) 16 + l] x[ch plane + i ldx + c sw + j]), k =
// channels kh kw, summed in that order; x is the padded NCHW input at the
// window's first row.
void conv_row_oc16(const float* x, std::size_t ldx, std::size_t plane, std::size_t channels,
                   const float* w, std::size_t kh, std::size_t kw, std::size_t sw, float* y,
                   std::size_t n, Activation act);

// Typed weights (weights.h), widened in registers, float32 sums:
// y[i] = alpha (scale[i] sum_c a[i][c] x[c]) + beta y[i] for i < m, c < k
// (beta == 0: y is not read; scale: a.scale, int8 only).
void gemv_w(std::size_t m, std::size_t k, float alpha, WeightRows a, const float* x, float beta,
            float* y);
// A few products at once, each row of a read once: y[i ldy + j] =
// scale[i] sum_p a[i][p] x[j ldx + p] for i < m, j < nx <= kGemvMultiMax
// (scale: a.scale, int8 only; a conv's weights against the im2row rows of
// a map of few pixels: its output planes directly).
constexpr std::size_t kGemvMultiMax = 8;
void gemv_multi_w(std::size_t m, std::size_t k, WeightRows a, const float* x, std::size_t ldx,
                  std::size_t nx, float* y, std::size_t ldy);
// A product of at most kNarrowCols columns, C = A B: c[i ldc + j] =
// sum_p a[i lda + p] b[p kNarrowCols + j] for i < m, j < n <= kNarrowCols,
// summed in p order (a conv's weights against its im2col of 9-16 pixels).
// Each row of A in place: an element of it broadcast against the row of B
// (the pixels in the lanes), so that a block of many rows shares each load
// of B and no lanes sum across (gemv_multi_w reduces each product
// horizontally, and a GEMM's 32-column tile would be half idle).
// b: k rows of kNarrowCols floats, those past n read and ignored.
constexpr std::size_t kNarrowCols = 16;
void gemm_narrow(std::size_t m, std::size_t k, const float* a, std::size_t lda, const float* b, std::size_t n,
                 float* c, std::size_t ldc);
// y[i] = a[0][begin + i] dequantized, i < n (row 0 of a).
void widen_w(WeightRows a, std::size_t begin, std::size_t n, float* y);

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

// W [n, m] (n outputs of m inputs: y = W x = A^T x for A = W^T) stored
// for that product as panels of kPanel outputs (the last zero-padded), a
// panel's m rows contiguous, each row its kPanel outputs in W's type in the
// lane groups of weights.h: a block of outputs then reads one contiguous
// run (the hardware prefetcher's best case) instead of m strided pieces.
// The layout is the same for every ISA. For the recurrent weights W_hh
// that every RNN step reads whole.
class GemvPanels {
 public:
  static constexpr std::size_t kPanel = 64;
  GemvPanels() = default;
  static Result<GemvPanels> pack(const Weights& w);
  std::size_t m() const { return m_; }
  std::size_t n() const { return n_; }
  WeightType type() const { return panels_.type(); }
  // Panel p's row i is row p m + i; no scales (they are per output: scale()).
  WeightRows rows() const {
    WeightRows r = panels_.view();
    r.scale = nullptr;
    return r;
  }
  const float* scale() const { return scale_.floats(); }  // int8: W's row scales; else null
  std::size_t bytes() const { return panels_.bytes() + scale_.bytes(); }

 private:
  std::size_t m_ = 0, n_ = 0;
  Weights panels_;
  AlignedBuffer scale_;
};
// y = A^T x (times the int8 scales), plus bias (n floats) unless it is null. backward visits the
// panels last to first: a loop that calls this once per step on the same A
// and alternates reads first what the previous call read last, still in L1.
// Each output sums its m products in row order either way, so the result is
// the same bit for bit. part/parts: only the part-th of `parts` even runs
// of panels (their outputs alone), so that threads can share one product.
void gemv_t_panels(const GemvPanels& a, const float* x, const float* bias, float* y, bool backward,
                   std::size_t part = 0, std::size_t parts = 1);

}  // namespace edgeattn::kernels
