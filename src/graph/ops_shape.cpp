// Shapes and data movement: reshape (a view: no copy), permute, expand,
// concat, select, slice, and constants from the parameters. All of them
// serve any value type.
#include <cstring>

#include "ops_common.h"

namespace edgeattn::graph {
namespace {

// dst (dense, shape `shape`) = src read with element strides `st`, for
// elements of `elem` bytes.
void gather(const Shape& shape, const std::ptrdiff_t* st, std::size_t elem, const void* src,
            void* dst) {
  std::size_t d[kMaxRank] = {1, 1, 1, 1};
  std::ptrdiff_t s[kMaxRank] = {0, 0, 0, 0};
  const int shift = kMaxRank - shape.rank;
  for (int i = 0; i < shape.rank; ++i) d[i + shift] = shape[i], s[i + shift] = st[i];
  const auto* in = static_cast<const unsigned char*>(src);
  auto* out = static_cast<unsigned char*>(dst);
  const bool rows = s[3] == 1;  // the last axis is contiguous: copy it whole
  for (std::size_t a = 0; a < d[0]; ++a)
    for (std::size_t b = 0; b < d[1]; ++b)
      for (std::size_t c = 0; c < d[2]; ++c) {
        const std::ptrdiff_t base = std::ptrdiff_t(a) * s[0] + std::ptrdiff_t(b) * s[1] +
                                    std::ptrdiff_t(c) * s[2];
        if (rows) {
          std::memcpy(out, in + base * std::ptrdiff_t(elem), d[3] * elem);
          out += d[3] * elem;
          continue;
        }
        for (std::size_t e = 0; e < d[3]; ++e, out += elem)
          std::memcpy(out, in + (base + std::ptrdiff_t(e) * s[3]) * std::ptrdiff_t(elem), elem);
      }
}

TensorType like(const TensorType& t, const Shape& s) { return {t.type, s}; }

class Reshape final : public Op {
 public:
  explicit Reshape(std::vector<Expr> shape) : shape_(std::move(shape)) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv& env) const override {
    if (in.size() != 1) return Status::invalid("takes 1 input");
    Shape out;
    out.rank = static_cast<int>(shape_.size());
    int infer_at = -1;
    std::size_t known = 1;
    for (int d = 0; d < out.rank; ++d) {
      EDGEATTN_ASSIGN_OR_RETURN(v, env.eval(shape_[std::size_t(d)], "reshape"));
      if (v == -1 && infer_at < 0) {
        infer_at = d;
        continue;
      }
      if (v <= 0 || v >= (std::int64_t(1) << 31))
        return Status::invalid("size " + std::to_string(v) + " at axis " + std::to_string(d) +
                               " (sizes are positive, one may be -1)");
      out.dims[d] = std::size_t(v);
      known *= std::size_t(v);
    }
    const std::size_t n = in[0].shape.numel();
    if (infer_at >= 0 && known && n % known == 0) out.dims[infer_at] = n / known;
    if (out.numel() != n || (infer_at >= 0 && !known))
      return Status::invalid("cannot view " + in[0].shape.to_string() + " (" + std::to_string(n) +
                             " elements) as the shape asked for");
    return std::vector<TensorType>{like(in[0], out)};
  }
  bool is_view() const override { return true; }
  Status run(const Context&, const Slot*, const Slot*, Workspace&, NodeState*) const override {
    return {};
  }

 private:
  std::vector<Expr> shape_;
};

class Permute final : public Op {
 public:
  explicit Permute(std::vector<std::int64_t> dims) : dims_(std::move(dims)) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    if (in.size() != 1) return Status::invalid("takes 1 input");
    const Shape& s = in[0].shape;
    if (dims_.size() != std::size_t(s.rank))
      return Status::invalid("dims name " + std::to_string(dims_.size()) + " axes of a rank-" +
                             std::to_string(s.rank) + " input");
    Shape out;
    out.rank = s.rank;
    bool seen[kMaxRank] = {};
    for (int d = 0; d < s.rank; ++d) {
      EDGEATTN_ASSIGN_OR_RETURN(a, axis(dims_[std::size_t(d)], s.rank));
      if (seen[a]) return Status::invalid("dims repeat axis " + std::to_string(a));
      seen[a] = true;
      out.dims[d] = s[a];
    }
    return std::vector<TensorType>{like(in[0], out)};
  }
  Status run(const Context&, const Slot* in, const Slot* out, Workspace&,
             NodeState*) const override {
    std::ptrdiff_t st[kMaxRank], perm[kMaxRank];
    dense_strides(in[0].shape, st);
    for (int d = 0; d < in[0].shape.rank; ++d)
      perm[d] = st[axis(dims_[std::size_t(d)], in[0].shape.rank).value()];
    gather(out[0].shape, perm, value_type_size(in[0].type), in[0].data, out[0].data);
    return {};
  }

 private:
  std::vector<std::int64_t> dims_;
};

// expand / expand_as: axes of size 1 repeated (-1 keeps a size), new
// leading axes allowed, as PyTorch.
class Expand final : public Op {
 public:
  explicit Expand(std::vector<Expr> shape) : shape_(std::move(shape)) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv& env) const override {
    if (in.size() != 1) return Status::invalid("takes 1 input");
    const Shape& s = in[0].shape;
    Shape out;
    out.rank = static_cast<int>(shape_.size());
    const int shift = out.rank - s.rank;
    if (shift < 0) return Status::invalid("cannot expand " + s.to_string() + " to fewer axes");
    for (int d = 0; d < out.rank; ++d) {
      EDGEATTN_ASSIGN_OR_RETURN(v, env.eval(shape_[std::size_t(d)], "expand"));
      const std::size_t have = d >= shift ? s[d - shift] : 1;
      const std::size_t want = v == -1 && d >= shift ? have : std::size_t(v);
      if (v < -1 || v == 0 || (v == -1 && d < shift) || (have != 1 && have != want))
        return Status::invalid("cannot expand " + s.to_string() + ": size " + std::to_string(v) +
                               " at axis " + std::to_string(d));
      out.dims[d] = want;
    }
    return std::vector<TensorType>{like(in[0], out)};
  }
  Status run(const Context&, const Slot* in, const Slot* out, Workspace&,
             NodeState*) const override {
    const Shape& s = in[0].shape;
    std::ptrdiff_t st[kMaxRank], bst[kMaxRank] = {0, 0, 0, 0};
    dense_strides(s, st);
    const int shift = out[0].shape.rank - s.rank;
    for (int d = 0; d < s.rank; ++d) bst[d + shift] = s[d] == 1 ? 0 : st[d];
    gather(out[0].shape, bst, value_type_size(in[0].type), in[0].data, out[0].data);
    return {};
  }

 private:
  std::vector<Expr> shape_;
};

class Concat final : public Op {
 public:
  explicit Concat(std::int64_t dim) : dim_(dim) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    if (in.empty()) return Status::invalid("takes at least 1 input");
    const Shape& s0 = in[0].shape;
    EDGEATTN_ASSIGN_OR_RETURN(a, axis(dim_, s0.rank));
    Shape out = s0;
    for (std::size_t i = 1; i < in.size(); ++i) {
      const Shape& s = in[i].shape;
      bool ok = in[i].type == in[0].type && s.rank == s0.rank;
      for (int d = 0; ok && d < s.rank; ++d) ok = d == a || s[d] == s0[d];
      if (!ok)
        return Status::invalid("input " + std::to_string(i) + " " + s.to_string() +
                               " does not match input 0 " + s0.to_string() + " off axis " +
                               std::to_string(a));
      out.dims[a] += s[a];
    }
    return std::vector<TensorType>{like(in[0], out)};
  }
  Status run(const Context&, const Slot* in, const Slot* out, Workspace&, NodeState*) const override {
    // [outer, dims[a] * inner] rows: each input gives its part of every row.
    const Shape& os = out[0].shape;
    const int a = axis(dim_, os.rank).value();
    const AxisSplit split = split_at(os, a);
    const std::size_t outer = split.outer, inner = split.inner * value_type_size(out[0].type);
    auto* y = static_cast<unsigned char*>(out[0].data);
    std::size_t at = 0;
    for (std::size_t i = 0; i < num_; ++i) {
      const std::size_t part = in[i].shape[a] * inner;
      for (std::size_t o = 0; o < outer; ++o)
        std::memcpy(y + o * os[a] * inner + at, static_cast<const unsigned char*>(in[i].data) + o * part, part);
      at += part;
    }
    return {};
  }
  std::size_t num_ = 0;

 private:
  std::int64_t dim_;
};

// x[..., start:end:step, ...] (select: one index, the axis removed). Python
// semantics: negative positions count from the end, bounds are clamped.
class Slice final : public Op {
 public:
  Slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step, bool select)
      : dim_(dim), start_(start), end_(end), step_(step), select_(select) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    if (in.size() != 1) return Status::invalid("takes 1 input");
    const Shape& s = in[0].shape;
    EDGEATTN_ASSIGN_OR_RETURN(a, axis(dim_, s.rank));
    Shape out = s;
    if (select_) {
      const std::int64_t n = std::int64_t(s[a]);
      if (start_ < -n || start_ >= n)
        return Status::invalid("index " + std::to_string(start_) + " is outside axis " +
                               std::to_string(a) + " of " + s.to_string());
      for (int d = a; d + 1 < s.rank; ++d) out.dims[d] = s[d + 1];
      out.dims[--out.rank] = 0;
    } else {
      const auto [lo, count] = range(s[a]);
      (void)lo;
      if (count == 0) return Status::invalid("the slice of " + s.to_string() + " is empty");
      out.dims[a] = count;
    }
    return std::vector<TensorType>{like(in[0], out)};
  }
  Status run(const Context&, const Slot* in, const Slot* out, Workspace&, NodeState*) const override {
    const Shape& s = in[0].shape;
    const int a = axis(dim_, s.rank).value();
    std::ptrdiff_t st[kMaxRank];
    dense_strides(s, st);
    std::int64_t lo = start_ < 0 ? start_ + std::int64_t(s[a]) : start_;
    std::ptrdiff_t step = std::ptrdiff_t(step_);
    if (!select_) lo = std::int64_t(range(s[a]).first);
    // The output read as the input with axis a offset and strided (removed
    // for select).
    Shape view = s;
    std::ptrdiff_t vst[kMaxRank];
    for (int d = 0; d < s.rank; ++d) vst[d] = st[d];
    view.dims[a] = select_ ? 1 : out[0].shape[a];
    vst[a] = st[a] * step;
    const std::size_t elem = value_type_size(in[0].type);
    gather(view, vst, elem, static_cast<const unsigned char*>(in[0].data) + lo * st[a] * std::ptrdiff_t(elem),
           out[0].data);
    return {};
  }

 private:
  // The first index and the count of a slice of an axis of n.
  std::pair<std::size_t, std::size_t> range(std::size_t n) const {
    const std::int64_t len = std::int64_t(n);
    const auto clamp = [len](std::int64_t v) {
      v = v < 0 ? v + len : v;
      return v < 0 ? 0 : v > len ? len : v;
    };
    const std::int64_t lo = clamp(start_), hi = clamp(end_);
    if (hi <= lo) return {std::size_t(lo), 0};
    return {std::size_t(lo), std::size_t((hi - lo + step_ - 1) / step_)};
  }
  std::int64_t dim_, start_, end_, step_;
  bool select_;
};

// A parameter tensor as a value (a model's own nn.Parameter used directly,
// a tensor made in forward()): copied into place on every run.
class Constant final : public Op {
 public:
  explicit Constant(Tensor t) : t_(std::move(t)) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    if (!in.empty()) return Status::invalid("takes no input");
    return std::vector<TensorType>{{ValueType::f32, t_.shape()}};
  }
  std::size_t weight_bytes() const override { return t_.numel() * sizeof(float); }
  Status run(const Context&, const Slot*, const Slot* out, Workspace&, NodeState*) const override {
    if (t_.numel()) std::memcpy(out[0].data, t_.data(), t_.numel() * sizeof(float));
    return {};
  }

 private:
  Tensor t_;
};

}  // namespace

Result<std::unique_ptr<Op>> make_reshape(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(shape, args.config.exprs("shape", args.value_index));
  return std::unique_ptr<Op>(std::make_unique<Reshape>(std::move(shape)));
}
Result<std::unique_ptr<Op>> make_permute(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(dims, args.config.integers("dims", 0, -4, 3));
  return std::unique_ptr<Op>(std::make_unique<Permute>(std::move(dims)));
}
Result<std::unique_ptr<Op>> make_expand(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(shape, args.config.exprs("shape", args.value_index));
  return std::unique_ptr<Op>(std::make_unique<Expand>(std::move(shape)));
}
Result<std::unique_ptr<Op>> make_concat(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(dim, args.config.integer("dim", -4, 3));
  auto op = std::make_unique<Concat>(dim);
  op->num_ = args.num_inputs;
  return std::unique_ptr<Op>(std::move(op));
}
Result<std::unique_ptr<Op>> make_select(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(dim, args.config.integer("dim", -4, 3));
  EDGEATTN_ASSIGN_OR_RETURN(index, args.config.integer("index", -(std::int64_t(1) << 31), (std::int64_t(1) << 31) - 1));
  return std::unique_ptr<Op>(std::make_unique<Slice>(dim, index, 0, 1, true));
}
Result<std::unique_ptr<Op>> make_slice(const OpArgs& args) {
  constexpr std::int64_t kBig = std::int64_t(1) << 62;  // Python's "to the end"
  EDGEATTN_ASSIGN_OR_RETURN(dim, args.config.integer("dim", -4, 3));
  EDGEATTN_ASSIGN_OR_RETURN(start, args.config.integer("start", -kBig, kBig, 0));
  EDGEATTN_ASSIGN_OR_RETURN(end, args.config.integer("end", -kBig, kBig, kBig));
  EDGEATTN_ASSIGN_OR_RETURN(step, args.config.integer("step", 1, std::int64_t(1) << 31, 1));
  return std::unique_ptr<Op>(std::make_unique<Slice>(dim, start, end, step, false));
}
Result<std::unique_ptr<Op>> make_constant(const OpArgs& args) {
  const Json* key = args.config.json().find("name");
  if (!key || !key->is_string()) return args.config.bad("name", "must name the parameter");
  EDGEATTN_ASSIGN_OR_RETURN(t, args.params.take_any(key->as_string()));
  if (t.shape().rank > kMaxRank) return Status::invalid("the constant has more than 4 axes");
  return std::unique_ptr<Op>(std::make_unique<Constant>(std::move(t)));
}

}  // namespace edgeattn::graph
