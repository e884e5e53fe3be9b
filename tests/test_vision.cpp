// Vision blocks and CNN attention through their C++ API: conv (every path),
// pooling and Linear against double precision on every ISA; every module
// bitwise equal for 1, 2 and 3 threads; maps requested or not give the same
// y; in-place use; one plan serving smaller maps; errors that name what is
// wrong. PyTorch parity of the seven modules is in the golden cases.
#include <cmath>
#include <cstring>
#include <functional>

#include "../src/cli/runner.h"
#include "edgeattn/vision.h"
#include "test_util.h"

using namespace edgeattn;
using edgeattn::test::for_each_isa;
using edgeattn::test::split_ctx;
using edgeattn::test::random_floats;

namespace {

Tensor tensor(const Shape& s, std::uint32_t seed, float lo = -0.5f, float hi = 0.5f) {
  return test::random_tensor(s, seed, lo, hi);
}

BatchNorm batch_norm(std::size_t c, std::uint32_t seed) {
  BatchNorm bn;
  bn.weight = tensor(Shape{c}, seed, 0.5f, 1.5f);
  bn.bias = tensor(Shape{c}, seed + 1);
  bn.running_mean = tensor(Shape{c}, seed + 2);
  bn.running_var = tensor(Shape{c}, seed + 3, 0.5f, 2.0f);
  bn.eps = 1e-3f;
  return bn;
}

// Conv2d in double: cross-correlation, zero padding, then BatchNorm, act.
std::vector<double> conv_ref(const Conv2dParams& p, const Tensor& w, const Tensor& b,
                             const BatchNorm* bn, const Tensor& x, const Shape& out) {
  const std::size_t ig = p.in_channels / p.groups, og = p.out_channels / p.groups;
  const std::size_t h = x.shape()[2], wd = x.shape()[3];
  std::vector<double> y(out.numel());
  for (std::size_t n = 0; n < out[0]; ++n)
    for (std::size_t o = 0; o < out[1]; ++o)
      for (std::size_t r = 0; r < out[2]; ++r)
        for (std::size_t c = 0; c < out[3]; ++c) {
          double s = b.numel() ? b.data()[o] : 0.0;
          for (std::size_t ic = 0; ic < ig; ++ic)
            for (std::size_t i = 0; i < p.kernel_h; ++i)
              for (std::size_t j = 0; j < p.kernel_w; ++j) {
                const long ih = long(r * p.stride_h + i * p.dilation_h) - long(p.pad_h);
                const long iw = long(c * p.stride_w + j * p.dilation_w) - long(p.pad_w);
                if (ih < 0 || iw < 0 || ih >= long(h) || iw >= long(wd)) continue;
                const std::size_t in_c = o / og * ig + ic;
                s += double(w.data()[((o * ig + ic) * p.kernel_h + i) * p.kernel_w + j]) *
                     x.data()[((n * p.in_channels + in_c) * h + ih) * wd + iw];
              }
          if (bn)
            s = (s - bn->running_mean.data()[o]) / std::sqrt(double(bn->running_var.data()[o]) + bn->eps) *
                    bn->weight.data()[o] + bn->bias.data()[o];
          y[((n * out[1] + o) * out[2] + r) * out[3] + c] = test::activation_ref(p.act, s);
        }
  return y;
}

void expect_near(const float* got, const std::vector<double>& want, double tol, const char* what) {
  for (std::size_t i = 0; i < want.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <= tol * (1 + std::fabs(want[i])))) {
      FAIL_CHECK(what << "[" << i << "] = " << got[i] << ", want " << want[i]);
      return;
    }
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.numel() * sizeof(float)) == 0;
}

// Runs f(ctx, ws) with 1, 2 and 3 threads; each result must be bitwise
// the first. f fills and returns its output.
void expect_thread_invariant(const std::function<Tensor(const Context&, Workspace&)>& f,
                             std::size_t ws_bytes) {
  Workspace ws;
  REQUIRE(ws.reserve(ws_bytes).ok());
  const Tensor one = f(Context{1}, ws);
  for (int t : {2, 3}) {
    CAPTURE(t);
    CHECK(same_bits(one, f(split_ctx(t), ws)));
  }
}

struct ConvCase {
  const char* name;
  Conv2dParams p;
  bool bias, bn;
  Shape x;
};

}  // namespace

TEST_CASE("conv2d: every path against double precision, thread counts bitwise equal") {
  const auto P = [](std::size_t in, std::size_t out, std::size_t kh, std::size_t kw, std::size_t s,
                    std::size_t ph, std::size_t pw, std::size_t g, Activation a) {
    Conv2dParams p;
    p.in_channels = in, p.out_channels = out, p.kernel_h = kh, p.kernel_w = kw;
    p.stride_h = p.stride_w = s, p.pad_h = ph, p.pad_w = pw, p.groups = g, p.act = a;
    return p;
  };
  const auto D = [](Conv2dParams p, std::size_t dh, std::size_t dw) {
    p.dilation_h = dh, p.dilation_w = dw;
    return p;
  };
  const ConvCase cases[] = {
      {"1x1 gemm", P(13, 17, 1, 1, 1, 0, 0, 1, Activation::relu), true, true, Shape{2, 13, 5, 7}},
      {"depthwise 3x3 direct", P(12, 12, 3, 3, 1, 1, 1, 12, Activation::silu), false, true, Shape{2, 12, 9, 11}},
      {"cbam-like 7x7 direct", P(2, 1, 7, 7, 1, 3, 3, 1, Activation::none), false, true, Shape{1, 2, 7, 9}},
      {"3x3 stride 2 im2col", P(5, 16, 3, 3, 2, 1, 1, 1, Activation::relu), true, false, Shape{2, 5, 11, 8}},
      {"grouped 5x3 im2col", P(6, 10, 5, 3, 1, 2, 0, 2, Activation::none), true, true, Shape{1, 6, 8, 6}},
      {"1x1 stride 2 im2col", P(8, 9, 1, 1, 2, 0, 0, 1, Activation::none), true, false, Shape{1, 8, 7, 7}},
      {"depthwise stride 2", P(7, 7, 3, 3, 2, 1, 1, 7, Activation::relu), true, false, Shape{1, 7, 10, 9}},
      // the polyphase paths: strided direct convs on odd and even maps, the
      // stem's im2col from phases, a stride larger than the kernel
      {"depthwise 3x3 s2 hardswish", P(9, 9, 3, 3, 2, 1, 1, 9, Activation::hardswish), true, true, Shape{2, 9, 23, 17}},
      {"depthwise 5x5 s2 silu", P(6, 6, 5, 5, 2, 2, 2, 6, Activation::silu), true, true, Shape{1, 6, 28, 21}},
      {"depthwise 5x5 s1 relu6", P(5, 5, 5, 5, 1, 2, 2, 5, Activation::relu6), true, true, Shape{1, 5, 19, 40}},
      {"stem 3x3 s2 hardswish", P(3, 16, 3, 3, 2, 1, 1, 1, Activation::hardswish), true, true, Shape{1, 3, 33, 30}},
      {"stem 7x7 s2 (ResNet's)", P(3, 24, 7, 7, 2, 3, 3, 1, Activation::relu), true, true, Shape{1, 3, 19, 20}},
      {"stem 5x5 s1 partial block", P(1, 20, 5, 5, 1, 2, 1, 1, Activation::relu6), true, false, Shape{2, 1, 13, 11}},
      {"3x3 by pixels (tiny map)", P(8, 40, 3, 3, 1, 1, 1, 1, Activation::relu), true, true, Shape{2, 8, 3, 3}},
      {"grouped 3x3 s2 by pixels", P(8, 48, 3, 3, 2, 1, 1, 2, Activation::hardswish), true, false, Shape{2, 8, 4, 4}},
      {"3x3 by pixels in two passes", P(6, 64, 3, 3, 1, 1, 1, 1, Activation::relu6), true, true, Shape{2, 6, 3, 5}},
      {"3x3 dilated (2, 1) im2col", D(P(5, 12, 3, 3, 1, 2, 1, 1, Activation::relu), 2, 1), true, true, Shape{2, 5, 9, 8}},
      {"3x3 dilated 2 stride 2 im2col", D(P(4, 9, 3, 3, 2, 2, 2, 1, Activation::none), 2, 2), true, false, Shape{1, 4, 11, 10}},
      {"depthwise 3x3 s3 sigmoid", P(4, 4, 3, 3, 3, 0, 1, 4, Activation::sigmoid), true, false, Shape{1, 4, 14, 13}},
      // wide maps in bands of rows, 20 and 16 channels
      {"depthwise 3x3 s1 wide map", P(20, 20, 3, 3, 1, 1, 1, 20, Activation::silu), true, true, Shape{1, 20, 70, 130}},
      {"depthwise 3x3 s2 wide map", P(16, 16, 3, 3, 2, 1, 1, 16, Activation::relu), false, true, Shape{1, 16, 121, 130}},
      // fewer pixels than channels: threads split blocks of 16 channels (the last 8 wide)
      {"depthwise 5x5 by channel blocks", P(40, 40, 5, 5, 1, 2, 2, 40, Activation::relu6), true, true, Shape{2, 40, 5, 6}},
      {"1x1 s3 grouped hardsigmoid", P(6, 4, 1, 1, 3, 0, 0, 2, Activation::hardsigmoid), false, true, Shape{2, 6, 10, 8}},
      // 1x1 transposed (pixels in the tile's rows): a partial last tile of
      // channels, [W b]^T in two blocks of k, and in two blocks of columns
      {"1x1 transposed 7x7", P(64, 60, 1, 1, 1, 0, 0, 1, Activation::silu), true, true, Shape{2, 64, 7, 7}},
      {"1x1 transposed k > kc", P(300, 40, 1, 1, 1, 0, 0, 1, Activation::relu6), false, true, Shape{1, 300, 3, 3}},
      {"1x1 transposed 2100 channels", P(3, 2100, 1, 1, 1, 0, 0, 1, Activation::hardswish), true, false, Shape{1, 3, 2, 2}},
  };
  // every weight type: the reference convolves the dequantized weights
  for (WeightType type : {WeightType::f32, WeightType::bf16, WeightType::f16, WeightType::i8})
  for (const ConvCase& cc : cases) {
    CAPTURE(cc.name);
    CAPTURE(weight_type_name(type));
    const Conv2dParams& p = cc.p;
    Tensor w = tensor(Shape{p.out_channels, p.in_channels / p.groups, p.kernel_h, p.kernel_w}, 31);
    REQUIRE(Weights::round_in_place(w, type, "w").ok());
    const Tensor b = cc.bias ? tensor(Shape{p.out_channels}, 32) : Tensor();
    const BatchNorm bn = batch_norm(p.out_channels, 33);
    const Tensor x = tensor(cc.x, 34, -1.0f, 1.0f);
    Result<Conv2d> conv = Conv2d::create(p, w, b, cc.bn ? &bn : nullptr, type);
    REQUIRE(conv.ok());
    const Shape out = conv->output_shape(cc.x).value();
    const std::vector<double> want = conv_ref(p, w, b, cc.bn ? &bn : nullptr, x, out);
    // float32 sums: 2e-6 up to 64 terms an output, more beyond (300: 9e-6)
    const double tol = 2e-6 * std::max(1.0, double(p.in_channels / p.groups * p.kernel_h * p.kernel_w) / 64);
    for_each_isa([&](Isa) {
      expect_thread_invariant(
          [&](const Context& ctx, Workspace& ws) {
            Tensor y = Tensor::zeros(out).value();
            REQUIRE(conv->forward(ctx, x.view(), y.view(), ws).ok());
            expect_near(y.data(), want, tol, cc.name);
            return y;
          },
          conv->workspace_bytes(cc.x, Context{3}));
    });
  }
}

TEST_CASE("conv2d: typed weights are held in their type, gated 1x1 convs included") {
  Conv2dParams p;
  p.in_channels = 64, p.out_channels = 128, p.kernel_h = p.kernel_w = 1;
  const BatchNorm bn = batch_norm(128, 40);
  for (WeightType type : {WeightType::f32, WeightType::bf16, WeightType::i8}) {
    CAPTURE(weight_type_name(type));
    Tensor w = tensor(Shape{128, 64, 1, 1}, 41);
    REQUIRE(Weights::round_in_place(w, type, "w").ok());
    const Result<Conv2d> f32 = Conv2d::create(p, w, Tensor(), &bn);
    const Result<Conv2d> typed = Conv2d::create(p, w, Tensor(), &bn, type);
    REQUIRE(typed.ok());
    // the elements in their type, a scale per row (the BatchNorm's), the
    // bias; float32 on a SIMD ISA: [W b]^T packed (128 columns are whole
    // tiles on every ISA), its bias column besides the bias
    const std::size_t bias_column = kernels::gemm_tile_cols() > 1 ? 128 * 4 : 0;
    CHECK(typed->weight_bytes() == 128 * 64 * weight_type_bytes(type) + 128 * 4 +
                                       (type != WeightType::f32 ? 128 * 4 : bias_column));
    CHECK(f32->weight_bytes() == 128 * 64 * 4 + 128 * 4 + bias_column);
    // conv(x g) through the gated path against the plain one on x g. Float
    // weights run transposed on 12 and 132 pixels (the gate scales x^T);
    // else on a map of fewer pixels than output channels the gate scales a
    // copy of x, on a larger one a copy of the weights.
    struct Map {
      std::size_t h, w;
      bool transposed;
    };
    for (const auto& [h, w, transposed] : {Map{4, 3, true}, Map{12, 8, false}, Map{12, 11, true}, Map{16, 15, false}}) {
      CAPTURE(h);
      const bool packed = kernels::gemm_tile_cols() > 1;  // (a SIMD ISA)
      CHECK(std::string(f32->path_name(Shape{1, 64, h, w})) == (transposed && packed ? "1x1 transposed" : "1x1"));
      const std::size_t n = h * w;
      const Tensor x = tensor(Shape{2, 64, h, w}, 42, -1.0f, 1.0f), g = tensor(Shape{2, 64, 1, 1}, 43, 0.0f, 1.0f);
      Tensor xg = Tensor::zeros(x.shape()).value(), want = Tensor::zeros(Shape{2, 128, h, w}).value();
      for (std::size_t i = 0; i < x.numel(); ++i) xg.data()[i] = x.data()[i] * g.data()[i / n];
      Workspace ws;
      REQUIRE(ws.reserve(std::max(typed->workspace_bytes(x.shape(), Context{2}),
                                  typed->gated_workspace_bytes(x.shape(), Context{2}))).ok());
      REQUIRE(typed->forward(Context{1}, xg.view(), want.view(), ws).ok());
      Tensor got = Tensor::zeros(want.shape()).value();
      REQUIRE(typed->forward_gated(Context{2}, x.view(), g.view(), got.view(), ws).ok());
      std::vector<double> ref(want.data(), want.data() + want.numel());
      expect_near(got.data(), ref, 2e-6, "gated");
    }
  }
}

// A 1x1 conv acts on each pixel alone: the pixels of a 7x7 map (run
// transposed, the pixels in the tile's rows) placed first in a 16x16 map
// (run with the pixels in the lanes) must come out with the same bits
// (up to 255 inputs: one block of the GEMM's k).
TEST_CASE("conv2d 1x1: the same bits with the pixels in the tile's rows or in its lanes") {
  for (const auto& [ci, co] : {std::pair<std::size_t, std::size_t>{64, 60}, {255, 96}, {40, 124}}) {
    CAPTURE(ci);
    CAPTURE(co);
    Conv2dParams p;
    p.in_channels = ci, p.out_channels = co, p.kernel_h = p.kernel_w = 1, p.act = Activation::silu;
    const BatchNorm bn = batch_norm(co, 52);
    const Tensor small = tensor(Shape{1, ci, 7, 7}, 53, -1.0f, 1.0f);
    Tensor big = tensor(Shape{1, ci, 16, 16}, 54, -1.0f, 1.0f);
    for (std::size_t c = 0; c < ci; ++c)
      std::memcpy(big.data() + c * 256, small.data() + c * 49, 49 * sizeof(float));
    for_each_isa([&](Isa) {  // (created under each ISA: packed for it)
      const Conv2d conv = Conv2d::create(p, tensor(Shape{co, ci, 1, 1}, 51), tensor(Shape{co}, 55), &bn).value();
      const bool packed = kernels::gemm_tile_cols() > 1;
      CHECK(std::string(conv.path_name(small.shape())) == (packed ? "1x1 transposed" : "1x1"));
      CHECK(std::string(conv.path_name(big.shape())) == "1x1");
      for (int t : {1, 2}) {
        CAPTURE(t);
        Workspace ws;
        REQUIRE(ws.reserve(conv.workspace_bytes(big.shape(), Context{2}) + conv.workspace_bytes(small.shape(), Context{2})).ok());
        Tensor ys = Tensor::zeros(Shape{1, co, 7, 7}).value(), yb = Tensor::zeros(Shape{1, co, 16, 16}).value();
        { const Status st = conv.forward(split_ctx(t), small.view(), ys.view(), ws); REQUIRE_MESSAGE(st.ok(), st.to_string()); }
        REQUIRE(conv.forward(split_ctx(t), big.view(), yb.view(), ws).ok());
        bool same = true;
        for (std::size_t o = 0; o < co; ++o)
          same = same && std::memcmp(ys.data() + o * 49, yb.data() + o * 256, 49 * sizeof(float)) == 0;
        CHECK(same);
      }
    });
  }
}

TEST_CASE("conv2d: bad shapes are named") {
  Conv2dParams p;
  p.in_channels = 4, p.out_channels = 6, p.kernel_h = p.kernel_w = 3, p.groups = 4;
  const Status groups = Conv2d::create(p, tensor(Shape{6, 1, 3, 3}, 1), Tensor()).status();
  CHECK(groups.message().find("groups 4 must divide") != std::string::npos);
  p.groups = 2;
  const Status wshape = Conv2d::create(p, tensor(Shape{6, 4, 3, 3}, 1), Tensor()).status();
  CHECK(wshape.message().find("weight must be [6, 2, 3, 3], found [6, 4, 3, 3]") != std::string::npos);
  BatchNorm bn = batch_norm(5, 2);
  const Status bns = Conv2d::create(p, tensor(Shape{6, 2, 3, 3}, 1), Tensor(), &bn).status();
  CHECK(bns.message().find("batch norm.weight: expected [6], found [5]") != std::string::npos);
  Conv2d conv = Conv2d::create(p, tensor(Shape{6, 2, 3, 3}, 1), Tensor()).value();
  CHECK(conv.output_shape(Shape{1, 3, 5, 5}).status().message().find("[B, 4, H, W]") != std::string::npos);
  CHECK(conv.output_shape(Shape{1, 4, 2, 5}).status().message().find("smaller than the 3x3 kernel") !=
        std::string::npos);
  const Tensor x = tensor(Shape{1, 4, 5, 5}, 3);
  Tensor y = Tensor::zeros(Shape{1, 6, 4, 3}).value();
  Workspace ws;
  const Status out = conv.forward(Context{1}, x.view(), y.view(), ws);
  CHECK(out.message().find("conv2d output must be a contiguous [1, 6, 3, 3] tensor, found [1, 6, 4, 3]") !=
        std::string::npos);
  Tensor y2 = Tensor::zeros(Shape{1, 6, 3, 3}).value();
  CHECK(conv.forward(Context{1}, x.view(), y2.view(), ws).code() == StatusCode::out_of_memory);
  // a gated input: 1x1 stride-1 convs only, the gate [B or 1, C, 1, 1]
  CHECK_FALSE(conv.accepts_gate());
  const Tensor gate = tensor(Shape{1, 4, 1, 1}, 4);
  CHECK(conv.forward_gated(Context{1}, x.view(), gate.view(), y2.view(), ws).message().find("1x1 stride-1") !=
        std::string::npos);
  Conv2dParams q;
  q.in_channels = 4, q.out_channels = 6;
  const Conv2d one = Conv2d::create(q, tensor(Shape{6, 4, 1, 1}, 5), Tensor()).value();
  CHECK(one.accepts_gate());
  Tensor y3 = Tensor::zeros(Shape{1, 6, 5, 5}).value();
  const Tensor bad = tensor(Shape{1, 3, 1, 1}, 6);
  REQUIRE(ws.reserve(one.gated_workspace_bytes(x.shape(), Context{1})).ok());
  CHECK(one.forward_gated(Context{1}, x.view(), bad.view(), y3.view(), ws).message().find(
            "gate [1, 3, 1, 1] must be [1, 4, 1, 1]") != std::string::npos);
  CHECK(one.forward_gated(Context{1}, x.view(), gate.view(), y3.view(), ws).ok());
}

TEST_CASE("max_pool2d: wide maps with and without padding, strides 1 and 2, NaNs inside and at edges") {
  struct Case { std::size_t k, s, pad, h, w; };
  for (const Case& k : {Case{3, 2, 1, 40, 37}, Case{2, 2, 0, 28, 28}, Case{3, 1, 1, 9, 35}, Case{3, 2, 0, 17, 70}}) {
    Tensor x = tensor(Shape{1, 3, k.h, k.w}, 51, -2.0f, 2.0f);
    x.data()[5 * k.w + 20] = x.data()[k.h * k.w + 2 * k.w] = std::nanf("");  // inner, then a left edge
    Pool2dParams p;
    p.kernel_h = p.kernel_w = k.k, p.stride_h = p.stride_w = k.s, p.pad_h = p.pad_w = k.pad;
    const Shape out = pool2d_output_shape(p, x.shape()).value();
    std::vector<double> want(out.numel());
    for (std::size_t pl = 0; pl < 3; ++pl)
      for (std::size_t r = 0; r < out[2]; ++r)
        for (std::size_t c = 0; c < out[3]; ++c) {
          double m = -INFINITY;
          for (long i = 0; i < long(k.k); ++i)
            for (long j = 0; j < long(k.k); ++j) {
              const long ih = long(r * k.s) + i - long(k.pad), iw = long(c * k.s) + j - long(k.pad);
              if (ih < 0 || iw < 0 || ih >= long(k.h) || iw >= long(k.w)) continue;
              const double v = x.data()[(pl * k.h + ih) * k.w + iw];
              m = std::isnan(v) || std::isnan(m) ? NAN : std::max(m, v);
            }
          want[(pl * out[2] + r) * out[3] + c] = m;
        }
    for_each_isa([&](Isa) {
      for (int threads : {1, 2}) {
        Tensor y = Tensor::zeros(out).value();
        REQUIRE(max_pool2d(Context{threads}, p, x.view(), y.view()).ok());
        for (std::size_t i = 0; i < want.size(); ++i) {
          CAPTURE(i);
          CAPTURE(k.w);
          if (std::isnan(want[i])) CHECK(std::isnan(y.data()[i]));
          else REQUIRE(double(y.data()[i]) == want[i]);
        }
      }
    });
  }
}

TEST_CASE("pooling and Linear against double precision") {
  const Tensor x = tensor(Shape{2, 3, 7, 9}, 41, -2.0f, 2.0f);
  Pool2dParams p;
  p.kernel_h = 3, p.kernel_w = 2, p.stride_h = 2, p.stride_w = 2, p.pad_h = 1, p.pad_w = 1;
  const Shape out = pool2d_output_shape(p, x.shape()).value();
  CHECK(out == Shape{2, 3, 4, 5});
  for_each_isa([&](Isa) {
    Tensor mx = Tensor::zeros(out).value(), av = Tensor::zeros(out).value();
    REQUIRE(max_pool2d(Context{2}, p, x.view(), mx.view()).ok());
    REQUIRE(avg_pool2d(Context{2}, p, x.view(), av.view()).ok());
    std::vector<double> want_max(out.numel()), want_avg(out.numel());
    for (std::size_t pl = 0; pl < 6; ++pl)
      for (std::size_t r = 0; r < out[2]; ++r)
        for (std::size_t c = 0; c < out[3]; ++c) {
          double m = -INFINITY, s = 0;
          for (long i = 0; i < 3; ++i)
            for (long j = 0; j < 2; ++j) {
              const long ih = long(r) * 2 + i - 1, iw = long(c) * 2 + j - 1;
              if (ih < 0 || iw < 0 || ih >= 7 || iw >= 9) continue;
              const double v = x.data()[(pl * 7 + ih) * 9 + iw];
              m = std::max(m, v);
              s += v;
            }
          want_max[(pl * out[2] + r) * out[3] + c] = m;
          want_avg[(pl * out[2] + r) * out[3] + c] = s / 6;  // count_include_pad
        }
    expect_near(mx.data(), want_max, 0, "max_pool2d");
    expect_near(av.data(), want_avg, 1e-6, "avg_pool2d");
    // a NaN anywhere in a window wins it, wherever it comes in the window
    Tensor xn = tensor(Shape{1, 1, 4, 4}, 42, -2.0f, 2.0f), yn = Tensor::zeros(Shape{1, 1, 2, 2}).value();
    xn.data()[0] = xn.data()[7] = std::nanf("");
    Pool2dParams q;
    q.kernel_h = q.kernel_w = q.stride_h = q.stride_w = 2;
    REQUIRE(max_pool2d(Context{1}, q, xn.view(), yn.view()).ok());
    CHECK(std::isnan(yn.data()[0]));
    CHECK(std::isnan(yn.data()[1]));
    CHECK(!std::isnan(yn.data()[2]));
    Tensor g = Tensor::zeros(Shape{2, 3}).value();
    REQUIRE(global_avg_pool(Context{1}, x.view(), g.view()).ok());
    for (std::size_t pl = 0; pl < 6; ++pl) {
      double s = 0;
      for (std::size_t i = 0; i < 63; ++i) s += x.data()[pl * 63 + i];
      CHECK(std::fabs(g.data()[pl] - s / 63) <= 1e-6);
    }
    const Tensor w = tensor(Shape{10, 19}, 42), b = tensor(Shape{10}, 43), in = tensor(Shape{3, 19}, 44);
    Linear lin = Linear::create(w, b).value();
    Workspace ws;
    REQUIRE(ws.reserve(lin.workspace_bytes(3, Context{1})).ok());
    Tensor y = Tensor::zeros(Shape{3, 10}).value();
    REQUIRE(lin.forward(Context{1}, in.view(), y.view(), ws).ok());
    std::vector<double> want(30);
    for (std::size_t r = 0; r < 3; ++r)
      for (std::size_t o = 0; o < 10; ++o) {
        double s = b.data()[o];
        for (std::size_t i = 0; i < 19; ++i) s += double(w.data()[o * 19 + i]) * in.data()[r * 19 + i];
        want[r * 10 + o] = s;
      }
    expect_near(y.data(), want, 1e-6, "linear");
  });
  p.pad_h = 2;
  CHECK(pool2d_output_shape(p, x.shape()).status().message().find("at most half the kernel") !=
        std::string::npos);
}

namespace {

// Every module of this concept from its golden case: y (and the maps) for
// 1, 2 and 3 threads, each ISA; requesting the maps must not change y
// beyond rounding (the position modules then take the materialised path);
// every output matches PyTorch's on every ISA (also under qemu's CPUs).
void check_case_module(const std::string& file) {
  CAPTURE(file);
  Result<Case> c = load_case(std::string(EDGEATTN_CASES_DIR) + "/" + file);
  REQUIRE(c.ok());
  const Module& m = *c->module;
  const std::vector<OutputSpec> specs = m.check(c->inputs).value();
  Workspace ws;
  REQUIRE(ws.reserve(m.workspace_bytes(c->inputs, Context{3})).ok());
  const auto run = [&](int threads, bool maps) {
    ValueMap out;
    for (const OutputSpec& s : specs)
      if (maps || !s.on_request) out[s.name] = Value::zeros(s.type, s.shape).value();
    REQUIRE(m.run(split_ctx(threads), c->inputs, out, ws).ok());
    return out;
  };
  for_each_isa([&](Isa) {
    for (bool maps : {false, true}) {
      const ValueMap one = run(1, maps);
      for (int t : {2, 3})
        for (const auto& [name, v] : one) {
          const ValueMap other = run(t, maps);
          CAPTURE(name);
          CAPTURE(t);
          CHECK(std::memcmp(v.f32(), other.at(name).f32(), v.shape().numel() * 4) == 0);
        }
    }
    const Comparison d = compare(run(1, false).at("y"), run(1, true).at("y"), 1e-6, 1e-5);
    CHECK(d.ok);
    const ValueMap got = run(2, true);  // and PyTorch's outputs, on this ISA
    for (const auto& [name, want] : c->expected) {
      CAPTURE(name);
      CHECK(compare(got.at(name), want, c->atol, c->rtol).ok);
    }
  });
}

}  // namespace

TEST_CASE("CNN attention modules: 1, 2, 3 threads bitwise equal, maps on request") {
  for (const char* f : {"se_c40_7x9_b2", "se_c24_silu_hard_sigmoid_nobias", "eca_c40_k5_7x9_b2",
                        "cbam_channel_c33_r4_bias", "cbam_spatial_k7_c40_7x9", "cbam_c40_7x9_b2",
                        "non_local_c40_r20_7x9_b2", "sagan_c40_7x9_b2"})
    check_case_module(std::string(f) + ".case.safetensors");
}

TEST_CASE("channel attention in place, and one plan serving a smaller map") {
  SqueezeExcite::Weights w;
  w.fc1_weight = tensor(Shape{3, 11}, 51), w.fc1_bias = tensor(Shape{3}, 52);
  w.fc2_weight = tensor(Shape{11, 3}, 53), w.fc2_bias = tensor(Shape{11}, 54);
  CbamChannel ch = CbamChannel::create(std::move(w)).value();
  CbamSpatial sp = CbamSpatial::create(5, tensor(Shape{1, 2, 5, 5}, 55), batch_norm(1, 56)).value();
  Cbam cbam = Cbam::create(std::move(ch), std::move(sp)).value();
  const Shape big{2, 11, 13, 17}, small{1, 11, 5, 3};
  Workspace ws;
  REQUIRE(ws.reserve(cbam.workspace_bytes(big, Context{2})).ok());
  for (const Shape& s : {big, small}) {
    const Tensor x = tensor(s, 57, -2.0f, 2.0f);
    Tensor y = Tensor::zeros(s).value();
    Tensor inplace = tensor(s, 57, -2.0f, 2.0f);
    REQUIRE(cbam.forward(Context{2}, x.view(), y.view(), View(), View(), ws).ok());
    REQUIRE(cbam.forward(Context{2}, inplace.view(), inplace.view(), View(), View(), ws).ok());
    CHECK(same_bits(y, inplace));
    CHECK(ws.used() == 0);
  }
  Workspace tiny;
  REQUIRE(tiny.reserve(64).ok());
  const Tensor x = tensor(big, 58);
  Tensor y = Tensor::zeros(big).value();
  CHECK(cbam.forward(Context{1}, x.view(), y.view(), View(), View(), tiny).code() ==
        StatusCode::out_of_memory);
}

TEST_CASE("CNN attention: errors name the module, tensor and shape") {
  SqueezeExcite::Weights w;
  w.fc1_weight = tensor(Shape{4, 16}, 61), w.fc2_weight = tensor(Shape{16, 5}, 62);
  CHECK(SqueezeExcite::create(Activation::relu, Gate::sigmoid, std::move(w)).status().message() ==
        "se: fc2.weight must be [16, 4], found [16, 5]");
  SqueezeExcite::Weights good;
  good.fc1_weight = tensor(Shape{4, 16}, 61), good.fc2_weight = tensor(Shape{16, 4}, 62);
  SqueezeExcite se = SqueezeExcite::create(Activation::relu, Gate::sigmoid, std::move(good)).value();
  Workspace ws;
  const Tensor x = tensor(Shape{1, 15, 4, 4}, 63);
  Tensor y = Tensor::zeros(Shape{1, 15, 4, 4}).value();
  CHECK(se.forward(Context{1}, x.view(), y.view(), View(), ws).message().find(
            "se: x [1, 15, 4, 4] must be [B, 16, H, W]") != std::string::npos);
  CHECK(EfficientChannelAttention::create(8, tensor(Shape{1, 1, 4}, 64)).status().message().find(
            "odd number of taps") != std::string::npos);
  PositionAttention::Weights pw;
  pw.query_weight = tensor(Shape{2, 16}, 65), pw.query_bias = tensor(Shape{2}, 66);
  pw.key_weight = tensor(Shape{2, 16}, 67), pw.key_bias = tensor(Shape{2}, 68);
  pw.value_weight = tensor(Shape{8, 16}, 69), pw.value_bias = tensor(Shape{8}, 70);
  CHECK(SaganAttention::create(std::move(pw), 0.5f).status().message().find(
            "C/8 = 2 outputs and the value conv C, found 2 and 8") != std::string::npos);
  // Registry: a missing key is named with the shape expected.
  Json config = parse_json(R"({"channels": 16, "rd_channels": 4})").value();
  const Status missing = create_module("se", config, ParamSet("m.safetensors: ")).status();
  CHECK(missing.message() == "m.safetensors: param.fc1.weight: missing (expected shape [4, 16])");
  Json even = parse_json(R"({"channels": 16, "kernel_size": 4})").value();
  CHECK(create_module("eca", even, ParamSet()).status().message().find("must be odd") != std::string::npos);
}
