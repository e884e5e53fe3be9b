// Self-attention over the positions of a feature map: the non-local block
// (Wang et al. 2018) and SAGAN's (Zhang et al. 2019), on one shared core.
#include <cmath>
#include <cstring>
#include <vector>

#include "../checks.h"
#include "../scratch.h"
#include "../parallel.h"
#include "edgeattn/ops.h"
#include "edgeattn/vision.h"
#include "vision_common.h"

namespace edgeattn {

using detail::max_of;
using detail::parallel_for;
using detail::Scratch;
using detail::threads_for;

namespace {

// A 1x1 conv weight as [rows, cols]: [r, c] or [r, c, 1, 1]; rows 0 = any.
Status conv1x1_shape(const Tensor& t, std::size_t rows, std::size_t cols, const char* what) {
  const Shape& s = t.shape();
  const bool ok = t.numel() != 0 && (s.rank == 2 || (s.rank == 4 && s[2] == 1 && s[3] == 1)) &&
                  (rows == 0 || s[0] == rows) && (cols == 0 || s[1] == cols);
  if (!ok)
    return Status::invalid(std::string(what) + ": expected [" +
                           (rows ? std::to_string(rows) : std::string("R")) + ", " +
                           (cols ? std::to_string(cols) : std::string("C")) + "(, 1, 1)], found " +
                           (t.numel() ? s.to_string() : "none"));
  return {};
}

Status vector_shape(const Tensor& t, std::size_t n, const char* what) {
  if (t.numel() == 0 || t.shape() != Shape{n})
    return Status::invalid(std::string(what) + ": expected " + Shape{n}.to_string() + ", found " +
                           (t.numel() ? t.shape().to_string() : "none"));
  return {};
}

Status map_outputs(ConstView x, View y, View attention) {
  EDGEATTN_RETURN_IF_ERROR(detail::require_shape(y, x.shape(), "y"));
  const std::size_t n = x.dim(2) * x.dim(3);
  if (!attention.empty())
    EDGEATTN_RETURN_IF_ERROR(detail::require_shape(attention, Shape{x.dim(0), n, n}, "attention"));
  return {};
}

// Non-local's and SAGAN's scratch: the attention output O [n, width] of an
// image, then room for the core's attention or the output projection.
float* nonlocal_slices(Scratch& s, std::size_t n, std::size_t width, std::size_t core,
                       std::size_t project) {
  float* o = s.take<float>(n, width);
  s.room(max_of(core, project));
  return o;
}

}  // namespace

Result<PositionAttention> PositionAttention::create(float scale, Weights w, WeightType type) {
  EDGEATTN_RETURN_IF_ERROR(conv1x1_shape(w.query_weight, 0, 0, "query weight"));
  const std::size_t rq = w.query_weight.shape()[0], c = w.query_weight.shape()[1];
  EDGEATTN_RETURN_IF_ERROR(conv1x1_shape(w.key_weight, rq, c, "key weight"));
  EDGEATTN_RETURN_IF_ERROR(conv1x1_shape(w.value_weight, 0, c, "value weight"));
  const std::size_t rv = w.value_weight.shape()[0];
  EDGEATTN_RETURN_IF_ERROR(vector_shape(w.query_bias, rq, "query bias"));
  EDGEATTN_RETURN_IF_ERROR(vector_shape(w.key_bias, rq, "key bias"));
  EDGEATTN_RETURN_IF_ERROR(vector_shape(w.value_bias, rv, "value bias"));
  PositionAttention m;
  m.channels_ = c, m.rq_ = rq, m.rv_ = rv, m.scale_ = scale;
  const std::size_t d = 2 * rq + rv;
  EDGEATTN_ASSIGN_OR_RETURN(
      weight, edgeattn::Weights::of({&w.query_weight, &w.key_weight, &w.value_weight}, type, "query, key and value weights"));
  EDGEATTN_ASSIGN_OR_RETURN(bias, Tensor::zeros(Shape{d}));
  std::memcpy(bias.data(), w.query_bias.data(), rq * sizeof(float));
  std::memcpy(bias.data() + rq, w.key_bias.data(), rq * sizeof(float));
  std::memcpy(bias.data() + 2 * rq, w.value_bias.data(), rv * sizeof(float));
  EDGEATTN_ASSIGN_OR_RETURN(packed, kernels::PackedB::pack(weight));
  m.weight_ = std::move(weight);
  m.bias_ = std::move(bias);
  m.packed_ = std::move(packed);
  return m;
}

std::size_t PositionAttention::weight_bytes() const {
  return weight_.bytes() + bias_.numel() * sizeof(float) + packed_.bytes();
}

// forward_image()'s scratch, one description with workspace_bytes(): the map
// transposed [n, C] and the projections [n, 2 Rq + Rv], then room for the
// GEMMs or the streaming attention.
struct PositionAttention::Impl {
  static void slices(const PositionAttention& m, Scratch& s, std::size_t n, const Context& ctx,
                     float** xt, float** qkv) {
    const std::size_t d = 2 * m.rq_ + m.rv_;
    *xt = s.take<float>(n, m.channels_);
    *qkv = s.take<float>(n, d);
    const std::size_t attend = max_of(
        attention_workspace_bytes(ctx, n, n, m.rq_, m.rv_),
        max_of(matmul_workspace_bytes(ctx, n, n, m.rq_), matmul_workspace_bytes(ctx, n, m.rv_, n)));
    s.room(max_of(matmul_workspace_bytes(ctx, n, d, m.channels_), attend));
  }
};

std::size_t PositionAttention::workspace_bytes(std::size_t n, const Context& ctx) const {
  Scratch s;
  float *xt, *qkv;
  Impl::slices(*this, s, n, ctx, &xt, &qkv);
  return s.bytes();
}

Status PositionAttention::forward_image(const Context& ctx, const float* x, std::size_t n,
                                        float* o, float* attention, Workspace& ws) const {
  const std::size_t c = channels_, d = 2 * rq_ + rv_;
  Scratch scratch(ws);
  float *xt, *qkv;
  Impl::slices(*this, scratch, n, ctx, &xt, &qkv);
  if (!scratch.ok()) return Scratch::too_small("position attention");
  // The map [C, n] as rows of positions [n, C], in blocks that stay in L1.
  const std::size_t block = 16;
  const int t = threads_for(ctx, double(n) * c, detail::kMinElementsPerThread);
  parallel_for(t, detail::ceil_div(n, block), [&](std::size_t p, int) {
    const std::size_t lo = p * block, hi = lo + block < n ? lo + block : n;
    kernels::transpose(c, hi - lo, x + lo, n, xt + lo * c, c);
  });
  kernels::GemmArgs proj = gemm_args(n, d, c, xt, nullptr, true, qkv);
  kernels::set_weights_b(proj, weight_, &packed_);
  Status st = matmul(ctx, proj, ws);
  if (st.ok())
    parallel_for(t, n, [&](std::size_t i, int) { kernels::add(qkv + i * d, bias_.data(), qkv + i * d, d); });
  const float* q = qkv;
  const float* k = qkv + rq_;
  const float* v = qkv + 2 * rq_;
  if (st.ok() && attention) {  // materialised: A = softmax(Q K^T scale), O = A V
    kernels::GemmArgs s = gemm_args(n, n, rq_, q, k, true, attention, scale_);
    s.lda = s.ldb = d;
    st = matmul(ctx, s, ws);
    const View a(attention, Shape{n, n});
    if (st.ok()) st = softmax(ctx, a, MaskView(), a);
    kernels::GemmArgs ov = gemm_args(n, rv_, n, attention, v, false, o);
    ov.ldb = d;
    if (st.ok()) st = matmul(ctx, ov, ws);
  } else if (st.ok()) {  // streamed: A never exists
    kernels::AttendArgs a;
    a.m = a.n = n, a.d = rq_, a.dv = rv_;
    a.q = q, a.k = k, a.v = v, a.ldq = a.ldk = a.ldv = d;
    a.scale = scale_, a.o = o, a.ldo = rv_;
    st = edgeattn::attention(ctx, a, ws);
  }
  return st;
}

// ---- non-local ----

Result<NonLocal> NonLocal::create(bool use_scale, Weights w, WeightType type) {
  const std::size_t c = w.tpg.query_weight.shape().rank >= 2 ? w.tpg.query_weight.shape()[1] : 0;
  const float scale = use_scale && c ? 1.0f / std::sqrt(float(c)) : 1.0f;
  Result<PositionAttention> core = PositionAttention::create(scale, std::move(w.tpg), type);
  if (!core.ok()) return Status::invalid("non_local " + core.status().message());
  NonLocal m;
  m.core_ = std::move(core).value();
  const std::size_t r = m.core_.value_dim();
  if (m.core_.query_dim() != r)
    return Status::invalid("non_local: t, p and g must have the same output width, found " +
                           std::to_string(m.core_.query_dim()) + " and " + std::to_string(r));
  EDGEATTN_RETURN_IF_ERROR(conv1x1_shape(w.z_weight, c, r, "non_local z.weight"));
  EDGEATTN_RETURN_IF_ERROR(vector_shape(w.z_bias, c, "non_local z.bias"));
  EDGEATTN_RETURN_IF_ERROR(check_batch_norm(w.norm, c, "non_local norm"));
  EDGEATTN_ASSIGN_OR_RETURN(zb, detail::copy_tensor(w.z_bias.data(), Shape{c}));
  EDGEATTN_ASSIGN_OR_RETURN(typed, edgeattn::Weights::of(w.z_weight, type, "non_local z.weight"));
  if (typed.type() != WeightType::f32) {  // the norm in the rows' scales, as fold_batch_norm's factors
    EDGEATTN_RETURN_IF_ERROR(typed.scale_rows(detail::batch_norm_factors(w.norm).data()));
    detail::fold_batch_norm(w.norm, nullptr, 0, zb.data());
    m.out_typed_ = std::move(typed);
  } else {
    EDGEATTN_ASSIGN_OR_RETURN(zw, detail::copy_tensor(w.z_weight.data(), Shape{c, r}));
    detail::fold_batch_norm(w.norm, zw.data(), r, zb.data());
    m.out_weight_ = std::move(zw);
  }
  m.out_bias_ = std::move(zb);
  return m;
}

std::size_t NonLocal::weight_bytes() const {
  return core_.weight_bytes() + (out_weight_.numel() + out_bias_.numel()) * sizeof(float) + out_typed_.bytes();
}

std::size_t NonLocal::workspace_bytes(const Shape& in, const Context& ctx) const {
  if (in.rank != 4) return 0;
  const std::size_t n = in[2] * in[3], c = channels(), r = core_.value_dim();
  Scratch s;
  nonlocal_slices(s, n, r, core_.workspace_bytes(n, ctx), matmul_workspace_bytes(ctx, c, n, r));
  return s.bytes();
}

Status NonLocal::forward(const Context& ctx, ConstView x, View y, View attention,
                         Workspace& ws) const {
  EDGEATTN_RETURN_IF_ERROR(detail::check_map(x, channels(), "non_local"));
  EDGEATTN_RETURN_IF_ERROR(map_outputs(x, y, attention));
  const std::size_t c = channels(), n = x.dim(2) * x.dim(3), r = core_.value_dim();
  Scratch s(ws);
  float* o = nonlocal_slices(s, n, r, core_.workspace_bytes(n, ctx), matmul_workspace_bytes(ctx, c, n, r));
  if (!s.ok()) return Scratch::too_small("non_local");
  Status st;
  for (std::size_t b = 0; b < x.dim(0) && st.ok(); ++b) {
    const float* xb = x.data() + b * c * n;
    float* yb = y.data() + b * c * n;
    st = core_.forward_image(ctx, xb, n, o, attention.empty() ? nullptr : attention.data() + b * n * n, ws);
    if (!st.ok()) break;
    // y = (x + b') + W' O^T: z and its BatchNorm folded into W', b'.
    for (std::size_t ch = 0; ch < c; ++ch)
      kernels::add_scalar(xb + ch * n, out_bias_.data()[ch], yb + ch * n, n);
    kernels::GemmArgs z = gemm_args(c, n, r, out_weight_.data(), o, true, yb, 1.0f, 1.0f);
    if (out_typed_.rows()) z.a = nullptr, z.a_weights = out_typed_.view();
    st = matmul(ctx, z, ws);
  }
  return st;
}

// ---- SAGAN ----

Result<SaganAttention> SaganAttention::create(PositionAttention::Weights w, float gamma, WeightType type) {
  Result<PositionAttention> core = PositionAttention::create(1.0f, std::move(w), type);
  if (!core.ok()) return Status::invalid("sagan_attention " + core.status().message());
  SaganAttention m;
  m.core_ = std::move(core).value();
  const std::size_t c = m.core_.channels();
  if (c < 8 || m.core_.query_dim() != c / 8 || m.core_.value_dim() != c)
    return Status::invalid("sagan_attention: with " + std::to_string(c) +
                           " channels (at least 8) query/key convs must have C/8 = " +
                           std::to_string(c / 8) + " outputs and the value conv C, found " +
                           std::to_string(m.core_.query_dim()) + " and " +
                           std::to_string(m.core_.value_dim()));
  m.gamma_ = gamma;
  return m;
}

std::size_t SaganAttention::workspace_bytes(const Shape& in, const Context& ctx) const {
  if (in.rank != 4) return 0;
  const std::size_t n = in[2] * in[3];
  Scratch s;
  nonlocal_slices(s, n, channels(), core_.workspace_bytes(n, ctx), 0);
  return s.bytes();
}

Status SaganAttention::forward(const Context& ctx, ConstView x, View y, View attention,
                               Workspace& ws) const {
  EDGEATTN_RETURN_IF_ERROR(detail::check_map(x, channels(), "sagan_attention"));
  EDGEATTN_RETURN_IF_ERROR(map_outputs(x, y, attention));
  const std::size_t c = channels(), n = x.dim(2) * x.dim(3);
  Scratch s(ws);
  float* o = nonlocal_slices(s, n, c, core_.workspace_bytes(n, ctx), 0);
  if (!s.ok()) return Scratch::too_small("sagan_attention");
  Status st;
  const int t = threads_for(ctx, double(n) * c, detail::kMinElementsPerThread);
  for (std::size_t b = 0; b < x.dim(0) && st.ok(); ++b) {
    const float* xb = x.data() + b * c * n;
    float* yb = y.data() + b * c * n;
    st = core_.forward_image(ctx, xb, n, o, attention.empty() ? nullptr : attention.data() + b * n * n, ws);
    if (!st.ok()) break;
    parallel_for(t, c, [&](std::size_t ch, int) {  // y = gamma O^T + x
      for (std::size_t i = 0; i < n; ++i) yb[ch * n + i] = gamma_ * o[i * c + ch] + xb[ch * n + i];
    });
  }
  return st;
}

}  // namespace edgeattn
