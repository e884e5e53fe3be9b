// Recurrent layers and cells through their C++ API: cells against
// PyTorch's formulas in double precision, a layer agreeing with its cell
// stepped by hand, the golden cases on every ISA with 1, 2 and 3 threads bitwise
// equal, and errors that name what is wrong.
#include <cmath>
#include <cstring>

#include "../src/cli/runner.h"
#include "edgeattn/rnn.h"
#include "test_util.h"

using namespace edgeattn;
using edgeattn::test::for_each_isa;
using edgeattn::test::random_floats;

namespace {

Tensor tensor(const Shape& s, std::uint32_t seed, float scale = 0.5f) {
  Tensor t = Tensor::zeros(s).value();
  const auto v = random_floats(s.numel(), -scale, scale, seed);
  if (!v.empty()) std::memcpy(t.data(), v.data(), v.size() * sizeof(float));
  return t;
}

RnnWeights weights(RnnType type, std::size_t in, std::size_t h, std::uint32_t seed) {
  const std::size_t g = (type == RnnType::gru ? 3 : 4) * h;
  RnnWeights w;
  w.weight_ih = tensor(Shape{g, in}, seed), w.weight_hh = tensor(Shape{g, h}, seed + 1);
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
      REQUIRE(c->module->run(Context{threads}, c->inputs, out, ws).ok());
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
