// Recurrent layers and cells through their C++ API: cells against
// PyTorch's formulas in double precision, a layer agreeing with its cell
// stepped by hand, the golden cases on every ISA with 1, 2 and 3 threads bitwise
// equal, and errors that name what is wrong.
#include <cmath>
#include <cstring>
#include <functional>

#include "../src/cli/runner.h"
#include "edgeattn/rnn.h"
#include "test_util.h"

using namespace edgeattn;
using edgeattn::test::for_each_isa;
using edgeattn::test::split_ctx;
using edgeattn::test::random_floats;

namespace {

Tensor tensor(const Shape& s, std::uint32_t seed, float scale = 0.5f) {
  return test::random_tensor(s, seed, -scale, scale);
}

RnnWeights weights(RnnType type, std::size_t in, std::size_t h, std::uint32_t seed, float scale = 0.5f) {
  const std::size_t g = (type == RnnType::gru ? 3 : 4) * h;
  RnnWeights w;
  w.weight_ih = tensor(Shape{g, in}, seed), w.weight_hh = tensor(Shape{g, h}, seed + 1, scale);
  w.bias_ih = tensor(Shape{g}, seed + 2), w.bias_hh = tensor(Shape{g}, seed + 3);
  return w;
}

double sig(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// torch.nn.GRUCell / LSTMCell in double precision for one row.
void cell_ref(RnnType type, const RnnWeights& w, const float* x, std::size_t in, std::vector<double>& h,
              std::vector<double>& c) {
  const std::size_t n = h.size(), g = (type == RnnType::gru ? 3 : 4) * n;
  std::vector<double> gx(g), gh(g);
  for (std::size_t r = 0; r < g; ++r) {
    gx[r] = w.bias_ih.data()[r], gh[r] = w.bias_hh.data()[r];
    for (std::size_t k = 0; k < in; ++k) gx[r] += double(w.weight_ih.data()[r * in + k]) * x[k];
    for (std::size_t k = 0; k < n; ++k) gh[r] += double(w.weight_hh.data()[r * n + k]) * h[k];
  }
  for (std::size_t k = 0; k < n; ++k) {
    if (type == RnnType::gru) {
      const double r = sig(gx[k] + gh[k]), z = sig(gx[n + k] + gh[n + k]);
      const double m = std::tanh(gx[2 * n + k] + r * gh[2 * n + k]);
      h[k] = (1 - z) * m + z * h[k];
    } else {
      const double i = sig(gx[k] + gh[k]), f = sig(gx[n + k] + gh[n + k]);
      const double gg = std::tanh(gx[2 * n + k] + gh[2 * n + k]), o = sig(gx[3 * n + k] + gh[3 * n + k]);
      c[k] = f * c[k] + i * gg;
      h[k] = o * std::tanh(c[k]);
    }
  }
}

}  // namespace

TEST_CASE("cells: GRUCell and LSTMCell against double precision, every ISA") {
  const std::size_t bsz = 3, in = 13, hid = 21;
  for (RnnType type : {RnnType::gru, RnnType::lstm}) {
    const RnnWeights ref = weights(type, in, hid, 5);
    RnnCell cell = RnnCell::create(type, weights(type, in, hid, 5)).value();
    const Tensor x = tensor(Shape{bsz, in}, 9, 1.0f), h = tensor(Shape{bsz, hid}, 10, 1.0f);
    const Tensor c0 = tensor(Shape{bsz, hid}, 11, 1.0f);
    for_each_isa([&](Isa) {
      Workspace ws;
      REQUIRE(ws.reserve(cell.workspace_bytes(bsz, Context{2})).ok());
      Tensor out = Tensor::zeros(Shape{bsz, hid}).value();
      Tensor c = tensor(Shape{bsz, hid}, 11, 1.0f);
      const View cv = type == RnnType::lstm ? c.view() : View();
      REQUIRE(cell.step(Context{2}, x.view(), h.view(), cv, out.view(), ws).ok());
      for (std::size_t b = 0; b < bsz; ++b) {
        std::vector<double> hr(h.data() + b * hid, h.data() + (b + 1) * hid);
        std::vector<double> cr(c0.data() + b * hid, c0.data() + (b + 1) * hid);
        cell_ref(type, ref, x.data() + b * in, in, hr, cr);
        for (std::size_t k = 0; k < hid; ++k) {
          CHECK(std::fabs(out.data()[b * hid + k] - hr[k]) <= 5e-6);
          if (type == RnnType::lstm) CHECK(std::fabs(c.data()[b * hid + k] - cr[k]) <= 5e-6);
        }
      }
    });
  }
}

// A decoder-sized W_hh (hidden 256: 768 KB) split over the threads in a
// one-row step (split_ctx splits it whatever the L2), and the two directions
// of a bidirectional layer on a thread each: every output is still computed
// alone.
TEST_CASE("large GRUs, one and two directions: 1 and 2 threads bitwise equal") {
  const std::size_t in = 5, hid = 256, steps = 3;
  for (bool bi : {false, true}) {
    Rnn rnn = Rnn::create(RnnType::gru, in, hid, 1, bi, [&] {
                std::vector<RnnWeights> w;
                for (int d = 0; d < (bi ? 2 : 1); ++d) w.push_back(weights(RnnType::gru, in, hid, 31 + 4 * d, 0.1f));
                return w;
              }()).value();
    const Tensor x = tensor(Shape{1, steps, in}, 32, 1.0f);
    const std::size_t dh = (bi ? 2 : 1) * hid;
    CAPTURE(bi);
    for_each_isa([&](Isa) {
      std::vector<Tensor> outs;
      for (int threads : {1, 2}) {
        Tensor out = Tensor::zeros(Shape{1, steps, dh}).value();
        Workspace ws;
        REQUIRE(ws.reserve(rnn.workspace_bytes(1, steps, split_ctx(threads))).ok());
        REQUIRE(rnn.forward(split_ctx(threads), x.view(), ConstView(), ConstView(), nullptr, out.view(), View(),
                            View(), ws).ok());
        outs.push_back(std::move(out));
      }
      CHECK(std::memcmp(outs[0].data(), outs[1].data(), steps * dh * sizeof(float)) == 0);
    });
  }
}

// Within rounding, not bitwise: the layer projects all steps' inputs in one
// GEMM, the cell one row at a time by GEMV (another summation order).
TEST_CASE("a one-layer GRU equals its cell stepped by hand") {
  const std::size_t in = 6, hid = 10, steps = 5;
  Rnn rnn = Rnn::create(RnnType::gru, in, hid, 1, false, [&] {
              std::vector<RnnWeights> w;
              w.push_back(weights(RnnType::gru, in, hid, 21));
              return w;
            }()).value();
  RnnCell cell = RnnCell::create(RnnType::gru, weights(RnnType::gru, in, hid, 21)).value();
  const Tensor x = tensor(Shape{1, steps, in}, 22, 1.0f);
  Tensor out = Tensor::zeros(Shape{1, steps, hid}).value(), hn = Tensor::zeros(Shape{1, 1, hid}).value();
  Workspace ws;
  REQUIRE(ws.reserve(rnn.workspace_bytes(1, steps, Context{1}) + cell.workspace_bytes(1, Context{1})).ok());
  REQUIRE(rnn.forward(Context{1}, x.view(), ConstView(), ConstView(), nullptr, out.view(), hn.view(), View(), ws).ok());
  Tensor h = Tensor::zeros(Shape{1, hid}).value();
  for (std::size_t t = 0; t < steps; ++t) {
    REQUIRE(cell.step(Context{1}, ConstView(x.data() + t * in, Shape{1, in}), h.view(), View(), h.view(), ws).ok());
    for (std::size_t k = 0; k < hid; ++k) CHECK(std::fabs(h.data()[k] - out.data()[t * hid + k]) <= 1e-6);
  }
  CHECK(std::memcmp(out.data() + (steps - 1) * hid, hn.data(), hid * sizeof(float)) == 0);
}

TEST_CASE("GRU and LSTM golden cases: every ISA, 1/2/3 threads bitwise equal, matching PyTorch") {
  for (const char* f : {"gru_bi_l2_h0_lengths", "gru_uni_l2_h0", "lstm_bi_l2_h0_lengths", "lstm_uni_l2_lengths"}) {
    CAPTURE(f);
    Result<Case> c = load_case(std::string(EDGEATTN_CASES_DIR) + "/" + f + ".case.safetensors");
    REQUIRE(c.ok());
    const std::vector<OutputSpec> specs = c->module->check(c->inputs).value();
    Workspace ws;
    REQUIRE(ws.reserve(c->module->workspace_bytes(c->inputs, Context{3})).ok());
    const auto run = [&](int threads) {
      ValueMap out;
      for (const OutputSpec& s : specs) out[s.name] = Value::zeros(s.type, s.shape).value();
      REQUIRE(c->module->run(split_ctx(threads), c->inputs, out, ws).ok());
      return out;
    };
    for_each_isa([&](Isa) {
      const ValueMap one = run(1);
      for (int t : {2, 3}) {
        const ValueMap other = run(t);
        for (const auto& [name, v] : one)
          CHECK(std::memcmp(v.f32(), other.at(name).f32(), v.shape().numel() * 4) == 0);
      }
      for (const auto& [name, want] : c->expected) {
        CAPTURE(name);
        CHECK(compare(one.at(name), want, c->atol, c->rtol).ok);
      }
    });
  }
}

TEST_CASE("recurrent errors name the tensor, shape or length") {
  std::vector<RnnWeights> w;
  w.push_back(weights(RnnType::lstm, 4, 5, 31));
  const Status few = Rnn::create(RnnType::lstm, 4, 5, 2, false, std::move(w)).status();
  CHECK(few.message() == "lstm: expected 2 weight sets (layers x directions), found 1");
  std::vector<RnnWeights> w2;
  w2.push_back(weights(RnnType::lstm, 3, 5, 31));
  CHECK(Rnn::create(RnnType::lstm, 4, 5, 1, false, std::move(w2)).status().message() ==
        "lstm layer 0: weight_ih must be [20, 4], found [20, 3]");
  std::vector<RnnWeights> w3;
  w3.push_back(weights(RnnType::gru, 4, 5, 31));
  Rnn rnn = Rnn::create(RnnType::gru, 4, 5, 1, false, std::move(w3)).value();
  const Tensor x = tensor(Shape{2, 3, 4}, 32);
  Tensor out = Tensor::zeros(Shape{2, 3, 5}).value();
  Workspace ws;
  REQUIRE(ws.reserve(rnn.workspace_bytes(2, 3, Context{1})).ok());
  const std::int64_t bad[2] = {3, 4};
  CHECK(rnn.forward(Context{1}, x.view(), ConstView(), ConstView(), bad, out.view(), View(), View(), ws)
            .message() == "gru: lengths[1] = 4 is outside [1, 3]");
  const Tensor h0 = tensor(Shape{1, 3, 5}, 33);
  CHECK(rnn.forward(Context{1}, x.view(), h0.view(), ConstView(), nullptr, out.view(), View(), View(), ws)
            .message().find("h0 must be a contiguous [1, 2, 5] tensor, found [1, 3, 5]") != std::string::npos);
  Json config = parse_json(R"({"input_size": 4, "hidden_size": 5, "num_layers": 1, "bidirectional": true})").value();
  CHECK(create_module("gru", config, ParamSet("f: ")).status().message() ==
        "f: param.weight_ih_l0: missing (expected shape [15, 4])");
  Workspace tiny;
  REQUIRE(tiny.reserve(64).ok());
  CHECK(rnn.forward(Context{1}, x.view(), ConstView(), ConstView(), nullptr, out.view(), View(), View(), tiny)
            .code() == StatusCode::out_of_memory);
}

namespace {

Seq2Seq tiny_seq2seq(std::size_t vt, std::size_t max_len, std::uint32_t seed) {
  Seq2SeqConfig c;
  c.src_vocab = 7, c.tgt_vocab = vt, c.emb = 5, c.enc_hidden = 4, c.dec_hidden = 6;
  c.attention = Score::additive, c.attn_hidden = 5, c.bos = 1, c.eos = 2, c.max_len = max_len;
  const std::size_t he2 = 2 * c.enc_hidden, hd = c.dec_hidden, e = c.emb;
  Seq2SeqWeights w;
  w.enc_embedding = tensor(Shape{c.src_vocab, e}, seed, 1.0f);
  w.enc_forward = weights(RnnType::gru, e, c.enc_hidden, seed + 10);
  w.enc_reverse = weights(RnnType::gru, e, c.enc_hidden, seed + 20);
  w.bridge_weight = tensor(Shape{hd, he2}, seed + 30), w.bridge_bias = tensor(Shape{hd}, seed + 31);
  w.dec_embedding = tensor(Shape{vt, e}, seed + 32, 1.0f);
  w.attention.query_proj = tensor(Shape{5, hd}, seed + 33), w.attention.query_bias = tensor(Shape{5}, seed + 34);
  w.attention.key_proj = tensor(Shape{5, he2}, seed + 35), w.attention.v = tensor(Shape{1, 5}, seed + 36);
  w.dec_rnn = weights(RnnType::gru, e + he2, hd, seed + 40);
  w.out_weight = tensor(Shape{vt, hd + he2 + e}, seed + 50, 1.5f), w.out_bias = tensor(Shape{vt}, seed + 51);
  return std::move(Seq2Seq::create(c, std::move(w))).value();
}

}  // namespace

TEST_CASE("beam search: width 1 is greedy; a beam keeping every hypothesis finds the exhaustive best") {
  const std::int64_t src[6] = {3, 1, 4, 1, 5, 6};
  int lengths_seen = 0;  // bests that end at eos before max_len (not trivial)
  for (std::uint32_t seed : {100u, 200u, 300u}) {
    CAPTURE(seed);
    const Seq2Seq m = tiny_seq2seq(4, 4, seed);
    Workspace ws;
    REQUIRE(ws.reserve(m.workspace_bytes(1, 6, 128, Context{1})).ok());
    // Width 1 against greedy decoding that stops at eos.
    std::int64_t greedy[4], beam[4];
    std::size_t glen = 0;
    REQUIRE(m.greedy(Context{1}, src, 1, 6, nullptr, 4, true, greedy, nullptr, nullptr, &glen, ws).ok());
    Seq2Seq::Hypothesis h;
    h.tokens = beam;
    Seq2Seq::BeamOptions one;
    one.width = 1;
    REQUIRE(m.beam_search(Context{1}, src, 6, one, h, ws).ok());
    REQUIRE(h.length == glen);
    CHECK(std::memcmp(beam, greedy, glen * sizeof(std::int64_t)) == 0);
    // Exhaustive: every sentence that ends at eos (tokens before it are
    // not eos) or runs to max_len, scored by teacher forcing.
    for (float alpha : {0.0f, 1.0f}) {
      CAPTURE(alpha);
      float best = -INFINITY, best_raw = 0;
      std::vector<std::int64_t> best_seq;
      std::vector<std::int64_t> seq;
      const std::function<void()> search = [&] {
        if (!seq.empty() && (seq.back() == 2 || seq.size() == 4)) {
          float sc = 0;
          REQUIRE(m.score(Context{1}, src, 6, seq.data(), seq.size(), &sc, ws).ok());
          const float norm = alpha ? sc / std::pow(float(seq.size()), alpha) : sc;
          if (norm > best) best = norm, best_raw = sc, best_seq = seq;
          return;
        }
        for (std::int64_t tok = 0; tok < 4; ++tok) {
          seq.push_back(tok);
          search();
          seq.pop_back();
        }
      };
      search();
      Seq2Seq::BeamOptions all;
      all.width = 128, all.length_alpha = alpha;  // >= 4 x 27 candidates: nothing is pruned
      REQUIRE(m.beam_search(Context{1}, src, 6, all, h, ws).ok());
      REQUIRE(h.length == best_seq.size());
      lengths_seen += h.length > 1 && h.length < 4;
      CHECK(std::memcmp(beam, best_seq.data(), h.length * sizeof(std::int64_t)) == 0);
      CHECK(std::fabs(h.score - best_raw) <= 1e-4f * (1 + std::fabs(best_raw)));
    }
  }
  CHECK(lengths_seen > 0);
}

TEST_CASE("beam search: a width past kMaxBeamWidth is refused; its workspace size saturates, never wraps") {
  const Seq2Seq m = tiny_seq2seq(4, 4, 401);
  const std::size_t huge = SIZE_MAX / 4;  // 2^62 on 64-bit targets, 2^30 on 32-bit ones
  CHECK(m.workspace_bytes(1, 6, huge, Context{1}) == SIZE_MAX);
  Workspace ws;
  CHECK(ws.reserve(m.workspace_bytes(1, 6, huge, Context{1})).code() == StatusCode::out_of_memory);
  REQUIRE(ws.reserve(m.workspace_bytes(1, 6, 4, Context{1})).ok());
  const std::int64_t src[6] = {1, 2, 3, 0, 1, 2};
  std::int64_t tokens[4];
  Seq2Seq::Hypothesis h;
  h.tokens = tokens;
  for (std::size_t width : {huge, Seq2Seq::kMaxBeamWidth + 1}) {
    Seq2Seq::BeamOptions opt;
    opt.width = width;
    const Status st = m.beam_search(Context{1}, src, 6, opt, h, ws);
    CHECK(st.code() == StatusCode::invalid_argument);
    CHECK(st.message().find("beam width") != std::string::npos);
  }
  Seq2Seq::BeamOptions wide;  // allowed but more than this workspace holds: a clean refusal
  wide.width = Seq2Seq::kMaxBeamWidth;
  CHECK(m.beam_search(Context{1}, src, 6, wide, h, ws).code() == StatusCode::out_of_memory);
}

TEST_CASE("sampling decode: seeded, top-1 is greedy, first tokens follow the softmax (chi-square)") {
  const Seq2Seq m = tiny_seq2seq(4, 4, 400);
  const std::int64_t src[3] = {2, 6, 0};
  Workspace ws;
  REQUIRE(ws.reserve(m.workspace_bytes(1, 3, 1, Context{1})).ok());
  std::int64_t a[4], b[4], g[4];
  float logits[16];
  std::size_t glen = 0;
  REQUIRE(m.greedy(Context{1}, src, 1, 3, nullptr, 4, true, g, logits, nullptr, &glen, ws).ok());
  Seq2Seq::Hypothesis ha, hb;
  ha.tokens = a, hb.tokens = b;
  Seq2Seq::SampleOptions opt;
  opt.seed = 7;
  REQUIRE(m.sample(Context{1}, src, 3, opt, ha, ws).ok());
  REQUIRE(m.sample(Context{1}, src, 3, opt, hb, ws).ok());
  CHECK(ha.length == hb.length);
  CHECK(std::memcmp(a, b, ha.length * sizeof(std::int64_t)) == 0);
  opt.top_k = 1;
  REQUIRE(m.sample(Context{1}, src, 3, opt, ha, ws).ok());
  REQUIRE(ha.length == glen);
  CHECK(std::memcmp(a, g, glen * sizeof(std::int64_t)) == 0);
  // First tokens of 4000 seeds against softmax(logits_1), 3 degrees of freedom.
  opt.top_k = 0, opt.max_len = 1;
  double p[4], mx = -INFINITY, sum = 0, count[4] = {0, 0, 0, 0};
  for (int i = 0; i < 4; ++i) mx = std::max(mx, double(logits[i]));
  for (int i = 0; i < 4; ++i) sum += p[i] = std::exp(logits[i] - mx);
  const int n = 4000;
  for (int s = 0; s < n; ++s) {
    opt.seed = 1000 + s;
    REQUIRE(m.sample(Context{1}, src, 3, opt, ha, ws).ok());
    count[a[0]] += 1;
  }
  double chi2 = 0;
  for (int i = 0; i < 4; ++i) {
    const double want = n * p[i] / sum;
    chi2 += (count[i] - want) * (count[i] - want) / want;
  }
  CHECK(chi2 < 16.27);  // p = 0.001
}

TEST_CASE("forecaster: a multi-step forecast feeds its predictions back") {
  AttentionForecaster::Weights w;
  const std::size_t f = 3, h = 12, p = 4, t = 19;
  w.lstm = weights(RnnType::lstm, f, h, 71);
  w.attn.in_proj_weight = tensor(Shape{3 * h, h}, 72), w.attn.in_proj_bias = tensor(Shape{3 * h}, 73);
  w.attn.out_proj_weight = tensor(Shape{h, h}, 74), w.attn.out_proj_bias = tensor(Shape{h}, 75);
  w.head_weight = tensor(Shape{p, 2 * h}, 76), w.head_bias = tensor(Shape{p}, 77);
  const AttentionForecaster m = AttentionForecaster::create(f, h, 3, p, std::move(w)).value();
  const Tensor x = tensor(Shape{1, t, f}, 78, 1.0f);
  Workspace ws;
  REQUIRE(ws.reserve(m.workspace_bytes(1, t, Context{1}) + m.forecast_extra_bytes(1, t)).ok());
  Tensor out = Tensor::zeros(Shape{1, 6}).value(), y1 = Tensor::zeros(Shape{1, p}).value(),
         y2 = Tensor::zeros(Shape{1, p}).value();
  REQUIRE(m.forecast(Context{1}, x.view(), 1, 6, ConstView(), out.view(), ws).ok());
  // By hand: predict, slide the window by 4 rows (column 1 = predictions,
  // columns 0 and 2 held), predict again.
  REQUIRE(m.forward(Context{1}, x.view(), y1.view(), View(), ws).ok());
  Tensor win = Tensor::zeros(Shape{1, t, f}).value();
  std::memcpy(win.data(), x.data() + p * f, (t - p) * f * sizeof(float));
  for (std::size_t j = 0; j < p; ++j)
    for (std::size_t col = 0; col < f; ++col)
      win.data()[(t - p + j) * f + col] = col == 1 ? y1.data()[j] : x.data()[(t - 1) * f + col];
  REQUIRE(m.forward(Context{1}, win.view(), y2.view(), View(), ws).ok());
  CHECK(std::memcmp(out.data(), y1.data(), p * sizeof(float)) == 0);
  CHECK(std::memcmp(out.data() + p, y2.data(), 2 * sizeof(float)) == 0);
  CHECK(m.forecast(Context{1}, x.view(), 3, 6, ConstView(), out.view(), ws).message().find(
            "target column 3 is not below input_size 3") != std::string::npos);
}
