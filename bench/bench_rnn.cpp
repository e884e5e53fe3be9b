// Google Benchmarks of the recurrent workloads (docs/workloads.md):
// W7 seq2seq greedy decoding of a 30-token source into exactly 30 steps
// (vocab 64, emb 64, bi-GRU 128 per direction, decoder 256, additive 256),
// beam search with k = 4 on the same model, and W8 the LSTM + self-attention
// forecaster (1 feature, hidden 64, 4 heads, window 96, horizon 1). Latency
// per call; planned before timing. The model's eos has an output bias of
// -1e4 so that no decoder stops early: every run takes its 30 steps.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "edgeattn/rnn.h"
#include "counters.h"

using namespace edgeattn;

namespace {

Tensor tensor(const Shape& s, std::uint32_t seed, float scale) {
  Tensor t = Tensor::zeros(s).value();
  std::uint32_t x = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < s.numel(); ++i) {
    x = x * 1664525u + 1013904223u;
    t.data()[i] = scale * (static_cast<float>(x >> 8) * (2.0f / 16777216.0f) - 1.0f);
  }
  return t;
}

RnnWeights rnn(std::size_t gates, std::size_t in, std::size_t h, std::uint32_t seed) {
  RnnWeights w;
  const float s = 1.0f / static_cast<float>(h) * 8.0f;
  w.weight_ih = tensor(Shape{gates * h, in}, seed, s), w.weight_hh = tensor(Shape{gates * h, h}, seed + 1, s);
  w.bias_ih = tensor(Shape{gates * h}, seed + 2, 0.1f), w.bias_hh = tensor(Shape{gates * h}, seed + 3, 0.1f);
  return w;
}

Seq2Seq w7_model(WeightType type) {
  Seq2SeqConfig c;
  c.src_vocab = c.tgt_vocab = 64, c.emb = 64, c.enc_hidden = 128, c.dec_hidden = 256;
  c.attention = Score::additive, c.attn_hidden = 256, c.bos = 1, c.eos = 2, c.max_len = 30;
  Seq2SeqWeights w;
  w.enc_embedding = tensor(Shape{64, 64}, 1, 1.0f), w.dec_embedding = tensor(Shape{64, 64}, 2, 1.0f);
  w.enc_forward = rnn(3, 64, 128, 10), w.enc_reverse = rnn(3, 64, 128, 20);
  w.bridge_weight = tensor(Shape{256, 256}, 30, 0.06f), w.bridge_bias = tensor(Shape{256}, 31, 0.1f);
  w.attention.query_proj = tensor(Shape{256, 256}, 32, 0.06f), w.attention.query_bias = tensor(Shape{256}, 33, 0.1f);
  w.attention.key_proj = tensor(Shape{256, 256}, 34, 0.06f), w.attention.v = tensor(Shape{1, 256}, 35, 0.1f);
  w.dec_rnn = rnn(3, 64 + 256, 256, 40);
  w.out_weight = tensor(Shape{64, 256 + 256 + 64}, 50, 0.1f), w.out_bias = tensor(Shape{64}, 51, 0.1f);
  w.out_bias.data()[2] = -1e4f;  // eos is never produced
  return std::move(Seq2Seq::create(c, std::move(w), type)).value();
}

std::vector<std::int64_t> source() {
  std::vector<std::int64_t> src(30);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<std::int64_t>((i * 37 + 11) % 64);
  return src;
}

// Weight elements one W7 sentence reads: per source token both encoder
// directions' W_hh; per decoder step W_hh, the attention's W_q and the
// output's state block; once per sentence both W_ih, W_k, the output's and
// the GRU input's context blocks and the bridge.
constexpr double kW7Elements = 30.0 * (2 * 384 * 128 + 768 * 256 + 256 * 256 + 64 * 256) +
                               (2 * 384 * 64 + 256 * 256 + 768 * 256 + 64 * 256 + 256 * 256);

void w7(benchmark::State& st, std::size_t beam, int threads, WeightType type) {
  const Seq2Seq m = w7_model(type);
  const auto src = source();
  const Context ctx{threads};
  Workspace ws;
  if (!ws.reserve(m.workspace_bytes(1, 30, beam, ctx)).ok()) return st.SkipWithError("workspace");
  std::vector<std::int64_t> tokens(30);
  Seq2Seq::Hypothesis h;
  h.tokens = tokens.data();
  Seq2Seq::BeamOptions opt;
  opt.width = beam;
  for (auto _ : st) {
    const Status s = beam ? m.beam_search(ctx, src.data(), 30, opt, h, ws)
                          : m.greedy(ctx, src.data(), 1, 30, nullptr, 30, false, tokens.data(), nullptr,
                                     nullptr, nullptr, ws);
    if (!s.ok()) return st.SkipWithError(s.message().c_str());
    benchmark::DoNotOptimize(tokens.data());
  }
  if (!beam) bench::count_flops(st, 46518272.0, threads);
  using benchmark::Counter;
  const double bytes = kW7Elements * static_cast<double>(weight_type_bytes(type));
  st.counters["weight_bytes"] = static_cast<double>(m.weight_bytes());
  st.counters["step_bytes"] = bytes / 30.0;  // weights read per decoder step, encoder share included
  st.counters["GBps"] = Counter(bytes * static_cast<double>(st.iterations()) * 1e-9, Counter::kIsRate);
}

void w8(benchmark::State& st, int threads, WeightType type) {
  const std::size_t h = 64, t = 96;
  AttentionForecaster::Weights w;
  w.lstm = rnn(4, 1, h, 60);
  w.attn.in_proj_weight = tensor(Shape{3 * h, h}, 61, 0.15f), w.attn.in_proj_bias = tensor(Shape{3 * h}, 62, 0.1f);
  w.attn.out_proj_weight = tensor(Shape{h, h}, 63, 0.15f), w.attn.out_proj_bias = tensor(Shape{h}, 64, 0.1f);
  w.head_weight = tensor(Shape{1, 2 * h}, 65, 0.1f), w.head_bias = tensor(Shape{1}, 66, 0.1f);
  const AttentionForecaster m = std::move(AttentionForecaster::create(1, h, 4, 1, std::move(w), type)).value();
  const Tensor x = tensor(Shape{1, t, 1}, 67, 1.0f);
  Tensor y = Tensor::zeros(Shape{1, 1}).value();
  const Context ctx{threads};
  Workspace ws;
  if (!ws.reserve(m.workspace_bytes(1, t, ctx)).ok()) return st.SkipWithError("workspace");
  for (auto _ : st) {
    (void)m.forward(ctx, x.view(), y.view(), View(), ws);
    benchmark::DoNotOptimize(y.data());
  }
  bench::count_flops(st, 8700160.0, threads);
  st.counters["weight_bytes"] = static_cast<double>(m.weight_bytes());
}

}  // namespace

int main(int argc, char** argv) {
  using bench::register_threads;
  const WeightType f32 = WeightType::f32;
  register_threads("W7_seq2seq_greedy30", [=](benchmark::State& st, int t) { w7(st, 0, t, f32); });
  register_threads("W7_seq2seq_beam4", [=](benchmark::State& st, int t) { w7(st, 4, t, f32); });
  register_threads("W8_lstm96_attn", [=](benchmark::State& st, int t) { w8(st, t, f32); });
  // Typed weights (weights.h), one thread, beside the float32 rows above.
  for (WeightType type : {WeightType::bf16, WeightType::f16, WeightType::i8}) {
    const std::string suffix = std::string("/") + weight_type_name(type) + "/threads:1";
    benchmark::RegisterBenchmark(("W7_seq2seq_greedy30" + suffix).c_str(),
                                 [=](benchmark::State& st) { w7(st, 0, 1, type); })
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("W8_lstm96_attn" + suffix).c_str(), [=](benchmark::State& st) { w8(st, 1, type); })
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
