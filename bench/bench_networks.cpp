// Whole networks (docs/model-format.md) with Google Benchmark:
//  - fashion_graph vs fashion_by_hand: the example's CBAM classifier run by
//    edgeattn::Model and by the same layers called one by one with the C++
//    API (the graph layer's overhead, same process, same weights);
//  - graph_overhead: what running a node costs beyond its op;
//  - every case file in $EDGEATTN_NETWORKS (tools/gen_model_cases.py writes
//    them; bench/peers/run.sh times the peers on the same weights): one run
//    of the model at the case's input shape.
// Counters: GFLOPS and peak_frac (conv, linear and matmul flops against the
// FMA peak), the plan's arena and the sum of its activations in MB.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <cstring>
#include <dirent.h>
#include <memory>
#include <string>
#include <vector>

#include "counters.h"
#include "edgeattn/edgeattn.h"

using namespace edgeattn;

namespace {

Tensor param(const SafetensorsFile& f, const std::string& key) {
  const TensorEntry* e = f.find("param." + key);
  if (!e) {
    std::fprintf(stderr, "bench_networks: %s has no param.%s\n", f.name().c_str(), key.c_str());
    std::exit(2);
  }
  return f.read_f32(*e).value();
}

Tensor as_matrix(const Tensor& t, std::size_t rows) {  // 1x1 conv weights as [out, in]
  Tensor m = Tensor::zeros(Shape{rows, t.numel() / rows}).value();
  std::memcpy(m.data(), t.data(), t.numel() * sizeof(float));
  return m;
}

// The fashion model by hand: conv-bn-relu, maxpool, conv-bn-relu, CBAM,
// maxpool, conv-bn-relu, mean, linear (tools/train_fashion_cbam.py).
struct FashionByHand {
  explicit FashionByHand(const SafetensorsFile& f) {
    const auto conv = [&](const char* c, const char* b, std::size_t in, std::size_t out) {
      Conv2dParams p{in, out, 3, 3, 1, 1, 1, 1, 1, Activation::relu};
      const std::string bn = b;
      BatchNorm n{param(f, bn + ".weight"), param(f, bn + ".bias"), param(f, bn + ".running_mean"),
                  param(f, bn + ".running_var")};
      return Conv2d::create(p, param(f, std::string(c) + ".weight"), Tensor(), &n).value();
    };
    c1 = conv("conv1", "bn1", 1, 16), c2 = conv("conv2", "bn2", 16, 32), c3 = conv("conv3", "bn3", 32, 64);
    SqueezeExcite::Weights mlp;
    mlp.fc1_weight = as_matrix(param(f, "cbam.channel.fc1.weight"), 8);
    mlp.fc2_weight = as_matrix(param(f, "cbam.channel.fc2.weight"), 32);
    BatchNorm sbn{param(f, "cbam.spatial.conv.bn.weight"), param(f, "cbam.spatial.conv.bn.bias"),
                  param(f, "cbam.spatial.conv.bn.running_mean"), param(f, "cbam.spatial.conv.bn.running_var")};
    cbam = Cbam::create(CbamChannel::create(std::move(mlp)).value(),
                        CbamSpatial::create(7, param(f, "cbam.spatial.conv.conv.weight"), sbn).value())
               .value();
    fc = Linear::create(param(f, "fc.weight"), param(f, "fc.bias")).value();
  }
  // Buffers for a batch, then one forward pass per call.
  void plan(std::size_t b, const Context& ctx) {
    for (auto* t : {&a1, &p1, &a2, &a3, &p2, &a4}) *t = Tensor();
    a1 = Tensor::zeros(Shape{b, 16, 28, 28}).value(), p1 = Tensor::zeros(Shape{b, 16, 14, 14}).value();
    a2 = Tensor::zeros(Shape{b, 32, 14, 14}).value(), a3 = Tensor::zeros(Shape{b, 32, 14, 14}).value();
    map = Tensor::zeros(Shape{b, 1, 14, 14}).value(), p2 = Tensor::zeros(Shape{b, 32, 7, 7}).value();
    a4 = Tensor::zeros(Shape{b, 64, 7, 7}).value(), g = Tensor::zeros(Shape{b, 64}).value();
    y = Tensor::zeros(Shape{b, 10}).value();
    std::size_t most = c1.workspace_bytes(Shape{b, 1, 28, 28}, ctx);
    most = std::max(most, c2.workspace_bytes(p1.shape(), ctx));
    most = std::max(most, cbam.workspace_bytes(a2.shape(), ctx));
    most = std::max(most, c3.workspace_bytes(p2.shape(), ctx));
    most = std::max(most, fc.workspace_bytes(b, ctx));
    (void)ws.reserve(most);
  }
  Status forward(const Context& ctx, ConstView x) {
    Pool2dParams pool;
    EDGEATTN_RETURN_IF_ERROR(c1.forward(ctx, x, a1.view(), ws));
    EDGEATTN_RETURN_IF_ERROR(max_pool2d(ctx, pool, a1.view(), p1.view()));
    EDGEATTN_RETURN_IF_ERROR(c2.forward(ctx, p1.view(), a2.view(), ws));
    EDGEATTN_RETURN_IF_ERROR(cbam.forward(ctx, a2.view(), a3.view(), View(), map.view(), ws));
    EDGEATTN_RETURN_IF_ERROR(max_pool2d(ctx, pool, a3.view(), p2.view()));
    EDGEATTN_RETURN_IF_ERROR(c3.forward(ctx, p2.view(), a4.view(), ws));
    EDGEATTN_RETURN_IF_ERROR(global_avg_pool(ctx, a4.view(), g.view()));
    return fc.forward(ctx, g.view(), y.view(), ws);
  }
  Conv2d c1, c2, c3;
  Cbam cbam;
  Linear fc;
  Tensor a1, p1, a2, a3, map, p2, a4, g, y;
  Workspace ws;
};

// A model planned for `inputs`, outputs and workspace allocated.
struct Planned {
  Planned(const Model& m, ValueMap in, const Context& ctx) : inputs(std::move(in)) {
    std::map<std::string, Shape> shapes;
    for (const auto& [name, v] : inputs) shapes[name] = v.shape();
    plan = m.plan(shapes, ctx).value();
    for (const OutputSpec& o : plan.outputs()) outputs[o.name] = Value::zeros(o.type, o.shape).value();
    (void)ws.reserve(plan.workspace_bytes());
  }
  ModelPlan plan;
  ValueMap inputs, outputs;
  Workspace ws;
};

void count(benchmark::State& st, const ModelPlan& plan, int threads) {
  bench::count_flops(st, plan.flops(), threads);
  st.counters["arena_MB"] = double(plan.arena_bytes()) / 1e6;
  st.counters["activations_MB"] = double(plan.activation_bytes()) / 1e6;
}

void run_graph(benchmark::State& st, const Model& m, ValueMap in, int threads) {
  const Context ctx{threads};
  Planned p(m, std::move(in), ctx);
  for (auto _ : st)
    if (!p.plan.run(ctx, p.inputs, p.outputs, p.ws).ok()) st.SkipWithError("run failed");
  count(st, p.plan, threads);
}

Value normal_input(const Shape& s) {
  Value v = Value::zeros(ValueType::f32, s).value();
  std::uint32_t x = 12345;
  for (std::size_t i = 0; i < s.numel(); ++i) {
    x = x * 1664525u + 1013904223u;
    v.f32()[i] = static_cast<float>(x >> 8) / 16777216.0f * 2.0f - 1.0f;
  }
  return v;
}

void register_fashion() {
  static const SafetensorsFile file =
      SafetensorsFile::open(EDGEATTN_EXAMPLE_MODELS "/fashion_cbam.safetensors").value();
  static const Model model = Model::load(file).value();
  for (std::size_t batch : {1, 64}) {
    const Shape s{batch, 1, 28, 28};
    bench::register_threads("fashion_graph/batch:" + std::to_string(batch), [s](benchmark::State& st, int t) {
      ValueMap in;
      in["input"] = normal_input(s);
      run_graph(st, model, std::move(in), t);
    });
    bench::register_threads("fashion_by_hand/batch:" + std::to_string(batch), [s](benchmark::State& st, int t) {
      const Context ctx{t};
      FashionByHand net(file);
      net.plan(s[0], ctx);
      const Value x = normal_input(s);
      for (auto _ : st)
        if (!net.forward(ctx, ConstView(x.f32(), s)).ok()) st.SkipWithError("run failed");
    });
  }
}

// The graph layer's own cost: chains of n relu nodes on one float (the
// kernel call is a few nanoseconds), so time / n is what a node costs.
void register_overhead() {
  for (int n : {1, 16}) {
    std::string nodes;
    for (int i = 0; i < n; ++i)
      nodes += std::string(i ? "," : "") + "{\"name\": \"n" + std::to_string(i) +
               "\", \"op\": \"relu\", \"inputs\": [\"v" + std::to_string(i) + "\"], \"outputs\": [\"v" +
               std::to_string(i + 1) + "\"]}";
    const std::string graph = R"({"format": "edgeattn-graph", "version": 1,
      "inputs": [{"name": "v0", "dtype": "f32", "shape": [1]}], "nodes": [)" + nodes +
                              R"(], "outputs": [{"name": "y", "value": "v)" + std::to_string(n) + "\"}]}";
    auto model = std::make_shared<Model>(Model::create(graph, ParamSet()).value());
    benchmark::RegisterBenchmark(("graph_overhead/nodes:" + std::to_string(n)).c_str(),
                                 [model](benchmark::State& st) {
                                   ValueMap in;
                                   in["v0"] = normal_input(Shape{1});
                                   run_graph(st, *model, std::move(in), 1);
                                 })
        ->Unit(benchmark::kNanosecond);
  }
}

// Each network case of the directory, at its own input shapes.
void register_networks(const char* dir) {
  DIR* d = opendir(dir);
  if (!d) return;
  std::vector<std::string> files;
  while (const dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    if (n.size() > 17 && n.compare(n.size() - 17, 17, ".case.safetensors") == 0 &&
        n.find(".b3.") == std::string::npos && n.find("negative") == std::string::npos)
      files.push_back(n);
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  for (const std::string& n : files) {
    auto c = std::make_shared<Case>(load_case(std::string(dir) + "/" + n).value());
    auto model = std::make_shared<Model>(Model::load(std::string(dir) + "/" + n).value());
    bench::register_threads("network/" + n.substr(0, n.size() - 17), [c, model](benchmark::State& st, int t) {
      ValueMap in;
      for (const auto& [name, v] : c->inputs)
        in[name] = Value::wrap(v.type(), v.shape(), v.data());
      run_graph(st, *model, std::move(in), t);
    });
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  register_overhead();
  register_fashion();
  if (const char* dir = std::getenv("EDGEATTN_NETWORKS")) register_networks(dir);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
