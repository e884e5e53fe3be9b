// Conv2d with BatchNorm folded in (PyTorch's cross-correlation, zero
// padding), three algorithms chosen once at creation.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "../checks.h"
#include "../kernels/module_kernels.h"
#include "../scratch.h"
#include "../parallel.h"
#include "edgeattn/ops.h"
#include "edgeattn/vision.h"
#include "vision_common.h"

namespace edgeattn {

using detail::kMinLayerFlopsPerThread;
using detail::parallel_for;
using detail::threads_for;

Status check_batch_norm(const BatchNorm& bn, std::size_t channels, const std::string& what) {
  const Tensor* parts[4] = {&bn.weight, &bn.bias, &bn.running_mean, &bn.running_var};
  const char* names[4] = {"weight", "bias", "running_mean", "running_var"};
  for (int i = 0; i < 4; ++i)
    if (parts[i]->numel() == 0 || parts[i]->shape() != Shape{channels})
      return Status::invalid(what + "." + names[i] + ": expected " + Shape{channels}.to_string() +
                             ", found " +
                             (parts[i]->numel() ? parts[i]->shape().to_string() : "none"));
  if (!(bn.eps > 0.0f)) return Status::invalid(what + ": eps must be positive");
  for (std::size_t c = 0; c < channels; ++c)
    if (!(bn.running_var.data()[c] + bn.eps > 0.0f))
      return Status::invalid(what + ".running_var[" + std::to_string(c) +
                             "] + eps is not positive");
  return {};
}

namespace detail {

std::vector<double> batch_norm_factors(const BatchNorm& bn) {
  std::vector<double> f(bn.weight.numel());
  for (std::size_t c = 0; c < f.size(); ++c)
    f[c] = double(bn.weight.data()[c]) / std::sqrt(double(bn.running_var.data()[c]) + double(bn.eps));
  return f;
}

void fold_batch_norm(const BatchNorm& bn, float* weight, std::size_t row, float* bias) {
  const std::vector<double> f = batch_norm_factors(bn);
  for (std::size_t c = 0; c < f.size(); ++c) {
    const double s = f[c];
    for (std::size_t k = 0; k < row; ++k) weight[c * row + k] = float(weight[c * row + k] * s);
    bias[c] = float((double(bias[c]) - bn.running_mean.data()[c]) * s + bn.bias.data()[c]);
  }
}

void split_phases(const float* x, std::size_t p, std::size_t h, std::size_t w, std::size_t ph,
                  std::size_t pw, const Phases& grid, float* out) {
  out += p * grid.h * grid.w;
  x += p * h * w;
  for (std::size_t a = 0; a < grid.sh; ++a)
    for (std::size_t b = 0; b < grid.sw; ++b) {
      const std::size_t cols = grid.cols(b), sw = grid.sw;
      // columns [lo, hi) of the phase fall inside the map: no test per element
      const std::size_t lo = std::min(cols, b >= pw ? 0 : ceil_div(pw - b, sw));
      const std::size_t hi = std::max(lo, std::min(cols, b >= pw + w ? 0 : ceil_div(pw + w - b, sw)));
      float* dst = out + grid.offset(a, b);
      std::size_t in0 = grid.rows(a), in1 = 0;  // the phase's rows [in0, in1) inside the map
      for (std::size_t r = 0; r < grid.rows(a); ++r, dst += cols) {
        const std::size_t pr = a + r * grid.sh;
        if (pr < ph || pr >= ph + h) {
          std::memset(dst, 0, cols * sizeof(float));
          continue;
        }
        in0 = std::min(in0, r), in1 = r + 1;
        std::fill(dst, dst + lo, 0.0f);
        std::fill(dst + hi, dst + cols, 0.0f);
        const float* src = x + (pr - ph) * w + (b + lo * sw - pw);
        if (sw > 1)
          for (std::size_t q = 0; q < hi - lo; ++q) dst[lo + q] = src[q * sw];
      }
      if (sw == 1 && hi > lo && in1 > in0)  // the map's rows in one call
        kernels::copy_rows(x + (a + in0 * grid.sh - ph) * w + (b + lo - pw), grid.sh * w, in1 - in0, hi - lo,
                           out + grid.offset(a, b) + in0 * cols + lo, cols);
    }
}

void pad_rows(const float* x, std::size_t h, std::size_t w, std::size_t ph, std::size_t pw, std::size_t r0,
              std::size_t r1, float* out) {
  const std::size_t gw = w + 2 * pw, in0 = std::clamp(r0, ph, ph + h), in1 = std::clamp(r1, in0, ph + h);
  std::fill(out, out + (in0 - r0) * gw, 0.0f);  // the top padding, then the bottom's
  std::fill(out + (in1 - r0) * gw, out + (r1 - r0) * gw, 0.0f);
  for (std::size_t r = in0; r < in1 && pw; ++r) {
    float* row = out + (r - r0) * gw;
    std::fill(row, row + pw, 0.0f);
    std::fill(row + pw + w, row + gw, 0.0f);
  }
  if (in1 > in0) kernels::copy_rows(x + (in0 - ph) * w, w, in1 - in0, w, out + (in0 - r0) * gw + pw, gw);
}

Result<Tensor> copy_tensor(const float* data, const Shape& shape) {
  EDGEATTN_ASSIGN_OR_RETURN(t, Tensor::zeros(shape));
  if (shape.numel()) std::memcpy(t.data(), data, shape.numel() * sizeof(float));
  return t;
}

Status check_map(ConstView x, std::size_t channels, const char* module) {
  EDGEATTN_RETURN_IF_ERROR(require_dense(x, 4, "x"));
  if (x.dim(1) != channels || x.numel() == 0)
    return Status::invalid(std::string(module) + ": x " + x.shape().to_string() +
                           " must be [B, " + std::to_string(channels) + ", H, W] with H, W >= 1");
  return {};
}

}  // namespace detail

using detail::ceil_div;
using kernels::kDwLanes;

namespace {

// Dense convs of at most 4 input channels (an image's) and 160 inputs per
// output (ResNet's 3 x 7 x 7; the taps' 16-lane weights stay in L1) take
// the stem path: 7x7 ResNet stem 271 -> 236 us at 64x64. A 16-channel 3x3
// conv ran slower on it than by im2col (fashion CBAM conv2: 38 against 32 us).
constexpr std::size_t kStemInputs = 4, kStemTaps = 160;

// A weight [C, taps] and bias [C] (depthwise: C channels; stem: C output
// channels) as blocks of kDwLanes channels: each block's taps, then its
// bias, lane-interleaved; lanes past C hold zeros.
Result<Tensor> channel_blocks(const Tensor& weight, const Tensor& bias, std::size_t taps) {
  const std::size_t channels = bias.numel(), blocks = ceil_div(channels, kDwLanes);
  EDGEATTN_ASSIGN_OR_RETURN(out, Tensor::zeros(Shape{blocks, (taps + 1) * kDwLanes}));
  for (std::size_t ch = 0; ch < channels; ++ch) {
    float* blk = out.data() + ch / kDwLanes * (taps + 1) * kDwLanes + ch % kDwLanes;
    for (std::size_t t = 0; t < taps; ++t) blk[t * kDwLanes] = weight.data()[ch * taps + t];
    blk[taps * kDwLanes] = bias.data()[ch];
  }
  return out;
}

// The gate goes into the smaller operand: a copy of the weights, W diag(g)
// (o x c), or of the input, diag(g) X (c x n, PyTorch's own order: x * s,
// then the conv), whichever has fewer elements. On a 7x7 map the weights
// are the larger (efficientnet_b0's 1152 -> 320 projection: 369K against
// 56K elements a call). (Run transposed, the gate scales x^T.)
bool gate_input(std::size_t o, std::size_t n) { return n < o; }

// Each kernel's taps in phase order (detail::Phases), as the direct path
// splits its input.
void to_phase_order(const Conv2dParams& p, Tensor& weight) {
  const detail::Phases taps{p.stride_h, p.stride_w, p.kernel_h, p.kernel_w};
  std::vector<float> k(p.kernel_h * p.kernel_w);
  for (float* wk = weight.data(); wk != weight.data() + weight.numel(); wk += k.size()) {
    for (std::size_t a = 0; a < p.stride_h; ++a)
      for (std::size_t b = 0; b < p.stride_w; ++b)
        for (std::size_t i = 0; i < taps.rows(a); ++i)
          for (std::size_t j = 0; j < taps.cols(b); ++j)
            k[taps.offset(a, b) + i * taps.cols(b) + j] = wk[(a + i * p.stride_h) * p.kernel_w + b + j * p.stride_w];
    std::copy(k.begin(), k.end(), wk);
  }
}

}  // namespace

Result<Conv2d> Conv2d::create(const Conv2dParams& p, const Tensor& weight, const Tensor& bias,
                              const BatchNorm* bn, WeightType type) {
  const std::string what = "conv2d(" + std::to_string(p.in_channels) + " -> " +
                           std::to_string(p.out_channels) + ")";
  if (p.in_channels == 0 || p.out_channels == 0 || p.kernel_h == 0 || p.kernel_w == 0 ||
      p.stride_h == 0 || p.stride_w == 0 || p.groups == 0 || p.dilation_h == 0 || p.dilation_w == 0)
    return Status::invalid(what + ": channels, kernel, stride, dilation and groups must be positive");
  if (p.in_channels % p.groups || p.out_channels % p.groups)
    return Status::invalid(what + ": groups " + std::to_string(p.groups) +
                           " must divide both channel counts");
  const std::size_t ig = p.in_channels / p.groups;
  const Shape full{p.out_channels, ig, p.kernel_h, p.kernel_w};
  const bool linear_shaped = p.kernel_h == 1 && p.kernel_w == 1 &&
                             weight.shape() == Shape{p.out_channels, ig};
  if (weight.numel() == 0 || (weight.shape() != full && !linear_shaped))
    return Status::invalid(what + ": weight must be " + full.to_string() + ", found " +
                           (weight.numel() ? weight.shape().to_string() : "none"));
  if (bias.numel() && bias.shape() != Shape{p.out_channels})
    return Status::invalid(what + ": bias must be " + Shape{p.out_channels}.to_string() +
                           ", found " + bias.shape().to_string());
  if (bn) EDGEATTN_RETURN_IF_ERROR(check_batch_norm(*bn, p.out_channels, what + " batch norm"));

  Conv2d c;
  c.p_ = p;
  const std::size_t row = ig * p.kernel_h * p.kernel_w;
  EDGEATTN_ASSIGN_OR_RETURN(w, detail::copy_tensor(weight.data(), Shape{p.out_channels, row}));
  EDGEATTN_ASSIGN_OR_RETURN(b, Tensor::zeros(Shape{p.out_channels}));
  if (bias.numel()) std::memcpy(b.data(), bias.data(), p.out_channels * sizeof(float));
  if (bn) detail::fold_batch_norm(*bn, w.data(), row, b.data());
  c.weight_ = std::move(w);
  c.bias_ = std::move(b);
  const bool stride1 = p.stride_h == 1 && p.stride_w == 1;
  if (p.kernel_h == 1 && p.kernel_w == 1 && stride1 && p.pad_h == 0 && p.pad_w == 0 &&
      p.groups == 1) {
    c.path_ = Path::gemm1x1;
  } else if (p.dilation_h == 1 && p.dilation_w == 1 && ig == 1 && p.groups == p.out_channels &&
             p.groups >= kDwLanes / 2) {
    c.path_ = Path::depthwise;  // (fewer channels would leave most lanes idle: direct)
    EDGEATTN_ASSIGN_OR_RETURN(blocked, channel_blocks(c.weight_, c.bias_, p.kernel_h * p.kernel_w));
    c.weight_ = std::move(blocked);
  } else if (p.dilation_h == 1 && p.dilation_w == 1 && p.groups == 1 && ig <= kStemInputs && row <= kStemTaps &&
             p.out_channels >= kDwLanes / 2) {
    c.path_ = Path::stem;  // im2col would copy each input kh kw times for a short GEMM
    EDGEATTN_ASSIGN_OR_RETURN(blocked, channel_blocks(c.weight_, c.bias_, row));
    c.weight_ = std::move(blocked);
  } else if (p.dilation_h == 1 && p.dilation_w == 1 && (ig == 1 || p.out_channels / p.groups <= 4)) {
    c.path_ = Path::direct;  // a GEMM of so few rows would waste its tile
    to_phase_order(p, c.weight_);
  } else {
    c.path_ = Path::im2col;
  }
  if (type != WeightType::f32 && (c.path_ == Path::gemm1x1 || c.path_ == Path::im2col)) {
    EDGEATTN_ASSIGN_OR_RETURN(typed, Weights::of(weight, type, what + ": weight"));
    if (typed.type() != WeightType::f32) {  // (a single row or column stays float)
      if (bn) EDGEATTN_RETURN_IF_ERROR(typed.scale_rows(detail::batch_norm_factors(*bn).data()));
      c.typed_ = std::move(typed);
      c.weight_ = Tensor();
    }
  }
  if (c.path_ == Path::gemm1x1 && c.typed_.rows() == 0) {  // [W b]^T instead of W: see Impl::gemm1x1
    std::vector<float> wb(p.out_channels * (row + 1));
    for (std::size_t o = 0; o < p.out_channels; ++o) {
      std::copy(c.weight_.data() + o * row, c.weight_.data() + (o + 1) * row, wb.begin() + o * (row + 1));
      wb[o * (row + 1) + row] = c.bias_.data()[o];
    }
    EDGEATTN_ASSIGN_OR_RETURN(packed, kernels::PackedB::pack(wb.data(), row + 1, true, row + 1, p.out_channels));
    if (packed.bytes()) c.weight_ = Tensor();  // (the scalar ISA packs nothing: W stays)
    c.packed_ = std::move(packed);
  }
  return c;
}

Result<Shape> Conv2d::output_shape(const Shape& in) const {
  if (in.rank != 4 || in[1] != p_.in_channels || in[0] == 0 || in[2] == 0 || in[3] == 0)
    return Status::invalid("conv2d: input " + in.to_string() + " must be [B, " +
                           std::to_string(p_.in_channels) + ", H, W] with B, H, W >= 1");
  const std::size_t hp = in[2] + 2 * p_.pad_h, wp = in[3] + 2 * p_.pad_w;
  // The span a dilated kernel covers (PyTorch: dilation (k - 1) + 1).
  const std::size_t eh = p_.dilation_h * (p_.kernel_h - 1) + 1;
  const std::size_t ew = p_.dilation_w * (p_.kernel_w - 1) + 1;
  if (hp < eh || wp < ew)
    return Status::invalid("conv2d: input " + in.to_string() + " padded is smaller than the " +
                           std::to_string(eh) + "x" + std::to_string(ew) + " kernel span");
  return Shape{in[0], p_.out_channels, (hp - eh) / p_.stride_h + 1, (wp - ew) / p_.stride_w + 1};
}

std::size_t Conv2d::weight_bytes() const {
  return (weight_.numel() + bias_.numel()) * sizeof(float) + typed_.bytes() + packed_.bytes();
}

struct Conv2d::Impl {
  // Few pixels and many more output channels (a ResNet's last stages on a
  // small image: 512 channels x 4 pixels, 256 x 16): a GEMM's register tile
  // would be mostly padding columns, so each weight row is read against
  // the pixels' im2row rows instead (gemv_multi_w, at most two passes), as
  // a weight-streaming GEMV. The rule depends on the shape alone, so the
  // workspace fits every ISA. Typed weights take this path too: on the GEMM
  // each block of rows would be widened for a few columns' use (resnet18 +
  // CBAM int8: 14.1 -> 6.5 ms at up to 8 pixels; 16 pixels: its 4x4 stage
  // 690 -> 290 us a conv, and float32's 445 -> 415 us).
  // Float32 weights against more than kGemvMultiMax pixels run as
  // gemm_narrow instead, the pixels in the lanes (no horizontal sums, one
  // pass; resnet18 + CBAM's 4x4 stage: 345-380 -> 285-305 us a conv).
  static constexpr std::size_t kMaxPixels = 2 * kernels::kGemvMultiMax;
  static_assert(kMaxPixels <= kernels::kNarrowCols, "gemm_narrow takes every by-pixels width");
  static bool by_pixels(std::size_t og, std::size_t n) { return n <= kMaxPixels && n * 4 <= og; }
  static bool narrow(const Conv2d& c, std::size_t n) { return c.typed_.rows() == 0 && n > kernels::kGemvMultiMax; }
  // The weights' row length and element count, float or typed (the
  // depthwise and stem paths' blocked layouts included).
  static std::size_t row_length(const Conv2d& c) {
    return c.typed_.rows() ? c.typed_.cols() : c.packed_.bytes() ? c.packed_.k() - 1 : c.weight_.shape()[1];
  }
  static double elements(const Conv2d& c) { return double(c.p_.out_channels) * row_length(c); }
  // The GEMM's A: the group's rows of weights, float or typed.
  static kernels::GemmArgs weights_a(const Conv2d& c, kernels::GemmArgs g, std::size_t row0) {
    if (c.typed_.rows() == 0) {
      g.a = c.weight_.data() + row0 * g.k;
    } else {
      g.a = nullptr;
      g.a_weights = c.typed_.view().from_row(row0);
    }
    return g;
  }

  // A 1x1 conv is a GEMM either way round. Where the pixels would leave
  // much of the tile's columns padding (7x7: 49 of 64) it runs transposed,
  // y^T = [x^T 1] [W b]^T: the pixels in the tile's rows, the output
  // channels in its lanes (as ONNX Runtime's NCHWc convs), the bias an
  // input channel of ones so that the tile's epilogue still activates.
  // Float32 weights are held only as [W b]^T packed for that GEMM (one
  // copy); the other way, y = W x + b with the pixels in the lanes, takes
  // W's rows back from it first, each thread its share. shaped() weighs
  // the two: each way's multiply-adds in whole tiles of 32 lanes, and the
  // elements it moves ([W b] unpacked, or x^T and y^T), each as 8 lanes'
  // multiply-add (a transposed element costs about half a cycle, an
  // AVX-512 FMA 16 lanes a cycle). A 1x1 map (SE's excitation) is then a
  // GEMV over [W b]^T's panels: unpacking W for it tripled its time. The
  // rule reads the shape alone, so the workspace fits every ISA; the
  // transposed way runs on the ISA [W b]^T was packed for. Each output
  // sums the same products in the same order either way and adds the bias
  // last, so up to 255 inputs (one block of the GEMM's k) the bits do not
  // depend on the choice; beyond, the bias joins the last block's sum
  // before the earlier blocks' (one rounding apart).
  static bool shaped(const Conv2d& c, std::size_t n) {
    constexpr double kLanes = 32, kMove = 8;
    const double o = double(c.p_.out_channels), k = double(c.p_.in_channels) + 1, pixels = double(n);
    const auto tiles = [&](double v) { return std::ceil(v / kLanes) * kLanes; };
    const double lanes = o * (k - 1) * tiles(pixels) + kMove * o * k;
    const double rows = pixels * k * tiles(o) + kMove * pixels * (k + o);
    return c.packed_.bytes() && rows < lanes;
  }
  static bool pixel_rows(const Conv2d& c, std::size_t n) { return shaped(c, n) && c.packed_.isa() == active_isa(); }

  // Run transposed, each thread takes whole tiles of output channels: it
  // lays out its own [x^T 1] (gated: (diag(g) x)^T), runs the GEMM on its
  // columns of [W b]^T into its own y^T part, and transposes that into y.
  // One parallel region, and only y leaves the core (the input's transposes
  // split by pixels and read by both cores made 96 -> 576 at 7x7 on two
  // threads slower than on one).
  static int transposed_threads(const Context& ctx, const Conv2d& c, std::size_t n) {
    const std::size_t o = c.p_.out_channels, units = ceil_div(o, kernels::gemm_tile_cols());
    if (o > kernels::gemm_block_cols()) return 1;  // (a thread's columns inside one packed block)
    const double flops = 2.0 * n * o * (c.p_.in_channels + 1);
    return std::min<int>(detail::threads_for(ctx, flops, kMinLayerFlopsPerThread), int(units));
  }
  static std::size_t transposed_cols(const Conv2d& c, int t) {
    const std::size_t unit = kernels::gemm_tile_cols();
    return ceil_div(ceil_div(c.p_.out_channels, unit), std::size_t(t)) * unit;
  }
  // A thread's slot: [x^T 1], its y^T part, then the GEMM's workspace.
  static std::size_t transposed_copies(const Conv2d& c, std::size_t n, int t) {
    return detail::aligned_bytes((c.p_.in_channels + 1 + transposed_cols(c, t)) * n * sizeof(float));
  }
  static std::size_t transposed_slot(const Conv2d& c, std::size_t n, int t) {
    return transposed_copies(c, n, t) +
           detail::aligned_bytes(kernels::gemm_workspace_bytes(n, transposed_cols(c, t), c.p_.in_channels + 1));
  }
  static void transposed(const Context& ctx, const Conv2d& c, const float* x, const float* gate, std::size_t n,
                         float* y, unsigned char* slots) {
    const std::size_t ci = c.p_.in_channels, k = ci + 1, o = c.p_.out_channels;
    const int t = transposed_threads(ctx, c, n);
    const std::size_t cols = transposed_cols(c, t), slot = transposed_slot(c, n, t), copies = transposed_copies(c, n, t);
    parallel_for(t, std::size_t(t), [&](std::size_t part, int tid) {
      const std::size_t o0 = part * cols, o1 = std::min(o, o0 + cols);
      if (o0 >= o1) return;
      unsigned char* own = slots + std::size_t(tid) * slot;
      float* xt = reinterpret_cast<float*>(own);
      float* yt = xt + k * n;
      kernels::transpose(ci, n, x, n, xt, k);
      for (std::size_t j = 0; j < n; ++j) {
        if (gate) kernels::mul(xt + j * k, gate, xt + j * k, ci);
        xt[j * k + ci] = 1.0f;
      }
      kernels::GemmArgs g = gemm_args(n, o1 - o0, k, xt, nullptr, true, yt);
      g.packed_b = &c.packed_, g.packed_b_col = o0, g.act = c.p_.act;
      (void)kernels::gemm(g, own + copies, slot - copies);  // (valid by construction)
      kernels::transpose(n, o1 - o0, yt, o1 - o0, y + o0 * n, n);
    });
  }

  // The pixels-in-lanes way's weight rows (unpacked, or typed and gated:
  // widened; c + 1 floats apart) and gated input, when it needs them.
  static std::size_t rows_floats(const Conv2d& c, std::size_t n, bool gated) {
    const bool need = c.packed_.bytes() || (gated && !gate_input(c.p_.out_channels, n));
    return need ? c.p_.out_channels * (c.p_.in_channels + 1) : 0;
  }
  static std::size_t input_floats(const Conv2d& c, std::size_t n, bool gated) {
    return gated && gate_input(c.p_.out_channels, n) ? n * c.p_.in_channels : 0;
  }
  // A 1x1 conv's scratch, enough for either way: the transposed threads'
  // slots, or the rows and gated input, then the GEMM's workspace.
  static unsigned char* gemm1x1_scratch(const Conv2d& c, detail::Scratch& s, std::size_t n, bool gated,
                                        const Context& ctx) {
    std::size_t slots = 0;
    for (int t = 1; shaped(c, n) && t <= resolve_threads(ctx); ++t)
      slots = std::max(slots, std::size_t(t) * transposed_slot(c, n, t));
    const std::size_t plain = detail::aligned_bytes(rows_floats(c, n, gated) * sizeof(float)) +
                              input_floats(c, n, gated) * sizeof(float);
    const std::size_t bytes = std::max(plain, slots);
    unsigned char* buf = bytes ? s.take<unsigned char>(bytes) : nullptr;  // (none from an empty workspace)
    s.room(matmul_workspace_bytes(ctx, c.p_.out_channels, n, c.p_.in_channels));
    return buf;
  }

  // y = act(W diag(g) x + b), gate g optional (null: none).
  static Status gemm1x1(const Context& ctx, const Conv2d& c, const float* x, const float* gate, std::size_t n,
                        float* y, unsigned char* scratch, Workspace& ws) {
    if (pixel_rows(c, n)) {
      transposed(ctx, c, x, gate, n, y, scratch);
      return {};
    }
    const std::size_t ci = c.p_.in_channels, o = c.p_.out_channels, ld = ci + 1;
    float* rows = reinterpret_cast<float*>(scratch);
    float* input = reinterpret_cast<float*>(scratch + detail::aligned_bytes(rows_floats(c, n, gate != nullptr) * sizeof(float)));
    kernels::GemmArgs g = with_epilogue(c, weights_a(c, gemm_args(o, n, ci, nullptr, x, false, y), 0), 0);
    const bool packed = c.packed_.bytes() != 0, on_input = gate && gate_input(o, n), on_weights = gate && !on_input;
    if (packed || on_weights) g.a = rows, g.lda = ld, g.a_weights = WeightRows();
    if (on_input) g.b = input;
    // W's rows (unpacked, or typed and widened) and the gate, split over
    // the threads: by weight rows, or (gated input) by input channels
    const std::size_t count = on_input ? ci : o;
    const double moved = double(count) * (on_input ? n : ci);
    if (packed || gate)
      detail::parallel_ranges(detail::threads_for(ctx, moved, detail::kMinElementsPerThread / 4), count,
                              [&](std::size_t r0, std::size_t r1) {
        if (on_input) {
          for (std::size_t r = r0; r < r1; ++r) kernels::scale(gate[r], x + r * n, input + r * n, n);
          if (packed) c.packed_.to_rows(o * r0 / ci, o * r1 / ci, rows + o * r0 / ci * ld, ld);
          return;
        }
        if (packed) c.packed_.to_rows(r0, r1, rows + r0 * ld, ld);
        for (std::size_t r = r0; on_weights && r < r1; ++r) {
          if (c.typed_.rows()) kernels::widen_w(c.typed_.view().from_row(r), 0, ci, rows + r * ld);
          else if (!packed) std::copy(c.weight_.data() + r * ci, c.weight_.data() + (r + 1) * ci, rows + r * ld);
          kernels::mul(rows + r * ld, gate, rows + r * ld, ci);
        }
      });
    return detail::matmul(ctx, g, ws, kMinLayerFlopsPerThread);
  }

  // The padded input's polyphase grid.
  static detail::Phases grid(const Conv2d& c, std::size_t h, std::size_t w) {
    return {c.p_.stride_h, c.p_.stride_w, h + 2 * c.p_.pad_h, w + 2 * c.p_.pad_w};
  }

  // The path's scratch for one image (all images, one after another, when
  // they run in turn): the padded image split in phases (direct), that and
  // the im2col matrix after it, then the GEMM's.
  static float* scratch(const Conv2d& c, detail::Scratch& s, const Shape& in, const Context& ctx) {
    const Result<Shape> out = c.output_shape(in);
    if (!out.ok()) return nullptr;
    const std::size_t n = out.value()[2] * out.value()[3];
    const std::size_t og = c.p_.out_channels / c.p_.groups, k = row_length(c);
    const detail::Phases g = grid(c, in[2], in[3]);
    switch (c.path_) {
      case Path::gemm1x1: return reinterpret_cast<float*>(gemm1x1_scratch(c, s, n, false, ctx));
      case Path::depthwise:
        return s.take<float>(std::min<std::size_t>(resolve_threads(ctx), out.value()[2]), (g.h * g.w + n) * kDwLanes);
      case Path::stem: {  // a slot per thread, for any count the work thresholds may pick
        std::size_t most = 0;
        for (int t = 1; t <= std::min<int>(resolve_threads(ctx), int(out.value()[2])); ++t)
          most = std::max(most, std::size_t(t) * stem_slot(c, out.value()[2], out.value()[3], g.w, t));
        return s.take<float>(most, 1);
      }
      case Path::direct: return s.take<float>(c.p_.in_channels, g.h * g.w);
      case Path::im2col: {
        const bool rows = by_pixels(og, n);  // then im2row after the columns
        float* planes = s.take<float>(c.p_.in_channels * g.h * g.w + k * n + (rows ? n * k : 0), 1);
        if (!rows) s.room(matmul_workspace_bytes(ctx, og, n, k));
        return planes;
      }
    }
    return nullptr;
  }

  // The image's planes padded and split as g (the conv's stride phases),
  // threaded by plane.
  static void split(const Context& ctx, const Conv2d& c, const float* x, std::size_t h,
                    std::size_t w, const detail::Phases& g, float* planes) {
    const int t = threads_for(ctx, double(c.p_.in_channels) * g.h * g.w, detail::kMinElementsPerThread);
    parallel_for(t, c.p_.in_channels, [&](std::size_t p, int) {
      detail::split_phases(x, p, h, w, c.p_.pad_h, c.p_.pad_w, g, planes);
    });
  }

  // Few output channels per group: each output plane is the bias plus, for
  // each of its input planes and phase, the stride-1 convolution of that
  // phase with the matching taps (conv_rows), then the activation.
  static void direct(const Context& ctx, const Conv2d& c, const float* planes,
                     const detail::Phases& g, float* y, std::size_t oh, std::size_t ow) {
    const Conv2dParams& p = c.p_;
    const std::size_t ig = p.in_channels / p.groups, og = p.out_channels / p.groups;
    const detail::Phases taps{p.stride_h, p.stride_w, p.kernel_h, p.kernel_w};
    const double flops = 2.0 * p.out_channels * ig * p.kernel_h * p.kernel_w * oh * ow;
    const int t = threads_for(ctx, flops, kMinLayerFlopsPerThread);
    parallel_for(t, p.out_channels, [&](std::size_t o, int) {
      float* yr = y + o * oh * ow;
      for (std::size_t i = 0; i < oh * ow; ++i) yr[i] = c.bias_.data()[o];
      const std::size_t first_in = o / og * ig;
      for (std::size_t ic = 0; ic < ig; ++ic) {
        const float* plane = planes + (first_in + ic) * g.h * g.w;
        const float* wk = c.weight_.data() + (o * ig + ic) * taps.h * taps.w;
        for (std::size_t a = 0; a < p.stride_h; ++a)
          for (std::size_t b = 0; b < p.stride_w; ++b)
            if (taps.rows(a) && taps.cols(b))
              kernels::conv_rows(plane + g.offset(a, b), g.cols(b), wk + taps.offset(a, b), taps.rows(a),
                                 taps.cols(b), yr, ow, oh, ow);
      }
      kernels::activate(p.act, yr, yr, oh * ow);
    });
  }

  // A depthwise conv's threads: by its flops or by the maps it moves (in,
  // out and the interleaved copies of both), whichever gives more: at few
  // taps a plane the transposes are most of its time (16 channels 3x3/2 at
  // 112x112: 0.9 MFLOP, 48 us on one thread, 26 on two).
  static int depthwise_threads(const Context& ctx, const Conv2d& c, std::size_t in, std::size_t oh,
                               std::size_t ow) {
    const double flops = 2.0 * c.p_.in_channels * c.p_.kernel_h * c.p_.kernel_w * oh * ow;
    const double moved = double(c.p_.in_channels) * (in + oh * ow);
    return std::min<int>(std::max(threads_for(ctx, flops, kMinLayerFlopsPerThread),
                                  threads_for(ctx, moved, detail::kMinElementsPerThread / 4)),
                         int(oh));
  }

  // Depthwise: each thread takes a band of output rows, or a run of blocks
  // of 16 channels, split the way the 1x1 conv before it split its GEMM
  // (ops.cpp's matmul splits the larger of pixels and channels), so a map
  // stays on the core that wrote it: on a 2-vCPU VM reading the other
  // core's half cost more than the conv. A run of 16 planes is also whole
  // cache lines, where bands share a line at each plane's boundary
  // (mobilenet_v3_small's 240 channels at 14x14, 5x5, on two threads:
  // 45.6 -> 29.8 us; in efficientnet_b0 its 5x5 convs 766 -> 660 us).
  // Per block of 16 channels it interleaves the padded input rows the part
  // reads into its slot (4 x 4 transposes), runs dwconv_row (bias and
  // activation included) and transposes back.
  static void depthwise(const Context& ctx, const Conv2d& c, const float* x, std::size_t h,
                        std::size_t w, float* y, std::size_t oh, std::size_t ow, float* slots) {
    const Conv2dParams& p = c.p_;
    const detail::Phases g = grid(c, h, w);
    const std::size_t blocks = ceil_div(p.in_channels, kDwLanes), taps = p.kernel_h * p.kernel_w;
    const std::size_t slot = (g.h * g.w + oh * ow) * kDwLanes;
    const int t = depthwise_threads(ctx, c, h * w, oh, ow);
    const bool by_channels = h * w < p.in_channels && blocks >= std::size_t(t);
    parallel_for(t, std::size_t(t), [&](std::size_t part, int tid) {
      const std::size_t r0 = by_channels ? 0 : oh * part / t, r1 = by_channels ? oh : oh * (part + 1) / t;
      const std::size_t b0 = by_channels ? blocks * part / t : 0, b1 = by_channels ? blocks * (part + 1) / t : blocks;
      const std::size_t in0 = r0 * p.stride_h, in1 = std::min(g.h, (r1 - 1) * p.stride_h + p.kernel_h);
      float* xb = slots + std::size_t(tid) * slot;
      float* yb = xb + g.h * g.w * kDwLanes;
      for (std::size_t blk = b0; blk < b1; ++blk) {
        const std::size_t c0 = blk * kDwLanes, lanes = std::min(kDwLanes, p.in_channels - c0);
        for (std::size_t pr = in0; pr < in1; ++pr) {  // zeros only where the transposes do not write
          float* dst = xb + pr * g.w * kDwLanes;
          if (pr < p.pad_h || pr >= p.pad_h + h || lanes < kDwLanes) {
            std::memset(dst, 0, g.w * kDwLanes * sizeof(float));
          } else {
            std::memset(dst, 0, p.pad_w * kDwLanes * sizeof(float));
            std::memset(dst + (p.pad_w + w) * kDwLanes, 0, p.pad_w * kDwLanes * sizeof(float));
          }
          if (pr >= p.pad_h && pr < p.pad_h + h)
            kernels::transpose(lanes, w, x + c0 * h * w + (pr - p.pad_h) * w, h * w, dst + p.pad_w * kDwLanes,
                               kDwLanes);
        }
        const float* wb = c.weight_.data() + blk * (taps + 1) * kDwLanes;
        for (std::size_t r = r0; r < r1; ++r)
          kernels::dwconv_row(xb + r * p.stride_h * g.w * kDwLanes, g.w * kDwLanes, wb, p.kernel_h,
                              p.kernel_w, p.stride_w, yb + r * ow * kDwLanes, ow, p.act);
        kernels::transpose((r1 - r0) * ow, lanes, yb + r0 * ow * kDwLanes, kDwLanes, y + c0 * oh * ow + r0 * ow,
                           oh * ow);
      }
    });
  }

  // The stem's threads (never more than rows), and the padded input rows
  // a band of ceil(oh / t) output rows reads.
  static int stem_threads(const Context& ctx, const Conv2d& c, std::size_t oh, std::size_t ow) {
    const double flops = 2.0 * c.p_.out_channels * (c.weight_.shape()[1] / kDwLanes - 1) * oh * ow;
    return std::min<int>(threads_for(ctx, flops, kMinLayerFlopsPerThread), int(oh));
  }
  static std::size_t stem_band_rows(const Conv2d& c, std::size_t oh, int t) {
    return (ceil_div(oh, std::size_t(t)) - 1) * c.p_.stride_h + c.p_.kernel_h;
  }
  // A thread's slot: those rows of every input plane, then a row of 16 channels.
  static std::size_t stem_slot(const Conv2d& c, std::size_t oh, std::size_t ow, std::size_t gw, int t) {
    return c.p_.in_channels * stem_band_rows(c, oh, t) * gw + ow * kDwLanes;
  }

  // Stem: each thread takes a band of output rows, pads the input rows the
  // band reads into its own slot, then per output row and block of 16
  // output channels runs conv_row_oc16 into its row and transposes that
  // into the planes. (One padded copy made by one thread had the other core
  // fetch half of it, and the next call take those lines back: 3 -> 16
  // channels at 224x224 on two threads 134 -> 95 us, bench_vision.)
  static void stem(const Context& ctx, const Conv2d& c, const float* x, std::size_t h, std::size_t w,
                   float* y, std::size_t oh, std::size_t ow, float* slots) {
    const Conv2dParams& p = c.p_;
    const std::size_t gw = w + 2 * p.pad_w, gh = h + 2 * p.pad_h;
    const int t = stem_threads(ctx, c, oh, ow);
    const std::size_t band = stem_band_rows(c, oh, t), slot = stem_slot(c, oh, ow, gw, t);
    const std::size_t blocks = ceil_div(p.out_channels, kDwLanes);
    parallel_for(t, std::size_t(t), [&](std::size_t part, int tid) {
      const std::size_t r0 = oh * part / t, r1 = oh * (part + 1) / t;
      const std::size_t in0 = r0 * p.stride_h, in1 = std::min(gh, (r1 - 1) * p.stride_h + p.kernel_h);
      float* planes = slots + std::size_t(tid) * slot;
      float* row = planes + p.in_channels * band * gw;
      for (std::size_t ch = 0; ch < p.in_channels; ++ch)
        detail::pad_rows(x + ch * h * w, h, w, p.pad_h, p.pad_w, in0, in1, planes + ch * band * gw);
      for (std::size_t r = r0; r < r1; ++r)
        for (std::size_t blk = 0; blk < blocks; ++blk) {
          const std::size_t c0 = blk * kDwLanes, lanes = std::min(kDwLanes, p.out_channels - c0);
          kernels::conv_row_oc16(planes + (r * p.stride_h - in0) * gw, gw, band * gw, p.in_channels,
                                 c.weight_.data() + blk * c.weight_.shape()[1], p.kernel_h, p.kernel_w,
                                 p.stride_w, row, ow, p.act);
          kernels::transpose(ow, lanes, row, kDwLanes, y + c0 * oh * ow + r * ow, oh * ow);
        }
    });
  }

  // by_pixels: output planes in runs of channels (a thread's), then the
  // bias and activation. narrow(): gemm_narrow over col (k rows of
  // kNarrowCols, the pad zeroed), runs of 24 (whole row blocks on every
  // ISA); else row = col^T (n x k), runs of 16, up to kGemvMultiMax
  // pixels per pass over their weights.
  static void im2col_by_pixels(const Context& ctx, const Conv2d& c, float* col, std::size_t og,
                               std::size_t n, std::size_t k, std::size_t grp, float* y) {
    const bool wide = narrow(c, n);
    const std::size_t kRun = wide ? 24 : 16;
    float* row = col + k * n;
    if (wide)
      for (std::size_t q = 0; q < k; ++q) std::fill(col + q * kernels::kNarrowCols + n, col + (q + 1) * kernels::kNarrowCols, 0.0f);
    else
      kernels::transpose(k, n, col, n, row, k);
    const WeightRows w = (c.typed_.rows() ? c.typed_.view()
                                          : WeightRows{WeightType::f32, c.weight_.data(), k * sizeof(float), nullptr})
                             .from_row(grp * og);
    const float* bias = c.bias_.data() + grp * og;
    const int t = threads_for(ctx, 2.0 * og * n * k, kMinLayerFlopsPerThread);
    parallel_for(t, ceil_div(og, kRun), [&](std::size_t run, int) {
      const std::size_t o0 = run * kRun, o1 = std::min(og, o0 + kRun);
      if (wide) kernels::gemm_narrow(o1 - o0, k, c.weight_.data() + (grp * og + o0) * k, k, col, n, y + o0 * n, n);
      for (std::size_t j = 0; !wide && j < n; j += kernels::kGemvMultiMax)
        kernels::gemv_multi_w(o1 - o0, k, w.from_row(o0), row + j * k, k, std::min(kernels::kGemvMultiMax, n - j),
                              y + o0 * n + j, n);
      for (std::size_t o = o0; o < o1; ++o) {
        kernels::add_scalar(y + o * n, bias[o], y + o * n, n);
        kernels::activate(c.p_.act, y + o * n, y + o * n, n);
      }
    });
  }

  // Any other convolution: per group, col[(ic kh + i) kw + j][r ow + c] =
  // padded x[ic][r sh + i dh][c sw + j dw], whole rows copied from the tap's
  // phase, then one GEMM with the epilogue.
  static Status im2col(const Context& ctx, const Conv2d& c, const float* planes,
                       const detail::Phases& g, float* y, std::size_t oh, std::size_t ow,
                       float* col, Workspace& ws) {
    const Conv2dParams& p = c.p_;
    const std::size_t ig = p.in_channels / p.groups, og = p.out_channels / p.groups;
    const std::size_t kh = p.kernel_h, kw = p.kernel_w, k = ig * kh * kw, n = oh * ow;
    // Pixels [n0, n1) of every tap's row of col (ldcol apart), copied from
    // the tap's phase.
    const std::size_t ldcol = by_pixels(og, n) && narrow(c, n) ? kernels::kNarrowCols : n;
    const bool plain = p.stride_h == 1 && p.stride_w == 1 && p.dilation_h == 1 && p.dilation_w == 1;
    const auto fill = [&](std::size_t grp, std::size_t n0, std::size_t n1) {
      for (std::size_t ic = 0; plain && ic < ig; ++ic)  // one call per plane
        kernels::im2col_plane(planes + (grp * ig + ic) * g.h * g.w, g.w, kh, kw, ow, n0, n1,
                              col + ic * kh * kw * ldcol, ldcol);
      for (std::size_t q = 0; !plain && q < k; ++q) {
        const std::size_t ic = q / (kh * kw), ti = q / kw % kh * p.dilation_h, tj = q % kw * p.dilation_w;
        const std::size_t a = ti % p.stride_h, b = tj % p.stride_w;
        const float* src = planes + (grp * ig + ic) * g.h * g.w + g.offset(a, b) +
                           ti / p.stride_h * g.cols(b) + tj / p.stride_w;
        kernels::im2col_plane(src, g.cols(b), 1, 1, ow, n0, n1, col + q * ldcol, ldcol);  // the tap as a 1x1 conv
      }
    };
    // Bands of pixels (whole register tiles of columns), one per thread:
    // its part of col, then its part of the GEMM, so that col never moves
    // between cores (two threads sharing one col ran slower than one).
    // A single tile of pixels leaves matmul to split the channels. Twice a
    // layer's least work per thread: the padded planes (split by channel)
    // and col (by pixels) cross cores (the fashion CBAM model on 2 threads,
    // two convs of 1.8 MFLOP: 97 -> 82 us run on one).
    const std::size_t unit = kernels::gemm_tile_cols(), units = ceil_div(n, unit);
    const std::size_t per = kernels::gemm_workspace_bytes(og, n, k);
    int t = std::min<int>(threads_for(ctx, 2.0 * og * n * k, 2 * kMinLayerFlopsPerThread), int(units));
    if (per > 0) t = std::min<int>(t, int((ws.capacity() - ws.used()) / per));
    for (std::size_t grp = 0; grp < p.groups; ++grp) {
      float* yg = y + grp * og * n;
      if (by_pixels(og, n)) {
        fill(grp, 0, n);
        im2col_by_pixels(ctx, c, col, og, n, k, grp, yg);
        continue;
      }
      const kernels::GemmArgs whole =
          with_epilogue(c, weights_a(c, gemm_args(og, n, k, nullptr, col, false, yg), grp * og), grp * og);
      if (t <= 1) {
        fill(grp, 0, n);
        EDGEATTN_RETURN_IF_ERROR(detail::matmul(ctx, whole, ws, kMinLayerFlopsPerThread));
        continue;
      }
      const std::size_t mark = ws.used();
      unsigned char* parts = static_cast<unsigned char*>(ws.take_bytes(per * std::size_t(t)));
      std::atomic<bool> ok{true};
      parallel_for(t, std::size_t(t), [&](std::size_t part, int tid) {
        const std::size_t n0 = units * part / t * unit, n1 = std::min(n, units * (part + 1) / t * unit);
        if (n0 >= n1) return;
        fill(grp, n0, n1);
        kernels::GemmArgs band = whole;
        band.n = n1 - n0, band.b = col + n0, band.c = yg + n0;
        if (!kernels::gemm(band, parts + std::size_t(tid) * per, per).ok()) ok.store(false);
      });
      ws.rewind(mark);
      if (!ok.load()) return Status::invalid("conv2d: im2col GEMM arguments");
    }
    return {};
  }

  // Threads that each take whole images, each image computed alone, as on
  // one thread (so the same bits): when the batch has an image for every
  // thread (no map then crosses cores: fashion CBAM at batch 64 on two
  // threads took 5.5 ms split inside its images, 3.3 ms split by image), or
  // when one image is too little work to split. 1: the images run in turn,
  // each split inside.
  static int batch_threads(const Conv2d& c, const Shape& in, const Context& ctx) {
    const Result<Shape> out = c.output_shape(in);
    if (!out.ok() || in[0] < 2) return 1;
    const double image = 2.0 * elements(c) * out.value()[2] * out.value()[3];
    const int t = threads_for(ctx, image * static_cast<double>(in[0]), kMinLayerFlopsPerThread);
    if (t <= 1 || in[0] >= static_cast<std::size_t>(t)) return t;
    return threads_for(ctx, image, kMinLayerFlopsPerThread) > 1 ? 1 : static_cast<int>(in[0]);
  }

  // The bytes one thread of a batch split needs: one image's scratch on one
  // thread, rounded to whole cache lines so that the threads' parts align.
  static std::size_t per_thread_bytes(const Conv2d& c, const Shape& in) {
    detail::Scratch s;
    scratch(c, s, Shape{1, in[1], in[2], in[3]}, Context{1});
    return detail::aligned_bytes(s.bytes());
  }

  // The bias of output channels from `first` on, and the activation, applied
  // as the GEMM stores its tiles (one pass over the output, not three).
  static kernels::GemmArgs with_epilogue(const Conv2d& c, kernels::GemmArgs g, std::size_t first) {
    g.bias = c.bias_.data() + first;
    g.act = c.p_.act;
    return g;
  }

  // forward()'s whole layout: the per-image scratch, or each thread's part.
  static void layout(const Conv2d& c, detail::Scratch& s, const Shape& in, const Context& ctx,
                     float** buf, unsigned char** parts) {
    const int t = batch_threads(c, in, ctx);
    if (t > 1) *parts = s.take<unsigned char>(static_cast<std::size_t>(t), per_thread_bytes(c, in));
    else *buf = scratch(c, s, in, ctx);
  }
};

// Enough for both ways forward() may split, whatever the work thresholds
// decide: inside each image (scratch grows with the thread count) and by
// image (a part per thread, up to the batch).
std::size_t Conv2d::workspace_bytes(const Shape& in, const Context& ctx) const {
  if (in.rank != 4 || !output_shape(in).ok()) return 0;
  detail::Scratch s;
  Impl::scratch(*this, s, in, ctx);
  const std::size_t by_image = in[0] < 2 ? 0
                               : std::min<std::size_t>(resolve_threads(ctx), in[0]) *
                                     Impl::per_thread_bytes(*this, in);
  return std::max(s.bytes(), by_image);
}

Status Conv2d::forward(const Context& ctx, ConstView x, View y, Workspace& ws) const {
  EDGEATTN_RETURN_IF_ERROR(detail::require_dense(x, 4, "conv2d input"));
  EDGEATTN_ASSIGN_OR_RETURN(out, output_shape(x.shape()));
  EDGEATTN_RETURN_IF_ERROR(detail::require_shape(y, out, "conv2d output"));
  const std::size_t h = x.dim(2), w = x.dim(3), oh = out[2], ow = out[3];
  const std::size_t in_img = p_.in_channels * h * w, out_img = p_.out_channels * oh * ow;
  detail::Scratch s(ws);
  float* buf = nullptr;
  unsigned char* parts = nullptr;
  Impl::layout(*this, s, x.shape(), ctx, &buf, &parts);
  if (!s.ok()) return detail::Scratch::too_small("conv2d");
  // One image, its scratch at buf and the GEMM's in `iws`.
  const auto image = [&](const Context& c, std::size_t b, float* scratch, Workspace& iws) -> Status {
    const float* xb = x.data() + b * in_img;
    float* yb = y.data() + b * out_img;
    if (path_ == Path::gemm1x1)
      return Impl::gemm1x1(c, *this, xb, nullptr, h * w, yb, reinterpret_cast<unsigned char*>(scratch), iws);
    if (path_ == Path::depthwise) {
      Impl::depthwise(c, *this, xb, h, w, yb, oh, ow, scratch);
      return {};
    }
    if (path_ == Path::stem) {
      Impl::stem(c, *this, xb, h, w, yb, oh, ow, scratch);
      return {};
    }
    const detail::Phases g = Impl::grid(*this, h, w);
    Impl::split(c, *this, xb, h, w, g, scratch);
    if (path_ == Path::direct) {
      Impl::direct(c, *this, scratch, g, yb, oh, ow);
      return {};
    }
    return Impl::im2col(c, *this, scratch, g, yb, oh, ow, scratch + p_.in_channels * g.h * g.w, iws);
  };
  if (!parts) {
    for (std::size_t b = 0; b < x.dim(0); ++b) EDGEATTN_RETURN_IF_ERROR(image(ctx, b, buf, ws));
    return {};
  }
  // The batch split: each thread lays out its part as one image on one
  // thread would; images go one at a time to whichever thread is free.
  const int t = Impl::batch_threads(*this, x.shape(), ctx);
  const std::size_t per = Impl::per_thread_bytes(*this, x.shape());
  const Shape one{1, x.dim(1), h, w};
  const bool ok = detail::parallel_images(t, x.dim(0), parts, per, [&](std::size_t b, Workspace& part) {
    detail::Scratch ps(part);
    float* scratch = Impl::scratch(*this, ps, one, Context{1});
    return ps.ok() && image(Context{1}, b, scratch, part).ok();
  });
  return ok ? Status() : detail::Scratch::too_small("conv2d");
}

const char* Conv2d::path_name(const Shape& in) const {
  switch (path_) {
    case Path::gemm1x1: return Impl::pixel_rows(*this, in[2] * in[3]) ? "1x1 transposed" : "1x1";
    case Path::depthwise: return "depthwise";
    case Path::stem: return "stem";
    case Path::direct: return "direct";
    case Path::im2col: break;
  }
  const Result<Shape> out = output_shape(in);
  const bool rows = out.ok() && Impl::by_pixels(p_.out_channels / p_.groups, out.value()[2] * out.value()[3]);
  return rows ? "by pixels" : "im2col";
}

bool Conv2d::accepts_gate() const { return path_ == Path::gemm1x1; }

std::size_t Conv2d::gated_workspace_bytes(const Shape& in, const Context& ctx) const {
  if (!accepts_gate() || !output_shape(in).ok()) return 0;
  detail::Scratch s;
  Impl::gemm1x1_scratch(*this, s, in[2] * in[3], true, ctx);
  return s.bytes();
}

Status Conv2d::forward_gated(const Context& ctx, ConstView x, ConstView gate, View y, Workspace& ws) const {
  if (!accepts_gate()) return Status::invalid("conv2d: a gated input needs a 1x1 stride-1 conv");
  EDGEATTN_RETURN_IF_ERROR(detail::require_dense(x, 4, "conv2d input"));
  EDGEATTN_ASSIGN_OR_RETURN(out, output_shape(x.shape()));
  EDGEATTN_RETURN_IF_ERROR(detail::require_shape(y, out, "conv2d output"));
  const std::size_t c = p_.in_channels, o = p_.out_channels, n = x.dim(2) * x.dim(3);
  if (gate.rank() != 4 || !gate.is_contiguous() || (gate.dim(0) != 1 && gate.dim(0) != x.dim(0)) ||
      gate.dim(1) != c || gate.dim(2) != 1 || gate.dim(3) != 1)
    return Status::invalid("conv2d: gate " + gate.shape().to_string() + " must be [" +
                           (x.dim(0) == 1 ? "" : std::to_string(x.dim(0)) + " or ") + "1, " +
                           std::to_string(c) + ", 1, 1]");
  detail::Scratch s(ws);
  unsigned char* scratch = Impl::gemm1x1_scratch(*this, s, n, true, ctx);
  if (!s.ok()) return detail::Scratch::too_small("conv2d");
  for (std::size_t b = 0; b < x.dim(0); ++b)
    EDGEATTN_RETURN_IF_ERROR(Impl::gemm1x1(ctx, *this, x.data() + b * c * n, gate.data() + (gate.dim(0) == 1 ? 0 : b * c), n,
                                           y.data() + b * o * n, scratch, ws));
  return {};
}

}  // namespace edgeattn
