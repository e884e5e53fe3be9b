// Google Benchmarks: every kernel on every ISA available here, and the
// machine's peaks. Counters: GFLOPS / GBps (rates) and peak_frac, the fraction
// of the measured FMA peak of the same ISA and thread count.
//   build/bench/bench_kernels --benchmark_filter=gemm
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "edgeattn/edgeattn.h"
#include "kernels/module_kernels.h"
#include "kernels/table.h"
#include "peak.h"

using namespace edgeattn;

namespace {

std::vector<float> filled(std::size_t n, float v) { return std::vector<float>(n, v); }
std::vector<float> ramp(std::size_t n, float lo, float hi) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * float((i * 7919) % n) / float(n);
  return v;
}

// Runs `body` per iteration on `isa` and reports rates; `flops` and `bytes`
// count one call's work. peak_frac divides by the FMA peak of the same ISA
// and thread count, measured once per process.
template <class F>
void timed(benchmark::State& state, Isa isa, int threads, double flops, double bytes, F body) {
  if (!set_isa(isa).ok()) {
    state.SkipWithError("ISA not available");
    return;
  }
  const double peak = flops > 0 ? bench::fma_peak_gflops(isa, threads) : 0;
  for (auto _ : state) body();
  const double n = static_cast<double>(state.iterations());
  using benchmark::Counter;
  if (flops > 0) {
    state.counters["GFLOPS"] = Counter(flops * n * 1e-9, Counter::kIsRate);
    state.counters["peak_frac"] = Counter(flops * n * 1e-9 / peak, Counter::kIsRate);
  }
  if (bytes > 0) state.counters["GBps"] = Counter(bytes * n * 1e-9, Counter::kIsRate);
  (void)set_isa("auto");
}

void register_peaks() {
  for (Isa isa : available_isas())
    for (int threads : {1, 2}) {
      const std::string name = std::string("peak/fma/") + isa_name(isa) +
                               "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(name.c_str(), [isa, threads](benchmark::State& st) {
        double g = 0;
        for (auto _ : st) g = bench::measure_fma_peak_gflops(isa, threads);
        st.counters["GFLOPS"] = g;
      })->Iterations(1)->Unit(benchmark::kMillisecond);
    }
  struct Size {
    const char* name;
    std::size_t bytes;
  };
  for (Size s : {Size{"L1_24KiB", 24 << 10}, Size{"L2_768KiB", 768 << 10},
                 Size{"DRAM_256MiB", std::size_t(256) << 20}})
    for (int threads : {1, 2}) {
      const std::string name = std::string("peak/triad/") + s.name +
                               "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(name.c_str(), [s, threads](benchmark::State& st) {
        double g = 0;
        for (auto _ : st) g = bench::measure_triad_gbps(s.bytes, threads);
        st.counters["GBps"] = g;
      })->Iterations(1)->Unit(benchmark::kMillisecond);
    }
}

void register_vector_kernels(Isa isa) {
  const std::string p = std::string("/") + isa_name(isa);
  const std::size_t n = 4096;
  auto reg = [&](const std::string& name, double flops, double bytes, auto body) {
    benchmark::RegisterBenchmark((name + p).c_str(), [=](benchmark::State& st) {
      timed(st, isa, 1, flops, bytes, body);
    });
  };
  // The same with data made when the benchmark runs (setup() returns the
  // body), not when it is registered: a program run that filters it out,
  // e.g. a smoke test under qemu, does not pay for 48 MiB of weights.
  auto reg_setup = [&](const std::string& name, double flops, double bytes, auto setup) {
    benchmark::RegisterBenchmark((name + p).c_str(), [=](benchmark::State& st) {
      timed(st, isa, 1, flops, bytes, setup());
    });
  };
  auto x = std::make_shared<std::vector<float>>(ramp(n, -5, 5));
  auto y = std::make_shared<std::vector<float>>(filled(n, 1.0f));
  reg("dot/4096", 2.0 * n, 8.0 * n,
      [=] { benchmark::DoNotOptimize(kernels::dot(x->data(), y->data(), n)); });
  reg("axpy/4096", 2.0 * n, 12.0 * n, [=] {
    kernels::axpy(1e-7f, x->data(), y->data(), n);
    benchmark::ClobberMemory();
  });
  reg("add/4096", 1.0 * n, 12.0 * n, [=] { kernels::add(x->data(), y->data(), y->data(), n); });
  reg("mul/4096", 1.0 * n, 12.0 * n, [=] { kernels::mul(x->data(), y->data(), y->data(), n); });
  reg("scale/4096", 1.0 * n, 8.0 * n, [=] { kernels::scale(1.0f, x->data(), y->data(), n); });
  reg("add_scalar/4096", 1.0 * n, 8.0 * n,
      [=] { kernels::add_scalar(x->data(), 0.0f, y->data(), n); });
  reg("argmax/4096", 0, 4.0 * n,
      [=] { benchmark::DoNotOptimize(kernels::argmax(x->data(), n)); });
  reg("reduce_sum/4096", 1.0 * n, 4.0 * n,
      [=] { benchmark::DoNotOptimize(kernels::reduce_sum(x->data(), n)); });
  reg("reduce_max/4096", 0, 4.0 * n,
      [=] { benchmark::DoNotOptimize(kernels::reduce_max(x->data(), n)); });
  auto out = std::make_shared<std::vector<float>>(n);
  for (const char* fn : {"exp", "exp_lanes16", "tanh", "sigmoid"}) {
    const std::string f = fn;
    benchmark::RegisterBenchmark((f + "/4096" + p).c_str(), [=](benchmark::State& st) {
      auto k = f == "exp" ? kernels::exp : f == "tanh" ? kernels::tanh : kernels::sigmoid;
      timed(st, isa, 1, 0, 8.0 * n, [&] {
        float lanes[16];
        if (f == "exp_lanes16")  // sampling's weights: exp(x - shift) and 16 lane sums
          kernels::exp_lanes16(x->data(), nullptr, n, 1.0f, out->data(), lanes);
        else
          k(x->data(), out->data(), n);
      });
      st.counters["Gelem_per_s"] = benchmark::Counter(double(n) * st.iterations() * 1e-9,
                                                      benchmark::Counter::kIsRate);
    });
  }
  // Row softmax over 64 rows of 1024 (attention score rows).
  const std::size_t rows = 64, len = 1024;
  auto s = std::make_shared<std::vector<float>>(ramp(rows * len, -10, 10));
  auto sy = std::make_shared<std::vector<float>>(rows * len);
  benchmark::RegisterBenchmark(("softmax/64x1024" + p).c_str(), [=](benchmark::State& st) {
    timed(st, isa, 1, 0, 8.0 * rows * len, [&] {
      for (std::size_t r = 0; r < rows; ++r)
        kernels::softmax(s->data() + r * len, nullptr, sy->data() + r * len, len);
    });
    st.counters["Gelem_per_s"] = benchmark::Counter(double(rows * len) * st.iterations() * 1e-9,
                                                    benchmark::Counter::kIsRate);
  });
  // GEMV 256 x 256 (a decoder's recurrent weights).
  const std::size_t gm = 256, gk = 256;
  auto a = std::make_shared<std::vector<float>>(ramp(gm * gk, -1, 1));
  auto gx = std::make_shared<std::vector<float>>(ramp(gk, -1, 1));
  auto gy = std::make_shared<std::vector<float>>(gm);
  reg("gemv/256x256", 2.0 * gm * gk, 4.0 * gm * gk, [=] {
    kernels::gemv(gm, gk, 1.0f, a->data(), gk, gx->data(), 0.0f, gy->data());
  });
  // A^T x: attention weights of 50 keys times their 256-wide values.
  reg("gemv_t/50x256", 2.0 * 50 * 256, 4.0 * 50 * 256, [=] {
    kernels::gemv_t(50, 256, 1.0f, a->data(), 256, gx->data(), 0.0f, gy->data());
  });
  // Bahdanau scores: 50 keys, attention width 256 (tanh-bound).
  reg("additive_scores/50x256", 3.0 * 50 * 256, 4.0 * 50 * 256, [=] {
    kernels::additive_scores(gx->data(), a->data(), 256, 50, 256, gx->data(), gy->data());
  });
  // Recurrent products from packed panels, alternating direction per call as
  // the RNN steps do: an LSTM of hidden 64 (64 KB in f32, W8), a GRU
  // decoder of hidden 256 (768 KB, W7) and one of hidden 2048 (48 MiB in
  // f32: past the L3, where a step's time is its bytes over the DRAM
  // bandwidth); and a decoder's 256 x 256 query projection as a GEMV, in
  // each weight type (bytes: the weights').
  for (WeightType type : {WeightType::f32, WeightType::bf16, WeightType::f16, WeightType::i8}) {
    const std::string suffix = type == WeightType::f32 ? "" : std::string("/") + weight_type_name(type);
    const double size = static_cast<double>(weight_type_bytes(type));
    const auto typed = [type](std::size_t rows, std::size_t cols) {
      const auto w = ramp(rows * cols, -1, 1);
      return std::move(Weights::quantize(ConstView(w.data(), Shape{rows, cols}), type, "w")).value();
    };
    for (std::size_t hidden : {64u, 256u, 2048u}) {
      const std::size_t g = (hidden == 64 ? 4 : 3) * hidden;
      reg_setup("gemv_t_panels/" + std::to_string(hidden) + "x" + std::to_string(g) + suffix, 2.0 * hidden * g,
                size * hidden * g, [=] {
                  auto panels = std::make_shared<kernels::GemvPanels>(
                      std::move(kernels::GemvPanels::pack(typed(g, hidden))).value());
                  auto px = std::make_shared<std::vector<float>>(ramp(hidden, -1, 1));
                  auto py = std::make_shared<std::vector<float>>(g);
                  auto odd = std::make_shared<bool>(false);
                  return [=] {
                    kernels::gemv_t_panels(*panels, px->data(), nullptr, py->data(), *odd);
                    *odd = !*odd;
                  };
                });
    }
    reg_setup("gemv_w/256x256" + suffix, 2.0 * 256 * 256, size * 256 * 256, [=] {
      auto q = std::make_shared<Weights>(typed(256, 256));
      return [=] { kernels::gemv_w(256, 256, 1.0f, q->view(), gx->data(), 0.0f, gy->data()); };
    });
  }
  // CBAM's spatial conv: 2 zero-padded 38 x 38 planes, 7 x 7 taps, into one
  // 32 x 32 plane.
  const std::size_t ck = 7, co = 32, cw = co + ck - 1;
  auto cx = std::make_shared<std::vector<float>>(ramp(2 * cw * cw, -1, 1));
  auto cwt = std::make_shared<std::vector<float>>(ramp(2 * ck * ck, -0.2f, 0.2f));
  auto cy = std::make_shared<std::vector<float>>(co * co);
  reg("conv_rows/2x7x7_32x32", 2.0 * 2 * ck * ck * co * co, 4.0 * (2 * cw * cw + co * co), [=] {
    std::fill(cy->begin(), cy->end(), 0.0f);
    for (std::size_t c = 0; c < 2; ++c)
      kernels::conv_rows(cx->data() + c * cw * cw, cw, cwt->data() + c * ck * ck, ck, ck, cy->data(), co, co, co);
  });
  // One online-softmax step over a tile of 6 x 256 scores and 6 x 64
  // outputs (the streaming kernel's at d = 64 on AVX2).
  auto blk = std::make_shared<std::vector<float>>(6 * 256), acc = std::make_shared<std::vector<float>>(6 * 64);
  benchmark::RegisterBenchmark(("online_softmax2/6x256" + p).c_str(), [=](benchmark::State& st) {
    timed(st, isa, 1, 0, 8.0 * 6 * 256, [&] {
      std::copy(s->begin(), s->begin() + 6 * 256, blk->begin());
      float m[6], l[6];
      for (int r = 0; r < 6; ++r) m[r] = 0.5f, l[r] = 1.0f;
      detail::active_table().online_softmax2(blk->data(), 256, 6, 256, m, l, acc->data(), 64, 64);
      benchmark::DoNotOptimize(l[5]);
    });
  });
}

// GEMM through the threaded operator (1 thread = the kernel itself);
// packed: B packed once beforehand, as layers pack their weights at load;
// act: a conv's epilogue (a bias and that activation as the tiles store).
void register_gemm(Isa isa, std::size_t m, std::size_t n, std::size_t k, bool trans_b,
                   int threads, bool packed = false, Activation act = Activation::none) {
  const std::string name = "gemm/" + std::to_string(m) + "x" + std::to_string(n) + "x" +
                           std::to_string(k) + (trans_b ? "_NT" : "_NN") + (packed ? "_packed" : "") +
                           (act != Activation::none ? std::string("_bias_") + activation_name(act) : "") + "/" +
                           isa_name(isa) + "/threads:" + std::to_string(threads);
  benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) {
    const auto a = ramp(m * k, -1, 1), b = ramp(n * k, -1, 1);
    std::vector<float> c(m * n);
    kernels::GemmArgs g;
    g.m = m, g.n = n, g.k = k, g.a = a.data(), g.lda = k, g.b = b.data();
    g.ldb = trans_b ? k : n, g.trans_b = trans_b, g.c = c.data(), g.ldc = n;
    if (act != Activation::none) g.bias = a.data(), g.act = act;
    const Context ctx{threads};
    Workspace ws;
    if (!set_isa(isa).ok() || !ws.reserve(matmul_workspace_bytes(ctx, m, n, k)).ok()) {
      st.SkipWithError("setup failed");
      return;
    }
    kernels::PackedB pb;
    if (packed) {
      Result<kernels::PackedB> r = kernels::PackedB::pack(b.data(), g.ldb, trans_b, k, n);
      if (!r.ok()) return st.SkipWithError("packing failed");
      pb = std::move(r).value();
      g.packed_b = &pb;
    }
    timed(st, isa, threads, 2.0 * m * n * k, 0, [&] { (void)matmul(ctx, g, ws); });
  })->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  register_peaks();
  for (Isa isa : available_isas()) {
    register_vector_kernels(isa);
    const std::vector<int> threads = isa == available_isas().back() ? std::vector<int>{1, 2}
                                                                    : std::vector<int>{1};
    for (int t : threads) {
      if (isa != Isa::scalar) register_gemm(isa, 256, 256, 256, false, t);
      register_gemm(isa, 1024, 1024, 64, true, t);
    }
    if (isa == available_isas().back()) {  // seq2seq's per-sentence M W_ic^T (W7)
      register_gemm(isa, 30, 768, 256, true, 1, true);
      // efficientnet_b0's 1x1 convs W [O, C] X [C, HW]: an expansion on the
      // 112x112 map, a projection and an expansion on the 56x56 one, an
      // expansion on the 14x14 map, and the 7x7 map's projection and head
      for (const auto& [m, n, k] : {std::tuple<std::size_t, std::size_t, std::size_t>{96, 12544, 16},
                                    {24, 3136, 144}, {144, 3136, 24}, {672, 196, 112}, {320, 49, 1152},
                                    {1280, 49, 320}})
        for (Activation act : {Activation::none, Activation::silu}) register_gemm(isa, m, n, k, false, 1, false, act);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
