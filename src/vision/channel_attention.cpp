// Channel and spatial attention: SE, ECA, CBAM (channel, spatial, both).
// Each reads the map once for its descriptors and once more to write
// y = x * a (CBAM: once more for the spatial pooling), the passes the
// workloads count; the attention maps themselves are tiny.
#include <cmath>
#include <limits>

#include "../checks.h"
#include "../kernels/module_kernels.h"
#include "../scratch.h"
#include "../parallel.h"
#include "edgeattn/vision.h"
#include "vision_common.h"

namespace edgeattn {

using detail::parallel_for;
using detail::sat_add;
using detail::Scratch;
using detail::threads_for;

namespace {

int map_threads(const Context& ctx, ConstView x) {
  return threads_for(ctx, double(x.numel()), detail::kMinElementsPerThread);
}

// Pass 1: mean (and max) over H, W of every [b, c] row.
void channel_descriptors(const Context& ctx, ConstView x, float* mean, float* max) {
  const std::size_t n = x.dim(2) * x.dim(3);
  detail::parallel_ranges(map_threads(ctx, x), x.dim(0) * x.dim(1), [&](std::size_t r0, std::size_t r1) {
    kernels::global_pool(x.data() + r0 * n, r1 - r0, n, mean + r0, max ? max + r0 : nullptr);
  });
}

// Last pass: y[b, c] = x[b, c] * a[b, c].
void apply_channel_scale(const Context& ctx, ConstView x, const float* a, View y) {
  const std::size_t n = x.dim(2) * x.dim(3);
  detail::parallel_ranges(map_threads(ctx, x), x.dim(0) * x.dim(1), [&](std::size_t r0, std::size_t r1) {
    kernels::scale_rows(a + r0, x.data() + r0 * n, r1 - r0, n, y.data() + r0 * n);
  });
}

// out [C] = fc2(act(fc1 in + b1)) + b2, hidden [R] scratch (1x1 convs on a
// 1x1 map are GEMVs).
void mlp(const Weights& fc1, const Weights& fc2, const SqueezeExcite::Weights& w, Activation act,
         const float* in, float* hidden, float* out) {
  const std::size_t r = fc1.rows(), c = fc1.cols();
  kernels::gemv_w(r, c, 1.0f, fc1.view(), in, 0.0f, hidden);
  if (w.fc1_bias.numel()) kernels::add(hidden, w.fc1_bias.data(), hidden, r);
  kernels::activate(act, hidden, hidden, r);
  kernels::gemv_w(c, r, 1.0f, fc2.view(), hidden, 0.0f, out);
  if (w.fc2_bias.numel()) kernels::add(out, w.fc2_bias.data(), out, c);
}

Status check_mlp(const SqueezeExcite::Weights& w, const char* module) {
  const auto bad = [&](const std::string& what) {
    return Status::invalid(std::string(module) + ": " + what);
  };
  const Shape& s1 = w.fc1_weight.shape();
  if (w.fc1_weight.numel() == 0 || s1.rank != 2)
    return bad("fc1.weight must be [R, C], found " + s1.to_string());
  const std::size_t r = s1[0], c = s1[1];
  if (w.fc2_weight.numel() == 0 || w.fc2_weight.shape() != Shape{c, r})
    return bad("fc2.weight must be " + Shape{c, r}.to_string() + ", found " +
               w.fc2_weight.shape().to_string());
  if (w.fc1_bias.numel() && w.fc1_bias.shape() != Shape{r})
    return bad("fc1.bias must be " + Shape{r}.to_string() + ", found " + w.fc1_bias.shape().to_string());
  if (w.fc2_bias.numel() && w.fc2_bias.shape() != Shape{c})
    return bad("fc2.bias must be " + Shape{c}.to_string() + ", found " + w.fc2_bias.shape().to_string());
  return {};
}

std::size_t mlp_bytes(const Weights& fc1, const Weights& fc2, const SqueezeExcite::Weights& w) {
  return fc1.bytes() + fc2.bytes() + (w.fc1_bias.numel() + w.fc2_bias.numel()) * sizeof(float);
}

// fc1 and fc2 checked and held as `type`; w keeps the biases.
Status hold_mlp(SqueezeExcite::Weights& w, WeightType type, const char* module, Weights& fc1, Weights& fc2) {
  EDGEATTN_RETURN_IF_ERROR(check_mlp(w, module));
  EDGEATTN_ASSIGN_OR_RETURN(a, Weights::of(w.fc1_weight, type, std::string(module) + ": fc1.weight"));
  EDGEATTN_ASSIGN_OR_RETURN(b, Weights::of(w.fc2_weight, type, std::string(module) + ": fc2.weight"));
  fc1 = std::move(a), fc2 = std::move(b);
  w.fc1_weight = Tensor(), w.fc2_weight = Tensor();
  return {};
}

struct ChannelSlices {
  float* mean;
  float* max;
  float* a;
  float* scratch;
};

// The channel modules' scratch, one description for workspace_bytes() and
// forward(): mean (and max) and the weights a [B, C] unless the caller
// gives a, then the gate's own [extra] (the MLP's hidden and second output).
ChannelSlices channel_slices(Scratch& s, std::size_t bc, std::size_t extra, bool need_max,
                             bool own_a) {
  ChannelSlices c{};
  c.mean = s.take<float>(bc);
  c.max = need_max ? s.take<float>(bc) : nullptr;
  c.a = own_a ? s.take<float>(bc) : nullptr;
  c.scratch = s.take<float>(extra);
  return c;
}

std::size_t channel_workspace(const Shape& in, std::size_t extra, bool need_max) {
  Scratch s;
  channel_slices(s, in.rank == 4 ? in[0] * in[1] : 0, extra, need_max, true);
  return s.bytes();
}

// The first half of SE, ECA and CBAM's channel attention: checks, the
// descriptors, then gate(mean, max, a, scratch) per image. The weights a
// [B, C] go to `attention` if given, else to scratch taken from `s`, which
// the caller holds while it uses them.
template <class GateOf>
Result<float*> channel_gates(const Context& ctx, ConstView x, View attention, Scratch& s,
                             std::size_t channels, std::size_t scratch_floats, bool need_max,
                             const char* module, const char* attention_name, GateOf gate) {
  EDGEATTN_RETURN_IF_ERROR(detail::check_map(x, channels, module));
  const std::size_t bc = x.dim(0) * channels;
  if (!attention.empty())
    EDGEATTN_RETURN_IF_ERROR(
        detail::require_shape(attention, Shape{x.dim(0), channels}, attention_name));
  s.room(channel_workspace(x.shape(), scratch_floats, need_max));
  const ChannelSlices sl = channel_slices(s, bc, scratch_floats, need_max, attention.empty());
  if (!s.ok()) return Scratch::too_small(module);
  float* a = attention.empty() ? sl.a : attention.data();
  channel_descriptors(ctx, x, sl.mean, sl.max);
  for (std::size_t b = 0; b < x.dim(0); ++b)
    gate(sl.mean + b * channels, sl.max ? sl.max + b * channels : nullptr, a + b * channels,
         sl.scratch);
  return a;
}

struct SpatialSlices {
  float* pooled;
  float* map;
};

// CBAM's spatial branch's scratch: the pooled maps [2, H, W] and the map
// [H, W] unless the caller asked for it, then the convolution's own.
SpatialSlices spatial_slices(Scratch& s, const Conv2d& conv, const Shape& in, bool own_map,
                             const Context& ctx) {
  const std::size_t h = in.rank == 4 ? in[2] : 0, w = in.rank == 4 ? in[3] : 0, n = h * w;
  SpatialSlices sl{};
  sl.pooled = s.take<float>(2, n);  // [mean_c, max_c], as timm concatenates them
  sl.map = own_map ? s.take<float>(n) : nullptr;
  s.room(conv.workspace_bytes(Shape{1, 2, h, w}, ctx));
  return sl;
}

// Threads that each take whole images of the spatial branch: when one
// image's passes are too little to split but the batch's are not (see
// Conv2d's batch split). 1: the images run in turn.
int spatial_batch_threads(const Context& ctx, const Shape& in) {
  if (in.rank != 4 || in[0] < 2) return 1;
  const double image = static_cast<double>(in[1]) * in[2] * in[3];
  if (threads_for(ctx, image, detail::kMinElementsPerThread) > 1) return 1;
  const int t = threads_for(ctx, image * static_cast<double>(in[0]), detail::kMinElementsPerThread);
  return static_cast<std::size_t>(t) < in[0] ? t : static_cast<int>(in[0]);
}

// The spatial branch's whole layout: one image's slices (the images in
// turn), or each thread's part, laid out as one image on one thread.
struct SpatialLayout {
  SpatialSlices one;
  unsigned char* parts;
  std::size_t per;
  int threads;
};
SpatialLayout spatial_layout(Scratch& s, const Conv2d& conv, const Shape& in, bool own_map,
                             const Context& ctx) {
  SpatialLayout l{};
  l.threads = spatial_batch_threads(ctx, in);
  if (l.threads == 1) {
    l.one = spatial_slices(s, conv, in, own_map, ctx);
    return l;
  }
  Scratch part;
  spatial_slices(part, conv, Shape{1, in[1], in[2], in[3]}, own_map, Context{1});
  l.per = detail::aligned_bytes(part.bytes());
  l.parts = s.take<unsigned char>(static_cast<std::size_t>(l.threads), l.per);
  return l;
}

// SE, ECA, CBAM channel: the gates, then y = x a.
template <class GateOf>
Status channel_attention(const Context& ctx, ConstView x, View y, View attention, Workspace& ws,
                         std::size_t channels, std::size_t scratch_floats, bool need_max,
                         const char* module, GateOf gate) {
  EDGEATTN_RETURN_IF_ERROR(detail::require_shape(y, x.shape(), "y"));
  Scratch s(ws);
  Result<float*> a = channel_gates(ctx, x, attention, s, channels, scratch_floats, need_max,
                                   module, "attention", gate);
  if (a.ok()) apply_channel_scale(ctx, x, a.value(), y);
  return a.status();
}

}  // namespace

// ---- SE ----

Result<SqueezeExcite> SqueezeExcite::create(Activation act, Gate gate, Weights w, WeightType type) {
  SqueezeExcite m;
  EDGEATTN_RETURN_IF_ERROR(hold_mlp(w, type, "se", m.fc1_, m.fc2_));
  m.act_ = act;
  m.gate_ = gate;
  m.w_ = std::move(w);
  return m;
}

std::size_t SqueezeExcite::weight_bytes() const { return mlp_bytes(fc1_, fc2_, w_); }

std::size_t SqueezeExcite::workspace_bytes(const Shape& in, const Context&) const {
  return channel_workspace(in, fc1_.rows(), false);
}

Status SqueezeExcite::forward(const Context& ctx, ConstView x, View y, View attention,
                              Workspace& ws) const {
  const std::size_t c = channels(), r = fc1_.rows();
  return channel_attention(ctx, x, y, attention, ws, c, r, false, "se",
                           [&](const float* mean, const float*, float* a, float* hidden) {
                             mlp(fc1_, fc2_, w_, act_, mean, hidden, a);
                             if (gate_ == Gate::sigmoid) return kernels::sigmoid(a, a, c);
                             for (std::size_t i = 0; i < c; ++i) {  // relu6(x + 3) / 6
                               const float t = a[i] + 3.0f;
                               a[i] = (t < 0.0f ? 0.0f : t > 6.0f ? 6.0f : t) / 6.0f;
                             }
                           });
}

// ---- ECA ----

Result<EfficientChannelAttention> EfficientChannelAttention::create(std::size_t channels,
                                                                    Tensor kernel) {
  const std::size_t k = kernel.numel();
  if (channels == 0) return Status::invalid("eca: channels must be positive");
  if (k == 0 || k % 2 == 0)
    return Status::invalid("eca: conv.weight must have an odd number of taps, found " +
                           kernel.shape().to_string());
  EfficientChannelAttention m;
  m.channels_ = channels;
  m.kernel_ = std::move(kernel);
  return m;
}

std::size_t EfficientChannelAttention::weight_bytes() const {
  return kernel_.numel() * sizeof(float);
}

std::size_t EfficientChannelAttention::workspace_bytes(const Shape& in, const Context&) const {
  return channel_workspace(in, 1, false);
}

Status EfficientChannelAttention::forward(const Context& ctx, ConstView x, View y, View attention,
                                          Workspace& ws) const {
  const std::size_t c = channels_, k = kernel_.numel(), pad = (k - 1) / 2;
  const float* w = kernel_.data();
  return channel_attention(ctx, x, y, attention, ws, c, 1, false, "eca",
                           [&](const float* mean, const float*, float* a, float*) {
                             for (std::size_t i = 0; i < c; ++i) {  // conv1d, zero padding
                               float s = 0.0f;
                               for (std::size_t j = 0; j < k; ++j) {
                                 const std::ptrdiff_t src = std::ptrdiff_t(i + j) - std::ptrdiff_t(pad);
                                 if (src >= 0 && src < std::ptrdiff_t(c)) s += w[j] * mean[src];
                               }
                               a[i] = s;
                             }
                             kernels::sigmoid(a, a, c);
                           });
}

// ---- CBAM channel ----

Result<CbamChannel> CbamChannel::create(Weights w, WeightType type) {
  CbamChannel m;
  EDGEATTN_RETURN_IF_ERROR(hold_mlp(w, type, "cbam_channel", m.fc1_, m.fc2_));
  m.w_ = std::move(w);
  return m;
}

std::size_t CbamChannel::weight_bytes() const { return mlp_bytes(fc1_, fc2_, w_); }

std::size_t CbamChannel::workspace_bytes(const Shape& in, const Context&) const {
  return channel_workspace(in, scratch_floats(), true);
}

void CbamChannel::weights_from(const float* mean, const float* max, float* a,
                               float* scratch) const {
  const std::size_t c = channels();
  float* hidden = scratch;
  float* from_max = scratch + fc1_.rows();
  mlp(fc1_, fc2_, w_, Activation::relu, mean, hidden, a);
  mlp(fc1_, fc2_, w_, Activation::relu, max, hidden, from_max);
  kernels::add(a, from_max, a, c);
  kernels::sigmoid(a, a, c);
}

Status CbamChannel::forward(const Context& ctx, ConstView x, View y, View attention,
                            Workspace& ws) const {
  return channel_attention(ctx, x, y, attention, ws, channels(), scratch_floats(), true,
                           "cbam_channel",
                           [&](const float* mean, const float* max, float* a, float* scratch) {
                             weights_from(mean, max, a, scratch);
                           });
}

// ---- CBAM spatial ----

Result<CbamSpatial> CbamSpatial::create(std::size_t k, const Tensor& conv_weight,
                                        const BatchNorm& bn) {
  if (k == 0 || k % 2 == 0)
    return Status::invalid("cbam_spatial: kernel_size must be odd, found " + std::to_string(k));
  Conv2dParams p;
  p.in_channels = 2, p.out_channels = 1, p.kernel_h = p.kernel_w = k, p.pad_h = p.pad_w = k / 2;
  Result<Conv2d> conv = Conv2d::create(p, conv_weight, Tensor(), &bn);
  if (!conv.ok()) return Status::invalid("cbam_spatial " + conv.status().message());
  CbamSpatial m;
  m.conv_ = std::move(conv).value();
  return m;
}

std::size_t CbamSpatial::workspace_bytes(const Shape& in, const Context& ctx) const {
  Scratch s;
  spatial_layout(s, conv_, in, true, ctx);
  return s.bytes();
}

Status CbamSpatial::forward(const Context& ctx, ConstView x, View y, View attention,
                            Workspace& ws) const {
  return forward_scaled(ctx, x, nullptr, y, attention, ws);
}

Status CbamSpatial::forward_scaled(const Context& ctx, ConstView x, const float* channel_scale,
                                   View y, View attention, Workspace& ws) const {
  EDGEATTN_RETURN_IF_ERROR(detail::require_dense(x, 4, "x"));
  if (x.numel() == 0) return Status::invalid("cbam_spatial: x " + x.shape().to_string() + " is empty");
  EDGEATTN_RETURN_IF_ERROR(detail::require_shape(y, x.shape(), "y"));
  const std::size_t bsz = x.dim(0), chans = x.dim(1), h = x.dim(2), w = x.dim(3), n = h * w;
  if (!attention.empty())
    EDGEATTN_RETURN_IF_ERROR(detail::require_shape(attention, Shape{bsz, 1, h, w}, "attention"));
  Scratch scratch(ws);
  scratch.room(workspace_bytes(x.shape(), ctx));
  const SpatialLayout layout = spatial_layout(scratch, conv_, x.shape(), attention.empty(), ctx);
  if (!scratch.ok()) return Scratch::too_small("cbam_spatial");
  // One image b with its slices, `t` threads inside it. Pooling across
  // channels runs over chunks of positions, so each position sees the
  // channels in the same order for any thread count.
  const auto image = [&](const Context& c, int t, std::size_t b, const SpatialSlices& sl,
                         Workspace& iws) -> Status {
    const std::size_t chunk = 256;
    const float* xb = x.data() + b * chans * n;
    const float* sb = channel_scale ? channel_scale + b * chans : nullptr;
    float* s = attention.empty() ? sl.map : attention.data() + b * n;
    parallel_for(t, detail::ceil_div(n, chunk), [&](std::size_t p, int) {
      const std::size_t lo = p * chunk, len = n - lo < chunk ? n - lo : chunk;
      kernels::rows_mean_max(xb + lo, n, chans, sb, sl.pooled + lo, sl.pooled + n + lo, len);
    });
    EDGEATTN_RETURN_IF_ERROR(
        conv_.forward(c, ConstView(sl.pooled, Shape{1, 2, h, w}), View(s, Shape{1, 1, h, w}), iws));
    kernels::sigmoid(s, s, n);
    float* yb = y.data() + b * chans * n;
    parallel_for(t, chans, [&](std::size_t ch, int) {  // (x * a_c) * s, PyTorch's two roundings
      kernels::scale_mul(sb ? sb[ch] : 1.0f, xb + ch * n, s, yb + ch * n, n);
    });
    return {};
  };
  if (layout.threads == 1) {
    const int t = threads_for(ctx, static_cast<double>(chans) * n, detail::kMinElementsPerThread);
    for (std::size_t b = 0; b < bsz; ++b) EDGEATTN_RETURN_IF_ERROR(image(ctx, t, b, layout.one, ws));
    return {};
  }
  const Shape one{1, chans, h, w};
  const bool ok = detail::parallel_images(layout.threads, bsz, layout.parts, layout.per,
                                          [&](std::size_t b, Workspace& part) {
                                            Scratch ps(part);
                                            const SpatialSlices sl =
                                                spatial_slices(ps, conv_, one, attention.empty(), Context{1});
                                            return ps.ok() && image(Context{1}, 1, b, sl, part).ok();
                                          });
  return ok ? Status() : Scratch::too_small("cbam_spatial");
}

// ---- CBAM ----

Result<Cbam> Cbam::create(CbamChannel channel, CbamSpatial spatial) {
  Cbam m;
  m.channel_ = std::move(channel);
  m.spatial_ = std::move(spatial);
  return m;
}

std::size_t Cbam::workspace_bytes(const Shape& in, const Context& ctx) const {
  Scratch s;  // the channel slices stay taken while the spatial branch runs
  channel_slices(s, in.rank == 4 ? in[0] * in[1] : 0, channel_.scratch_floats(), true, true);
  s.room(spatial_.workspace_bytes(in, ctx));
  return s.bytes();
}

Status Cbam::forward(const Context& ctx, ConstView x, View y, View channel_attention,
                     View spatial_attention, Workspace& ws) const {
  EDGEATTN_RETURN_IF_ERROR(detail::check_map(x, channels(), "cbam"));
  EDGEATTN_RETURN_IF_ERROR(detail::require_shape(y, x.shape(), "y"));
  Scratch s(ws);
  s.room(workspace_bytes(x.shape(), ctx));
  Result<float*> a = channel_gates(
      ctx, x, channel_attention, s, channels(), channel_.scratch_floats(), true, "cbam",
      "channel_attention", [&](const float* mean, const float* max, float* g, float* scratch) {
        channel_.weights_from(mean, max, g, scratch);
      });
  if (!a.ok()) return a.status();
  return spatial_.forward_scaled(ctx, x, a.value(), y, spatial_attention, ws);
}

}  // namespace edgeattn
