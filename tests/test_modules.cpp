// The contract every registry module and layer keeps, over random awkward
// instances (module_gen.h), every ISA and 1-3 threads: a workspace of
// exactly workspace_bytes() serves the run with no heap allocation, one
// 64-byte granule less is a clean out_of_memory; outputs of the wrong type
// or shape are refused.
#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <limits>
#include <memory>

#include "../src/cli/runner.h"
#include "alloc_count.h"
#include "module_gen.h"
#include "mutation.h"
#include "test_util.h"

using namespace edgeattn;
using edgeattn::test::for_each_isa;
using edgeattn::test::g_allocations;
using edgeattn::test::g_counting;
using edgeattn::test::ModuleCase;
using edgeattn::test::ModuleGen;
using edgeattn::test::split_ctx;

namespace {

constexpr int kTrials = 4;

std::uint32_t seed_of(const std::string& kind, int trial) {
  return static_cast<std::uint32_t>(std::hash<std::string>{}(kind) % 100000) * 16 + trial;
}

// Runs `call(ws)` with exactly `bytes` of 64-byte-aligned workspace, then
// with one granule less: the first must succeed without allocating, the
// second must fail with out_of_memory (unless nothing is needed).
void check_workspace(std::size_t bytes, const std::function<Status(Workspace&)>& call) {
  AlignedBuffer mem = AlignedBuffer::allocate(std::max<std::size_t>(bytes, 1)).value();
  Workspace ws;
  ws.attach(mem.data(), bytes);
  REQUIRE(ws.capacity() == bytes);
  g_allocations = 0;
  g_counting = true;
  const Status st = call(ws);
  g_counting = false;
  CHECK_MESSAGE(st.ok(), st.to_string());
  CHECK(g_allocations == 0);
  CHECK(ws.used() == 0);
  if (bytes == 0) return;
  ws.attach(mem.data(), bytes > kAlignment ? bytes - kAlignment : 0);
  const Status short_st = call(ws);
  CHECK_MESSAGE(short_st.code() == StatusCode::out_of_memory, short_st.to_string());
}

struct Built {
  std::unique_ptr<Module> module;
  ModuleCase mc;
  std::vector<OutputSpec> specs;
};

Built build(const std::string& kind, int trial) {
  Built b;
  b.mc = ModuleGen(seed_of(kind, trial)).make(kind);
  REQUIRE_MESSAGE(b.mc.kind == kind, "module_gen has no generator for " << kind);
  Result<Json> config = parse_json(b.mc.config);
  REQUIRE(config.ok());
  Result<std::unique_ptr<Module>> m = create_module(kind, config.value(), b.mc.params);
  REQUIRE_MESSAGE(m.ok(), m.status().to_string());
  b.module = std::move(m).value();
  Result<std::vector<OutputSpec>> specs = b.module->check(b.mc.inputs);
  REQUIRE_MESSAGE(specs.ok(), specs.status().to_string());
  b.specs = specs.value();
  return b;
}

// The outputs for one choice of on-request outputs (bit i of `wanted` asks
// for the i-th of them).
ValueMap outputs_for(const std::vector<OutputSpec>& specs, unsigned wanted) {
  ValueMap out;
  unsigned bit = 0;
  for (const OutputSpec& s : specs) {
    if (s.on_request && !(wanted >> bit++ & 1u)) continue;
    out[s.name] = Value::zeros(s.type, s.shape).value();
  }
  return out;
}

std::size_t on_request_count(const std::vector<OutputSpec>& specs) {
  return static_cast<std::size_t>(
      std::count_if(specs.begin(), specs.end(), [](const OutputSpec& s) { return s.on_request; }));
}

}  // namespace

TEST_CASE("every registry module: workspace_bytes() is exact for every output choice, ISA and thread count") {
  for (const std::string& kind : module_names()) {
    for (int trial = 0; trial < kTrials; ++trial) {
      CAPTURE(kind);
      CAPTURE(trial);
      Built b = build(kind, trial);
      CAPTURE(b.mc.config);
      const unsigned combos = 1u << on_request_count(b.specs);
      for (unsigned wanted = 0; wanted < combos; ++wanted) {
        CAPTURE(wanted);
        ValueMap out = outputs_for(b.specs, wanted);
        for_each_isa([&](Isa) {
          for (int threads = 1; threads <= 3; ++threads) {
            CAPTURE(threads);
            const Context ctx = split_ctx(threads);
            check_workspace(b.module->workspace_bytes(b.mc.inputs, ctx), [&](Workspace& ws) {
              return b.module->run(ctx, b.mc.inputs, out, ws);
            });
          }
        });
      }
    }
  }
}

TEST_CASE("every registry module: an output of the wrong type or shape is refused by name") {
  for (const std::string& kind : module_names()) {
    CAPTURE(kind);
    Built b = build(kind, 0);
    const Context ctx{1};
    const unsigned all = (1u << on_request_count(b.specs)) - 1;
    Workspace ws;
    REQUIRE(ws.reserve(b.module->workspace_bytes(b.mc.inputs, ctx)).ok());
    for (const OutputSpec& s : b.specs) {
      CAPTURE(s.name);
      const ValueType other = s.type == ValueType::f32 ? ValueType::mask : ValueType::f32;
      Shape longer = s.shape;
      longer.dims[0] += 1;
      for (const Value& bad : {Value::zeros(other, s.shape).value(), Value::zeros(s.type, longer).value(),
                               Value()}) {
        ValueMap out = outputs_for(b.specs, all);
        out[s.name] = Value::zeros(bad.type(), bad.shape()).value();
        if (bad.shape().rank == 0) out[s.name] = Value();
        const Status st = b.module->run(ctx, b.mc.inputs, out, ws);
        CHECK(st.code() == StatusCode::invalid_argument);
        CHECK(st.message().find("'" + s.name + "'") != std::string::npos);
      }
      ValueMap out = outputs_for(b.specs, all);
      out.erase(s.name);
      const Status missing = b.module->run(ctx, b.mc.inputs, out, ws);
      CHECK(missing.ok() == s.on_request);
    }
  }
}

TEST_CASE("vision and rnn layers: workspace_bytes() is exact on every ISA and thread count") {
  std::mt19937 rng(4242);
  const auto tensor = [&](const Shape& s) { return test::random_tensor(s, rng(), -0.5f, 0.5f); };
  // Conv2d on every path: 1x1, depthwise (direct), grouped and strided (im2col).
  const Conv2dParams convs[] = {
      {5, 7, 1, 1, 1, 1, 0, 0, 1, Activation::relu},
      {6, 6, 3, 3, 1, 1, 1, 1, 6, Activation::none},
      {4, 6, 3, 5, 2, 1, 1, 2, 2, Activation::silu},
      {3, 1, 7, 7, 1, 1, 3, 3, 1, Activation::none},
  };
  const std::size_t maps[][2] = {{1, 1}, {1, 9}, {13, 10}, {7, 3}};
  for (const Conv2dParams& p : convs)
    for (const auto& hw : maps) {
      const Tensor w = tensor(Shape{p.out_channels, p.in_channels / p.groups, p.kernel_h, p.kernel_w});
      Conv2d conv = Conv2d::create(p, w, tensor(Shape{p.out_channels})).value();
      const Shape in{3, p.in_channels, hw[0], hw[1]};
      const Result<Shape> out_shape = conv.output_shape(in);
      if (!out_shape.ok()) continue;
      const Tensor x = tensor(in), y = Tensor::zeros(out_shape.value()).value();
      CAPTURE(in.to_string());
      for_each_isa([&](Isa) {
        for (int threads = 1; threads <= 3; ++threads) {
          const Context ctx = split_ctx(threads);
          check_workspace(conv.workspace_bytes(in, ctx),
                          [&](Workspace& ws) { return conv.forward(ctx, x.view(), y.view(), ws); });
        }
      });
    }
  // A batch of small images under the default context: the batch splits over
  // the threads (each image alone), with the same bits as one thread.
  {
    const Conv2dParams p{4, 6, 3, 3, 1, 1, 1, 1, 1, Activation::relu};
    Conv2d conv = Conv2d::create(p, tensor(Shape{6, 4, 3, 3}), tensor(Shape{6})).value();
    const Shape in{200, 4, 8, 8};
    const Tensor x = tensor(in);
    std::vector<float> want;
    for (int threads = 1; threads <= 3; ++threads) {
      const Context ctx{threads};
      const Tensor y = Tensor::zeros(Shape{200, 6, 8, 8}).value();
      check_workspace(conv.workspace_bytes(in, ctx),
                      [&](Workspace& ws) { return conv.forward(ctx, x.view(), y.view(), ws); });
      if (threads == 1) want.assign(y.data(), y.data() + y.numel());
      CHECK(std::memcmp(want.data(), y.data(), want.size() * sizeof(float)) == 0);
    }
  }
  Linear lin = Linear::create(tensor(Shape{7, 13}), tensor(Shape{7})).value();
  for (RnnType type : {RnnType::gru, RnnType::lstm}) {
    const std::size_t g = type == RnnType::gru ? 3 : 4, in = 5, h = 7;
    RnnCell cell = RnnCell::create(type, {tensor(Shape{g * h, in}), tensor(Shape{g * h, h}),
                                          tensor(Shape{g * h}), tensor(Shape{g * h})})
                       .value();
    std::vector<RnnWeights> w;
    for (std::size_t l = 0; l < 4; ++l)
      w.push_back({tensor(Shape{g * h, l < 2 ? in : 2 * h}), tensor(Shape{g * h, h}), tensor(Shape{g * h}),
                   tensor(Shape{g * h})});
    Rnn rnn = Rnn::create(type, in, h, 2, true, std::move(w)).value();
    for (std::size_t b : {1, 3}) {
      CAPTURE(b);
      const Tensor x = tensor(Shape{b, in}), hs = tensor(Shape{b, h}), out = Tensor::zeros(Shape{b, h}).value();
      const Tensor c = tensor(Shape{b, h}), seq = tensor(Shape{b, 9, in});
      const Tensor y = Tensor::zeros(Shape{b, 9, 2 * h}).value(), lx = tensor(Shape{b, 13});
      const Tensor ly = Tensor::zeros(Shape{b, 7}).value();
      const View cv = type == RnnType::lstm ? c.view() : View();
      for_each_isa([&](Isa) {
        for (int threads = 1; threads <= 3; ++threads) {
          const Context ctx = split_ctx(threads);
          check_workspace(cell.workspace_bytes(b, ctx),
                          [&](Workspace& ws) { return cell.step(ctx, x.view(), hs.view(), cv, out.view(), ws); });
          check_workspace(rnn.workspace_bytes(b, 9, ctx), [&](Workspace& ws) {
            return rnn.forward(ctx, seq.view(), ConstView(), ConstView(), nullptr, y.view(), View(), View(), ws);
          });
          check_workspace(lin.workspace_bytes(b, ctx),
                          [&](Workspace& ws) { return lin.forward(ctx, lx.view(), ly.view(), ws); });
        }
      });
    }
  }
}

TEST_CASE("config mutations: every key set to hostile values gives a status, never a crash or a huge allocation") {
  const char* values[] = {"0", "-1", "2147483647", "2147483648", "2147483649", "1e15", "2.5", "3.0",
                          "\"x\"", "null", "true", "[]"};
  test::MutationCounts counts;
  for (const std::string& kind : module_names()) {
    const ModuleCase base = ModuleGen(seed_of(kind, 0)).make(kind);
    const Json config = parse_json(base.config).value();
    for (const auto& member : config.members()) {
      for (const char* value : values) {
        std::string text = "{";
        for (const auto& [key, v] : config.members()) {
          const bool mutated = key == member.first;
          (void)v;
          text += (text.size() > 1 ? ", \"" : "\"") + key + "\": ";
          text += mutated ? std::string(value) : "";
          if (!mutated) {  // keep the original value's text
            const std::size_t at = base.config.find("\"" + key + "\":");
            const std::size_t end = base.config.find_first_of(",}", at);
            text += base.config.substr(at + key.size() + 4, end - at - key.size() - 4);
          }
        }
        text += "}";
        CAPTURE(text);
        ModuleCase mc = ModuleGen(seed_of(kind, 0)).make(kind);
        Result<std::unique_ptr<Module>> m = create_module(kind, parse_json(text).value(), mc.params);
        if (!m.ok()) {
          CHECK_FALSE(m.status().message().empty());
          ++counts.refused;
          continue;
        }
        Case c;
        c.path = "mutated", c.kind = kind, c.module = std::move(m).value();
        c.inputs = std::move(mc.inputs);
        test::run_capped(std::move(c), counts);
      }
    }
  }
  test::check_counts(counts, "mutated configs");
}

TEST_CASE("hostile thread counts: clamped to kMaxThreads, the run still exact") {
  for (const char* kind : {"non_local", "cbam", "sagan_attention", "multihead_attention"}) {
    CAPTURE(kind);
    Built b = build(kind, 1);
    const Context ctx{100000};
    ValueMap out = outputs_for(b.specs, 0);
    check_workspace(b.module->workspace_bytes(b.mc.inputs, ctx),
                    [&](Workspace& ws) { return b.module->run(ctx, b.mc.inputs, out, ws); });
  }
}

TEST_CASE("seq2seq: NaN logits are decoded as torch.argmax decodes them (the first NaN), on every ISA") {
  ModuleCase mc = ModuleGen(seed_of("seq2seq", 2)).make("seq2seq");
  const Json config = parse_json(mc.config).value();
  const std::size_t vt = static_cast<std::size_t>(config.find("tgt_vocab")->as_integer());
  Tensor bias = Tensor::zeros(Shape{vt}).value();
  bias.data()[vt - 1] = std::numeric_limits<float>::quiet_NaN();
  bias.data()[1] = std::numeric_limits<float>::quiet_NaN();
  bias.data()[0] = 1e30f;  // the largest finite logit does not win over a NaN
  mc.params.add("decoder.out.bias", std::move(bias));
  std::unique_ptr<Module> m = create_module("seq2seq", config, mc.params).value();
  const std::vector<OutputSpec> specs = m->check(mc.inputs).value();
  ValueMap out = outputs_for(specs, 0);
  Workspace ws;
  REQUIRE(ws.reserve(m->workspace_bytes(mc.inputs, Context{1})).ok());
  for_each_isa([&](Isa) {
    REQUIRE(m->run(Context{1}, mc.inputs, out, ws).ok());
    const Value& tokens = out.at("tokens");
    for (std::size_t i = 0; i < tokens.shape().numel(); ++i) CHECK(tokens.i64()[i] == 1);
  });
}

TEST_CASE("docs/modules.md documents exactly the registry's modules") {
  std::ifstream in(std::string(EDGEATTN_DOCS_DIR) + "/modules.md");
  REQUIRE(in);
  std::set<std::string> documented;
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, 4, "### ") != 0) continue;
    // "### `name` (...)" or "### `gru`, `lstm`": every code word before any "("
    const std::string head = line.substr(0, line.find('('));
    for (std::size_t a = head.find('`'); a != std::string::npos; a = head.find('`', head.find('`', a + 1) + 1))
      documented.insert(head.substr(a + 1, head.find('`', a + 1) - a - 1));
  }
  const std::vector<std::string> names = module_names();
  CHECK(documented == std::set<std::string>(names.begin(), names.end()));
}
