// Google Benchmarks of the attention workloads (docs/workloads.md):
// W1 scaled-dot self-attention, W2 one decoder query against 50 keys, W9
// hard attention's selection. Planned before timing: weights made, workspace
// reserved, outputs allocated. Counters as bench_kernels (peak_frac against
// the FMA peak of the ISA in use and the same thread count).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "edgeattn/attention.h"
#include "edgeattn/kernels.h"
#include "counters.h"

using namespace edgeattn;

namespace {

std::vector<float> noise(std::size_t n, std::uint32_t seed) {
  std::vector<float> v(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (float& f : v) {
    x = x * 1664525u + 1013904223u;
    f = static_cast<float>(x >> 8) * (2.0f / 16777216.0f) - 1.0f;
  }
  return v;
}

Tensor tensor(const Shape& s, std::uint32_t seed, float scale) {
  Tensor t = Tensor::zeros(s).value();
  const auto v = noise(s.numel(), seed);
  for (std::size_t i = 0; i < v.size(); ++i) t.data()[i] = v[i] * scale;
  return t;
}

// W1: self-attention, query = keys = values = X [1, L, d], context only.
void w1_sdpa(benchmark::State& st, std::size_t L, std::size_t d, int threads) {
  const SoftAttention att = std::move(SoftAttention::create(Score::scaled_dot, {})).value();
  const auto x = noise(L * d, 1);
  std::vector<float> ctx(L * d);
  const Context c{threads};
  Workspace ws;
  if (!ws.reserve(att.workspace_bytes({1, L, L, d, d, d}, c)).ok()) return st.SkipWithError("ws");
  const ConstView xv(x.data(), Shape{1, L, d});
  for (auto _ : st)
    (void)att.forward(c, xv, xv, xv, MaskView(), View(ctx.data(), Shape{1, L, d}), View(), ws);
  bench::count_flops(st, 4.0 * L * L * d, threads);
}

// W2: one decoder query [1, 1, 256] against 50 keys [1, 50, 256], keys = values.
void w2_step(benchmark::State& st, Score score) {
  const std::size_t lk = 50, d = 256, a = 256;
  ScoreWeights w;
  if (score == Score::additive) {
    w.query_proj = tensor(Shape{a, d}, 2, 0.05f);
    w.key_proj = tensor(Shape{a, d}, 3, 0.05f);
    w.v = tensor(Shape{1, a}, 4, 0.1f);
  }
  const SoftAttention att = std::move(SoftAttention::create(score, std::move(w))).value();
  const auto q = noise(d, 5), k = noise(lk * d, 6);
  std::vector<float> ctx(d);
  const Context c{1};
  Workspace ws;
  if (!ws.reserve(att.workspace_bytes({1, 1, lk, d, d, d}, c)).ok()) return st.SkipWithError("ws");
  const ConstView kv(k.data(), Shape{1, lk, d});
  for (auto _ : st)
    (void)att.forward(c, ConstView(q.data(), Shape{1, 1, d}), kv, kv, MaskView(),
                      View(ctx.data(), Shape{1, 1, d}), View(), ws);
  bench::count_flops(st, score == Score::additive ? 6735872.0 : 51200.0, 1);
}

// W2 with the key projection computed once beforehand, as a seq2seq decoder
// does: the per-step work is the query projection and the scores.
void w2_pre(benchmark::State& st, WeightType type) {
  const std::size_t lk = 50, d = 256, a = 256;
  ScoreWeights w;
  w.query_proj = tensor(Shape{a, d}, 2, 0.05f);
  w.key_proj = tensor(Shape{a, d}, 3, 0.05f);
  w.v = tensor(Shape{1, a}, 4, 0.1f);
  const SoftAttention att = std::move(SoftAttention::create(Score::additive, std::move(w), type)).value();
  const auto q = noise(d, 5), k = noise(lk * d, 6);
  std::vector<float> ctx(d), cache(lk * a);
  const Context c{1};
  Workspace ws;
  if (!ws.reserve(att.workspace_bytes({1, 1, lk, d, d, d}, c)).ok()) return st.SkipWithError("ws");
  const ConstView kv(k.data(), Shape{1, lk, d});
  if (!att.project_keys(c, kv, View(cache.data(), Shape{1, lk, a}), ws).ok()) return st.SkipWithError("keys");
  for (auto _ : st)
    (void)att.forward_cached(c, ConstView(q.data(), Shape{1, 1, d}), ConstView(cache.data(), Shape{1, lk, a}),
                             kv, MaskView(), View(ctx.data(), Shape{1, 1, d}), View(), ws);
  bench::count_flops(st, 182272.0, 1);
}

// W9: argmax and one seeded sample per row of 64 x 1024 scores.
void w9(benchmark::State& st, bool sample) {
  const std::size_t rows = 64, n = 1024;
  const auto s = noise(rows * n, 7);
  std::vector<std::int64_t> idx(rows);
  const Context c{1};
  Workspace ws;
  if (!ws.reserve(sample_rows_workspace_bytes(n, c)).ok()) return st.SkipWithError("ws");
  std::uint64_t seed = 0;
  for (auto _ : st) {
    if (sample) {
      (void)sample_rows(c, ConstView(s.data(), Shape{rows, n}), MaskView(), ++seed, 0, 1, idx.data(), ws);
    } else {
      for (std::size_t r = 0; r < rows; ++r) idx[r] = static_cast<std::int64_t>(kernels::argmax(s.data() + r * n, n));
    }
    benchmark::DoNotOptimize(idx.data());
  }
  st.counters["GBps"] = benchmark::Counter(rows * n * 4.0 * st.iterations() * 1e-9,
                                           benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  for (std::size_t L : {128u, 1024u, 4096u})
    bench::register_threads("W1_sdpa_L" + std::to_string(L) + "_d64",
                            [=](benchmark::State& st, int t) { w1_sdpa(st, L, 64, t); });
  // The attention inside W6's non-local 32x32 (N = 1024, 32 inner channels),
  // without its projections and output conv: what the 4 N^2 R flops cost alone.
  bench::register_threads("sdpa_L1024_d32", [](benchmark::State& st, int t) { w1_sdpa(st, 1024, 32, t); });
  benchmark::RegisterBenchmark("W2_luong_dot", [](benchmark::State& st) { w2_step(st, Score::dot); });
  benchmark::RegisterBenchmark("W2_bahdanau_full", [](benchmark::State& st) { w2_step(st, Score::additive); })
      ->Unit(benchmark::kMicrosecond);
  for (WeightType type : {WeightType::f32, WeightType::bf16, WeightType::f16, WeightType::i8})
    benchmark::RegisterBenchmark(
        (std::string("W2_bahdanau_pre") + (type == WeightType::f32 ? "" : std::string("/") + weight_type_name(type)))
            .c_str(),
        [=](benchmark::State& st) { w2_pre(st, type); });
  benchmark::RegisterBenchmark("W9_argmax_64x1024", [](benchmark::State& st) { w9(st, false); });
  benchmark::RegisterBenchmark("W9_multinomial_64x1024", [](benchmark::State& st) { w9(st, true); });
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
