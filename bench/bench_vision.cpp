// Google Benchmarks of the CNN attention workloads (docs/workloads.md): W3
// SE, W4 CBAM, W5 ECA (bytes = passes over the activation; l2_frac against
// this machine's measured triad over an L2-sized working set) and W6
// non-local (flops of its two N x N matmuls, 4 N^2 R; peak_frac against the
// FMA peak). Planned before timing: weights made (BatchNorm
// folded), workspace reserved, outputs allocated.
#include <benchmark/benchmark.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "edgeattn/vision.h"
#include "counters.h"

using namespace edgeattn;

namespace {

Tensor tensor(const Shape& s, std::uint32_t seed, float lo, float hi) {
  Tensor t = Tensor::zeros(s).value();
  std::uint32_t x = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < s.numel(); ++i) {
    x = x * 1664525u + 1013904223u;
    t.data()[i] = lo + (hi - lo) * static_cast<float>(x >> 8) / 16777216.0f;
  }
  return t;
}

BatchNorm batch_norm(std::size_t c, std::uint32_t seed) {
  BatchNorm bn;
  bn.weight = tensor(Shape{c}, seed, 0.5f, 1.5f);
  bn.bias = tensor(Shape{c}, seed + 1, -0.5f, 0.5f);
  bn.running_mean = tensor(Shape{c}, seed + 2, -0.5f, 0.5f);
  bn.running_var = tensor(Shape{c}, seed + 3, 0.5f, 2.0f);
  return bn;
}

SqueezeExcite::Weights mlp(std::size_t c, std::size_t r, bool bias) {
  SqueezeExcite::Weights w;
  w.fc1_weight = tensor(Shape{r, c}, 1, -0.2f, 0.2f);
  w.fc2_weight = tensor(Shape{c, r}, 2, -0.2f, 0.2f);
  if (bias) w.fc1_bias = tensor(Shape{r}, 3, -0.1f, 0.1f), w.fc2_bias = tensor(Shape{c}, 4, -0.1f, 0.1f);
  return w;
}

// The L2-resident triad bandwidth per thread count (the GB/s ceiling here).
double l2_triad_gbps(int threads) {
  static std::map<int, double> cache;
  auto it = cache.find(threads);
  if (it == cache.end())
    it = cache.emplace(threads, bench::measure_triad_gbps(std::size_t(768) << 10, threads)).first;
  return it->second;
}

// Times fwd(ctx, x, y, ws) on x of shape s; counts `bytes` or `flops`.
template <class Fwd>
void run(benchmark::State& st, const Shape& s, int threads, std::size_t ws_bytes, double bytes,
         double flops, Fwd fwd) {
  const Tensor x = tensor(s, 9, -1.0f, 1.0f);
  Tensor y = Tensor::zeros(s).value();
  const Context ctx{threads};
  Workspace ws;
  if (!ws.reserve(ws_bytes).ok()) return st.SkipWithError("workspace");
  if (!fwd(ctx, x.view(), y.view(), ws).ok()) return st.SkipWithError("forward failed");
  for (auto _ : st) {
    (void)fwd(ctx, x.view(), y.view(), ws);
    benchmark::DoNotOptimize(y.data());
  }
  using benchmark::Counter;
  const double n = static_cast<double>(st.iterations());
  if (bytes > 0) {
    st.counters["GBps"] = Counter(bytes * n * 1e-9, Counter::kIsRate);
    st.counters["l2_frac"] = Counter(bytes * n * 1e-9 / l2_triad_gbps(threads), Counter::kIsRate);
  }
  if (flops > 0) bench::count_flops(st, flops, threads);
}

void se(benchmark::State& st, std::size_t c, std::size_t hw, std::size_t r, int threads) {
  const SqueezeExcite m =
      std::move(SqueezeExcite::create(Activation::relu, Gate::sigmoid, mlp(c, r, true))).value();
  const Shape s{1, c, hw, hw};
  run(st, s, threads, m.workspace_bytes(s, Context{threads}), 3.0 * s.numel() * 4, 0,
      [&](const Context& ctx, ConstView x, View y, Workspace& ws) { return m.forward(ctx, x, y, View(), ws); });
}

void eca(benchmark::State& st, int threads) {
  const EfficientChannelAttention m =
      std::move(EfficientChannelAttention::create(256, tensor(Shape{1, 1, 5}, 5, -0.5f, 0.5f))).value();
  const Shape s{1, 256, 14, 14};
  run(st, s, threads, m.workspace_bytes(s, Context{threads}), 3.0 * s.numel() * 4, 0,
      [&](const Context& ctx, ConstView x, View y, Workspace& ws) { return m.forward(ctx, x, y, View(), ws); });
}

void cbam(benchmark::State& st, int threads) {
  CbamChannel ch = std::move(CbamChannel::create(mlp(64, 4, false))).value();
  CbamSpatial sp =
      std::move(CbamSpatial::create(7, tensor(Shape{1, 2, 7, 7}, 6, -0.2f, 0.2f), batch_norm(1, 7))).value();
  const Cbam m = std::move(Cbam::create(std::move(ch), std::move(sp))).value();
  const Shape s{1, 64, 32, 32};
  run(st, s, threads, m.workspace_bytes(s, Context{threads}), 4.0 * s.numel() * 4, 0,
      [&](const Context& ctx, ConstView x, View y, Workspace& ws) {
        return m.forward(ctx, x, y, View(), View(), ws);
      });
}

void non_local(benchmark::State& st, std::size_t hw, int threads) {
  const std::size_t c = 64, r = 32, n = hw * hw;
  NonLocal::Weights w;
  w.tpg.query_weight = tensor(Shape{r, c}, 11, -0.2f, 0.2f), w.tpg.query_bias = tensor(Shape{r}, 12, -0.1f, 0.1f);
  w.tpg.key_weight = tensor(Shape{r, c}, 13, -0.2f, 0.2f), w.tpg.key_bias = tensor(Shape{r}, 14, -0.1f, 0.1f);
  w.tpg.value_weight = tensor(Shape{r, c}, 15, -0.2f, 0.2f), w.tpg.value_bias = tensor(Shape{r}, 16, -0.1f, 0.1f);
  w.z_weight = tensor(Shape{c, r}, 17, -0.2f, 0.2f), w.z_bias = tensor(Shape{c}, 18, -0.1f, 0.1f);
  w.norm = batch_norm(c, 19);
  const NonLocal m = std::move(NonLocal::create(true, std::move(w))).value();
  const Shape s{1, c, hw, hw};
  run(st, s, threads, m.workspace_bytes(s, Context{threads}), 0, 4.0 * n * n * r,
      [&](const Context& ctx, ConstView x, View y, Workspace& ws) { return m.forward(ctx, x, y, View(), ws); });
}

// A conv layer of mobilenet_v3_small or efficientnet_b0 at 224x224,
// BatchNorm folded and the activation fused (hardswish, efficientnet's
// SiLU): in channels, out channels, kernel, stride, groups, side of the
// input map; gated: a 1x1 projection after SE, its input scaled per
// channel (forward_gated).
void conv(benchmark::State& st, std::size_t ci, std::size_t co, std::size_t k, std::size_t stride,
          std::size_t groups, std::size_t hw, int threads, bool gated = false, Activation act = Activation::hardswish) {
  Conv2dParams p;
  p.in_channels = ci, p.out_channels = co, p.kernel_h = p.kernel_w = k, p.stride_h = p.stride_w = stride;
  p.pad_h = p.pad_w = k / 2, p.groups = groups, p.act = act;
  const Tensor w = tensor(Shape{co, ci / groups, k, k}, 21, -0.2f, 0.2f);
  const BatchNorm bn = batch_norm(co, 22);
  const Conv2d m = std::move(Conv2d::create(p, w, Tensor(), &bn)).value();
  const Shape s{1, ci, hw, hw}, out = m.output_shape(s).value();
  const Tensor x = tensor(s, 9, -1.0f, 1.0f);
  Tensor y = Tensor::zeros(out).value();
  const Context ctx{threads};
  const Tensor gate = tensor(Shape{1, ci, 1, 1}, 23, 0.0f, 1.0f);
  Workspace ws;
  if (!ws.reserve(gated ? m.gated_workspace_bytes(s, ctx) : m.workspace_bytes(s, ctx)).ok())
    return st.SkipWithError("workspace");
  for (auto _ : st) {
    const Status done = gated ? m.forward_gated(ctx, x.view(), gate.view(), y.view(), ws)
                              : m.forward(ctx, x.view(), y.view(), ws);
    if (!done.ok()) return st.SkipWithError("forward failed");
    benchmark::DoNotOptimize(y.data());
  }
  bench::count_flops(st, 2.0 * out.numel() * (ci / groups) * k * k, threads);
}

}  // namespace

int main(int argc, char** argv) {
  using bench::register_threads;
  register_threads("W3_se_64x32x32", [](benchmark::State& st, int t) { se(st, 64, 32, 4, t); });
  register_threads("W3_se_256x14x14", [](benchmark::State& st, int t) { se(st, 256, 14, 16, t); });
  register_threads("W4_cbam_64x32x32", cbam);
  register_threads("W5_eca_256x14x14", eca);
  register_threads("W6_nonlocal_64x16x16", [](benchmark::State& st, int t) { non_local(st, 16, t); });
  register_threads("W6_nonlocal_64x32x32", [](benchmark::State& st, int t) { non_local(st, 32, t); });
  register_threads("conv_stem_3x3s2_3to16_224", [](benchmark::State& st, int t) { conv(st, 3, 16, 3, 2, 1, 224, t); });
  register_threads("conv_dw_3x3s2_16_112", [](benchmark::State& st, int t) { conv(st, 16, 16, 3, 2, 16, 112, t); });
  register_threads("conv_dw_3x3s1_32_112", [](benchmark::State& st, int t) { conv(st, 32, 32, 3, 1, 32, 112, t, false, Activation::silu); });
  register_threads("conv_dw_3x3s2_96_112", [](benchmark::State& st, int t) { conv(st, 96, 96, 3, 2, 96, 112, t, false, Activation::silu); });
  register_threads("conv_dw_3x3s1_144_56", [](benchmark::State& st, int t) { conv(st, 144, 144, 3, 1, 144, 56, t, false, Activation::silu); });
  register_threads("conv_dw_5x5s2_144_56", [](benchmark::State& st, int t) { conv(st, 144, 144, 5, 2, 144, 56, t, false, Activation::silu); });
  register_threads("conv_dw_5x5s1_240_28", [](benchmark::State& st, int t) { conv(st, 240, 240, 5, 1, 240, 28, t, false, Activation::silu); });
  register_threads("conv_dw_5x5s1_240_14", [](benchmark::State& st, int t) { conv(st, 240, 240, 5, 1, 240, 14, t); });
  register_threads("conv_1x1_16to72_56", [](benchmark::State& st, int t) { conv(st, 16, 72, 1, 1, 1, 56, t); });
  register_threads("conv_1x1_16to96_112", [](benchmark::State& st, int t) { conv(st, 16, 96, 1, 1, 1, 112, t, false, Activation::silu); });
  register_threads("conv_1x1_96to576_7", [](benchmark::State& st, int t) { conv(st, 96, 576, 1, 1, 1, 7, t); });
  register_threads("conv_1x1_192to1152_7", [](benchmark::State& st, int t) { conv(st, 192, 1152, 1, 1, 1, 7, t, false, Activation::silu); });
  register_threads("conv_1x1_320to1280_7", [](benchmark::State& st, int t) { conv(st, 320, 1280, 1, 1, 1, 7, t, false, Activation::silu); });
  register_threads("conv_1x1_112to672_14", [](benchmark::State& st, int t) { conv(st, 112, 672, 1, 1, 1, 14, t, false, Activation::silu); });
  register_threads("conv_1x1_40to240_14", [](benchmark::State& st, int t) { conv(st, 40, 240, 1, 1, 1, 14, t); });
  register_threads("conv_1x1_gated_1152to320_7", [](benchmark::State& st, int t) { conv(st, 1152, 320, 1, 1, 1, 7, t, true, Activation::none); });
  register_threads("conv_1x1_gated_672to112_14", [](benchmark::State& st, int t) { conv(st, 672, 112, 1, 1, 1, 14, t, true, Activation::none); });
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
