// Whole-network models: hostile graphs refused with the node named, plans
// for symbolic shapes, memory shared by liveness, runs that allocate
// nothing and match the layers called by hand bit for bit, thread counts
// bitwise equal, .npy files, and docs/model-format.md against the op list.
#include <cstring>
#include <utility>
#include <fstream>
#include <set>

#include "../src/graph/op_list.h"
#include "alloc_count.h"
#include "mutation.h"
#include "edgeattn/npy.h"
#include "test_util.h"

namespace edgeattn {
namespace {

using test::random_tensor;

std::string with_nodes(const std::string& nodes, const std::string& outputs = "v3",
                       const std::string& input_shape = "[\"batch\", 4, 6, 5]") {
  return R"({"format": "edgeattn-graph", "version": 1,
    "inputs": [{"name": "x", "dtype": "f32", "shape": )" + input_shape + R"(}],
    "nodes": [)" + nodes + R"(],
    "outputs": [{"name": "y", "value": ")" + outputs + R"("}]})";
}

// conv 3x3 (bias) -> batch_norm -> relu -> mean over H, W -> linear.
const char* kConvNet = R"(
  {"name": "conv", "op": "conv2d", "inputs": ["x"], "outputs": ["v1"], "params": "conv.",
   "config": {"stride": [1, 1], "padding": [1, 1], "dilation": [1, 1], "groups": 1, "bias": true}},
  {"name": "bn", "op": "batch_norm", "inputs": ["v1"], "outputs": ["v2"], "params": "bn.",
   "config": {"eps": 1e-5}},
  {"name": "act", "op": "relu", "inputs": ["v2"], "outputs": ["v4"]},
  {"name": "pool", "op": "mean", "inputs": ["v4"], "outputs": ["v5"],
   "config": {"dims": [2, 3], "keepdim": false}},
  {"name": "flat", "op": "reshape", "inputs": ["v5"], "outputs": ["v6"],
   "config": {"shape": [{"dim": ["x", 0]}, -1]}},
  {"name": "fc", "op": "linear", "inputs": ["v6"], "outputs": ["v3"], "params": "fc.",
   "config": {"bias": true}})";

ParamSet conv_net_params() {
  ParamSet p;
  p.add("conv.weight", random_tensor(Shape{8, 4, 3, 3}, 1, -0.5f, 0.5f));
  p.add("conv.bias", random_tensor(Shape{8}, 2, -0.5f, 0.5f));
  p.add("bn.weight", random_tensor(Shape{8}, 3, 0.5f, 1.5f));
  p.add("bn.bias", random_tensor(Shape{8}, 4, -0.5f, 0.5f));
  p.add("bn.running_mean", random_tensor(Shape{8}, 5, -0.3f, 0.3f));
  p.add("bn.running_var", random_tensor(Shape{8}, 6, 0.5f, 2.0f));
  p.add("fc.weight", random_tensor(Shape{3, 8}, 7, -0.5f, 0.5f));
  p.add("fc.bias", random_tensor(Shape{3}, 8, -0.5f, 0.5f));
  return p;
}

Status load_error(const std::string& graph, const ParamSet& p = conv_net_params()) {
  Result<Model> m = Model::create(graph, p);
  REQUIRE_FALSE(m.ok());
  return m.status();
}

void check_message(const Status& s, const std::string& part) {
  CAPTURE(s.message());
  CHECK(s.message().find(part) != std::string::npos);
}

// Runs the model on x, allocating outputs and workspace beforehand.
Value run_model(const Model& m, const Value& x, const Context& ctx, bool count_allocations = false) {
  ModelPlan plan = m.plan({{"x", x.shape()}}, ctx).value();
  ValueMap in, out;
  in["x"] = Value::wrap(ValueType::f32, x.shape(), x.data());
  for (const OutputSpec& s : plan.outputs()) out[s.name] = Value::zeros(s.type, s.shape).value();
  Workspace ws;
  REQUIRE(ws.reserve(plan.workspace_bytes()).ok());
  test::g_allocations = 0;
  test::g_counting = count_allocations;
  const Status st = plan.run(ctx, in, out, ws);
  test::g_counting = false;
  REQUIRE(st.ok());
  if (count_allocations) CHECK(test::g_allocations == 0);
  return std::move(out["y"]);
}

Value random_value(const Shape& s, std::uint32_t seed) {
  Value v = Value::zeros(ValueType::f32, s).value();
  const Tensor t = random_tensor(s, seed, -1.0f, 1.0f);
  std::memcpy(v.f32(), t.data(), s.numel() * sizeof(float));
  return v;
}

TEST_CASE("graph: the layers called by hand give the same bits; no allocation; threads agree") {
  const ParamSet p = conv_net_params();
  const Model m = Model::create(with_nodes(kConvNet), p).value();
  CHECK(m.num_nodes() == 4);  // batch_norm and relu folded into the conv
  const Value x = random_value(Shape{3, 4, 6, 5}, 9);
  test::for_each_isa([&](Isa) {
    // By hand: the same layers, the same folds.
    BatchNorm bn{p.take_any("bn.weight").value(), p.take_any("bn.bias").value(),
                 p.take_any("bn.running_mean").value(), p.take_any("bn.running_var").value()};
    Conv2dParams cp{4, 8, 3, 3, 1, 1, 1, 1, 1, Activation::relu};
    const Conv2d conv =
        Conv2d::create(cp, p.take_any("conv.weight").value(), p.take_any("conv.bias").value(), &bn).value();
    const Linear fc = Linear::create(p.take_any("fc.weight").value(), p.take_any("fc.bias").value()).value();
    Tensor h = Tensor::zeros(Shape{3, 8, 6, 5}).value(), g = Tensor::zeros(Shape{3, 8}).value();
    Tensor want = Tensor::zeros(Shape{3, 3}).value();
    Workspace ws;
    REQUIRE(ws.reserve(1 << 20).ok());
    const Context one{1};
    REQUIRE(conv.forward(one, ConstView(x.f32(), x.shape()), h.view(), ws).ok());
    // mean over H, W in double, as the graph's mean
    for (std::size_t r = 0; r < 24; ++r) {
      double acc = 0;
      for (std::size_t i = 0; i < 30; ++i) acc += h.data()[r * 30 + i];
      g.data()[r] = float(acc / 30.0);
    }
    REQUIRE(fc.forward(one, g.view(), want.view(), ws).ok());
    const Value got1 = run_model(m, x, test::split_ctx(1), true);
    const Value got2 = run_model(m, x, test::split_ctx(2), true);
    CHECK(std::memcmp(got1.f32(), want.data(), 9 * sizeof(float)) == 0);
    CHECK(std::memcmp(got1.f32(), got2.f32(), 9 * sizeof(float)) == 0);
  });
}

// x -> SE-like gate (mean, sigmoid) -> mul -> 1x1 conv, then the conv's
// output times itself -> 3x3 conv: the loader folds both muls into their
// convs (a gate into the 1x1 conv's weights, a general product formed in
// the workspace) unless the product is also an output.
std::string gated_graph(bool products_out) {
  const std::string outs = products_out
      ? R"([{"name": "y", "value": "y"}, {"name": "m1", "value": "m1"}, {"name": "m2", "value": "m2"}])"
      : R"([{"name": "y", "value": "y"}])";
  return R"({"format": "edgeattn-graph", "version": 1,
    "inputs": [{"name": "x", "dtype": "f32", "shape": ["batch", 4, 6, 5]}],
    "nodes": [
      {"name": "pool", "op": "mean", "inputs": ["x"], "outputs": ["p"], "config": {"dims": [2, 3], "keepdim": true}},
      {"name": "gate", "op": "sigmoid", "inputs": ["p"], "outputs": ["g"]},
      {"name": "scale", "op": "mul", "inputs": ["x", "g"], "outputs": ["m1"]},
      {"name": "proj", "op": "conv2d", "inputs": ["m1"], "outputs": ["c1"], "params": "proj.",
       "config": {"stride": [1, 1], "padding": [0, 0], "dilation": [1, 1], "groups": 1, "bias": true}},
      {"name": "square", "op": "mul", "inputs": ["c1", "c1"], "outputs": ["m2"]},
      {"name": "head", "op": "conv2d", "inputs": ["m2"], "outputs": ["y"], "params": "head.",
       "config": {"stride": [1, 1], "padding": [1, 1], "dilation": [1, 1], "groups": 1, "bias": false}}],
    "outputs": )" + outs + "}";
}

TEST_CASE("graph: a gate times a map folds into the 1x1 conv after it; other products too") {
  ParamSet p;
  p.add("proj.weight", random_tensor(Shape{6, 4, 1, 1}, 11, -0.5f, 0.5f));
  p.add("proj.bias", random_tensor(Shape{6}, 12, -0.5f, 0.5f));
  p.add("head.weight", random_tensor(Shape{2, 6, 3, 3}, 13, -0.5f, 0.5f));
  const Model fused = Model::create(gated_graph(false), p).value();
  const Model plain = Model::create(gated_graph(true), p).value();
  CHECK(fused.num_nodes() == 4);  // both muls folded
  CHECK(plain.num_nodes() == 6);
  const Value x = random_value(Shape{3, 4, 6, 5}, 14);
  test::for_each_isa([&](Isa) {
    const Value a1 = run_model(fused, x, test::split_ctx(1), true);
    const Value a2 = run_model(fused, x, test::split_ctx(2), true);
    CHECK(std::memcmp(a1.f32(), a2.f32(), a1.shape().numel() * sizeof(float)) == 0);
    ModelPlan plan = plain.plan({{"x", x.shape()}}, Context{1}).value();
    ValueMap in, out;
    in["x"] = Value::wrap(ValueType::f32, x.shape(), const_cast<float*>(x.f32()));
    for (const OutputSpec& s : plan.outputs()) out[s.name] = Value::zeros(s.type, s.shape).value();
    Workspace ws;
    REQUIRE(ws.reserve(plan.workspace_bytes()).ok());
    REQUIRE(plan.run(Context{1}, in, out, ws).ok());
    // the gate goes into the weights: rounded differently, within float32's reach
    for (std::size_t i = 0; i < a1.shape().numel(); ++i) {
      const float w = out["y"].f32()[i];
      CHECK(std::fabs(a1.f32()[i] - w) <= 1e-5f * (1.0f + std::fabs(w)));
    }
  });
}

TEST_CASE("graph: symbolic dims re-plan; fixed dims and symbols are checked") {
  const Model m = Model::create(with_nodes(kConvNet), conv_net_params()).value();
  const Context ctx{1};
  CHECK(m.plan({{"x", Shape{1, 4, 6, 5}}}, ctx).value().outputs()[0].shape == Shape{1, 3});
  CHECK(m.plan({{"x", Shape{3, 4, 6, 5}}}, ctx).value().outputs()[0].shape == Shape{3, 3});
  check_message(m.plan({{"x", Shape{1, 5, 6, 5}}}, ctx).status(),
                "input 'x' is [1, 5, 6, 5], the model takes [batch, 4, 6, 5]");
  check_message(m.plan({}, ctx).status(), "input 'x' is missing");
  check_message(m.plan({{"x", Shape{1, 4, 6, 5}}, {"z", Shape{1}}}, ctx).status(), "no input 'z'");
  // One symbol in two inputs must agree.
  const std::string two = R"({"format": "edgeattn-graph", "version": 1,
    "inputs": [{"name": "a", "dtype": "f32", "shape": ["n", 3]},
               {"name": "b", "dtype": "f32", "shape": ["n", 3]}],
    "nodes": [{"name": "sum", "op": "add", "inputs": ["a", "b"], "outputs": ["c"]}],
    "outputs": [{"name": "y", "value": "c"}]})";
  const Model m2 = Model::create(two, ParamSet()).value();
  check_message(m2.plan({{"a", Shape{2, 3}}, {"b", Shape{4, 3}}}, ctx).status(), "'n' is 2 elsewhere");
}

TEST_CASE("graph: intermediate values share memory once dead; the workspace is exact") {
  // A chain of 6 elementwise nodes on one map: by liveness two buffers
  // would do; in place, one.
  std::string nodes;
  const char* ops[] = {"sigmoid", "tanh", "relu", "hardswish", "silu", "relu6"};
  for (int i = 0; i < 6; ++i)
    nodes += std::string(i ? "," : "") + "{\"name\": \"n" + std::to_string(i) + "\", \"op\": \"" +
             ops[i] + "\", \"inputs\": [\"" + (i ? "v" + std::to_string(i) : std::string("x")) +
             "\"], \"outputs\": [\"v" + std::to_string(i + 1) + "\"]}";
  const Model m = Model::create(with_nodes(nodes, "v6"), ParamSet()).value();
  const Shape s{2, 4, 6, 5};
  ModelPlan plan = m.plan({{"x", s}}, Context{1}).value();
  const std::size_t one = workspace_bytes_for<float>(s.numel());
  CHECK(plan.activation_bytes() == 6 * one);
  CHECK(plan.arena_bytes() == one);
  const Value x = random_value(s, 3);
  ValueMap in, out;
  in["x"] = Value::wrap(ValueType::f32, s, x.data());
  out["y"] = Value::zeros(ValueType::f32, s).value();
  Workspace ws;
  REQUIRE(ws.reserve(plan.workspace_bytes() - kAlignment).ok());
  CHECK(plan.run(Context{1}, in, out, ws).code() == StatusCode::out_of_memory);
  // The input is never written over.
  const Value before = random_value(s, 3);
  REQUIRE(ws.reserve(plan.workspace_bytes()).ok());
  REQUIRE(plan.run(Context{1}, in, out, ws).ok());
  CHECK(std::memcmp(before.f32(), x.f32(), s.numel() * sizeof(float)) == 0);
}

TEST_CASE("graph: hostile files are refused, naming the node") {
  const std::string conv = kConvNet;
  check_message(load_error(with_nodes(R"({"name": "a", "op": "warp", "inputs": ["x"], "outputs": ["v3"]})")),
                "node 'a' (warp): unknown op 'warp'");
  check_message(load_error(with_nodes(R"({"name": "a", "op": "relu", "inputs": ["q"], "outputs": ["v3"]})")),
                "node 'a' (relu): input 'q' is not made by an input or an earlier node");
  // A cycle: a reads what b makes after it.
  check_message(load_error(with_nodes(R"({"name": "a", "op": "relu", "inputs": ["v2"], "outputs": ["v3"]},
                                       {"name": "b", "op": "relu", "inputs": ["v3"], "outputs": ["v2"]})")),
                "node 'a' (relu): input 'v2' is not made");
  check_message(load_error(with_nodes(R"({"name": "a", "op": "relu", "inputs": ["x"], "outputs": ["v3"]},
                                       {"name": "b", "op": "relu", "inputs": ["x"], "outputs": ["v3"]})")),
                "makes 'v3', which is already made");
  check_message(load_error(with_nodes(R"({"name": "a", "op": "relu", "inputs": ["x"], "outputs": ["v3"]},
                                       {"name": "a", "op": "relu", "inputs": ["x"], "outputs": ["v4"]})")),
                "node 'a': the name is used twice");
  check_message(load_error(with_nodes(R"({"name": "a", "op": "relu", "inputs": ["x"], "outputs": ["v3"]})", "zz")),
                "output 'y': 'zz' is not made");
  ParamSet partial;
  partial.add("conv.weight", random_tensor(Shape{8, 4, 3, 3}, 1, -0.5f, 0.5f));
  check_message(load_error(with_nodes(conv), partial), "node 'conv' (conv2d): param.conv.bias: missing");
  ParamSet bad_shape = conv_net_params();
  bad_shape.add("conv.weight", random_tensor(Shape{8, 4, 3}, 1, -0.5f, 0.5f));
  check_message(load_error(with_nodes(conv), bad_shape), "node 'conv' (conv2d): weight [8, 4, 3]");
  std::string bad_version = with_nodes(conv);
  bad_version.replace(bad_version.find("\"version\": 1"), 12, "\"version\": 2");
  check_message(load_error(bad_version), "'version' must be 1");
  check_message(load_error(with_nodes(R"({"name": "a", "op": "reshape", "inputs": ["x"], "outputs": ["v3"],
                                          "config": {"shape": [{"dim": ["nowhere", 0]}]}})")),
                "node 'a' (reshape): config 'shape' expression 'dim': 'nowhere' is not made");
  std::string deep = "1";
  for (int i = 0; i < 20; ++i) deep = "{\"mul\": [" + deep + ", 1]}";
  check_message(load_error(with_nodes(R"({"name": "a", "op": "reshape", "inputs": ["x"], "outputs": ["v3"],
                                          "config": {"shape": [)" + deep + "]}}")),
                "nested at most 16 deep");
  check_message(load_error(with_nodes(R"({"name": "a", "op": "se", "inputs": ["x"], "outputs": ["v3"]})")),
                "node 'a' (se): a module node names each input and output");
  check_message(load_error(with_nodes(R"({"name": "a", "op": "max_pool2d", "inputs": ["x"], "outputs": ["v3"],
                                          "config": {"kernel_size": [0, 2]}})")),
                "node 'a' (max_pool2d): config 'kernel_size' must hold integers in [1, 65535]");
  // Shapes that do not fit are found when planning, naming the node.
  const Model m = Model::create(with_nodes(R"({"name": "r", "op": "reshape", "inputs": ["x"],
      "outputs": ["v3"], "config": {"shape": [7, -1]}})"), ParamSet()).value();
  check_message(m.plan({{"x", Shape{1, 4, 6, 5}}}, Context{1}).status(), "node 'r' (reshape): cannot view");
}

// Several ops with sizes and names to mutate: pooling, slicing, a reshape
// by expression, softmax, concat, permute, expand and a module node.
const char* kOpsNet = R"(
  {"name": "pool", "op": "max_pool2d", "inputs": ["x"], "outputs": ["p"],
   "config": {"kernel_size": [2, 2], "stride": [1, 1], "padding": [1, 1], "ceil_mode": true}},
  {"name": "cut", "op": "slice", "inputs": ["p"], "outputs": ["s"],
   "config": {"dim": 2, "start": 1, "end": 6, "step": 2}},
  {"name": "flat", "op": "reshape", "inputs": ["s"], "outputs": ["f"],
   "config": {"shape": [{"dim": ["x", 0]}, {"mul": [{"dim": ["s", 1]}, 3]}, -1]}},
  {"name": "norm", "op": "softmax", "inputs": ["f"], "outputs": ["n"], "config": {"dim": -1}},
  {"name": "both", "op": "concat", "inputs": ["n", "n"], "outputs": ["c"], "config": {"dim": 1}},
  {"name": "turn", "op": "permute", "inputs": ["c"], "outputs": ["t"], "config": {"dims": [0, 2, 1]}},
  {"name": "grow", "op": "expand", "inputs": ["t"], "outputs": ["e"],
   "config": {"shape": [-1, -1, {"dim": ["c", 1]}]}},
  {"name": "se", "op": "se", "inputs": ["x"], "outputs": ["v3"], "params": "se.",
   "input_names": ["x"], "output_names": ["y"],
   "config": {"channels": 4, "rd_channels": 2, "act": "relu", "gate": "hard_sigmoid"}},
  {"name": "sum", "op": "sum", "inputs": ["e"], "outputs": ["v4"], "config": {"dims": [1]}})";

ParamSet ops_net_params() {
  ParamSet p;
  p.add("se.fc1.weight", random_tensor(Shape{2, 4, 1, 1}, 1, -1, 1));
  p.add("se.fc1.bias", random_tensor(Shape{2}, 2, -1, 1));
  p.add("se.fc2.weight", random_tensor(Shape{4, 2, 1, 1}, 3, -1, 1));
  p.add("se.fc2.bias", random_tensor(Shape{4}, 4, -1, 1));
  return p;
}

// The positions of every number and string literal of a JSON text.
std::vector<std::pair<std::size_t, std::size_t>> literals(const std::string& t) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  for (std::size_t i = 0; i < t.size();) {
    if (t[i] == '"') {
      const std::size_t end = t.find('"', i + 1) + 1;
      if (t[end] != ':') out.emplace_back(i, end - i);  // values, not keys
      i = end;
    } else if (t[i] == '-' || (t[i] >= '0' && t[i] <= '9')) {
      std::size_t end = i + 1;
      while (end < t.size() && std::strchr("0123456789.eE+-", t[end])) ++end;
      out.emplace_back(i, end - i);
      i = end;
    } else {
      ++i;
    }
  }
  return out;
}

TEST_CASE("graph: every literal of a graph set to hostile values gives a status, never a crash") {
  const char* values[] = {"0", "-1", "-5", "2147483647", "2147483648", "1e15", "2.5", "\"\"",
                          "\"x\"", "\"v3\"", "null", "true", "[]", "{}"};
  test::MutationCounts counts;
  for (const auto& [nodes, params] : {std::make_pair(std::string(kConvNet), conv_net_params()),
                                      std::make_pair(std::string(kOpsNet), ops_net_params())}) {
    const std::string base = with_nodes(nodes, "v3\"}, {\"name\": \"z\", \"value\": \"v4");
    REQUIRE(Model::create(base, params).ok());
    for (const auto& [at, len] : literals(base))
      for (const char* value : values) {
        const std::string text = base.substr(0, at) + value + base.substr(at + len);
        CAPTURE(text.substr(at > 40 ? at - 40 : 0, 100));
        Result<Model> m = Model::create(text, params);
        if (!m.ok()) {
          CHECK_FALSE(m.status().message().empty());
          ++counts.refused;
          continue;
        }
        Case c;
        c.path = "mutated", c.kind = "graph", c.module = Model::as_module(std::move(m).value());
        c.inputs["x"] = random_value(Shape{2, 4, 6, 5}, 3);
        test::run_capped(std::move(c), counts);
      }
  }
  test::check_counts(counts, "mutated graphs");
}

// A model file in memory: the graph as metadata, one F32 tensor per key.
Result<Model> model_file(const std::string& graph, const std::vector<std::string>& keys) {
  std::string escaped;
  for (char ch : graph) {
    if (ch == '"' || ch == '\\') escaped += '\\';
    if (ch != '\n') escaped += ch;
  }
  std::string header = "{\"__metadata__\": {\"module\": \"graph\", \"config\": \"" + escaped + "\"}";
  for (std::size_t i = 0; i < keys.size(); ++i)
    header += ", \"" + keys[i] + "\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [" +
              std::to_string(4 * i) + ", " + std::to_string(4 * i + 4) + "]}";
  header += "}";
  std::vector<std::uint8_t> bytes(8);
  const std::uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), 4 * keys.size(), 0);
  Result<SafetensorsFile> f = SafetensorsFile::from_bytes(bytes.data(), bytes.size(), "m.safetensors");
  REQUIRE(f.ok());
  return Model::load(f.value());
}

TEST_CASE("graph: a file's tensors must all belong to nodes") {
  const std::string g = with_nodes(R"({"name": "a", "op": "relu", "inputs": ["x"], "outputs": ["v3"]})");
  CHECK(model_file(g, {}).ok());
  CHECK(model_file(g, {"param.bn.num_batches_tracked", "pytorch.predictions"}).ok());
  const Status extra = model_file(g, {"param.stray.weight"}).status();
  check_message(extra, "m.safetensors: tensor 'param.stray.weight' belongs to no node");
}

TEST_CASE("graph: a registry module as a node") {
  ParamSet p;
  p.add("se.fc1.weight", random_tensor(Shape{2, 4, 1, 1}, 1, -1, 1));
  p.add("se.fc1.bias", random_tensor(Shape{2}, 2, -1, 1));
  p.add("se.fc2.weight", random_tensor(Shape{4, 2, 1, 1}, 3, -1, 1));
  p.add("se.fc2.bias", random_tensor(Shape{4}, 4, -1, 1));
  const std::string node = R"({"name": "se", "op": "se", "inputs": ["x"], "outputs": ["v3"],
      "params": "se.", "input_names": ["x"], "output_names": ["attention"],
      "config": {"channels": 4, "rd_channels": 2, "act": "relu", "gate": "sigmoid"}})";
  const Model m = Model::create(with_nodes(node), p).value();
  const Value x = random_value(Shape{2, 4, 6, 5}, 5);
  const Value a = run_model(m, x, Context{1}, true);
  CHECK(a.shape() == Shape{2, 4});  // the on-request output, asked for by name
  std::string unknown = node;
  unknown.replace(unknown.find("[\"attention\"]"), 13, "[\"gate\"]");
  const Model bad = Model::create(with_nodes(unknown), p).value();
  check_message(bad.plan({{"x", Shape{1, 4, 6, 5}}}, Context{1}).status(), "has no output 'gate'");
}

TEST_CASE(".npy: round trip, and every malformed file named") {
  const std::string path = "test_graph_tmp.npy";
  const Value v = random_value(Shape{2, 3, 5}, 1);
  REQUIRE(write_npy(path, v).ok());
  const Value r = read_npy(path).value();
  CHECK(r.shape() == v.shape());
  CHECK(std::memcmp(r.f32(), v.f32(), 30 * sizeof(float)) == 0);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const auto parse = [&](std::string b) { return parse_npy(b.data(), b.size(), "f.npy").status(); };
  CHECK(parse(bytes).ok());
  check_message(parse(bytes.substr(0, bytes.size() - 4)), "f.npy: shape [2, 3, 5] needs 120 bytes of data, the file has 116");
  std::string fortran = bytes;
  fortran.replace(fortran.find("False"), 5, "True ");
  check_message(parse(fortran), "Fortran order");
  std::string f8 = bytes;
  f8.replace(f8.find("<f4"), 3, "<f8");
  check_message(parse(f8), "dtype '<f8'");
  check_message(parse(std::string("\x93NUMPY\x01\x00\xff\xff", 10)), "header length");
  check_message(parse("hello world"), "not a .npy file");
  std::string five = bytes;
  five.replace(five.find("(2, 3, 5)"), 9, "(1,2,3,4,5)");
  check_message(parse(five), "more than 4 axes");
  std::remove(path.c_str());
}

TEST_CASE("docs/model-format.md documents exactly the graph's ops") {
  std::ifstream in(std::string(EDGEATTN_DOCS_DIR) + "/model-format.md");
  REQUIRE(in);
  std::set<std::string> documented;
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, 3, "| `") != 0) continue;  // a table row of the op reference
    documented.insert(line.substr(3, line.find('`', 3) - 3));
  }
  std::set<std::string> ops;
#define EDGEATTN_TEST_OP(name) ops.insert(#name);
  EDGEATTN_GRAPH_OP_LIST(EDGEATTN_TEST_OP)
#undef EDGEATTN_TEST_OP
  CHECK(documented == ops);
}

}  // namespace
}  // namespace edgeattn
