// The fashion model on one image from a .npy file: the five likeliest
// classes. Everything about the network is in the model file; this program
// only normalises the pixels as the model's metadata says.
//
//   fashion_top5 [--model M.safetensors] IMAGE.npy
//
// IMAGE.npy: float32 pixels in [0, 1], [28, 28] or [1, 1, 28, 28] (e.g.
// np.save("x.npy", img.astype(np.float32) / 255)); examples/data has one.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "edgeattn/edgeattn.h"
#include "edgeattn/npy.h"

using namespace edgeattn;

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "fashion_top5: %s\n", printable(what).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = EDGEATTN_EXAMPLE_MODELS "/fashion_cbam.safetensors", image;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--model" && i + 1 < argc) model = argv[++i];
    else if (!a.empty() && a[0] != '-' && image.empty()) image = a;
    else return fail("usage: fashion_top5 [--model M.safetensors] IMAGE.npy");
  }
  if (image.empty()) return fail("usage: fashion_top5 [--model M.safetensors] IMAGE.npy");
  Result<SafetensorsFile> f = SafetensorsFile::open(model);
  if (!f.ok()) return fail(f.status().message());
  Result<Model> net = Model::load(f.value());
  if (!net.ok()) return fail(net.status().message());
  const auto meta = [&](const char* k) {
    const auto it = f->metadata().find(k);
    return it == f->metadata().end() ? std::string() : it->second;
  };
  Result<Json> classes = parse_json(meta("classes"));
  if (!classes.ok() || !classes->is_array() || classes->elements().size() != 10)
    return fail(model + ": metadata 'classes' is not a list of 10 names");
  Result<Value> x = read_npy(image);
  if (!x.ok()) return fail(x.status().message());
  if (x->type() != ValueType::f32 || x->shape().numel() != 28 * 28)
    return fail(image + ": expected float32 [28, 28] pixels, found " + value_type_name(x->type()) + " " +
                x->shape().to_string());
  const float mean = std::stof(meta("input_mean")), stdev = std::stof(meta("input_std"));
  ValueMap in, out;
  in["input"] = Value::zeros(ValueType::f32, Shape{1, 1, 28, 28}).value();
  for (std::size_t i = 0; i < 28 * 28; ++i) in["input"].f32()[i] = (x->f32()[i] - mean) / stdev;

  const Context ctx{1};
  Result<ModelPlan> plan = net->plan({{"input", in["input"].shape()}}, ctx);
  if (!plan.ok()) return fail(plan.status().message());
  for (const OutputSpec& o : plan->outputs()) out[o.name] = Value::zeros(o.type, o.shape).value();
  Workspace ws;
  Status st = ws.reserve(plan->workspace_bytes());
  if (st.ok()) st = plan->run(ctx, in, out, ws);
  if (!st.ok()) return fail(st.message());

  // Softmax over the logits, then the five largest.
  const float* logits = out["output0"].f32();
  const float top = *std::max_element(logits, logits + 10);
  std::vector<double> p(10);
  double sum = 0;
  for (int c = 0; c < 10; ++c) sum += p[c] = std::exp(double(logits[c]) - top);
  std::vector<int> order(10);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
  std::printf("%s:\n", printable(image).c_str());
  for (int k = 0; k < 5; ++k)
    std::printf("  %5.1f%%  %s\n", 100 * p[order[k]] / sum, classes->elements()[order[k]].as_string().c_str());
  return 0;
}
