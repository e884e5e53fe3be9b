// Elementwise nodes: activations (PyTorch's formulas, in its order of
// operations) and broadcast arithmetic.
#include <algorithm>
#include <cmath>

#include "edgeattn/kernels.h"
#include "edgeattn/ops.h"
#include "ops_common.h"

namespace edgeattn::graph {

Result<Shape> broadcast(const Shape& a, const Shape& b) {
  Shape out;
  out.rank = std::max(a.rank, b.rank);
  for (int d = 0; d < out.rank; ++d) {
    const int da = d - (out.rank - a.rank), db = d - (out.rank - b.rank);
    const std::size_t x = da >= 0 ? a[da] : 1, y = db >= 0 ? b[db] : 1;
    if (x != y && x != 1 && y != 1)
      return Status::invalid("shapes " + a.to_string() + " and " + b.to_string() +
                             " do not broadcast");
    out.dims[d] = x == 1 ? y : x;
  }
  return out;
}

namespace {

// Output 0 is input 0 unchanged: eval-mode dropout, identity.
class Identity final : public Op {
 public:
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    if (in.size() != 1) return Status::invalid("takes 1 input");
    return std::vector<TensorType>{in[0]};
  }
  bool is_view() const override { return true; }
  Status run(const Context&, const Slot*, const Slot*, Workspace&, NodeState*) const override {
    return {};
  }
};

enum class Unary { relu, relu6, leaky_relu, hardtanh, sigmoid, tanh, silu, hardswish, hardsigmoid,
                   gelu, gelu_tanh };

// y = f(x) over [begin, end): the kernels where they exist, else the
// formula of PyTorch's CPU kernel.
void unary(Unary f, float a, float b, const float* x, float* y, std::size_t n) {
  switch (f) {
    case Unary::relu: return kernels::activate(Activation::relu, x, y, n);
    case Unary::relu6: return kernels::activate(Activation::relu6, x, y, n);
    case Unary::sigmoid: return kernels::activate(Activation::sigmoid, x, y, n);
    case Unary::tanh: return kernels::tanh(x, y, n);
    case Unary::silu: return kernels::activate(Activation::silu, x, y, n);
    case Unary::hardswish: return kernels::activate(Activation::hardswish, x, y, n);
    case Unary::hardsigmoid: return kernels::activate(Activation::hardsigmoid, x, y, n);
    default: break;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const float v = x[i];
    float r = 0.0f;
    switch (f) {
      case Unary::hardtanh: r = std::min(std::max(v, a), b); break;  // NaN stays NaN below
      case Unary::leaky_relu: r = v > 0.0f ? v : v * a; break;
      case Unary::gelu:  // x * Phi(x), exact (approximate='none')
        r = float(0.5 * double(v) * (1.0 + std::erf(double(v) * M_SQRT1_2)));
        break;
      case Unary::gelu_tanh: {  // approximate='tanh'
        const double d = v, inner = std::sqrt(2.0 / M_PI) * (d + 0.044715 * d * d * d);
        r = float(0.5 * d * (1.0 + std::tanh(inner)));
        break;
      }
      default: break;
    }
    y[i] = std::isnan(v) ? v : r;
  }
}

class UnaryOp final : public Op {
 public:
  UnaryOp(Unary f, float a = 0.0f, float b = 0.0f) : f_(f), a_(a), b_(b) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    EDGEATTN_RETURN_IF_ERROR(expect_inputs(in, 1, ValueType::f32));
    return std::vector<TensorType>{in[0]};
  }
  bool in_place() const override { return true; }
  Status run(const Context& ctx, const Slot* in, const Slot* out, Workspace&,
             NodeState*) const override {
    parallel_elements(ctx, in[0].shape.numel(), [&](std::size_t lo, std::size_t hi) {
      unary(f_, a_, b_, in[0].f32() + lo, out[0].f32() + lo, hi - lo);
    });
    return {};
  }

 private:
  Unary f_;
  float a_, b_;
};

enum class Arith { add, sub, mul, div };

// Two broadcast inputs, or one and a scalar from the config ("scalar";
// "reverse": the scalar is the left operand, as 1 - x).
class BinaryOp final : public Op {
 public:
  BinaryOp(Arith op, bool has_scalar, float scalar, bool reverse)
      : op_(op), has_scalar_(has_scalar), scalar_(scalar), reverse_(reverse) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    EDGEATTN_RETURN_IF_ERROR(expect_inputs(in, has_scalar_ ? 1 : 2, ValueType::f32));
    if (has_scalar_) return std::vector<TensorType>{in[0]};
    EDGEATTN_ASSIGN_OR_RETURN(s, broadcast(in[0].shape, in[1].shape));
    return std::vector<TensorType>{{ValueType::f32, s}};
  }
  bool in_place() const override { return true; }
  Status run(const Context& ctx, const Slot* in, const Slot* out, Workspace&,
             NodeState*) const override {
    const float s = scalar_;
    const Shape one{1};
    ConstView a = cview(in[0]), b = has_scalar_ ? ConstView(&s, one) : cview(in[1]);
    if (reverse_) std::swap(a, b);
    switch (op_) {
      case Arith::add: return edgeattn::add(ctx, a, b, mview(out[0]));
      case Arith::sub: return edgeattn::sub(ctx, a, b, mview(out[0]));
      case Arith::mul: return edgeattn::mul(ctx, a, b, mview(out[0]));
      case Arith::div: return edgeattn::div(ctx, a, b, mview(out[0]));
    }
    return {};
  }

 private:
  Arith op_;
  bool has_scalar_;
  float scalar_;
  bool reverse_;
};

Result<std::unique_ptr<Op>> make_unary(Unary f, float a = 0.0f, float b = 0.0f) {
  return std::unique_ptr<Op>(std::make_unique<UnaryOp>(f, a, b));
}

Result<std::unique_ptr<Op>> make_binary(Arith op, const OpArgs& args) {
  const bool has = args.config.has("scalar");
  EDGEATTN_ASSIGN_OR_RETURN(s, args.config.number("scalar", 0.0));
  EDGEATTN_ASSIGN_OR_RETURN(reverse, args.config.boolean("reverse", false));
  return std::unique_ptr<Op>(std::make_unique<BinaryOp>(op, has, float(s), reverse));
}

}  // namespace

Result<std::unique_ptr<Op>> make_identity(const OpArgs&) {
  return std::unique_ptr<Op>(std::make_unique<Identity>());
}
Result<std::unique_ptr<Op>> make_dropout(const OpArgs&) {
  return std::unique_ptr<Op>(std::make_unique<Identity>());  // eval mode
}
Result<std::unique_ptr<Op>> make_relu(const OpArgs&) { return make_unary(Unary::relu); }
Result<std::unique_ptr<Op>> make_relu6(const OpArgs&) { return make_unary(Unary::relu6, 0.0f, 6.0f); }
Result<std::unique_ptr<Op>> make_leaky_relu(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(slope, args.config.number("negative_slope", 0.01));
  return make_unary(Unary::leaky_relu, float(slope));
}
Result<std::unique_ptr<Op>> make_hardtanh(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(lo, args.config.number("min_val", -1.0));
  EDGEATTN_ASSIGN_OR_RETURN(hi, args.config.number("max_val", 1.0));
  if (!(lo <= hi)) return args.config.bad("min_val", "must not exceed max_val");
  return make_unary(Unary::hardtanh, float(lo), float(hi));
}
Result<std::unique_ptr<Op>> make_sigmoid(const OpArgs&) { return make_unary(Unary::sigmoid); }
Result<std::unique_ptr<Op>> make_tanh(const OpArgs&) { return make_unary(Unary::tanh); }
Result<std::unique_ptr<Op>> make_silu(const OpArgs&) { return make_unary(Unary::silu); }
Result<std::unique_ptr<Op>> make_hardswish(const OpArgs&) { return make_unary(Unary::hardswish); }
Result<std::unique_ptr<Op>> make_hardsigmoid(const OpArgs&) { return make_unary(Unary::hardsigmoid); }
Result<std::unique_ptr<Op>> make_gelu(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(approx, args.config.choice("approximate", {"none", "tanh"}, "none"));
  return make_unary(approx == "tanh" ? Unary::gelu_tanh : Unary::gelu);
}
Result<std::unique_ptr<Op>> make_add(const OpArgs& args) { return make_binary(Arith::add, args); }
Result<std::unique_ptr<Op>> make_sub(const OpArgs& args) { return make_binary(Arith::sub, args); }
Result<std::unique_ptr<Op>> make_mul(const OpArgs& args) { return make_binary(Arith::mul, args); }
Result<std::unique_ptr<Op>> make_div(const OpArgs& args) { return make_binary(Arith::div, args); }

}  // namespace edgeattn::graph
