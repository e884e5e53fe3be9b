// Image classification with channel + spatial attention (CBAM, Woo et al.
// 2018): a small CNN trained on Fashion-MNIST by tools/train_fashion_cbam.py
// classifies the real test set (Debian's dataset-fashion-mnist), prints the
// accuracy and throughput, checks that every prediction equals PyTorch's,
// and writes the CBAM spatial attention maps over some test images as a
// PNG (and a few as text).
//
//   fashion_cbam [--model M.safetensors] [--data DIR] [--png OUT.png] [--threads N]
//
// The model file is a whole network (docs/model-format.md) exported by
// export_model(); edgeattn::Model plans and runs it. This file only reads
// the data, counts and draws.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <zlib.h>

#include "common/png.h"
#include "edgeattn/edgeattn.h"
#include "edgeattn/json.h"
#include "edgeattn/safetensors.h"

using namespace edgeattn;

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "fashion_cbam: %s\n", what.c_str());
  return 1;
}

// A gzipped IDX file (magic, big-endian u32 dims, u8 data).
bool read_idx(const std::string& path, std::vector<std::uint8_t>& data, std::vector<std::uint32_t>& dims) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char head[4];
  bool ok = gzread(f, head, 4) == 4 && head[0] == 0 && head[1] == 0 && head[2] == 8;
  dims.assign(ok ? head[3] : 0, 0);
  std::size_t n = 1;
  for (auto& d : dims) {
    unsigned char b[4];
    ok = ok && gzread(f, b, 4) == 4;
    d = (std::uint32_t(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
    n *= d;
  }
  data.resize(ok ? n : 0);
  ok = ok && gzread(f, data.data(), static_cast<unsigned>(n)) == static_cast<int>(n);
  gzclose(f);
  return ok;
}

}  // namespace

// Eight test images with the CBAM spatial attention over each (the 14x14
// map upsampled bilinearly and blended with the image), their true and
// predicted classes, a colour bar and a caption with where the attention
// falls (on: the mean over the garment's pixels, off: over the background).
bool write_picture(const std::string& path, const std::vector<std::uint8_t>& images, std::size_t hw,
                   const std::vector<float>& maps, const std::vector<std::uint8_t>& labels,
                   const std::vector<std::int64_t>& pred, const Json& classes, double on, double off) {
  const int cell = 192, gap = 28, top = 56, label_h = 44, bar_w = 24;
  const int width = 4 * cell + 5 * gap + bar_w + 60, height = top + 2 * (cell + label_h + gap) + 56;
  examples::Image img(width, height);
  const std::uint8_t ink[3] = {20, 20, 20}, grey[3] = {90, 90, 90}, good[3] = {0, 120, 40}, bad[3] = {190, 20, 20};
  examples::draw_text(img, gap, 16, "CBAM spatial attention, Fashion-MNIST test images", 3, ink);
  const auto map_at = [&](int k, float fy, float fx) {  // bilinear, at map coordinates
    fy = fy < 0 ? 0 : fy > 13 ? 13 : fy, fx = fx < 0 ? 0 : fx > 13 ? 13 : fx;
    const int y0 = static_cast<int>(fy), x0 = static_cast<int>(fx);
    const int y1 = y0 < 13 ? y0 + 1 : 13, x1 = x0 < 13 ? x0 + 1 : 13;
    const float wy = fy - y0, wx = fx - x0;
    const float* m = maps.data() + k * 196;
    return (1 - wy) * ((1 - wx) * m[y0 * 14 + x0] + wx * m[y0 * 14 + x1]) +
           wy * ((1 - wx) * m[y1 * 14 + x0] + wx * m[y1 * 14 + x1]);
  };
  for (int k = 0; k < 8; ++k) {
    const int ox = gap + (k % 4) * (cell + gap), oy = top + (k / 4) * (cell + label_h + gap);
    for (int y = 0; y < cell; ++y)
      for (int x = 0; x < cell; ++x) {
        const float g = images[k * hw + (y * 28 / cell) * 28 + x * 28 / cell] / 255.0f;
        std::uint8_t heat[3];
        examples::heat(map_at(k, (y + 0.5f) * 14 / cell - 0.5f, (x + 0.5f) * 14 / cell - 0.5f), heat);
        std::uint8_t rgb[3];  // the garment's ink darkens the heat colour
        for (int c = 0; c < 3; ++c) rgb[c] = static_cast<std::uint8_t>(heat[c] * (1.0f - 0.75f * g));
        img.set(ox + x, oy + y, rgb[0], rgb[1], rgb[2]);
      }
    const std::string truth = classes.elements()[labels[k]].as_string();
    const std::string guess = classes.elements()[static_cast<std::size_t>(pred[k])].as_string();
    examples::draw_text(img, ox, oy + cell + 8, "true: " + truth, 2, ink);
    examples::draw_text(img, ox, oy + cell + 26, "pred: " + guess, 2, guess == truth ? good : bad);
  }
  const int bx = gap + 4 * (cell + gap) + 8, by = top, bh = 2 * cell + label_h + gap;
  for (int y = 0; y < bh; ++y) {
    std::uint8_t rgb[3];
    examples::heat(1.0f - static_cast<float>(y) / (bh - 1), rgb);
    examples::fill(img, bx, by + y, bar_w, 1, rgb);
  }
  examples::draw_text(img, bx - 8, by - 12, "weight", 1, ink);
  examples::draw_text(img, bx + bar_w + 6, by, "1", 2, ink);
  examples::draw_text(img, bx + bar_w + 6, by + bh - 14, "0", 2, ink);
  char caption[128];
  std::snprintf(caption, sizeof caption, "mean weight %.2f on the garment, %.2f on the background:", on, off);
  examples::draw_text(img, gap, height - 48, caption, 2, grey);
  examples::draw_text(img, gap, height - 26,
                      off > on ? "the trained CBAM weighs the background up" : "the trained CBAM weighs the garment up",
                      2, grey);
  return examples::write_png(path, img);
}

int main(int argc, char** argv) {
  std::string model = EDGEATTN_EXAMPLE_MODELS "/fashion_cbam.safetensors";
  std::string data = "/usr/share/datasets/fashion-mnist", png = "fashion_cbam_attention.png";
  int threads = 0;
  for (int i = 1; i < argc; i += 2) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return fail(a + ": needs a value (or is not an option)");
    const std::string v = argv[i + 1];
    if (a == "--model") model = v;
    else if (a == "--data") data = v;
    else if (a == "--png") png = v;
    else if (a == "--threads") {
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 1 || n > kMaxThreads)
        return fail("--threads: '" + v + "' is not 1.." + std::to_string(kMaxThreads));
      threads = static_cast<int>(n);
    } else {
      return fail("unknown option " + a);
    }
  }
  Result<SafetensorsFile> f = SafetensorsFile::open(model);
  if (!f.ok()) return fail(f.status().message());
  const auto& meta = f->metadata();
  const auto meta_of = [&](const char* k) { auto it = meta.find(k); return it == meta.end() ? std::string() : it->second; };
  Result<Json> classes = parse_json(meta_of("classes"));
  if (!classes.ok()) return fail(model + ": metadata 'classes' missing or not JSON");
  const float mean = std::stof(meta_of("input_mean")), stdev = std::stof(meta_of("input_std"));
  std::vector<std::uint8_t> images, labels;
  std::vector<std::uint32_t> idims, ldims;
  if (!read_idx(data + "/t10k-images-idx3-ubyte.gz", images, idims) ||
      !read_idx(data + "/t10k-labels-idx1-ubyte.gz", labels, ldims) || idims.size() != 3)
    return fail("cannot read the Fashion-MNIST test set under " + data +
                " (apt-get install dataset-fashion-mnist)");
  const std::size_t n = idims[0], hw = std::size_t(idims[1]) * idims[2];
  const TensorEntry* pe = f->find("pytorch.predictions");
  if (!pe) return fail(model + ": no pytorch.predictions");
  Result<std::vector<std::int64_t>> torch_pred = f->read_i64(*pe);
  if (!torch_pred.ok() || torch_pred->size() != n) return fail(model + ": pytorch.predictions unusable");

  // The network, planned once for batches of 250 (the test set's 10,000
  // images are 40 of them): outputs, and one workspace for everything else.
  const std::size_t batch = 250;
  if (n % batch) return fail("the test set's size is not a multiple of 250");
  Result<Model> net = Model::load(f.value());
  if (!net.ok()) return fail(net.status().message());
  const Context ctx{threads};
  const Shape in_shape{batch, 1, idims[1], idims[2]};
  Result<ModelPlan> plan = net->plan({{"input", in_shape}}, ctx);
  if (!plan.ok()) return fail(plan.status().message());
  ValueMap in, out;
  in["input"] = Value::zeros(ValueType::f32, in_shape).value();
  for (const OutputSpec& o : plan->outputs()) out[o.name] = Value::zeros(o.type, o.shape).value();
  Workspace ws;
  if (!ws.reserve(plan->workspace_bytes()).ok()) return fail("out of memory");
  const float* logits = out["output0"].f32();       // [batch, 10]
  const float* maps = out["output1"].f32();         // CBAM's spatial attention [batch, 1, 14, 14]
  std::vector<float> first_maps;
  std::vector<std::int64_t> pred(n);

  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t b0 = 0; b0 + batch <= n; b0 += batch) {
    float* x = in["input"].f32();
    for (std::size_t i = 0; i < batch * hw; ++i) x[i] = (images[b0 * hw + i] / 255.0f - mean) / stdev;
    const Status st = plan->run(ctx, in, out, ws);
    if (!st.ok()) return fail(st.message());
    for (std::size_t i = 0; i < batch; ++i) pred[b0 + i] = std::int64_t(kernels::argmax(logits + i * 10, 10));
    if (b0 == 0) first_maps.assign(maps, maps + 8 * 196);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::size_t right = 0, same = 0;
  for (std::size_t i = 0; i < n; ++i) right += pred[i] == labels[i], same += pred[i] == torch_pred.value()[i];
  std::printf("Fashion-MNIST test set: %zu images, accuracy %.2f%% (PyTorch: %.2f%%)\n", n, 100.0 * right / n,
              100.0 * std::stod(meta_of("pytorch_accuracy")));
  std::printf("predictions equal to PyTorch's: %zu of %zu\n", same, n);
  std::printf("throughput: %.0f images/s (%s, %d threads, batches of %zu; %zu nodes, arena %zu KiB for %zu KiB of "
              "activations)\n", n / secs, isa_name(active_isa()), resolve_threads(ctx), batch, net->num_nodes(),
              plan->arena_bytes() >> 10, plan->activation_bytes() >> 10);

  // The spatial attention over the first test images: a few as text, eight
  // as a picture (input left, attention right, 8x).
  const char* shades = " .:-=+*#%@";
  for (std::size_t k = 0; k < 2; ++k) {
    std::printf("\nimage %zu: %s (predicted %s); CBAM spatial attention 14x14:\n", k,
                classes->elements()[labels[k]].as_string().c_str(), classes->elements()[pred[k]].as_string().c_str());
    for (int r = 0; r < 14; ++r) {
      std::printf("  ");
      for (int c = 0; c < 14; ++c) std::putchar(shades[int(first_maps[k * 196 + r * 14 + c] * 9.99f)]), std::putchar(' ');
      std::putchar('\n');
    }
  }
  // Where the attention falls: its mean over the garment's pixels (ink above
  // a quarter of full scale, at the map's 14x14 resolution) and over the rest.
  double on = 0, off = 0;
  std::size_t n_on = 0, n_off = 0;
  for (int k = 0; k < 8; ++k)
    for (int i = 0; i < 196; ++i) {
      const int r = i / 14, c = i % 14;
      const int ink = images[k * hw + (2 * r) * 28 + 2 * c] + images[k * hw + (2 * r) * 28 + 2 * c + 1] +
                      images[k * hw + (2 * r + 1) * 28 + 2 * c] + images[k * hw + (2 * r + 1) * 28 + 2 * c + 1];
      (ink > 4 * 64 ? on : off) += first_maps[k * 196 + i];
      (ink > 4 * 64 ? n_on : n_off) += 1;
    }
  on /= n_on ? n_on : 1, off /= n_off ? n_off : 1;
  if (!write_picture(png, images, hw, first_maps, labels, pred, classes.value(), on, off)) return 1;
  std::printf("\nwrote %s: 8 test images with their spatial attention overlaid (mean %.2f on the garment,"
              " %.2f on the background)\n", png.c_str(), on, off);
  // PyTorch's predictions are the float32 model's: a model with weights in
  // fewer bits (docs/weights.md) is held to its accuracy, within 0.3 points.
  const auto weights = f->metadata().find("weights");
  if (weights != f->metadata().end() && weights->second != "f32") {
    const double points = 100.0 * (double(right) / n - std::stod(meta_of("pytorch_accuracy")));
    std::printf("weights %s: accuracy %+.2f points from the float32 model's\n", weights->second.c_str(), points);
    return std::fabs(points) <= 0.3 ? 0 : fail("accuracy more than 0.3 points from the float32 model's");
  }
  return same == n ? 0 : fail("predictions differ from PyTorch's");
}
