// Registry entries soft_attention, hard_attention and multihead_attention:
// configs and parameter keys as in docs/modules.md, adapted to Module.
#include "../io/registry.h"
#include "score_params.h"
#include "edgeattn/attention.h"

namespace edgeattn {
namespace {

AttentionDims dims_of(const Shape& q, const Shape& k, const Shape& v) {
  AttentionDims d;
  d.batch = q[0], d.lq = q[1], d.lk = k[1];
  d.dq = q[2], d.dk = k[2], d.dv = v[2];
  return d;
}

// soft_attention and hard_attention: the same scores, two ways of using them.
class AttentionModule final : public Module {
 public:
  const void* typed(const std::type_info& t) const override { return typed_if(t, att_); }
  AttentionModule(SoftAttention att, bool hard) : att_(std::move(att)), hard_(hard) {}
  const char* kind() const override { return hard_ ? "hard_attention" : "soft_attention"; }
  std::size_t weight_bytes() const override { return att_.weight_bytes(); }

  Result<std::vector<OutputSpec>> check(const ValueMap& in) const override {
    EDGEATTN_ASSIGN_OR_RETURN(q, find_input(in, "query", ValueType::f32, true));
    EDGEATTN_ASSIGN_OR_RETURN(k, find_input(in, "keys", ValueType::f32, true));
    EDGEATTN_ASSIGN_OR_RETURN(v, find_input(in, "values", ValueType::f32, true));
    EDGEATTN_ASSIGN_OR_RETURN(m, find_input(in, "mask", ValueType::mask, false));
    EDGEATTN_RETURN_IF_ERROR(att_.check(q->view(), k->view(), v->view(),
                                        m ? m->mask_view() : MaskView()));
    const AttentionDims d = dims_of(q->shape(), k->shape(), v->shape());
    const OutputSpec context{"context", ValueType::f32, Shape{d.batch, d.lq, d.dv}};
    if (hard_) return std::vector<OutputSpec>{{"indices", ValueType::i64, Shape{d.batch, d.lq}}, context};
    return std::vector<OutputSpec>{context, {"weights", ValueType::f32, Shape{d.batch, d.lq, d.lk}, true}};
  }

  std::size_t workspace_bytes(const ValueMap& in, const Context& ctx) const override {
    return att_.workspace_bytes(
        dims_of(detail::shape_of(in, "query"), detail::shape_of(in, "keys"), detail::shape_of(in, "values")), ctx);
  }

  Status run(const Context& ctx, const ValueMap& in, ValueMap& out, Workspace& ws) const override {
    EDGEATTN_ASSIGN_OR_RETURN(q, find_input(in, "query", ValueType::f32, true));
    EDGEATTN_ASSIGN_OR_RETURN(k, find_input(in, "keys", ValueType::f32, true));
    EDGEATTN_ASSIGN_OR_RETURN(v, find_input(in, "values", ValueType::f32, true));
    EDGEATTN_ASSIGN_OR_RETURN(m, find_input(in, "mask", ValueType::mask, false));
    EDGEATTN_RETURN_IF_ERROR(att_.check(q->view(), k->view(), v->view(), m ? m->mask_view() : MaskView()));
    const AttentionDims d = dims_of(q->shape(), k->shape(), v->shape());
    EDGEATTN_RETURN_IF_ERROR(require_workspace(ws, att_.workspace_bytes(d, ctx), kind()));
    const MaskView mask = m ? m->mask_view() : MaskView();
    EDGEATTN_ASSIGN_OR_RETURN(
        context, find_output(out, "context", ValueType::f32, Shape{d.batch, d.lq, d.dv}, true));
    if (hard_) {
      EDGEATTN_ASSIGN_OR_RETURN(idx, find_output(out, "indices", ValueType::i64, Shape{d.batch, d.lq}, true));
      return att_.forward_argmax(ctx, q->view(), k->view(), v->view(), mask, idx->i64(),
                                 context->view(), ws);
    }
    EDGEATTN_ASSIGN_OR_RETURN(w, find_output(out, "weights", ValueType::f32, Shape{d.batch, d.lq, d.lk}, false));
    return att_.forward(ctx, q->view(), k->view(), v->view(), mask, context->view(),
                        w ? w->view() : View(), ws);
  }

 private:
  SoftAttention att_;
  bool hard_;
};

Result<SoftAttention> attention_from(const Json& config, const ParamSet& p, const char* module) {
  const Config c(config, module);
  EDGEATTN_ASSIGN_OR_RETURN(score_name, c.choice("score", {"dot", "scaled_dot", "general", "additive"}));
  EDGEATTN_ASSIGN_OR_RETURN(bias, c.boolean("bias", true));
  EDGEATTN_ASSIGN_OR_RETURN(score, score_from_name(score_name));
  EDGEATTN_ASSIGN_OR_RETURN(w, detail::score_weights(score, bias, p));
  return SoftAttention::create(score, std::move(w), p.weight_type());
}

class MultiheadModule final : public Module {
 public:
  const void* typed(const std::type_info& t) const override { return typed_if(t, m_); }
  explicit MultiheadModule(MultiheadAttention m) : m_(std::move(m)) {}
  const char* kind() const override { return "multihead_attention"; }
  std::size_t weight_bytes() const override { return m_.weight_bytes(); }

  Result<std::vector<OutputSpec>> check(const ValueMap& in) const override {
    EDGEATTN_ASSIGN_OR_RETURN(q, find_input(in, "query", ValueType::f32, true));
    EDGEATTN_ASSIGN_OR_RETURN(k, find_input(in, "key", ValueType::f32, true));
    EDGEATTN_ASSIGN_OR_RETURN(v, find_input(in, "value", ValueType::f32, true));
    EDGEATTN_ASSIGN_OR_RETURN(m, find_input(in, "key_padding_mask", ValueType::mask, false));
    const std::size_t e = m_.embed_dim();
    const Shape& qs = q->shape();
    const Shape& ks = k->shape();
    if (qs.rank != 3 || qs[2] != e || ks.rank != 3 || ks[0] != qs[0] || ks[2] != e ||
        v->shape() != ks)
      return Status::invalid("multihead_attention: query " + qs.to_string() + ", key " +
                             ks.to_string() + ", value " + v->shape().to_string() +
                             " must be [B, Lq, " + std::to_string(e) + "], [B, Lk, " +
                             std::to_string(e) + "] twice");
    if (m && m->shape() != Shape{qs[0], ks[1]})
      return Status::invalid("input 'key_padding_mask': expected " +
                             Shape{qs[0], ks[1]}.to_string() + ", found " +
                             m->shape().to_string());
    return std::vector<OutputSpec>{{"output", ValueType::f32, qs},
                                   {"weights", ValueType::f32, Shape{qs[0], qs[1], ks[1]}, true}};
  }

  std::size_t workspace_bytes(const ValueMap& in, const Context& ctx) const override {
    return m_.workspace_bytes(detail::shape_of(in, "query")[1], detail::shape_of(in, "key")[1], ctx);
  }

  Status run(const Context& ctx, const ValueMap& in, ValueMap& out, Workspace& ws) const override {
    EDGEATTN_ASSIGN_OR_RETURN(q, find_input(in, "query", ValueType::f32, true));
    EDGEATTN_ASSIGN_OR_RETURN(k, find_input(in, "key", ValueType::f32, true));
    EDGEATTN_ASSIGN_OR_RETURN(v, find_input(in, "value", ValueType::f32, true));
    EDGEATTN_ASSIGN_OR_RETURN(m, find_input(in, "key_padding_mask", ValueType::mask, false));
    const Shape& qs = q->shape();
    const Shape& ks = k->shape();
    if (qs.rank != 3 || ks.rank != 3)
      return Status::invalid("multihead_attention: query and key must be [B, L, E]");
    EDGEATTN_RETURN_IF_ERROR(require_workspace(ws, m_.workspace_bytes(qs[1], ks[1], ctx), kind()));
    EDGEATTN_ASSIGN_OR_RETURN(o, find_output(out, "output", ValueType::f32, qs, true));
    EDGEATTN_ASSIGN_OR_RETURN(w, find_output(out, "weights", ValueType::f32, Shape{qs[0], qs[1], ks[1]}, false));
    return m_.forward(ctx, q->view(), k->view(), v->view(), m ? m->mask_view() : MaskView(), o->view(),
                      w ? w->view() : View(), ws);
  }

 private:
  MultiheadAttention m_;
};

}  // namespace

namespace detail {

Result<std::unique_ptr<Module>> make_soft_attention(const Json& config, const ParamSet& p) {
  EDGEATTN_ASSIGN_OR_RETURN(att, attention_from(config, p, "soft_attention"));
  return std::unique_ptr<Module>(new AttentionModule(std::move(att), false));
}

Result<std::unique_ptr<Module>> make_hard_attention(const Json& config, const ParamSet& p) {
  EDGEATTN_ASSIGN_OR_RETURN(mode, Config(config, "hard_attention").choice("mode", {"argmax"}, "argmax"));
  (void)mode;  // sampling is a C++ API (not a registry mode: it has no PyTorch parity)
  EDGEATTN_ASSIGN_OR_RETURN(att, attention_from(config, p, "hard_attention"));
  return std::unique_ptr<Module>(new AttentionModule(std::move(att), true));
}

Result<std::unique_ptr<Module>> make_multihead_attention(const Json& config, const ParamSet& p) {
  const Config c(config, "multihead_attention");
  EDGEATTN_ASSIGN_OR_RETURN(e, c.positive_int("embed_dim"));
  EDGEATTN_ASSIGN_OR_RETURN(h, c.positive_int("num_heads"));
  EDGEATTN_ASSIGN_OR_RETURN(causal, c.boolean("causal", false));
  const auto E = static_cast<std::size_t>(e);
  MultiheadAttention::Weights w;
  EDGEATTN_ASSIGN_OR_RETURN(ipw, p.take("in_proj_weight", Shape{3 * E, E}));
  EDGEATTN_ASSIGN_OR_RETURN(ipb, p.take("in_proj_bias", Shape{3 * E}));
  EDGEATTN_ASSIGN_OR_RETURN(opw, p.take("out_proj.weight", Shape{E, E}));
  EDGEATTN_ASSIGN_OR_RETURN(opb, p.take("out_proj.bias", Shape{E}));
  w.in_proj_weight = std::move(ipw);
  w.in_proj_bias = std::move(ipb);
  w.out_proj_weight = std::move(opw);
  w.out_proj_bias = std::move(opb);
  EDGEATTN_ASSIGN_OR_RETURN(m, MultiheadAttention::create(E, static_cast<std::size_t>(h), causal, std::move(w), p.weight_type()));
  return std::unique_ptr<Module>(new MultiheadModule(std::move(m)));
}

}  // namespace detail
}  // namespace edgeattn
