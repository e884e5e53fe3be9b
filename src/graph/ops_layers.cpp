// Nodes with weights: convolutions (BatchNorm and an activation folded in
// by the loader), standalone BatchNorm, Linear, Embedding, and matmul.
#include <cstring>

#include "edgeattn/ops.h"
#include "edgeattn/vision.h"
#include "../scratch.h"
#include "../vision/vision_common.h"
#include "ops_common.h"

namespace edgeattn::graph {
namespace {

// The tensor `key`; absent is an error only when `required`.
Result<Tensor> optional_param(const ParamSet& p, const std::string& key, bool required) {
  if (!required && !p.has(key)) return Tensor();
  return p.take_any(key);
}

Result<BatchNorm> batch_norm_params(const ParamSet& p, double eps) {
  BatchNorm bn;
  EDGEATTN_ASSIGN_OR_RETURN(w, p.take_any("weight"));
  EDGEATTN_ASSIGN_OR_RETURN(b, p.take_any("bias"));
  EDGEATTN_ASSIGN_OR_RETURN(m, p.take_any("running_mean"));
  EDGEATTN_ASSIGN_OR_RETURN(v, p.take_any("running_var"));
  bn.weight = std::move(w), bn.bias = std::move(b), bn.running_mean = std::move(m);
  bn.running_var = std::move(v);
  bn.eps = float(eps);
  return bn;
}

// conv1d runs as conv2d over [B, C, 1, L]. A conv2d the loader gave a mul's
// two inputs (OpArgs::input_product) convolves their product: a gate [B or
// 1, C, 1, 1] times the map goes into the weights (Conv2d::forward_gated),
// any other product is formed in the workspace first.
class Conv final : public Op {
 public:
  Conv(Conv2d conv, bool one_d, bool product) : conv_(std::move(conv)), one_d_(one_d), product_(product) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    EDGEATTN_RETURN_IF_ERROR(expect_inputs(in, product_ ? 2 : 1, ValueType::f32));
    EDGEATTN_ASSIGN_OR_RETURN(x, input_shape(in));
    if (x.rank != (one_d_ ? 3 : 4))
      return Status::invalid("input " + x.to_string() + " must be " + (one_d_ ? "[B, C, L]" : "[B, C, H, W]"));
    EDGEATTN_ASSIGN_OR_RETURN(s, conv_.output_shape(as_2d(x)));
    return std::vector<TensorType>{{ValueType::f32, one_d_ ? Shape{s[0], s[1], s[3]} : s}};
  }
  std::size_t workspace_bytes(const std::vector<TensorType>& in, const Context& ctx) const override {
    const Result<Shape> x = input_shape(in);
    if (!x.ok()) return 0;
    if (!product_) return conv_.workspace_bytes(as_2d(x.value()), ctx);
    if (gate_index(in[0].shape, in[1].shape) >= 0) return conv_.gated_workspace_bytes(x.value(), ctx);
    return detail::aligned_bytes(x.value().numel() * sizeof(float)) + conv_.workspace_bytes(x.value(), ctx);
  }
  std::size_t weight_bytes() const override { return conv_.weight_bytes(); }
  double flops(const std::vector<TensorType>&, const std::vector<TensorType>& out) const override {
    const Conv2dParams& p = conv_.params();
    return 2.0 * double(out[0].shape.numel()) * double(p.in_channels / p.groups) * double(p.kernel_h * p.kernel_w);
  }
  std::string kind(const std::vector<TensorType>& in) const override {
    const Result<Shape> x = input_shape(in);
    if (!x.ok()) return {};
    const Conv2dParams& p = conv_.params();
    const std::string path = conv_.path_name(as_2d(x.value()));
    std::string k = path.rfind("1x1", 0) == 0 ? path : path + " " + std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w);
    if (p.stride_h > 1 || p.stride_w > 1) k += "/" + std::to_string(std::max(p.stride_h, p.stride_w));
    return product_ && gate_index(in[0].shape, in[1].shape) >= 0 ? k + " gated" : k;
  }
  Status run(const Context& ctx, const Slot* in, const Slot* out, Workspace& ws,
             NodeState*) const override {
    const View y(out[0].f32(), as_2d(out[0].shape));
    if (!product_) return conv_.forward(ctx, ConstView(in[0].f32(), as_2d(in[0].shape)), y, ws);
    const int g = gate_index(in[0].shape, in[1].shape);
    if (g >= 0) return conv_.forward_gated(ctx, cview(in[1 - g]), cview(in[g]), y, ws);
    EDGEATTN_ASSIGN_OR_RETURN(x, broadcast(in[0].shape, in[1].shape));
    detail::Scratch s(ws);
    float* product = s.take<float>(x.numel());
    if (!s.ok()) return detail::Scratch::too_small("conv2d");
    EDGEATTN_RETURN_IF_ERROR(edgeattn::mul(ctx, cview(in[0]), cview(in[1]), View(product, x)));
    return conv_.forward(ctx, ConstView(product, x), y, ws);
  }

 private:
  Shape as_2d(const Shape& s) const { return one_d_ && s.rank == 3 ? Shape{s[0], s[1], 1, s[2]} : s; }
  Result<Shape> input_shape(const std::vector<TensorType>& in) const {
    return product_ ? broadcast(in[0].shape, in[1].shape) : Result<Shape>(in[0].shape);
  }
  // Which factor is a per-image, per-channel gate of the other (a map the
  // conv's gated path takes), or -1.
  int gate_index(const Shape& a, const Shape& b) const {
    if (!conv_.accepts_gate()) return -1;
    for (int g = 0; g < 2; ++g) {
      const Shape& gate = g ? b : a;
      const Shape& map = g ? a : b;
      if (map.rank == 4 && gate.rank == 4 && (gate[0] == 1 || gate[0] == map[0]) && gate[1] == map[1] &&
          gate[2] == 1 && gate[3] == 1)
        return g;
    }
    return -1;
  }
  Conv2d conv_;
  bool one_d_, product_;
};

Result<std::unique_ptr<Op>> make_conv(const OpArgs& args, bool one_d) {
  const NodeConfig& c = args.config;
  const std::size_t n = one_d ? 1 : 2;
  constexpr std::int64_t kMax = 65535;
  EDGEATTN_ASSIGN_OR_RETURN(stride, c.integers("stride", n, 1, kMax));
  EDGEATTN_ASSIGN_OR_RETURN(padding, c.integers("padding", n, 0, kMax));
  EDGEATTN_ASSIGN_OR_RETURN(dilation, c.integers("dilation", n, 1, kMax));
  EDGEATTN_ASSIGN_OR_RETURN(groups, c.integer("groups", 1, std::int64_t(1) << 20, 1));
  EDGEATTN_ASSIGN_OR_RETURN(has_bias, c.boolean("bias", true));
  EDGEATTN_ASSIGN_OR_RETURN(w, args.params.take_any("weight"));
  EDGEATTN_ASSIGN_OR_RETURN(b, optional_param(args.params, "bias", has_bias));
  if (!has_bias && args.params.has("bias"))
    return c.bad("bias", "is false but the parameters hold a bias");
  const Shape& ws = w.shape();
  if (ws.rank != int(n) + 2)
    return Status::invalid("weight " + ws.to_string() + " must be [O, I / groups, " +
                           (one_d ? "k]" : "kh, kw]"));
  Conv2dParams p;
  p.out_channels = ws[0];
  p.in_channels = ws[1] * std::size_t(groups);
  p.groups = std::size_t(groups);
  p.kernel_h = one_d ? 1 : ws[2], p.kernel_w = ws[ws.rank - 1];
  p.stride_h = std::size_t(stride[0]), p.stride_w = std::size_t(stride[n - 1]);
  p.pad_h = one_d ? 0 : std::size_t(padding[0]), p.pad_w = std::size_t(padding[n - 1]);
  p.dilation_h = std::size_t(dilation[0]), p.dilation_w = std::size_t(dilation[n - 1]);
  if (one_d) p.stride_h = p.dilation_h = 1;
  if (!args.act.empty()) {
    EDGEATTN_ASSIGN_OR_RETURN(act, activation_from_name(args.act));
    p.act = act;
  }
  if (one_d) {
    EDGEATTN_ASSIGN_OR_RETURN(w4, detail::copy_tensor(w.data(), Shape{ws[0], ws[1], 1, ws[2]}));
    w = std::move(w4);
  }
  BatchNorm bn;
  if (args.bn) {
    EDGEATTN_ASSIGN_OR_RETURN(folded, batch_norm_params(*args.bn, args.bn_eps));
    bn = std::move(folded);
  }
  EDGEATTN_ASSIGN_OR_RETURN(conv, Conv2d::create(p, w, b, args.bn ? &bn : nullptr, args.params.weight_type()));
  return std::unique_ptr<Op>(std::make_unique<Conv>(std::move(conv), one_d, args.input_product));
}

// Eval-mode BatchNorm over axis 1 of any rank >= 2: y = x a[c] + b[c] with
// a = weight / sqrt(var + eps), b = bias - mean a (PyTorch's CPU kernel
// folds it the same way).
class BatchNormOp final : public Op {
 public:
  BatchNormOp(Tensor a, Tensor b) : a_(std::move(a)), b_(std::move(b)) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    EDGEATTN_RETURN_IF_ERROR(expect_inputs(in, 1, ValueType::f32));
    if (in[0].shape.rank < 2 || in[0].shape[1] != a_.numel())
      return Status::invalid("input " + in[0].shape.to_string() + " must be [B, " +
                             std::to_string(a_.numel()) + ", ...]");
    return std::vector<TensorType>{in[0]};
  }
  bool in_place() const override { return true; }
  std::size_t weight_bytes() const override { return 2 * a_.numel() * sizeof(float); }
  Status run(const Context& ctx, const Slot* in, const Slot* out, Workspace&,
             NodeState*) const override {
    const Shape& s = in[0].shape;
    const std::size_t c = s[1], inner = s.numel() / (s[0] * c);
    const int t = detail::threads_for(ctx, double(s.numel()), detail::kMinElementsPerThread);
    detail::parallel_for(t, s[0] * c, [&](std::size_t row, int) {
      const float a = a_.data()[row % c], b = b_.data()[row % c];
      const float* x = in[0].f32() + row * inner;
      float* y = out[0].f32() + row * inner;
      for (std::size_t i = 0; i < inner; ++i) y[i] = x[i] * a + b;
    });
    return {};
  }

 private:
  Tensor a_, b_;
};

class LinearOp final : public Op {
 public:
  explicit LinearOp(Linear l) : l_(std::move(l)) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    EDGEATTN_RETURN_IF_ERROR(expect_inputs(in, 1, ValueType::f32));
    Shape s = in[0].shape;
    if (s.rank < 1 || s[s.rank - 1] != l_.in_features())
      return Status::invalid("input " + s.to_string() + " must end in " +
                             std::to_string(l_.in_features()) + " features");
    s.dims[s.rank - 1] = l_.out_features();
    return std::vector<TensorType>{{ValueType::f32, s}};
  }
  std::size_t workspace_bytes(const std::vector<TensorType>& in, const Context& ctx) const override {
    return l_.workspace_bytes(in[0].shape.numel() / l_.in_features(), ctx);
  }
  std::size_t weight_bytes() const override { return l_.weight_bytes(); }
  double flops(const std::vector<TensorType>&, const std::vector<TensorType>& out) const override {
    return 2.0 * double(out[0].shape.numel()) * double(l_.in_features());
  }
  Status run(const Context& ctx, const Slot* in, const Slot* out, Workspace& ws,
             NodeState*) const override {
    const std::size_t rows = in[0].shape.numel() / l_.in_features();
    return l_.forward(ctx, ConstView(in[0].f32(), Shape{rows, l_.in_features()}),
                      View(out[0].f32(), Shape{rows, l_.out_features()}), ws);
  }

 private:
  Linear l_;
};

class EmbeddingOp final : public Op {
 public:
  explicit EmbeddingOp(Tensor w) : w_(std::move(w)) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    EDGEATTN_RETURN_IF_ERROR(expect_inputs(in, 1, ValueType::i64));
    Shape s = in[0].shape;
    if (s.rank >= kMaxRank) return Status::invalid("indices must have at most 3 axes");
    s.dims[s.rank++] = w_.shape()[1];
    return std::vector<TensorType>{{ValueType::f32, s}};
  }
  std::size_t weight_bytes() const override { return w_.numel() * sizeof(float); }
  Status run(const Context&, const Slot* in, const Slot* out, Workspace&, NodeState*) const override {
    const std::size_t n = in[0].shape.numel(), e = w_.shape()[1], v = w_.shape()[0];
    const auto* idx = static_cast<const std::int64_t*>(in[0].data);
    for (std::size_t i = 0; i < n; ++i) {
      if (idx[i] < 0 || std::uint64_t(idx[i]) >= v)
        return Status::invalid("index " + std::to_string(idx[i]) + " is outside the " +
                               std::to_string(v) + "-row table");
      std::memcpy(out[0].f32() + i * e, w_.data() + std::size_t(idx[i]) * e, e * sizeof(float));
    }
    return {};
  }

 private:
  Tensor w_;
};

// torch.matmul / bmm for operands of rank 2..4: [..., m, k] x [..., k, n],
// the leading axes broadcast.
class MatMul final : public Op {
 public:
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    EDGEATTN_RETURN_IF_ERROR(expect_inputs(in, 2, ValueType::f32));
    const Shape &a = in[0].shape, &b = in[1].shape;
    if (a.rank < 2 || b.rank < 2 || a[a.rank - 1] != b[b.rank - 2])
      return Status::invalid("operands " + a.to_string() + " and " + b.to_string() +
                             " are not [..., m, k] and [..., k, n]");
    EDGEATTN_ASSIGN_OR_RETURN(batch, broadcast(lead(a), lead(b)));
    Shape out = batch;
    out.dims[out.rank++] = a[a.rank - 2];
    out.dims[out.rank++] = b[b.rank - 1];
    if (out.rank > kMaxRank) return Status::invalid("the product has more than 4 axes");
    return std::vector<TensorType>{{ValueType::f32, out}};
  }
  std::size_t workspace_bytes(const std::vector<TensorType>& in, const Context& ctx) const override {
    const Shape &a = in[0].shape, &b = in[1].shape;
    return matmul_workspace_bytes(ctx, a[a.rank - 2], b[b.rank - 1], a[a.rank - 1]);
  }
  double flops(const std::vector<TensorType>& in, const std::vector<TensorType>& out) const override {
    const Shape& a = in[0].shape;
    return 2.0 * double(out[0].shape.numel()) * double(a[a.rank - 1]);
  }
  Status run(const Context& ctx, const Slot* in, const Slot* out, Workspace& ws,
             NodeState*) const override {
    const Shape &a = in[0].shape, &b = in[1].shape, &o = out[0].shape;
    const std::size_t m = a[a.rank - 2], k = a[a.rank - 1], n = b[b.rank - 1];
    const Shape batch = lead(o), la = lead(a), lb = lead(b);
    for (std::size_t i = 0; i < batch.numel(); ++i) {
      const std::size_t ia = index_in(i, batch, la), ib = index_in(i, batch, lb);
      EDGEATTN_RETURN_IF_ERROR(matmul(ctx, gemm_args(m, n, k, in[0].f32() + ia * m * k,
                                                     in[1].f32() + ib * k * n, false,
                                                     out[0].f32() + i * m * n), ws));
    }
    return {};
  }

 private:
  static Shape lead(const Shape& s) {
    Shape l;
    l.rank = s.rank - 2;
    for (int d = 0; d < l.rank; ++d) l.dims[d] = s[d];
    return l;
  }
  // The flat index in `part` (broadcast to `full`) of flat index i of full.
  static std::size_t index_in(std::size_t i, const Shape& full, const Shape& part) {
    std::size_t idx = 0, mul = 1;
    for (int d = full.rank - 1, p = part.rank - 1; d >= 0; --d, --p) {
      const std::size_t c = i % full[d];
      i /= full[d];
      if (p >= 0) {
        idx += (part[p] == 1 ? 0 : c) * mul;
        mul *= part[p];
      }
    }
    return idx;
  }
};

}  // namespace

Result<std::unique_ptr<Op>> make_conv2d(const OpArgs& args) { return make_conv(args, false); }
Result<std::unique_ptr<Op>> make_conv1d(const OpArgs& args) { return make_conv(args, true); }

Result<std::unique_ptr<Op>> make_batch_norm(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(eps, args.config.number("eps", 1e-5));
  EDGEATTN_ASSIGN_OR_RETURN(bn, batch_norm_params(args.params, eps));
  const std::size_t c = bn.weight.numel();
  EDGEATTN_RETURN_IF_ERROR(check_batch_norm(bn, c, "batch_norm"));
  // The fold of a convolution's BatchNorm, on a weight of ones and no bias.
  EDGEATTN_ASSIGN_OR_RETURN(a, Tensor::zeros(Shape{c}));
  EDGEATTN_ASSIGN_OR_RETURN(b, Tensor::zeros(Shape{c}));
  for (std::size_t i = 0; i < c; ++i) a.data()[i] = 1.0f;
  detail::fold_batch_norm(bn, a.data(), 1, b.data());
  return std::unique_ptr<Op>(std::make_unique<BatchNormOp>(std::move(a), std::move(b)));
}

Result<std::unique_ptr<Op>> make_linear(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(has_bias, args.config.boolean("bias", true));
  EDGEATTN_ASSIGN_OR_RETURN(w, args.params.take_any("weight"));
  EDGEATTN_ASSIGN_OR_RETURN(b, optional_param(args.params, "bias", has_bias));
  if (!has_bias && args.params.has("bias"))
    return args.config.bad("bias", "is false but the parameters hold a bias");
  EDGEATTN_ASSIGN_OR_RETURN(l, Linear::create(w, b, args.params.weight_type()));
  return std::unique_ptr<Op>(std::make_unique<LinearOp>(std::move(l)));
}

Result<std::unique_ptr<Op>> make_embedding(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(w, args.params.take_any("weight"));
  if (w.shape().rank != 2 || w.numel() == 0)
    return Status::invalid("weight " + w.shape().to_string() + " must be [num_embeddings, dim]");
  return std::unique_ptr<Op>(std::make_unique<EmbeddingOp>(std::move(w)));
}

Result<std::unique_ptr<Op>> make_matmul(const OpArgs&) {
  return std::unique_ptr<Op>(std::make_unique<MatMul>());
}

}  // namespace edgeattn::graph
