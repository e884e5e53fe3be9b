// Reductions over axes, softmax along any axis, and pooling.
#include <algorithm>
#include <cmath>
#include <limits>

#include "edgeattn/kernels.h"
#include "edgeattn/vision.h"
#include "ops_common.h"

namespace edgeattn::graph {
namespace {

// A tensor's axes split into the kept ones (the output's) and the reduced
// ones, with the input's strides of each.
struct Split {
  Shape kept, reduced;
  std::ptrdiff_t kept_stride[kMaxRank] = {}, reduced_stride[kMaxRank] = {};
};

Split split_axes(const Shape& s, const bool* reduce) {
  std::ptrdiff_t st[kMaxRank];
  dense_strides(s, st);
  Split sp;
  for (int d = 0; d < s.rank; ++d) {
    Shape& part = reduce[d] ? sp.reduced : sp.kept;
    (reduce[d] ? sp.reduced_stride : sp.kept_stride)[part.rank] = st[d];
    part.dims[part.rank++] = s[d];
  }
  return sp;
}

// The offset of flat index i of `shape` under `strides`.
std::ptrdiff_t offset_of(std::size_t i, const Shape& shape, const std::ptrdiff_t* strides) {
  std::ptrdiff_t off = 0;
  for (int d = shape.rank - 1; d >= 0; --d) {
    off += static_cast<std::ptrdiff_t>(i % shape[d]) * strides[d];
    i /= shape[d];
  }
  return off;
}

// sum or mean over `dims` (keepdim keeps them as size 1), accumulated in
// double: within PyTorch's own float rounding of the same sum.
class Reduce final : public Op {
 public:
  Reduce(bool mean, std::vector<std::int64_t> dims, bool keepdim)
      : mean_(mean), dims_(std::move(dims)), keepdim_(keepdim) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    EDGEATTN_RETURN_IF_ERROR(expect_inputs(in, 1, ValueType::f32));
    bool reduce[kMaxRank];
    EDGEATTN_RETURN_IF_ERROR(axes(in[0].shape, reduce));
    Shape out;
    for (int d = 0; d < in[0].shape.rank; ++d)
      if (!reduce[d]) out.dims[out.rank++] = in[0].shape[d];
      else if (keepdim_) out.dims[out.rank++] = 1;
    return std::vector<TensorType>{{ValueType::f32, out}};
  }
  Status run(const Context& ctx, const Slot* in, const Slot* out, Workspace&,
             NodeState*) const override {
    bool reduce[kMaxRank];
    EDGEATTN_RETURN_IF_ERROR(axes(in[0].shape, reduce));
    const Split sp = split_axes(in[0].shape, reduce);
    const std::size_t n = sp.reduced.numel(), outer = sp.kept.numel();
    const float* x = in[0].f32();
    float* y = out[0].f32();
    const bool inner_dense = sp.reduced.rank > 0 && sp.reduced_stride[sp.reduced.rank - 1] == 1;
    const std::size_t row = inner_dense ? sp.reduced[sp.reduced.rank - 1] : 1;
    const int t = detail::threads_for(ctx, double(in[0].shape.numel()), detail::kMinElementsPerThread);
    detail::parallel_for(t, outer, [&](std::size_t o, int) {
      const float* base = x + offset_of(o, sp.kept, sp.kept_stride);
      double acc = 0.0;
      for (std::size_t r = 0; r < n; r += row) {
        const float* p = base + offset_of(r, sp.reduced, sp.reduced_stride);
        for (std::size_t i = 0; i < row; ++i) acc += p[i];
      }
      y[o] = float(mean_ ? acc / double(n) : acc);
    });
    return {};
  }

 private:
  Status axes(const Shape& s, bool* reduce) const {
    std::fill(reduce, reduce + kMaxRank, dims_.empty());  // no dims: all of them
    for (std::int64_t d : dims_) {
      EDGEATTN_ASSIGN_OR_RETURN(a, axis(d, s.rank));
      reduce[a] = true;
    }
    return {};
  }
  bool mean_;
  std::vector<std::int64_t> dims_;
  bool keepdim_;
};

// torch.max(x, dim): the values and (second output) the index of the
// first maximum; a NaN is the maximum, as PyTorch.
class MaxDim final : public Op {
 public:
  MaxDim(std::int64_t dim, bool keepdim, bool indices) : dim_(dim), keepdim_(keepdim), indices_(indices) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    EDGEATTN_RETURN_IF_ERROR(expect_inputs(in, 1, ValueType::f32));
    EDGEATTN_ASSIGN_OR_RETURN(a, axis(dim_, in[0].shape.rank));
    Shape out;
    for (int d = 0; d < in[0].shape.rank; ++d)
      if (d != a) out.dims[out.rank++] = in[0].shape[d];
      else if (keepdim_) out.dims[out.rank++] = 1;
    std::vector<TensorType> outs{{ValueType::f32, out}};
    if (indices_) outs.push_back({ValueType::i64, out});
    return outs;
  }
  Status run(const Context&, const Slot* in, const Slot* out, Workspace&,
             NodeState*) const override {
    const auto [outer, n, inner] = split_at(in[0].shape, axis(dim_, in[0].shape.rank).value());
    for (std::size_t o = 0; o < outer; ++o)
      for (std::size_t i = 0; i < inner; ++i) {
        const float* p = in[0].f32() + o * n * inner + i;
        std::size_t best = 0;
        for (std::size_t k = 1; k < n && !std::isnan(p[best * inner]); ++k)
          if (p[k * inner] > p[best * inner] || std::isnan(p[k * inner])) best = k;
        out[0].f32()[o * inner + i] = p[best * inner];
        if (indices_) static_cast<std::int64_t*>(out[1].data)[o * inner + i] = std::int64_t(best);
      }
    return {};
  }

 private:
  std::int64_t dim_;
  bool keepdim_, indices_;
};

// softmax / log_softmax along one axis, stable (minus the maximum). Along
// the last axis the softmax kernel runs, as the attention modules use it.
class Softmax final : public Op {
 public:
  Softmax(std::int64_t dim, bool log) : dim_(dim), log_(log) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    EDGEATTN_RETURN_IF_ERROR(expect_inputs(in, 1, ValueType::f32));
    EDGEATTN_RETURN_IF_ERROR(axis(dim_, in[0].shape.rank).status());
    return std::vector<TensorType>{in[0]};
  }
  bool in_place() const override { return true; }
  Status run(const Context& ctx, const Slot* in, const Slot* out, Workspace&,
             NodeState*) const override {
    const Shape& s = in[0].shape;
    // (named copies: C++17 lambdas cannot capture structured bindings)
    const AxisSplit sp = split_at(s, axis(dim_, s.rank).value());
    const std::size_t outer = sp.outer, n = sp.n, inner = sp.inner;
    const int t = detail::threads_for(ctx, double(s.numel()), detail::kMinElementsPerThread);
    detail::parallel_for(t, outer * inner, [&](std::size_t line, int) {
      const std::size_t o = line / inner, i = line % inner;
      const float* x = in[0].f32() + o * n * inner + i;
      float* y = out[0].f32() + o * n * inner + i;
      if (inner == 1 && !log_) return kernels::softmax(x, nullptr, y, n);
      float m = -std::numeric_limits<float>::infinity();
      for (std::size_t k = 0; k < n; ++k) m = std::max(m, x[k * inner]);
      double sum = 0.0;
      for (std::size_t k = 0; k < n; ++k) sum += std::exp(double(x[k * inner]) - m);
      const double lse = std::log(sum);
      for (std::size_t k = 0; k < n; ++k) {
        const double z = double(x[k * inner]) - m;
        y[k * inner] = float(log_ ? z - lse : std::exp(z) / sum);
      }
    });
    return {};
  }

 private:
  std::int64_t dim_;
  bool log_;
};

class Pool final : public Op {
 public:
  Pool(bool max, Pool2dParams p) : max_(max), p_(p) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    EDGEATTN_RETURN_IF_ERROR(expect_inputs(in, 1, ValueType::f32));
    EDGEATTN_ASSIGN_OR_RETURN(s, pool2d_output_shape(p_, in[0].shape));
    return std::vector<TensorType>{{ValueType::f32, s}};
  }
  Status run(const Context& ctx, const Slot* in, const Slot* out, Workspace&,
             NodeState*) const override {
    return max_ ? max_pool2d(ctx, p_, cview(in[0]), mview(out[0]))
                : avg_pool2d(ctx, p_, cview(in[0]), mview(out[0]));
  }

 private:
  bool max_;
  Pool2dParams p_;
};

// adaptive_avg_pool2d: output cell (i, j) averages rows floor(i H / oh) to
// ceil((i + 1) H / oh) and likewise columns, as PyTorch. 1x1 is the global
// pool kernel.
class AdaptiveAvgPool final : public Op {
 public:
  AdaptiveAvgPool(std::size_t oh, std::size_t ow) : oh_(oh), ow_(ow) {}
  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    EDGEATTN_RETURN_IF_ERROR(expect_inputs(in, 1, ValueType::f32));
    const Shape& s = in[0].shape;
    if (s.rank != 4 || s.numel() == 0)
      return Status::invalid("input " + s.to_string() + " must be [B, C, H, W]");
    return std::vector<TensorType>{{ValueType::f32, Shape{s[0], s[1], oh_, ow_}}};
  }
  Status run(const Context& ctx, const Slot* in, const Slot* out, Workspace&,
             NodeState*) const override {
    const Shape& s = in[0].shape;
    const std::size_t h = s[2], w = s[3], planes = s[0] * s[1];
    const int t = detail::threads_for(ctx, double(s.numel()), detail::kMinElementsPerThread);
    if (oh_ == 1 && ow_ == 1) {
      detail::parallel_ranges(t, planes, [&](std::size_t p0, std::size_t p1) {
        kernels::global_pool(in[0].f32() + p0 * h * w, p1 - p0, h * w, out[0].f32() + p0, nullptr);
      });
      return {};
    }
    detail::parallel_for(t, planes, [&](std::size_t p, int) {
      const float* x = in[0].f32() + p * h * w;
      for (std::size_t i = 0; i < oh_; ++i)
        for (std::size_t j = 0; j < ow_; ++j) {
          const std::size_t r0 = i * h / oh_, r1 = ((i + 1) * h + oh_ - 1) / oh_;
          const std::size_t c0 = j * w / ow_, c1 = ((j + 1) * w + ow_ - 1) / ow_;
          float acc = 0.0f;
          for (std::size_t r = r0; r < r1; ++r)
            for (std::size_t c = c0; c < c1; ++c) acc += x[r * w + c];
          out[0].f32()[(p * oh_ + i) * ow_ + j] = acc / float((r1 - r0) * (c1 - c0));
        }
    });
    return {};
  }

 private:
  std::size_t oh_, ow_;
};

Result<std::unique_ptr<Op>> make_reduce(bool mean, const OpArgs& args) {
  std::vector<std::int64_t> dims;
  if (args.config.has("dims")) {
    EDGEATTN_ASSIGN_OR_RETURN(d, args.config.integers("dims", 0, -4, 3));
    dims = d;
  }
  EDGEATTN_ASSIGN_OR_RETURN(keepdim, args.config.boolean("keepdim", false));
  return std::unique_ptr<Op>(std::make_unique<Reduce>(mean, dims, keepdim));
}

Result<Pool2dParams> pool_params(const NodeConfig& c, bool max) {
  Pool2dParams p;
  constexpr std::int64_t kMax = 65535;
  EDGEATTN_ASSIGN_OR_RETURN(k, c.integers("kernel_size", 2, 1, kMax));
  p.kernel_h = std::size_t(k[0]), p.kernel_w = std::size_t(k[1]);
  if (c.has("stride")) {
    EDGEATTN_ASSIGN_OR_RETURN(s, c.integers("stride", 2, 1, kMax));
    p.stride_h = std::size_t(s[0]), p.stride_w = std::size_t(s[1]);
  } else {
    p.stride_h = p.kernel_h, p.stride_w = p.kernel_w;  // PyTorch's default stride
  }
  if (c.has("padding")) {
    EDGEATTN_ASSIGN_OR_RETURN(pad, c.integers("padding", 2, 0, kMax));
    p.pad_h = std::size_t(pad[0]), p.pad_w = std::size_t(pad[1]);
  }
  EDGEATTN_ASSIGN_OR_RETURN(ceil_mode, c.boolean("ceil_mode", false));
  p.ceil_mode = ceil_mode;
  if (max) {
    if (c.has("dilation")) {
      EDGEATTN_ASSIGN_OR_RETURN(d, c.integers("dilation", 2, 1, kMax));
      p.dilation_h = std::size_t(d[0]), p.dilation_w = std::size_t(d[1]);
    }
  } else {
    EDGEATTN_ASSIGN_OR_RETURN(cip, c.boolean("count_include_pad", true));
    EDGEATTN_ASSIGN_OR_RETURN(div, c.integer("divisor_override", 0, kMax, 0));
    p.count_include_pad = cip;
    p.divisor_override = std::size_t(div);
  }
  return p;
}

}  // namespace

Result<std::unique_ptr<Op>> make_mean(const OpArgs& args) { return make_reduce(true, args); }
Result<std::unique_ptr<Op>> make_sum(const OpArgs& args) { return make_reduce(false, args); }

Result<std::unique_ptr<Op>> make_max(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(dim, args.config.integer("dim", -4, 3));
  EDGEATTN_ASSIGN_OR_RETURN(keepdim, args.config.boolean("keepdim", false));
  if (args.num_outputs > 2) return Status::invalid("makes values and at most indices");
  return std::unique_ptr<Op>(std::make_unique<MaxDim>(dim, keepdim, args.num_outputs == 2));
}

Result<std::unique_ptr<Op>> make_softmax(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(dim, args.config.integer("dim", -4, 3));
  return std::unique_ptr<Op>(std::make_unique<Softmax>(dim, false));
}
Result<std::unique_ptr<Op>> make_log_softmax(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(dim, args.config.integer("dim", -4, 3));
  return std::unique_ptr<Op>(std::make_unique<Softmax>(dim, true));
}

Result<std::unique_ptr<Op>> make_max_pool2d(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(p, pool_params(args.config, true));
  return std::unique_ptr<Op>(std::make_unique<Pool>(true, p));
}
Result<std::unique_ptr<Op>> make_avg_pool2d(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(p, pool_params(args.config, false));
  return std::unique_ptr<Op>(std::make_unique<Pool>(false, p));
}
Result<std::unique_ptr<Op>> make_adaptive_avg_pool2d(const OpArgs& args) {
  EDGEATTN_ASSIGN_OR_RETURN(size, args.config.integers("output_size", 2, 1, 65535));
  return std::unique_ptr<Op>(
      std::make_unique<AdaptiveAvgPool>(std::size_t(size[0]), std::size_t(size[1])));
}

}  // namespace edgeattn::graph
