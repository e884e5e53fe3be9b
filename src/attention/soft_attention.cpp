// Soft and hard (argmax) attention with dot, scaled-dot, general and additive
// scores. Scores go through the threaded GEMM, the masked softmax operator,
// and a second GEMM for the context; every step splits work so that results
// do not depend on the thread count.
#include <cmath>
#include <cstring>
#include <limits>

#include "../checks.h"
#include "../kernels/module_kernels.h"
#include "../scratch.h"
#include "edgeattn/attention.h"
#include "edgeattn/kernels.h"
#include "edgeattn/ops.h"

namespace edgeattn {

using detail::max_of;
using detail::Scratch;
using detail::require_dense;

const char* score_name(Score s) {
  switch (s) {
    case Score::dot: return "dot";
    case Score::scaled_dot: return "scaled_dot";
    case Score::general: return "general";
    case Score::additive: return "additive";
  }
  return "?";
}

Result<Score> score_from_name(const std::string& name) {
  for (Score s : {Score::dot, Score::scaled_dot, Score::general, Score::additive})
    if (name == score_name(s)) return s;
  return Status::invalid("unknown attention score '" + name +
                         "' (dot, scaled_dot, general, additive)");
}

Result<SoftAttention> SoftAttention::create(Score score, ScoreWeights w, WeightType weight_type) {
  SoftAttention a;
  a.score_ = score;
  if (score == Score::general && w.linear_in.shape().rank != 2)
    return Status::invalid("general attention: linear_in.weight must be [Dk, Dq], found " +
                           w.linear_in.shape().to_string());
  if (score == Score::additive) {
    const Shape& q = w.query_proj.shape();
    if (q.rank != 2)
      return Status::invalid("additive attention: query_proj.weight must be [A, Dq], found " +
                             q.to_string());
    a.attn_dim_ = q[0];
    if (w.key_proj.shape().rank != 2 || w.key_proj.shape()[0] != a.attn_dim_)
      return Status::invalid("additive attention: key_proj.weight must be [" +
                             std::to_string(a.attn_dim_) + ", Dk], found " +
                             w.key_proj.shape().to_string());
    if (w.v.shape() != Shape{1, a.attn_dim_})
      return Status::invalid("additive attention: v.weight must be [1, " +
                             std::to_string(a.attn_dim_) + "], found " + w.v.shape().to_string());
    if (w.query_bias.numel() != 0 && w.query_bias.shape() != Shape{a.attn_dim_})
      return Status::invalid("additive attention: query_proj.bias must be [" +
                             std::to_string(a.attn_dim_) + "], found " +
                             w.query_bias.shape().to_string());
  }
  // Float32 weights are packed for the GEMM once, here (with the ISA active
  // now; a later set_isa() makes the GEMM pack from the plain weights again).
  const auto hold = [weight_type](Tensor& t, const char* key, Weights& out, kernels::PackedB& packed) -> Status {
    EDGEATTN_ASSIGN_OR_RETURN(q, Weights::of(t, weight_type, std::string("attention: ") + key));
    EDGEATTN_ASSIGN_OR_RETURN(p, kernels::PackedB::pack(q));
    out = std::move(q), packed = std::move(p);
    t = Tensor();
    return {};
  };
  if (score == Score::general) EDGEATTN_RETURN_IF_ERROR(hold(w.linear_in, "linear_in.weight", a.linear_in_, a.packed_in_));
  if (score == Score::additive) {
    EDGEATTN_RETURN_IF_ERROR(hold(w.query_proj, "query_proj.weight", a.query_proj_, a.packed_query_));
    EDGEATTN_RETURN_IF_ERROR(hold(w.key_proj, "key_proj.weight", a.key_proj_, a.packed_key_));
  }
  a.w_ = std::move(w);
  return a;
}

std::size_t SoftAttention::weight_bytes() const {
  return (w_.query_bias.numel() + w_.v.numel()) * sizeof(float) + linear_in_.bytes() + query_proj_.bytes() +
         key_proj_.bytes() + packed_in_.bytes() + packed_query_.bytes() + packed_key_.bytes();
}

std::size_t SoftAttention::query_dim() const {
  if (score_ == Score::general) return linear_in_.cols();
  if (score_ == Score::additive) return query_proj_.cols();
  return 0;
}

std::size_t SoftAttention::key_dim() const {
  if (score_ == Score::general) return linear_in_.rows();
  if (score_ == Score::additive) return key_proj_.cols();
  return 0;
}

namespace {

// The mask rows of batch b as a [Lq or 1, Lk] view (empty if no mask).
MaskView batch_mask(MaskView mask, std::size_t b) {
  return mask.empty() ? MaskView() : mask.select(b);
}
// context [B, Lq, Dv] and (when given) weights [B, Lq, Lk], dense.
Status check_outputs(View context, View weights, std::size_t bsz, std::size_t lq, std::size_t lk,
                     std::size_t dv) {
  EDGEATTN_RETURN_IF_ERROR(require_dense(context, 3, "context"));
  if (context.shape() != Shape{bsz, lq, dv})
    return Status::invalid("context must be " + Shape{bsz, lq, dv}.to_string() + ", found " +
                           context.shape().to_string());
  if (weights.empty()) return {};
  EDGEATTN_RETURN_IF_ERROR(require_dense(weights, 3, "weights"));
  if (weights.shape() != Shape{bsz, lq, lk})
    return Status::invalid("weights must be " + Shape{bsz, lq, lk}.to_string() + ", found " +
                           weights.shape().to_string());
  return {};
}
AttentionDims dims_of(ConstView q, ConstView k, ConstView v) {
  AttentionDims d;
  d.batch = q.dim(0), d.lq = q.dim(1), d.lk = k.dim(1);
  d.dq = q.dim(2), d.dk = k.dim(2), d.dv = v.dim(2);
  return d;
}

}  // namespace

// The private helpers, here rather than in the public header.
struct SoftAttention::Impl {
  // Each path's scratch, one description for workspace_bytes() and the
  // calls: the scores [Lq, Lk] unless the caller's weights hold them, the
  // projected queries (general: [Lq, Dk]; additive: [Lq, A]) and keys
  // (additive, unless cached: [Lk, A]), then room for the GEMMs and the
  // streaming or sampling kernels.
  enum class Path { materialized, streaming, hard };
  struct Slices {
    float* scores = nullptr;
    float* qw = nullptr;
    float* kp = nullptr;
    float* qp = nullptr;
  };

  static Slices slices(const SoftAttention& self, Scratch& s, const AttentionDims& d, Path path,
                       bool own_scores, bool keys_cached, const Context& ctx) {
    Slices sl;
    const bool streaming = path == Path::streaming;
    if (!streaming && own_scores) sl.scores = s.take<float>(d.lq, d.lk);
    std::size_t mm = 0;
    if (self.score_ == Score::dot || self.score_ == Score::scaled_dot) {
      if (!streaming) mm = matmul_workspace_bytes(ctx, d.lq, d.lk, d.dk);
    } else if (self.score_ == Score::general) {  // (q W^T) k^T
      sl.qw = s.take<float>(d.lq, d.dk);
      mm = max_of(matmul_workspace_bytes(ctx, d.lq, d.dk, d.dq),
                  streaming ? 0 : matmul_workspace_bytes(ctx, d.lq, d.lk, d.dk));
    } else {  // additive
      if (!keys_cached) {
        sl.kp = s.take<float>(d.lk, self.attn_dim_);
        mm = matmul_workspace_bytes(ctx, d.lk, self.attn_dim_, d.dk);
      }
      sl.qp = s.take<float>(d.lq, self.attn_dim_);
      mm = max_of(mm, matmul_workspace_bytes(ctx, d.lq, self.attn_dim_, d.dq));
    }
    if (path == Path::materialized) mm = max_of(mm, matmul_workspace_bytes(ctx, d.lq, d.dv, d.lk));
    if (streaming) mm = max_of(mm, attention_workspace_bytes(ctx, d.lq, d.lk, d.dk, d.dv));
    if (path == Path::hard) mm = max_of(mm, sample_rows_workspace_bytes(d.lk, ctx));
    s.room(mm);
    return sl;
  }

  static Status scores(const SoftAttention& self, const Context& ctx, ConstView q, ConstView k,
                       std::size_t b, float* s, const Slices& sl, Workspace& ws) {
    const std::size_t lq = q.dim(1), lk = k.dim(1), dq = q.dim(2), dk = k.dim(2);
    const float* qb = q.data() + b * lq * dq;
    const float* kb = k.data() + b * lk * dk;
    switch (self.score_) {
      case Score::dot:
      case Score::scaled_dot: {
        const float alpha =
            self.score_ == Score::dot ? 1.0f : 1.0f / std::sqrt(static_cast<float>(dk));
        return matmul(ctx, gemm_args(lq, lk, dk, qb, kb, true, s, alpha), ws);
      }
      case Score::general: {  // (q W^T) k^T
        kernels::GemmArgs g = gemm_args(lq, dk, dq, qb, nullptr, true, sl.qw);
        kernels::set_weights_b(g, self.linear_in_, &self.packed_in_);
        EDGEATTN_RETURN_IF_ERROR(matmul(ctx, g, ws));
        return matmul(ctx, gemm_args(lq, lk, dk, sl.qw, kb, true, s), ws);
      }
      case Score::additive: {  // v . tanh(Wq q_i + bq + Wk k_j)
        kernels::GemmArgs gk =
            gemm_args(lk, self.attn_dim_, dk, kb, nullptr, true, sl.kp);
        kernels::set_weights_b(gk, self.key_proj_, &self.packed_key_);
        EDGEATTN_RETURN_IF_ERROR(matmul(ctx, gk, ws));
        return additive_scores(self, ctx, qb, lq, dq, sl.kp, lk, s, sl.qp, ws);
      }
    }
    return {};
  }

  static Status additive_scores(const SoftAttention& self, const Context& ctx, const float* qb,
                                std::size_t lq, std::size_t dq, const float* kp, std::size_t lk,
                                float* s, float* qp, Workspace& ws) {
    const std::size_t a = self.attn_dim_;
    kernels::GemmArgs gq = gemm_args(lq, a, dq, qb, nullptr, true, qp);
    kernels::set_weights_b(gq, self.query_proj_, &self.packed_query_);
    EDGEATTN_RETURN_IF_ERROR(matmul(ctx, gq, ws));
    if (self.w_.query_bias.numel())
      for (std::size_t i = 0; i < lq; ++i)
        kernels::add(qp + i * a, self.w_.query_bias.data(), qp + i * a, a);
    for (std::size_t i = 0; i < lq; ++i)
      kernels::additive_scores(qp + i * a, kp, a, lk, a, self.w_.v.data(), s + i * lk);
    return {};
  }

  // weights = softmax(scores) in place over [Lq, Lk], then context = weights V.
  static Status softmax_mix(const Context& ctx, float* w, std::size_t lq, std::size_t lk,
                            MaskView mask_b, const float* vb, std::size_t dv, float* out,
                            Workspace& ws) {
    const View wv(w, Shape{lq, lk});
    EDGEATTN_RETURN_IF_ERROR(softmax(ctx, wv, mask_b, wv));
    if (lq == 1) {  // a decoder step: the weighted sum of value rows
      kernels::gemv_t(lk, dv, 1.0f, vb, dv, w, 0.0f, out);
      return {};
    }
    return matmul(ctx, gemm_args(lq, dv, lk, w, vb, false, out), ws);
  }

  // For each batch element: scores_of(b, w) writes its [Lq, Lk] scores into w
  // (the caller's weights, or scratch), then softmax and the context.
  template <class ScoresOf>
  static Status materialized(const Context& ctx, std::size_t bsz, std::size_t lq, std::size_t lk,
                             ConstView v, MaskView mask, View context, View weights, float* scratch,
                             Workspace& ws, ScoresOf scores_of) {
    const std::size_t dv = v.dim(2);
    for (std::size_t b = 0; b < bsz; ++b) {
      float* w = weights.empty() ? scratch : weights.data() + b * lq * lk;
      EDGEATTN_RETURN_IF_ERROR(scores_of(b, w));
      EDGEATTN_RETURN_IF_ERROR(softmax_mix(ctx, w, lq, lk, batch_mask(mask, b),
                                           v.data() + b * lk * dv, dv, context.data() + b * lq * dv,
                                           ws));
    }
    return {};
  }

  // Without weights to return, dot-product scores never need to exist in full:
  // the streaming kernel keeps memory O(L d) (general first maps the queries).
  static Status forward_streaming(const SoftAttention& self, const Context& ctx, ConstView q,
                                  ConstView k, ConstView v, MaskView mask, View context,
                                  Workspace& ws) {
    const std::size_t bsz = q.dim(0), lq = q.dim(1), lk = k.dim(1), dq = q.dim(2), dk = k.dim(2);
    const std::size_t dv = v.dim(2);
    Scratch s(ws);
    float* qw = slices(self, s, dims_of(q, k, v), Path::streaming, false, false, ctx).qw;
    if (!s.ok()) return Scratch::too_small("soft_attention");
    Status st;
    for (std::size_t b = 0; b < bsz && st.ok(); ++b) {
      kernels::AttendArgs a;
      a.m = lq, a.n = lk, a.d = dk, a.dv = dv;
      a.q = q.data() + b * lq * dq, a.ldq = dq;
      if (qw) {
        kernels::GemmArgs g = gemm_args(lq, dk, dq, a.q, nullptr, true, qw);
        kernels::set_weights_b(g, self.linear_in_, &self.packed_in_);
        st = matmul(ctx, g, ws);
        a.q = qw, a.ldq = dk;
      }
      a.k = k.data() + b * lk * dk, a.ldk = dk;
      a.v = v.data() + b * lk * dv, a.ldv = dv;
      if (!mask.empty()) {
        a.mask = mask.data() + b * mask.dim(1) * lk;
        a.ldmask = mask.dim(1) == 1 ? 0 : lk;
      }
      a.scale = self.score_ == Score::scaled_dot ? 1.0f / std::sqrt(static_cast<float>(dk)) : 1.0f;
      a.o = context.data() + b * lq * dv, a.ldo = dv;
      if (st.ok()) st = attention(ctx, a, ws);
    }
    return st;
  }

  // Hard attention's frame: the inputs checked, then for each batch element
  // its [Lq, Lk] scores in scratch and select(b, scores) picking from them.
  template <class Select>
  static Status hard(const SoftAttention& self, const Context& ctx, ConstView q, ConstView k,
                     ConstView v, MaskView mask, View context, Workspace& ws, Select select) {
    EDGEATTN_RETURN_IF_ERROR(self.check(q, k, v, mask));
    const std::size_t bsz = q.dim(0), lq = q.dim(1), lk = k.dim(1);
    EDGEATTN_RETURN_IF_ERROR(check_outputs(context, View(), bsz, lq, lk, v.dim(2)));
    Scratch scratch(ws);
    const Slices sl = slices(self, scratch, dims_of(q, k, v), Path::hard, true, false, ctx);
    if (!scratch.ok()) return Scratch::too_small("hard_attention");
    for (std::size_t b = 0; b < bsz; ++b) {
      EDGEATTN_RETURN_IF_ERROR(scores(self, ctx, q, k, b, sl.scores, sl, ws));
      EDGEATTN_RETURN_IF_ERROR(select(b, sl.scores));
    }
    return {};
  }
};

std::size_t SoftAttention::workspace_bytes(const AttentionDims& d, const Context& ctx) const {
  std::size_t most = 0;
  for (Impl::Path path : {Impl::Path::materialized, Impl::Path::streaming, Impl::Path::hard}) {
    Scratch s;
    Impl::slices(*this, s, d, path, true, false, ctx);
    most = max_of(most, s.bytes());
  }
  return most;
}

Status SoftAttention::check(ConstView q, ConstView k, ConstView v, MaskView mask) const {
  EDGEATTN_RETURN_IF_ERROR(require_dense(q, 3, "query"));
  EDGEATTN_RETURN_IF_ERROR(require_dense(k, 3, "keys"));
  EDGEATTN_RETURN_IF_ERROR(require_dense(v, 3, "values"));
  const std::size_t b = q.dim(0), lq = q.dim(1), lk = k.dim(1);
  if (k.dim(0) != b || v.dim(0) != b)
    return Status::invalid("batch sizes differ: query " + q.shape().to_string() + ", keys " +
                           k.shape().to_string() + ", values " + v.shape().to_string());
  if (v.dim(1) != lk)
    return Status::invalid("keys " + k.shape().to_string() + " and values " +
                           v.shape().to_string() + " differ in length");
  const std::size_t dq = q.dim(2), dk = k.dim(2);
  if ((score_ == Score::dot || score_ == Score::scaled_dot) && dq != dk)
    return Status::invalid(std::string(score_name(score_)) + " attention needs query width " +
                           std::to_string(dq) + " == key width " + std::to_string(dk));
  if (query_dim() && dq != query_dim())
    return Status::invalid("query width " + std::to_string(dq) + ", the weights expect " +
                           std::to_string(query_dim()));
  if (key_dim() && dk != key_dim())
    return Status::invalid("key width " + std::to_string(dk) + ", the weights expect " +
                           std::to_string(key_dim()));
  if (!mask.empty()) {
    EDGEATTN_RETURN_IF_ERROR(require_dense(mask, 3, "mask"));
    if (mask.dim(0) != b || (mask.dim(1) != lq && mask.dim(1) != 1) || mask.dim(2) != lk)
      return Status::invalid("mask " + mask.shape().to_string() + " must be [" +
                             std::to_string(b) + ", " + std::to_string(lq) + " or 1, " +
                             std::to_string(lk) + "]");
  }
  return {};
}

Status SoftAttention::forward(const Context& ctx, ConstView q, ConstView k, ConstView v,
                              MaskView mask, View context, View weights, Workspace& ws) const {
  EDGEATTN_RETURN_IF_ERROR(check(q, k, v, mask));
  const std::size_t bsz = q.dim(0), lq = q.dim(1), lk = k.dim(1);
  EDGEATTN_RETURN_IF_ERROR(check_outputs(context, weights, bsz, lq, lk, v.dim(2)));
  if (weights.empty() && score_ != Score::additive)
    return Impl::forward_streaming(*this, ctx, q, k, v, mask, context, ws);
  Scratch s(ws);
  const Impl::Slices sl = Impl::slices(*this, s, dims_of(q, k, v), Impl::Path::materialized,
                                       weights.empty(), false, ctx);
  if (!s.ok()) return Scratch::too_small("soft_attention");
  return Impl::materialized(
      ctx, bsz, lq, lk, v, mask, context, weights, sl.scores, ws,
      [&](std::size_t b, float* w) { return Impl::scores(*this, ctx, q, k, b, w, sl, ws); });
}

Status SoftAttention::project_keys(const Context& ctx, ConstView keys, View cache,
                                   Workspace& ws) const {
  if (score_ != Score::additive)
    return Status::invalid("project_keys: only additive attention projects its keys");
  EDGEATTN_RETURN_IF_ERROR(require_dense(keys, 3, "keys"));
  EDGEATTN_RETURN_IF_ERROR(require_dense(cache, 3, "key_cache"));
  const std::size_t bsz = keys.dim(0), lk = keys.dim(1), dk = keys.dim(2);
  if (dk != key_dim() || cache.shape() != Shape{bsz, lk, attn_dim_})
    return Status::invalid("project_keys: keys " + keys.shape().to_string() + " and key_cache " +
                           cache.shape().to_string() + " must be [B, Lk, " +
                           std::to_string(key_dim()) + "] and [B, Lk, " +
                           std::to_string(attn_dim_) + "]");
  kernels::GemmArgs g =
      gemm_args(bsz * lk, attn_dim_, dk, keys.data(), nullptr, true, cache.data());
  kernels::set_weights_b(g, key_proj_, &packed_key_);
  return matmul(ctx, g, ws);
}

Status SoftAttention::forward_cached(const Context& ctx, ConstView q, ConstView key_cache,
                                     ConstView v, MaskView mask, View context, View weights,
                                     Workspace& ws) const {
  if (score_ != Score::additive)
    return Status::invalid("forward_cached: only additive attention has a key cache");
  EDGEATTN_RETURN_IF_ERROR(require_dense(key_cache, 3, "key_cache"));
  if (key_cache.dim(2) != attn_dim_)
    return Status::invalid("key_cache " + key_cache.shape().to_string() + " must be [B, Lk, " +
                           std::to_string(attn_dim_) + "]");
  // The cache stands in for the keys in the shape checks, with the key width
  // the weights expect.
  const Shape ks{key_cache.dim(0), key_cache.dim(1), key_dim()};
  EDGEATTN_RETURN_IF_ERROR(check(q, ConstView(key_cache.data(), ks), v, mask));
  const std::size_t bsz = q.dim(0), lq = q.dim(1), lk = key_cache.dim(1), dq = q.dim(2);
  EDGEATTN_RETURN_IF_ERROR(check_outputs(context, weights, bsz, lq, lk, v.dim(2)));
  Scratch s(ws);
  const Impl::Slices sl = Impl::slices(*this, s, dims_of(q, ConstView(key_cache.data(), ks), v),
                                       Impl::Path::materialized, weights.empty(), true, ctx);
  if (!s.ok()) return Scratch::too_small("soft_attention");
  return Impl::materialized(
      ctx, bsz, lq, lk, v, mask, context, weights, sl.scores, ws, [&](std::size_t b, float* w) {
        return Impl::additive_scores(*this, ctx, q.data() + b * lq * dq, lq, dq,
                                     key_cache.data() + b * lk * attn_dim_, lk, w, sl.qp, ws);
      });
}

Status SoftAttention::forward_argmax(const Context& ctx, ConstView q, ConstView k, ConstView v,
                                     MaskView mask, std::int64_t* indices, View context,
                                     Workspace& ws) const {
  if (!indices) return Status::invalid("hard attention: indices is null");
  const std::size_t lq = q.dim(1), lk = k.dim(1), dv = v.dim(2);
  return Impl::hard(*this, ctx, q, k, v, mask, context, ws, [&](std::size_t b, float* s) {
    const MaskView mb = batch_mask(mask, b);
    for (std::size_t i = 0; i < lq; ++i) {
      const std::uint8_t* m = mb.empty() ? nullptr : mb.data() + (mb.dim(0) == 1 ? 0 : i * lk);
      float* si = s + i * lk;
      std::size_t allowed = lk;
      if (m) {  // masked keys cannot win: -inf, or -1 when none is left
        allowed = 0;
        for (std::size_t j = 0; j < lk; ++j) {
          allowed += m[j] != 0;
          if (!m[j]) si[j] = -std::numeric_limits<float>::infinity();
        }
      }
      const std::int64_t best = allowed ? static_cast<std::int64_t>(kernels::argmax(si, lk)) : -1;
      indices[b * lq + i] = best;
      float* out = context.data() + (b * lq + i) * dv;
      if (best < 0)
        std::memset(out, 0, dv * sizeof(float));
      else
        std::memcpy(out, v.data() + (b * lk + static_cast<std::size_t>(best)) * dv, dv * sizeof(float));
    }
    return Status();
  });
}

Status SoftAttention::forward_sample(const Context& ctx, ConstView q, ConstView k, ConstView v,
                                     MaskView mask, std::uint64_t seed, std::size_t draws,
                                     std::int64_t* indices, View context, Workspace& ws) const {
  if (!indices || draws == 0) return Status::invalid("hard attention: no indices or draws == 0");
  const std::size_t lq = q.dim(1), lk = k.dim(1), dv = v.dim(2);
  return Impl::hard(*this, ctx, q, k, v, mask, context, ws, [&](std::size_t b, float* s) {
    std::int64_t* idx = indices + b * lq * draws;
    EDGEATTN_RETURN_IF_ERROR(sample_rows(ctx, ConstView(s, Shape{lq, lk}), batch_mask(mask, b),
                                         seed, b * lq, draws, idx, ws));
    for (std::size_t i = 0; i < lq; ++i) {  // the mean of the drawn value rows
      float* out = context.data() + (b * lq + i) * dv;
      std::memset(out, 0, dv * sizeof(float));
      if (idx[i * draws] < 0) continue;
      for (std::size_t d = 0; d < draws; ++d)
        kernels::axpy(1.0f, v.data() + (b * lk + static_cast<std::size_t>(idx[i * draws + d])) * dv,
                      out, dv);
      kernels::scale(1.0f / static_cast<float>(draws), out, out, dv);
    }
    return Status();
  });
}

}  // namespace edgeattn
