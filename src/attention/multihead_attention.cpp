// Multi-head attention as torch.nn.MultiheadAttention (batch_first, eval):
// in-projection, per-head scaled-dot attention with key padding and causal
// masks, head-averaged weights, out-projection (Vaswani et al. 2017).
#include <cmath>
#include <cstring>

#include "../checks.h"
#include "../scratch.h"
#include "edgeattn/attention.h"
#include "edgeattn/kernels.h"
#include "edgeattn/ops.h"

namespace edgeattn {

using detail::max_of;
using detail::Scratch;
using detail::require_dense;

Result<MultiheadAttention> MultiheadAttention::create(std::size_t e, std::size_t h, bool causal,
                                                      Weights w, WeightType weight_type) {
  if (e == 0 || h == 0 || e % h != 0)
    return Status::invalid("multihead_attention: embed_dim " + std::to_string(e) +
                           " must be a positive multiple of num_heads " + std::to_string(h));
  const auto expect = [](const Tensor& t, const Shape& s, const char* key) -> Status {
    if (t.shape() != s)
      return Status::invalid(std::string("multihead_attention: ") + key + " must be " +
                             s.to_string() + ", found " + t.shape().to_string());
    return {};
  };
  EDGEATTN_RETURN_IF_ERROR(expect(w.in_proj_weight, Shape{3 * e, e}, "in_proj_weight"));
  EDGEATTN_RETURN_IF_ERROR(expect(w.in_proj_bias, Shape{3 * e}, "in_proj_bias"));
  EDGEATTN_RETURN_IF_ERROR(expect(w.out_proj_weight, Shape{e, e}, "out_proj.weight"));
  EDGEATTN_RETURN_IF_ERROR(expect(w.out_proj_bias, Shape{e}, "out_proj.bias"));
  MultiheadAttention m;
  m.e_ = e;
  m.h_ = h;
  m.causal_ = causal;
  EDGEATTN_ASSIGN_OR_RETURN(in, edgeattn::Weights::of(w.in_proj_weight, weight_type, "multihead_attention: in_proj_weight"));
  EDGEATTN_ASSIGN_OR_RETURN(out, edgeattn::Weights::of(w.out_proj_weight, weight_type, "multihead_attention: out_proj.weight"));
  m.in_proj_ = std::move(in), m.out_proj_ = std::move(out);
  m.in_bias_ = std::move(w.in_proj_bias), m.out_bias_ = std::move(w.out_proj_bias);
  if (weight_type == WeightType::f32) {
    for (int i = 0; i < 4; ++i) {  // each [E, E], used as B^T: packed once here
      const WeightRows b = i < 3 ? m.in_proj_.view().from_row(i * e) : m.out_proj_.view();
      Result<kernels::PackedB> p = kernels::PackedB::pack(static_cast<const float*>(b.data), b.ld / 4, true, e, e);
      if (!p.ok()) return p.status();
      m.packed_[i] = std::move(p).value();
    }
  }
  return m;
}

std::size_t MultiheadAttention::weight_bytes() const {
  std::size_t packed = 0;
  for (const auto& p : packed_) packed += p.bytes();
  return in_proj_.bytes() + out_proj_.bytes() + (in_bias_.numel() + out_bias_.numel()) * sizeof(float) + packed;
}

// forward()'s scratch, one description with workspace_bytes(): projected
// Q, K, V and the heads' outputs, one head's probabilities and what it may
// attend [Lq, Lk], head_folded's two rows of E, then room for the GEMMs.
struct MultiheadAttention::Impl {
  struct Slices {
    float *qp, *kp, *vp, *heads, *p, *qs;
    std::uint8_t* allowed;
  };
  static Slices slices(const MultiheadAttention& m, Scratch& s, std::size_t lq, std::size_t lk,
                       const Context& ctx) {
    const std::size_t dh = m.e_ / m.h_;
    Slices sl;
    sl.qp = s.take<float>(lq, m.e_);
    sl.kp = s.take<float>(lk, m.e_);
    sl.vp = s.take<float>(lk, m.e_);
    sl.heads = s.take<float>(lq, m.e_);
    sl.p = s.take<float>(lq, lk);
    sl.allowed = s.take<std::uint8_t>(lq, lk);
    sl.qs = s.take<float>(2, m.e_);
    s.room(max_of(
        max_of(matmul_workspace_bytes(ctx, lq, m.e_, m.e_),
               matmul_workspace_bytes(ctx, lk, m.e_, m.e_)),
        max_of(matmul_workspace_bytes(ctx, lq, lk, dh), matmul_workspace_bytes(ctx, lq, dh, lk))));
    return sl;
  }
};

std::size_t MultiheadAttention::workspace_bytes(std::size_t lq, std::size_t lk,
                                                const Context& ctx) const {
  Scratch s;
  Impl::slices(*this, s, lq, lk, ctx);
  return s.bytes();
}

namespace {
// y[rows x out] = x[rows x in] W^T + b.
Status project(const Context& ctx, const float* x, std::size_t rows, std::size_t in,
               const WeightRows& weight, const kernels::PackedB& packed, const float* bias,
               std::size_t out, float* y, Workspace& ws) {
  kernels::GemmArgs g = gemm_args(rows, out, in, x, nullptr, true, y);
  kernels::set_weights_b(g, weight, &packed);
  EDGEATTN_RETURN_IF_ERROR(matmul(ctx, g, ws));
  for (std::size_t r = 0; r < rows; ++r) kernels::add(y + r * out, bias, y + r * out, out);
  return {};
}
}  // namespace

// Projecting every key and value costs 2 Lk E^2 multiply-adds; folding the
// projections into each query instead (head_folded) costs 2 E^2 + 2 h Lk E
// per query: the cheaper one runs.
float MultiheadAttention::scale() const { return 1.0f / std::sqrt(static_cast<float>(e_ / h_)); }

// (float32 weights only: the folded products read W_k and W_v by columns)
bool MultiheadAttention::folds(std::size_t lq, std::size_t lk) const {
  return in_proj_.type() == WeightType::f32 && lq * (e_ + h_ * lk) < lk * (e_ + lq);
}

// Head hd's probabilities p [Lq, Lk] and output columns from the projected
// queries, keys and values (each row E wide, the head's dh columns at hd dh).
Status MultiheadAttention::head_projected(const Context& ctx, std::size_t hd, const float* qp,
                                          std::size_t lq, const float* kp, const float* vp,
                                          std::size_t lk, const std::uint8_t* allowed, float* p,
                                          float* heads, Workspace& ws) const {
  const std::size_t e = e_, dh = e / h_;
  kernels::GemmArgs s = gemm_args(lq, lk, dh, qp + hd * dh, kp + hd * dh, true, p, scale());
  s.lda = s.ldb = e;
  EDGEATTN_RETURN_IF_ERROR(matmul(ctx, s, ws));
  const View pv(p, Shape{lq, lk});
  EDGEATTN_RETURN_IF_ERROR(softmax(ctx, pv, MaskView(allowed, Shape{lq, lk}), pv));
  kernels::GemmArgs o = gemm_args(lq, dh, lk, p, vp + hd * dh, false, heads + hd * dh);
  o.ldb = o.ldc = e;
  return matmul(ctx, o, ws);
}

// The same from the raw keys and values, with the algebra of a linear
// projection: q_h . (W_k k_j + b_k) = (W_k^T q_h) . k_j + q_h . b_k, whose
// last term is the same for every key and cancels in the softmax; and
// sum_j p_j (W_v v_j + b_v) = W_v (sum_j p_j v_j) + b_v, as the p_j sum to 1
// (0 when no key is allowed: then the output is 0, as unfolded). qs: 2 E floats.
Status MultiheadAttention::head_folded(const Context& ctx, std::size_t hd, const float* qp,
                                       std::size_t lq, const float* key, const float* value,
                                       std::size_t lk, const std::uint8_t* allowed, float* p,
                                       float* qs, float* heads) const {
  const std::size_t e = e_, dh = e / h_, ldw = in_proj_.view().ld / sizeof(float);
  const float* wk = static_cast<const float*>(in_proj_.view().from_row(e + hd * dh).data);
  const float* wv = static_cast<const float*>(in_proj_.view().from_row(2 * e + hd * dh).data);
  const float* bv = in_bias_.data() + 2 * e + hd * dh;
  float *qk = qs, *vsum = qs + e;
  for (std::size_t i = 0; i < lq; ++i) {
    float* pi = p + i * lk;
    kernels::gemv_t(dh, e, scale(), wk, ldw, qp + i * e + hd * dh, 0.0f, qk);
    kernels::gemv(lk, e, 1.0f, key, e, qk, 0.0f, pi);
    const View pv(pi, Shape{1, lk});
    EDGEATTN_RETURN_IF_ERROR(softmax(ctx, pv, MaskView(allowed + i * lk, Shape{1, lk}), pv));
    kernels::gemv_t(lk, e, 1.0f, value, e, pi, 0.0f, vsum);
    float* out = heads + i * e + hd * dh;
    kernels::gemv(dh, e, 1.0f, wv, ldw, vsum, 0.0f, out);
    bool any = false;
    for (std::size_t j = 0; j < lk && !any; ++j) any = allowed[i * lk + j] != 0;
    if (any) kernels::add(out, bv, out, dh);
  }
  return {};
}

Status MultiheadAttention::forward(const Context& ctx, ConstView query, ConstView key,
                                   ConstView value, MaskView kpm, View output, View weights,
                                   Workspace& ws) const {
  EDGEATTN_RETURN_IF_ERROR(require_dense(query, 3, "query"));
  EDGEATTN_RETURN_IF_ERROR(require_dense(key, 3, "key"));
  EDGEATTN_RETURN_IF_ERROR(require_dense(value, 3, "value"));
  const std::size_t bsz = query.dim(0), lq = query.dim(1), lk = key.dim(1), e = e_;
  if (query.dim(2) != e || key.shape() != Shape{bsz, lk, e} || value.shape() != Shape{bsz, lk, e})
    return Status::invalid("multihead_attention: query " + query.shape().to_string() + ", key " +
                           key.shape().to_string() + ", value " + value.shape().to_string() +
                           " must be [B, Lq, " + std::to_string(e) + "], [B, Lk, " +
                           std::to_string(e) + "], [B, Lk, " + std::to_string(e) + "]");
  if (!kpm.empty() && (require_dense(kpm, 2, "key_padding_mask").ok() == false ||
                       kpm.shape() != Shape{bsz, lk}))
    return Status::invalid("key_padding_mask must be [" + std::to_string(bsz) + ", " +
                           std::to_string(lk) + "], found " + kpm.shape().to_string());
  EDGEATTN_RETURN_IF_ERROR(require_dense(output, 3, "output"));
  if (output.shape() != Shape{bsz, lq, e})
    return Status::invalid("output must be " + Shape{bsz, lq, e}.to_string() + ", found " +
                           output.shape().to_string());
  if (!weights.empty() && (require_dense(weights, 3, "weights").ok() == false ||
                           weights.shape() != Shape{bsz, lq, lk}))
    return Status::invalid("weights must be " + Shape{bsz, lq, lk}.to_string() + ", found " +
                           weights.shape().to_string());

  Scratch s(ws);
  const Impl::Slices sl = Impl::slices(*this, s, lq, lk, ctx);
  if (!s.ok()) return Scratch::too_small("multihead_attention");
  float *qp = sl.qp, *kp = sl.kp, *vp = sl.vp, *heads = sl.heads, *p = sl.p, *qs = sl.qs;
  std::uint8_t* allowed = sl.allowed;
  const WeightRows w = in_proj_.view();
  const float* bias = in_bias_.data();
  const bool fold = folds(lq, lk);
  Status st;
  for (std::size_t b = 0; b < bsz && st.ok(); ++b) {
    const float* kb = key.data() + b * lk * e;
    const float* vb = value.data() + b * lk * e;
    st = project(ctx, query.data() + b * lq * e, lq, e, w, packed_[0], bias, e, qp, ws);
    if (st.ok() && !fold) st = project(ctx, kb, lk, e, w.from_row(e), packed_[1], bias + e, e, kp, ws);
    if (st.ok() && !fold) st = project(ctx, vb, lk, e, w.from_row(2 * e), packed_[2], bias + 2 * e, e, vp, ws);
    if (!st.ok()) break;
    for (std::size_t i = 0; i < lq; ++i)
      for (std::size_t j = 0; j < lk; ++j)
        allowed[i * lk + j] = (kpm.empty() || !kpm.data()[b * lk + j]) && (!causal_ || j <= i);
    float* wb = weights.empty() ? nullptr : weights.data() + b * lq * lk;
    if (wb) std::memset(wb, 0, lq * lk * sizeof(float));
    for (std::size_t hd = 0; hd < h_ && st.ok(); ++hd) {
      st = fold ? head_folded(ctx, hd, qp, lq, kb, vb, lk, allowed, p, qs, heads)
                : head_projected(ctx, hd, qp, lq, kp, vp, lk, allowed, p, heads, ws);
      if (wb) kernels::axpy(1.0f, p, wb, lq * lk);
    }
    if (wb) kernels::scale(1.0f / static_cast<float>(h_), wb, wb, lq * lk);  // mean over heads
    if (st.ok())
      st = project(ctx, heads, lq, e, out_proj_.view(), packed_[3], out_bias_.data(), e,
                   output.data() + b * lq * e, ws);
  }
  return st;
}

}  // namespace edgeattn
