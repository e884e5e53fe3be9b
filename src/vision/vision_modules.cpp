// Registry entries se, eca, cbam_channel, cbam_spatial, cbam, non_local and
// sagan_attention: configs and timm's parameter keys as in docs/modules.md,
// adapted to Module. Input x [B, C, H, W]; output y; attention maps on
// request.
#include "../io/registry.h"
#include "edgeattn/vision.h"

namespace edgeattn {
namespace {

enum class MapKind { channel, spatial, position };

struct MapOutput {
  const char* name;
  MapKind kind;
};

Shape map_shape(MapKind k, const Shape& x) {
  if (k == MapKind::channel) return Shape{x[0], x[1]};
  if (k == MapKind::spatial) return Shape{x[0], 1, x[2], x[3]};
  return Shape{x[0], x[2] * x[3], x[2] * x[3]};
}

// The typed call with the maps the caller asked for (empty views otherwise).
Status forward_maps(const Cbam& m, const Context& ctx, ConstView x, View y, const View* maps,
                    Workspace& ws) {
  return m.forward(ctx, x, y, maps[0], maps[1], ws);
}
template <class M>
Status forward_maps(const M& m, const Context& ctx, ConstView x, View y, const View* maps,
                    Workspace& ws) {
  return m.forward(ctx, x, y, maps[0], ws);
}

template <class M>
std::size_t channels_of(const M& m) { return m.channels(); }
std::size_t channels_of(const CbamSpatial&) { return 0; }  // any

template <class M>
class VisionModule final : public Module {
 public:
  const void* typed(const std::type_info& t) const override { return typed_if(t, m_); }
  VisionModule(const char* kind, M m, std::vector<MapOutput> maps)
      : kind_(kind), m_(std::move(m)), maps_(std::move(maps)) {}
  const char* kind() const override { return kind_; }
  std::size_t weight_bytes() const override { return m_.weight_bytes(); }

  Result<std::vector<OutputSpec>> check(const ValueMap& in) const override {
    EDGEATTN_ASSIGN_OR_RETURN(x, find_input(in, "x", ValueType::f32, true));
    const Shape& s = x->shape();
    const std::size_t c = channels_of(m_);
    if (s.rank != 4 || s.numel() == 0 || (c && s[1] != c))
      return Status::invalid(std::string(kind_) + ": input 'x' " + s.to_string() + " must be [B, " +
                             (c ? std::to_string(c) : std::string("C")) + ", H, W], none of them 0");
    std::vector<OutputSpec> out{{"y", ValueType::f32, s}};
    for (const MapOutput& mo : maps_) out.push_back({mo.name, ValueType::f32, map_shape(mo.kind, s), true});
    return out;
  }

  std::size_t workspace_bytes(const ValueMap& in, const Context& ctx) const override {
    return m_.workspace_bytes(detail::shape_of(in, "x"), ctx);
  }

  Status run(const Context& ctx, const ValueMap& in, ValueMap& out, Workspace& ws) const override {
    EDGEATTN_ASSIGN_OR_RETURN(x, find_input(in, "x", ValueType::f32, true));
    const Shape& s = x->shape();
    if (s.rank != 4) return Status::invalid(std::string(kind_) + ": input 'x' " + s.to_string() + " must be [B, C, H, W]");
    EDGEATTN_RETURN_IF_ERROR(require_workspace(ws, m_.workspace_bytes(s, ctx), kind_));
    EDGEATTN_ASSIGN_OR_RETURN(y, find_output(out, "y", ValueType::f32, s, true));
    View maps[2];
    for (std::size_t i = 0; i < maps_.size() && i < 2; ++i) {
      EDGEATTN_ASSIGN_OR_RETURN(v, find_output(out, maps_[i].name, ValueType::f32, map_shape(maps_[i].kind, s), false));
      if (v) maps[i] = v->view();
    }
    return forward_maps(m_, ctx, x->view(), y->view(), maps, ws);
  }

 private:
  const char* kind_;
  M m_;
  std::vector<MapOutput> maps_;
};

template <class M>
Result<std::unique_ptr<Module>> wrap(const char* kind, Result<M> m, std::vector<MapOutput> maps) {
  if (!m.ok()) return m.status();
  return std::unique_ptr<Module>(new VisionModule<M>(kind, std::move(m).value(), std::move(maps)));
}

std::size_t size_of(std::int64_t v) { return static_cast<std::size_t>(v); }

// fc1/fc2 as 1x1 convs (or Linear-shaped), with or without biases. SE also
// takes EfficientNet's conv_reduce/conv_expand names.
Result<SqueezeExcite::Weights> mlp_weights(const ParamSet& p, std::size_t c, std::size_t r,
                                           bool bias, const char* fc1, const char* fc2) {
  SqueezeExcite::Weights w;
  const std::string k1(fc1), k2(fc2);
  EDGEATTN_ASSIGN_OR_RETURN(w1, p.take_linear(k1 + ".weight", r, c));
  EDGEATTN_ASSIGN_OR_RETURN(w2, p.take_linear(k2 + ".weight", c, r));
  w.fc1_weight = std::move(w1);
  w.fc2_weight = std::move(w2);
  if (bias) {
    EDGEATTN_ASSIGN_OR_RETURN(b1, p.take(k1 + ".bias", Shape{r}));
    EDGEATTN_ASSIGN_OR_RETURN(b2, p.take(k2 + ".bias", Shape{c}));
    w.fc1_bias = std::move(b1);
    w.fc2_bias = std::move(b2);
  }
  return w;
}

Result<BatchNorm> batch_norm(const ParamSet& p, const std::string& prefix, std::size_t c,
                             double eps) {
  BatchNorm bn;
  Tensor* parts[4] = {&bn.weight, &bn.bias, &bn.running_mean, &bn.running_var};
  const char* names[4] = {"weight", "bias", "running_mean", "running_var"};
  for (int i = 0; i < 4; ++i) {
    EDGEATTN_ASSIGN_OR_RETURN(t, p.take(prefix + names[i], Shape{c}));
    *parts[i] = std::move(t);
  }
  bn.eps = static_cast<float>(eps);
  return bn;
}

Result<double> bn_eps(const Config& c) {
  EDGEATTN_ASSIGN_OR_RETURN(eps, c.number("bn_eps", 1e-5));
  if (!(eps > 0.0 && eps < 1.0)) return Status::invalid("config 'bn_eps' must be in (0, 1)");
  return eps;
}

Result<CbamChannel> cbam_channel_from(const Config& c, const ParamSet& p) {
  EDGEATTN_ASSIGN_OR_RETURN(ch, c.positive_int("channels"));
  EDGEATTN_ASSIGN_OR_RETURN(rd, c.positive_int("rd_channels"));
  EDGEATTN_ASSIGN_OR_RETURN(bias, c.boolean("mlp_bias", false));
  EDGEATTN_ASSIGN_OR_RETURN(w, mlp_weights(p, size_of(ch), size_of(rd), bias, "fc1", "fc2"));
  return CbamChannel::create(std::move(w), p.weight_type());
}

Result<CbamSpatial> cbam_spatial_from(const Config& c, const ParamSet& p) {
  EDGEATTN_ASSIGN_OR_RETURN(k, c.positive_int("kernel_size", 7));
  EDGEATTN_ASSIGN_OR_RETURN(eps, bn_eps(c));
  const std::size_t ks = size_of(k);
  EDGEATTN_ASSIGN_OR_RETURN(w, p.take("conv.conv.weight", Shape{1, 2, ks, ks}));
  EDGEATTN_ASSIGN_OR_RETURN(bn, batch_norm(p, "conv.bn.", 1, eps));
  return CbamSpatial::create(ks, w, bn);
}

Result<PositionAttention::Weights> qkv_weights(const ParamSet& p, std::size_t c, std::size_t rq,
                                               std::size_t rv, const char* q, const char* k,
                                               const char* v) {
  PositionAttention::Weights w;
  Tensor* parts[3][2] = {{&w.query_weight, &w.query_bias},
                         {&w.key_weight, &w.key_bias},
                         {&w.value_weight, &w.value_bias}};
  const char* names[3] = {q, k, v};
  const std::size_t rows[3] = {rq, rq, rv};
  for (int i = 0; i < 3; ++i) {
    EDGEATTN_ASSIGN_OR_RETURN(wt, p.take_linear(std::string(names[i]) + ".weight", rows[i], c));
    EDGEATTN_ASSIGN_OR_RETURN(bt, p.take(std::string(names[i]) + ".bias", Shape{rows[i]}));
    *parts[i][0] = std::move(wt);
    *parts[i][1] = std::move(bt);
  }
  return w;
}

}  // namespace

namespace detail {

Result<std::unique_ptr<Module>> make_se(const Json& config, const ParamSet& p) {
  const Config c(config, "se");
  EDGEATTN_ASSIGN_OR_RETURN(ch, c.positive_int("channels"));
  EDGEATTN_ASSIGN_OR_RETURN(rd, c.positive_int("rd_channels"));
  EDGEATTN_ASSIGN_OR_RETURN(bias, c.boolean("bias", true));
  EDGEATTN_ASSIGN_OR_RETURN(act, c.choice("act", {"relu", "silu"}, "relu"));
  EDGEATTN_ASSIGN_OR_RETURN(gate, c.choice("gate", {"sigmoid", "hard_sigmoid"}, "sigmoid"));
  const bool efficientnet = !p.has("fc1.weight") && p.has("conv_reduce.weight");
  EDGEATTN_ASSIGN_OR_RETURN(w, mlp_weights(p, size_of(ch), size_of(rd), bias,
                                           efficientnet ? "conv_reduce" : "fc1",
                                           efficientnet ? "conv_expand" : "fc2"));
  return wrap("se",
              SqueezeExcite::create(act == "silu" ? Activation::silu : Activation::relu,
                                    gate == "sigmoid" ? Gate::sigmoid : Gate::hard_sigmoid,
                                    std::move(w), p.weight_type()),
              {{"attention", MapKind::channel}});
}

Result<std::unique_ptr<Module>> make_eca(const Json& config, const ParamSet& p) {
  const Config c(config, "eca");
  EDGEATTN_ASSIGN_OR_RETURN(ch, c.positive_int("channels"));
  EDGEATTN_ASSIGN_OR_RETURN(k, c.positive_int("kernel_size"));
  if (k % 2 == 0) return Status::invalid("eca config 'kernel_size': must be odd, found " + std::to_string(k));
  EDGEATTN_ASSIGN_OR_RETURN(w, p.take("conv.weight", Shape{1, 1, size_of(k)}));
  return wrap("eca", EfficientChannelAttention::create(size_of(ch), std::move(w)),
              {{"attention", MapKind::channel}});
}

Result<std::unique_ptr<Module>> make_cbam_channel(const Json& config, const ParamSet& p) {
  return wrap("cbam_channel", cbam_channel_from(Config(config, "cbam_channel"), p),
              {{"attention", MapKind::channel}});
}

Result<std::unique_ptr<Module>> make_cbam_spatial(const Json& config, const ParamSet& p) {
  return wrap("cbam_spatial", cbam_spatial_from(Config(config, "cbam_spatial"), p),
              {{"attention", MapKind::spatial}});
}

Result<std::unique_ptr<Module>> make_cbam(const Json& config, const ParamSet& p) {
  const Config c(config, "cbam");
  EDGEATTN_ASSIGN_OR_RETURN(channel, cbam_channel_from(c, p.subset("channel.")));
  EDGEATTN_ASSIGN_OR_RETURN(spatial, cbam_spatial_from(c, p.subset("spatial.")));
  return wrap("cbam", Cbam::create(std::move(channel), std::move(spatial)),
              {{"channel_attention", MapKind::channel}, {"spatial_attention", MapKind::spatial}});
}

Result<std::unique_ptr<Module>> make_non_local(const Json& config, const ParamSet& p) {
  const Config c(config, "non_local");
  EDGEATTN_ASSIGN_OR_RETURN(ch, c.positive_int("channels"));
  EDGEATTN_ASSIGN_OR_RETURN(rd, c.positive_int("rd_channels"));
  EDGEATTN_ASSIGN_OR_RETURN(use_scale, c.boolean("use_scale", true));
  EDGEATTN_ASSIGN_OR_RETURN(eps, bn_eps(c));
  const std::size_t C = size_of(ch), R = size_of(rd);
  NonLocal::Weights w;
  EDGEATTN_ASSIGN_OR_RETURN(tpg, qkv_weights(p, C, R, R, "t", "p", "g"));
  EDGEATTN_ASSIGN_OR_RETURN(zw, p.take_linear("z.weight", C, R));
  EDGEATTN_ASSIGN_OR_RETURN(zb, p.take("z.bias", Shape{C}));
  EDGEATTN_ASSIGN_OR_RETURN(norm, batch_norm(p, "norm.", C, eps));
  w.tpg = std::move(tpg);
  w.z_weight = std::move(zw);
  w.z_bias = std::move(zb);
  w.norm = std::move(norm);
  return wrap("non_local", NonLocal::create(use_scale, std::move(w), p.weight_type()),
              {{"attention", MapKind::position}});
}

Result<std::unique_ptr<Module>> make_sagan_attention(const Json& config, const ParamSet& p) {
  const Config c(config, "sagan_attention");
  EDGEATTN_ASSIGN_OR_RETURN(ch, c.positive_int("channels"));
  const std::size_t C = size_of(ch);
  if (C < 8) return Status::invalid("sagan_attention config 'channels': must be at least 8, found " + std::to_string(C));
  EDGEATTN_ASSIGN_OR_RETURN(w, qkv_weights(p, C, C / 8, C, "query_conv", "key_conv", "value_conv"));
  EDGEATTN_ASSIGN_OR_RETURN(gamma, p.take("gamma", Shape{1}));
  return wrap("sagan_attention", SaganAttention::create(std::move(w), gamma.data()[0], p.weight_type()),
              {{"attention", MapKind::position}});
}

}  // namespace detail
}  // namespace edgeattn
