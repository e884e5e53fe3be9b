// Activations, pooling and Linear: the plain CNN blocks around the
// attention modules.
#include <cstring>
#include <limits>

#include "../checks.h"
#include "../scratch.h"
#include "../parallel.h"
#include "edgeattn/ops.h"
#include "edgeattn/vision.h"
#include "vision_common.h"

namespace edgeattn {

using detail::parallel_for;
using detail::threads_for;

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::none: return "none";
    case Activation::relu: return "relu";
    case Activation::silu: return "silu";
  }
  return "?";
}

Result<Activation> activation_from_name(const std::string& name) {
  for (Activation a : {Activation::none, Activation::relu, Activation::silu})
    if (name == activation_name(a)) return a;
  return Status::invalid("unknown activation '" + name + "' (known: none, relu, silu)");
}

Status activate(const Context& ctx, Activation act, ConstView x, View y) {
  if (x.empty() || !x.is_contiguous() || y.empty() || !y.is_contiguous() || x.shape() != y.shape())
    return Status::invalid("activate: x " + x.shape().to_string() + " and y " +
                           y.shape().to_string() + " must be contiguous and of one shape");
  const std::size_t n = x.numel(), chunk = detail::kMinElementsPerThread;
  const int t = threads_for(ctx, double(n), double(chunk));
  parallel_for(t, detail::ceil_div(n, chunk), [&](std::size_t p, int) {
    const std::size_t len = n - p * chunk < chunk ? n - p * chunk : chunk;
    detail::activate_row(act, x.data() + p * chunk, y.data() + p * chunk, len);
  });
  return {};
}

Result<Shape> pool2d_output_shape(const Pool2dParams& p, const Shape& in) {
  if (p.kernel_h == 0 || p.kernel_w == 0 || p.stride_h == 0 || p.stride_w == 0)
    return Status::invalid("pool2d: kernel and stride must be positive");
  if (2 * p.pad_h > p.kernel_h || 2 * p.pad_w > p.kernel_w)
    return Status::invalid("pool2d: padding must be at most half the kernel (as PyTorch)");
  if (in.rank != 4 || in.numel() == 0 || in[2] + 2 * p.pad_h < p.kernel_h ||
      in[3] + 2 * p.pad_w < p.kernel_w)
    return Status::invalid("pool2d: input " + in.to_string() + " must be [B, C, H, W] with " +
                           "H, W padded at least the " + std::to_string(p.kernel_h) + "x" +
                           std::to_string(p.kernel_w) + " kernel");
  return Shape{in[0], in[1], (in[2] + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1,
               (in[3] + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1};
}

namespace {

// Each output is a reduction over its window: max (padding is -inf, never
// chosen) or the sum over the window divided by the whole window's size.
template <bool Max>
Status pool2d(const Context& ctx, const Pool2dParams& p, ConstView x, View y) {
  EDGEATTN_RETURN_IF_ERROR(detail::require_dense(x, 4, "pool2d input"));
  EDGEATTN_ASSIGN_OR_RETURN(out, pool2d_output_shape(p, x.shape()));
  EDGEATTN_RETURN_IF_ERROR(detail::require_shape(y, out, "pool2d output"));
  const std::size_t h = x.dim(2), w = x.dim(3), oh = out[2], ow = out[3];
  const float inv = 1.0f / float(p.kernel_h * p.kernel_w);
  const std::size_t planes = out[0] * out[1];
  const int t = threads_for(ctx, double(x.numel()), detail::kMinElementsPerThread);
  parallel_for(t, planes, [&](std::size_t pl, int) {
    const float* xp = x.data() + pl * h * w;
    float* yp = y.data() + pl * oh * ow;
    for (std::size_t r = 0; r < oh; ++r)
      for (std::size_t c = 0; c < ow; ++c) {
        float acc = Max ? -std::numeric_limits<float>::infinity() : 0.0f;
        for (std::size_t i = 0; i < p.kernel_h; ++i) {
          const std::ptrdiff_t ih = std::ptrdiff_t(r * p.stride_h + i) - std::ptrdiff_t(p.pad_h);
          if (ih < 0 || ih >= std::ptrdiff_t(h)) continue;
          for (std::size_t j = 0; j < p.kernel_w; ++j) {
            const std::ptrdiff_t iw = std::ptrdiff_t(c * p.stride_w + j) - std::ptrdiff_t(p.pad_w);
            if (iw < 0 || iw >= std::ptrdiff_t(w)) continue;
            const float v = xp[ih * std::ptrdiff_t(w) + iw];
            if (Max) acc = v > acc || v != v ? v : acc;  // NaN propagates, as PyTorch
            else acc += v;
          }
        }
        yp[r * ow + c] = Max ? acc : acc * inv;
      }
  });
  return {};
}

}  // namespace

Status max_pool2d(const Context& ctx, const Pool2dParams& p, ConstView x, View y) {
  return pool2d<true>(ctx, p, x, y);
}
Status avg_pool2d(const Context& ctx, const Pool2dParams& p, ConstView x, View y) {
  return pool2d<false>(ctx, p, x, y);
}

Status global_avg_pool(const Context& ctx, ConstView x, View y) {
  EDGEATTN_RETURN_IF_ERROR(detail::require_dense(x, 4, "global_avg_pool input"));
  EDGEATTN_RETURN_IF_ERROR(
      detail::require_shape(y, Shape{x.dim(0), x.dim(1)}, "global_avg_pool output"));
  const std::size_t n = x.dim(2) * x.dim(3);
  const int t = threads_for(ctx, double(x.numel()), detail::kMinElementsPerThread);
  detail::parallel_ranges(t, x.dim(0) * x.dim(1), [&](std::size_t r0, std::size_t r1) {
    kernels::global_pool(x.data() + r0 * n, r1 - r0, n, y.data() + r0, nullptr);
  });
  return {};
}

Result<Linear> Linear::create(const Tensor& weight, const Tensor& bias) {
  if (weight.numel() == 0 || weight.shape().rank != 2)
    return Status::invalid("linear: weight must be [out, in], found " +
                           (weight.numel() ? weight.shape().to_string() : "none"));
  const std::size_t out = weight.shape()[0], in = weight.shape()[1];
  if (bias.numel() && bias.shape() != Shape{out})
    return Status::invalid("linear: bias must be " + Shape{out}.to_string() + ", found " +
                           bias.shape().to_string());
  Linear l;
  EDGEATTN_ASSIGN_OR_RETURN(w, detail::copy_tensor(weight.data(), weight.shape()));
  EDGEATTN_ASSIGN_OR_RETURN(b, Tensor::zeros(Shape{out}));
  if (bias.numel()) std::memcpy(b.data(), bias.data(), out * sizeof(float));
  EDGEATTN_ASSIGN_OR_RETURN(packed, kernels::PackedB::pack(w.data(), in, true, in, out));
  l.weight_ = std::move(w);
  l.bias_ = std::move(b);
  l.packed_ = std::move(packed);
  return l;
}

std::size_t Linear::weight_bytes() const {
  return (weight_.numel() + bias_.numel()) * sizeof(float) + packed_.bytes();
}

std::size_t Linear::workspace_bytes(std::size_t batch, const Context& ctx) const {
  return matmul_workspace_bytes(ctx, batch, out_features(), in_features());
}

Status Linear::forward(const Context& ctx, ConstView x, View y, Workspace& ws) const {
  EDGEATTN_RETURN_IF_ERROR(detail::require_dense(x, 2, "linear input"));
  if (x.dim(1) != in_features())
    return Status::invalid("linear: input " + x.shape().to_string() + " must be [B, " +
                           std::to_string(in_features()) + "]");
  const std::size_t bsz = x.dim(0), out = out_features();
  EDGEATTN_RETURN_IF_ERROR(detail::require_shape(y, Shape{bsz, out}, "linear output"));
  detail::Scratch s(ws);
  s.room(workspace_bytes(bsz, ctx));
  if (!s.ok()) return detail::Scratch::too_small("linear");
  kernels::GemmArgs g = gemm_args(bsz, out, in_features(), x.data(), weight_.data(), true, y.data());
  g.packed_b = &packed_;
  EDGEATTN_RETURN_IF_ERROR(matmul(ctx, g, ws));
  for (std::size_t r = 0; r < bsz; ++r) kernels::add(y.data() + r * out, bias_.data(), y.data() + r * out, out);
  return {};
}

}  // namespace edgeattn
