// Attention for CNNs (docs/modules.md: se, eca, cbam_channel, cbam_spatial, cbam,
// non_local, sagan_attention) and the blocks a small attention CNN needs
// around them: Conv2d with BatchNorm folded in, activations, pooling, Linear.
//
// Feature maps are NCHW float32, contiguous, batch >= 1; positions flatten
// row-major (n = h * W + w). Every module returns its attention map when the
// caller passes a view for it (channel weights [B, C], spatial map
// [B, 1, H, W], position attention [B, N, N]) and skips it otherwise.
//
// As in attention.h, objects are immutable once created (one may serve
// several threads, each with its own Workspace); workspace_bytes() for the
// largest input serves smaller ones; results are bitwise the same for any
// thread count.
#pragma once

#include <cstddef>
#include <string>

#include "edgeattn/context.h"
#include "edgeattn/kernels.h"
#include "edgeattn/status.h"
#include "edgeattn/tensor.h"
#include "edgeattn/weights.h"

namespace edgeattn {

// y = act(x) elementwise over a contiguous tensor; y may be x.
Status activate(const Context& ctx, Activation act, ConstView x, View y);

// Eval-mode BatchNorm2d: y = (x - running_mean) / sqrt(running_var + eps) *
// weight + bias, every tensor [C]; num_batches_tracked is not needed.
struct BatchNorm {
  Tensor weight, bias, running_mean, running_var;
  float eps = 1e-5f;
};
// Checks that the four tensors are [channels]; `what` names it in errors.
Status check_batch_norm(const BatchNorm& bn, std::size_t channels, const std::string& what);

struct Conv2dParams {
  std::size_t in_channels = 0, out_channels = 0;
  std::size_t kernel_h = 1, kernel_w = 1;
  std::size_t stride_h = 1, stride_w = 1;
  std::size_t pad_h = 0, pad_w = 0;  // zero padding on both sides, as PyTorch
  std::size_t groups = 1;
  Activation act = Activation::none;  // applied after bias (and BatchNorm)
  std::size_t dilation_h = 1, dilation_w = 1;  // the spacing of the kernel's taps
};

// torch.nn.Conv2d (a cross-correlation) with an optional BatchNorm folded
// into its weight and bias at creation, and a fused activation. A 1x1 conv
// with stride 1 runs as one GEMM on the map; a conv with few output channels
// per group (depthwise, a CBAM spatial conv) adds each tap's shifted rows
// directly; any other conv is im2col + GEMM. A depthwise conv (dilation 1)
// runs on 16 channels interleaved, so its vectors span channels whatever
// the map's width; a dense conv with few inputs per output (a network's
// 3-channel stem) has 16 output channels in the lanes. Strided convs first split the padded input into phases,
// so the other paths read unit-stride rows.
class Conv2d {
 public:
  // weight [O, I / groups, kh, kw] (for 1x1 also [O, I]); bias [O] or
  // absent (numel 0); bn null or [O] tensors.
  // type (weights.h): convolutions that run as a GEMM (1x1, im2col) hold
  // their weights in it, a BatchNorm folded into the rows' scales; the
  // depthwise, stem and direct paths' small kernels stay float32.
  static Result<Conv2d> create(const Conv2dParams& p, const Tensor& weight, const Tensor& bias,
                               const BatchNorm* bn = nullptr, WeightType type = WeightType::f32);
  const Conv2dParams& params() const { return p_; }
  // [B, O, OH, OW] for input [B, I, H, W], or an error naming the mismatch.
  Result<Shape> output_shape(const Shape& input) const;
  std::size_t weight_bytes() const;
  std::size_t workspace_bytes(const Shape& input, const Context& ctx) const;
  Status forward(const Context& ctx, ConstView x, View y, Workspace& ws) const;
  // y = conv(x g) for a gate g [B or 1, C, 1, 1] per image and input
  // channel (SE's excitation before the block's 1x1 projection), the gate
  // folded into a copy of the weights per image, W diag(g_b), instead of a
  // pass over x: only for 1x1 stride-1 convs (accepts_gate()).
  bool accepts_gate() const;
  std::size_t gated_workspace_bytes(const Shape& input, const Context& ctx) const;
  Status forward_gated(const Context& ctx, ConstView x, ConstView gate, View y, Workspace& ws) const;
  // Which of the paths above runs for this input ("1x1", "1x1 transposed"
  // (the pixels in the GEMM tile's rows), "depthwise", "stem", "direct",
  // "im2col" or "by pixels"), for profiles.
  const char* path_name(const Shape& input) const;

 private:
  enum class Path { gemm1x1, depthwise, stem, direct, im2col };
  struct Impl;  // the scratch layout and the paths (conv.cpp)
  Conv2dParams p_;
  Path path_ = Path::im2col;
  // [O, I / groups * kh * kw], BatchNorm folded in (direct: taps in phase
  // order; depthwise and stem: blocks of 16 channels, taps then bias
  // interleaved)
  Tensor weight_;
  Weights typed_;  // instead of weight_: a GEMM path's weights in another type
  kernels::PackedB packed_;  // 1x1, float32: W^T packed, for pixels in the rows
  Tensor bias_;    // [O] (zeros when the conv had none and no BatchNorm)
};

// Pooling over H and W of [B, C, H, W] (torch.nn.MaxPool2d / AvgPool2d).
// Max pooling pads with -inf. Average pooling divides as PyTorch's
// avg_pool2d: by divisor_override when nonzero, else by the window clipped
// to the padded map (count_include_pad) or to the map itself. ceil_mode
// rounds the output size up, as PyTorch, but never starts a window in the
// right or bottom padding.
struct Pool2dParams {
  std::size_t kernel_h = 2, kernel_w = 2;
  std::size_t stride_h = 2, stride_w = 2;
  std::size_t pad_h = 0, pad_w = 0;
  std::size_t dilation_h = 1, dilation_w = 1;  // max pooling only
  bool ceil_mode = false;
  bool count_include_pad = true;
  std::size_t divisor_override = 0;
};
Result<Shape> pool2d_output_shape(const Pool2dParams& p, const Shape& input);
Status max_pool2d(const Context& ctx, const Pool2dParams& p, ConstView x, View y);
Status avg_pool2d(const Context& ctx, const Pool2dParams& p, ConstView x, View y);
// y[b, c] = mean over H, W of x[b, c] (adaptive_avg_pool2d(x, 1) flattened).
Status global_avg_pool(const Context& ctx, ConstView x, View y);

// torch.nn.Linear: y [B, out] = x [B, in] W^T + b; W [out, in] packed once.
class Linear {
 public:
  // type: the type W is held in (weights.h).
  static Result<Linear> create(const Tensor& weight, const Tensor& bias, WeightType type = WeightType::f32);
  std::size_t in_features() const { return weight_.cols(); }
  std::size_t out_features() const { return weight_.rows(); }
  std::size_t weight_bytes() const;
  std::size_t workspace_bytes(std::size_t batch, const Context& ctx) const;
  Status forward(const Context& ctx, ConstView x, View y, Workspace& ws) const;

 private:
  Weights weight_;
  Tensor bias_;
  kernels::PackedB packed_;
};

// ---- Channel attention: y = x * a[b, c] ----------------------------------

enum class Gate { sigmoid, hard_sigmoid };  // hard: relu6(x + 3) / 6 (MobileNetV3)

// Squeeze-and-excitation (Hu et al. 2018), timm SEModule:
// a = gate(fc2(act(fc1(mean_hw(x))))).
class SqueezeExcite {
 public:
  struct Weights {
    Tensor fc1_weight;  // [R, C]
    Tensor fc1_bias;    // [R] or absent
    Tensor fc2_weight;  // [C, R]
    Tensor fc2_bias;    // [C] or absent
  };
  // type: the type fc1 and fc2 are held in (weights.h).
  static Result<SqueezeExcite> create(Activation act, Gate gate, Weights w,
                                      WeightType type = WeightType::f32);
  std::size_t channels() const { return fc2_.rows(); }
  std::size_t weight_bytes() const;
  std::size_t workspace_bytes(const Shape& input, const Context& ctx) const;
  // attention [B, C] or empty.
  Status forward(const Context& ctx, ConstView x, View y, View attention, Workspace& ws) const;

 private:
  Activation act_ = Activation::relu;
  Gate gate_ = Gate::sigmoid;
  Weights w_;  // the biases
  edgeattn::Weights fc1_, fc2_;
};

// Efficient channel attention (Wang et al. 2020), timm EcaModule:
// a = sigmoid(conv1d(mean_hw(x))) across channels, zero padding (k-1)/2.
class EfficientChannelAttention {
 public:
  // kernel: the conv1d weight, k (odd) taps.
  static Result<EfficientChannelAttention> create(std::size_t channels, Tensor kernel);
  std::size_t channels() const { return channels_; }
  std::size_t weight_bytes() const;
  std::size_t workspace_bytes(const Shape& input, const Context& ctx) const;
  Status forward(const Context& ctx, ConstView x, View y, View attention, Workspace& ws) const;

 private:
  std::size_t channels_ = 0;
  Tensor kernel_;
};

// CBAM's channel attention, timm ChannelAttn (Woo et al. 2018):
// a = sigmoid(mlp(mean_hw(x)) + mlp(max_hw(x))), mlp = fc2(relu(fc1(.))).
class CbamChannel {
 public:
  using Weights = SqueezeExcite::Weights;  // biases absent unless mlp_bias
  static Result<CbamChannel> create(Weights w, WeightType type = WeightType::f32);
  std::size_t channels() const { return fc2_.rows(); }
  std::size_t weight_bytes() const;
  std::size_t workspace_bytes(const Shape& input, const Context& ctx) const;
  Status forward(const Context& ctx, ConstView x, View y, View attention, Workspace& ws) const;
  // a [C] for one image's channel descriptors mean [C] and max [C];
  // scratch: scratch_floats() (R + C).
  void weights_from(const float* mean, const float* max, float* a, float* scratch) const;
  std::size_t scratch_floats() const { return fc1_.rows() + channels(); }

 private:
  Weights w_;  // the biases
  edgeattn::Weights fc1_, fc2_;
};

// CBAM's spatial attention, timm SpatialAttn: s = sigmoid(bn(conv2d(
// [mean_c(x), max_c(x)], padding k//2))) [B, 1, H, W]; y = x * s.
class CbamSpatial {
 public:
  // conv_weight [1, 2, k, k] (no bias); bn over one channel, folded.
  static Result<CbamSpatial> create(std::size_t kernel_size, const Tensor& conv_weight,
                                    const BatchNorm& bn);
  std::size_t weight_bytes() const { return conv_.weight_bytes(); }
  std::size_t workspace_bytes(const Shape& input, const Context& ctx) const;
  Status forward(const Context& ctx, ConstView x, View y, View attention, Workspace& ws) const;
  // The same on x scaled per channel by channel_scale [B, C] (null: 1), as
  // CBAM applies it after channel attention, without materialising the
  // scaled map: y = x * channel_scale * s.
  Status forward_scaled(const Context& ctx, ConstView x, const float* channel_scale, View y,
                        View attention, Workspace& ws) const;

 private:
  Conv2d conv_;
};

// CBAM, timm CbamModule: y = spatial(channel(x)), in four passes over x.
class Cbam {
 public:
  static Result<Cbam> create(CbamChannel channel, CbamSpatial spatial);
  std::size_t channels() const { return channel_.channels(); }
  std::size_t weight_bytes() const { return channel_.weight_bytes() + spatial_.weight_bytes(); }
  std::size_t workspace_bytes(const Shape& input, const Context& ctx) const;
  // channel_attention [B, C], spatial_attention [B, 1, H, W]; either empty.
  Status forward(const Context& ctx, ConstView x, View y, View channel_attention,
                 View spatial_attention, Workspace& ws) const;

 private:
  CbamChannel channel_;
  CbamSpatial spatial_;
};

// ---- Self-attention over positions ---------------------------------------

// The core that non-local and SAGAN blocks share: 1x1 conv projections of a
// map [C, N] to queries and keys [N, Rq] and values [N, Rv], then
// O = softmax(Q K^T * scale) V [N, Rv]. The three projections are one GEMM
// with weights packed once.
class PositionAttention {
 public:
  struct Weights {
    Tensor query_weight, query_bias;  // [Rq, C] (or [Rq, C, 1, 1]), [Rq]
    Tensor key_weight, key_bias;      // [Rq, C], [Rq]
    Tensor value_weight, value_bias;  // [Rv, C], [Rv]
  };
  static Result<PositionAttention> create(float scale, Weights w, WeightType type = WeightType::f32);
  std::size_t channels() const { return channels_; }
  std::size_t query_dim() const { return rq_; }
  std::size_t value_dim() const { return rv_; }
  std::size_t weight_bytes() const;
  // Scratch for one image of n positions, with or without the map.
  std::size_t workspace_bytes(std::size_t n, const Context& ctx) const;
  // One image: x [C, n] -> o [n, Rv]; attention [n, n] or null (then the
  // streaming kernel runs and A never exists: O(n (R + C)) memory).
  Status forward_image(const Context& ctx, const float* x, std::size_t n, float* o,
                       float* attention, Workspace& ws) const;

 private:
  struct Impl;  // the scratch layout (position_attention.cpp)
  std::size_t channels_ = 0, rq_ = 0, rv_ = 0;
  float scale_ = 1.0f;
  edgeattn::Weights weight_;  // [2 Rq + Rv, C]: queries, keys, values
  Tensor bias_;               // [2 Rq + Rv]
  kernels::PackedB packed_;
};

// Embedded-Gaussian non-local block (Wang et al. 2018), timm NonLocalAttn:
// t, p, g = 1x1 convs C -> R (query, key, value); A = softmax(T P^T * scale),
// scale = C^-0.5 (the input channels, as timm) if use_scale, else 1;
// y = norm(z(A G)) + x, z a 1x1 conv R -> C.
class NonLocal {
 public:
  struct Weights {
    PositionAttention::Weights tpg;  // t = query, p = key, g = value
    Tensor z_weight, z_bias;         // [C, R], [C]
    BatchNorm norm;                  // [C]
  };
  // type: the type of the four 1x1 convs' weights (weights.h).
  static Result<NonLocal> create(bool use_scale, Weights w, WeightType type = WeightType::f32);
  std::size_t channels() const { return core_.channels(); }
  std::size_t weight_bytes() const;
  std::size_t workspace_bytes(const Shape& input, const Context& ctx) const;
  // attention [B, N, N] or empty.
  Status forward(const Context& ctx, ConstView x, View y, View attention, Workspace& ws) const;

 private:
  PositionAttention core_;
  Tensor out_weight_, out_bias_;  // z with norm folded in: [C, R], [C]
  edgeattn::Weights out_typed_;   // instead of out_weight_: z typed, norm in its row scales
};

// The self-attention block of SAGAN (Zhang et al. 2019): Q, K = 1x1 convs
// C -> C/8, V = 1x1 conv C -> C; A = softmax(Q K^T) (no scale);
// y = gamma * (A V) + x.
class SaganAttention {
 public:
  static Result<SaganAttention> create(PositionAttention::Weights w, float gamma,
                                       WeightType type = WeightType::f32);
  std::size_t channels() const { return core_.channels(); }
  std::size_t weight_bytes() const { return core_.weight_bytes() + sizeof(float); }
  std::size_t workspace_bytes(const Shape& input, const Context& ctx) const;
  Status forward(const Context& ctx, ConstView x, View y, View attention, Workspace& ws) const;

 private:
  PositionAttention core_;
  float gamma_ = 0.0f;
};

}  // namespace edgeattn
