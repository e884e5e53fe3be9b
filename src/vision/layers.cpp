// Activations, pooling and Linear: the plain CNN blocks around the
// attention modules.
#include <algorithm>
#include <cstring>
#include <limits>

#include "../checks.h"
#include "../kernels/module_kernels.h"
#include "../scratch.h"
#include "../parallel.h"
#include "edgeattn/ops.h"
#include "edgeattn/vision.h"
#include "vision_common.h"

namespace edgeattn {

using detail::parallel_for;
using detail::threads_for;

Status activate(const Context& ctx, Activation act, ConstView x, View y) {
  if (x.empty() || !x.is_contiguous() || y.empty() || !y.is_contiguous() || x.shape() != y.shape())
    return Status::invalid("activate: x " + x.shape().to_string() + " and y " +
                           y.shape().to_string() + " must be contiguous and of one shape");
  const std::size_t n = x.numel(), chunk = detail::kMinElementsPerThread;
  const int t = threads_for(ctx, double(n), double(chunk));
  parallel_for(t, detail::ceil_div(n, chunk), [&](std::size_t p, int) {
    const std::size_t len = n - p * chunk < chunk ? n - p * chunk : chunk;
    kernels::activate(act, x.data() + p * chunk, y.data() + p * chunk, len);
  });
  return {};
}

namespace {

// PyTorch's pooling_output_shape: floor or ceil of the strided span, and in
// ceil mode no window may start in the far padding.
std::size_t pool_extent(std::size_t in, std::size_t k, std::size_t s, std::size_t pad,
                        std::size_t dil, bool ceil_mode) {
  const std::size_t span = in + 2 * pad - dil * (k - 1) - 1;
  std::size_t out = (span + (ceil_mode ? s - 1 : 0)) / s + 1;
  if (ceil_mode && (out - 1) * s >= in + pad) --out;
  return out;
}

}  // namespace

Result<Shape> pool2d_output_shape(const Pool2dParams& p, const Shape& in) {
  if (p.kernel_h == 0 || p.kernel_w == 0 || p.stride_h == 0 || p.stride_w == 0 ||
      p.dilation_h == 0 || p.dilation_w == 0)
    return Status::invalid("pool2d: kernel, stride and dilation must be positive");
  if (p.kernel_h > 65535 || p.kernel_w > 65535 || p.dilation_h > 65535 || p.dilation_w > 65535)
    return Status::invalid("pool2d: kernel and dilation must be below 65536");
  if (2 * p.pad_h > p.kernel_h || 2 * p.pad_w > p.kernel_w)
    return Status::invalid("pool2d: padding must be at most half the kernel (as PyTorch)");
  const std::size_t eh = p.dilation_h * (p.kernel_h - 1) + 1, ew = p.dilation_w * (p.kernel_w - 1) + 1;
  if (in.rank != 4 || in.numel() == 0 || in[2] + 2 * p.pad_h < eh || in[3] + 2 * p.pad_w < ew)
    return Status::invalid("pool2d: input " + in.to_string() + " must be [B, C, H, W] with " +
                           "H, W padded at least the " + std::to_string(eh) + "x" +
                           std::to_string(ew) + " kernel span");
  return Shape{in[0], in[1], pool_extent(in[2], p.kernel_h, p.stride_h, p.pad_h, p.dilation_h, p.ceil_mode),
               pool_extent(in[3], p.kernel_w, p.stride_w, p.pad_w, p.dilation_w, p.ceil_mode)};
}

namespace {

// One axis of a window: taps [lo, hi) of the input, and (average pooling)
// the window's extent clipped to the padded map, as PyTorch's avg_pool2d.
struct Span {
  std::ptrdiff_t start, lo, hi, padded;
};
Span window(std::size_t o, std::size_t k, std::size_t s, std::size_t pad, std::size_t in) {
  const std::ptrdiff_t start = std::ptrdiff_t(o * s) - std::ptrdiff_t(pad);
  const std::ptrdiff_t end = start + std::ptrdiff_t(k);
  const std::ptrdiff_t padded_end = std::min(end, std::ptrdiff_t(in + pad));
  return {start, std::max<std::ptrdiff_t>(start, 0), std::min(end, std::ptrdiff_t(in)),
          padded_end - start};
}

// The taps [lo, hi) of a window starting at `start` (step d) that fall
// inside [0, n): no test per tap in the loops below.
std::pair<std::size_t, std::size_t> taps_inside(std::ptrdiff_t start, std::size_t k, std::size_t d,
                                                std::size_t n) {
  const std::ptrdiff_t sd = std::ptrdiff_t(d), sn = std::ptrdiff_t(n);
  const std::ptrdiff_t lo = start >= 0 ? 0 : (-start + sd - 1) / sd;
  const std::ptrdiff_t hi = start >= sn ? 0 : (sn - start + sd - 1) / sd;
  const std::size_t l = std::size_t(std::min<std::ptrdiff_t>(lo, std::ptrdiff_t(k)));
  return {l, std::max(l, std::size_t(std::min<std::ptrdiff_t>(hi, std::ptrdiff_t(k))))};
}

// Each output is a reduction over its window: max (padding is -inf, never
// chosen; a NaN wins, as PyTorch's `val > max || isnan(val)`, tracked apart
// so that the max is one instruction and random data costs no mispredicted
// branch: 3x faster on ResNet's stem pool) or the sum
// over the window's taps inside the map, divided as Pool2dParams says.
template <bool Max>
Status pool2d(const Context& ctx, const Pool2dParams& p, ConstView x, View y) {
  EDGEATTN_RETURN_IF_ERROR(detail::require_dense(x, 4, "pool2d input"));
  EDGEATTN_ASSIGN_OR_RETURN(out, pool2d_output_shape(p, x.shape()));
  EDGEATTN_RETURN_IF_ERROR(detail::require_shape(y, out, "pool2d output"));
  if (!Max && (p.dilation_h != 1 || p.dilation_w != 1))
    return Status::invalid("avg_pool2d: dilation must be 1");
  const std::size_t h = x.dim(2), w = x.dim(3), oh = out[2], ow = out[3];
  const std::size_t planes = out[0] * out[1];
  // Output columns [c_lo, c_hi) have their whole window inside the map:
  // those skip taps_inside's divisions (most of a small pool's time).
  const std::size_t span_w = p.dilation_w * (p.kernel_w - 1) + 1;
  const std::size_t c_lo = std::min(ow, detail::ceil_div(p.pad_w, p.stride_w));
  const std::size_t c_hi = std::max(c_lo, w + p.pad_w >= span_w ? std::min(ow, (w + p.pad_w - span_w) / p.stride_w + 1) : 0);
  const int t = threads_for(ctx, double(x.numel()), detail::kMinElementsPerThread);
  // Undilated max pooling: the columns whose windows lie inside the map
  // (max_pool_rows: the taps inside the map, tap by tap across the row, in
  // vectors), rows [r_lo, r_hi) whose windows lie inside the map in one
  // call per plane, each other row in one; the edge columns, and the rows of
  // a call that met a NaN (PyTorch's max is then NaN), by the loop below.
  const bool rows = Max && p.dilation_h == 1 && p.dilation_w == 1 && c_hi > c_lo;
  const std::size_t r_lo = std::min(oh, detail::ceil_div(p.pad_h, p.stride_h));
  const std::size_t r_hi = std::max(r_lo, h + p.pad_h >= p.kernel_h ? std::min(oh, (h + p.pad_h - p.kernel_h) / p.stride_h + 1) : 0);
  parallel_for(t, planes, [&](std::size_t pl, int) {
    const float* xp = x.data() + pl * h * w;
    float* yp = y.data() + pl * oh * ow;
    const float* x_in = rows ? xp + (c_lo * p.stride_w - p.pad_w) : xp;  // column c_lo's window (c_lo sw >= pad)
    const bool block = rows && r_hi > r_lo &&
                       kernels::max_pool_rows(x_in + (r_lo * p.stride_h - p.pad_h) * w, w, p.kernel_h, p.kernel_w,
                                              p.stride_h, p.stride_w, yp + r_lo * ow + c_lo, ow, r_hi - r_lo, c_hi - c_lo);
    for (std::size_t r = 0; r < oh; ++r) {
      const Span sr = window(r, p.kernel_h, p.stride_h, p.pad_h, h);
      const auto [i0, i1] = taps_inside(sr.start, p.kernel_h, p.dilation_h, h);
      const bool inner = r >= r_lo && r < r_hi
                             ? block
                             : rows && kernels::max_pool_rows(x_in + (sr.start + std::ptrdiff_t(i0)) * std::ptrdiff_t(w), w,
                                                              i1 - i0, p.kernel_w, p.stride_h, p.stride_w,
                                                              yp + r * ow + c_lo, ow, 1, c_hi - c_lo);
      const std::size_t from = inner ? c_lo : ow, to = inner ? c_hi : ow;  // columns [from, to) are done
      for (std::size_t c = from == 0 ? to : 0; c < ow; c = c + 1 == from ? to : c + 1) {
        const Span sc = window(c, p.kernel_w, p.stride_w, p.pad_w, w);
        float acc = Max ? -std::numeric_limits<float>::infinity() : 0.0f;
        if (Max) {
          const auto [j0, j1] = c >= c_lo && c < c_hi ? std::pair<std::size_t, std::size_t>{0, p.kernel_w}
                                                      : taps_inside(sc.start, p.kernel_w, p.dilation_w, w);
          bool nan = false;
          for (std::size_t i = i0; i < i1; ++i) {
            const float* row = xp + (sr.start + std::ptrdiff_t(i * p.dilation_h)) * std::ptrdiff_t(w) + sc.start;
            for (std::size_t j = j0; j < j1; ++j) {
              const float v = row[j * p.dilation_w];
              acc = v > acc ? v : acc;  // maxss
              nan |= v != v;
            }
          }
          yp[r * ow + c] = nan ? std::numeric_limits<float>::quiet_NaN() : acc;
          continue;
        }
        for (std::ptrdiff_t ih = sr.lo; ih < sr.hi; ++ih)
          for (std::ptrdiff_t iw = sc.lo; iw < sc.hi; ++iw) acc += xp[ih * std::ptrdiff_t(w) + iw];
        const std::ptrdiff_t count = p.divisor_override ? std::ptrdiff_t(p.divisor_override)
                                     : p.count_include_pad ? sr.padded * sc.padded
                                                           : (sr.hi - sr.lo) * (sc.hi - sc.lo);
        yp[r * ow + c] = count > 0 ? acc / float(count) : 0.0f;
      }
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

Result<Linear> Linear::create(const Tensor& weight, const Tensor& bias, WeightType type) {
  if (weight.numel() == 0 || weight.shape().rank != 2)
    return Status::invalid("linear: weight must be [out, in], found " +
                           (weight.numel() ? weight.shape().to_string() : "none"));
  const std::size_t out = weight.shape()[0];
  if (bias.numel() && bias.shape() != Shape{out})
    return Status::invalid("linear: bias must be " + Shape{out}.to_string() + ", found " +
                           bias.shape().to_string());
  Linear l;
  EDGEATTN_ASSIGN_OR_RETURN(w, Weights::of(weight, type, "linear: weight"));
  EDGEATTN_ASSIGN_OR_RETURN(b, Tensor::zeros(Shape{out}));
  if (bias.numel()) std::memcpy(b.data(), bias.data(), out * sizeof(float));
  EDGEATTN_ASSIGN_OR_RETURN(packed, kernels::PackedB::pack(w));
  l.weight_ = std::move(w);
  l.bias_ = std::move(b);
  l.packed_ = std::move(packed);
  return l;
}

std::size_t Linear::weight_bytes() const {
  return weight_.bytes() + bias_.numel() * sizeof(float) + packed_.bytes();
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
  kernels::GemmArgs g = gemm_args(bsz, out, in_features(), x.data(), nullptr, true, y.data());
  kernels::set_weights_b(g, weight_, &packed_);
  EDGEATTN_RETURN_IF_ERROR(matmul(ctx, g, ws));
  for (std::size_t r = 0; r < bsz; ++r) kernels::add(y.data() + r * out, bias_.data(), y.data() + r * out, out);
  return {};
}

}  // namespace edgeattn
