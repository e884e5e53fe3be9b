// Translation with attention (seq2seq, Bahdanau et al. 2015): a model
// trained by tools/train_dates.py turns dates written by people, in many
// formats and languages, into ISO 8601. Translates the given inputs (or a
// few defaults) with beam search, checks the held-out test dates against
// PyTorch's translations and the truth, and draws the alignment of the
// first input as an SVG (and as text). The model file is loaded with
// edgeattn::Model; its Seq2Seq node is used through its typed API.
//
//   translate_dates [--model M.safetensors] [--svg OUT.svg] ["a date" ...]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "edgeattn/edgeattn.h"
#include "edgeattn/json.h"
#include "edgeattn/safetensors.h"

using namespace edgeattn;

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "translate_dates: %s\n", what.c_str());
  return 1;
}

// The code points of a UTF-8 string, each as its own UTF-8 substring.
std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : c >> 5 == 6 ? 2 : c >> 4 == 14 ? 3 : 4;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string detokenize(const std::vector<std::string>& vocab, const std::int64_t* t, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n && t[i] != 2; ++i) s += vocab[t[i]];
  return s;
}

// The colour of a weight: white to dark blue by its square root, so that
// weak weights (0.01-0.1, the spread of a soft alignment) stay visible.
std::string shade(float a) {
  const float t = std::sqrt(a < 0 ? 0.0f : a > 1 ? 1.0f : a);
  const int r = static_cast<int>(255 + t * (8 - 255)), g = static_cast<int>(255 + t * (48 - 255)),
            b = static_cast<int>(255 + t * (107 - 255));
  return "rgb(" + std::to_string(r) + "," + std::to_string(g) + "," + std::to_string(b) + ")";
}

std::string escaped(const std::string& c) { return c == "<" ? "&lt;" : c == "&" ? "&amp;" : c == ">" ? "&gt;" : c; }

// The alignment of one translation: a cell per (output, input) character
// pair, the input along the top, the output down the side, and a scale.
void write_svg(const std::string& path, const std::vector<std::string>& src, const std::string& out,
               const std::vector<float>& a, std::size_t rows) {
  const int cell = 22, x0 = 70, y0 = 96;
  const int grid_w = cell * static_cast<int>(src.size()), grid_h = cell * static_cast<int>(rows);
  const int bar_x = x0 + grid_w + 30, bar_h = grid_h > 160 ? grid_h : 160;
  std::string input;
  for (const std::string& c : src) input += c;
  std::ofstream f(path);
  f << "<svg xmlns='http://www.w3.org/2000/svg' width='" << bar_x + 90 << "' height='" << y0 + bar_h + 24
    << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n";
  f << "<text x='" << x0 << "' y='22' font-size='15' font-weight='bold'>Attention while translating \""
    << escaped(input) << "\" to " << escaped(out) << "</text>\n"
    << "<text x='" << x0 << "' y='40' fill='#555'>each row: the weights over the input characters when the decoder"
    << " wrote that output character (beam search, width 4)</text>\n";
  for (std::size_t j = 0; j < src.size(); ++j)
    f << "<text x='" << x0 + cell * j + cell / 2 << "' y='" << y0 - 8 << "' text-anchor='middle' font-family='monospace'"
      << " font-size='13'>" << escaped(src[j]) << "</text>\n";
  f << "<text x='" << x0 + grid_w / 2 << "' y='" << y0 - 26 << "' text-anchor='middle' fill='#555'>input</text>\n";
  f << "<text transform='translate(" << x0 - 44 << "," << y0 + grid_h / 2
    << ") rotate(-90)' text-anchor='middle' fill='#555'>output</text>\n";
  for (std::size_t i = 0; i < rows; ++i) {
    f << "<text x='" << x0 - 8 << "' y='" << y0 + cell * i + 16 << "' text-anchor='end' font-family='monospace'"
      << " font-size='13'>" << (i < out.size() ? escaped(out.substr(i, 1)) : "eos") << "</text>\n";
    for (std::size_t j = 0; j < src.size(); ++j)
      f << "<rect x='" << x0 + cell * j << "' y='" << y0 + cell * i << "' width='" << cell - 1 << "' height='"
        << cell - 1 << "' fill='" << shade(a[i * src.size() + j]) << "'/>\n";
  }
  // The scale: the same square-root ramp, labelled at round weights.
  for (int y = 0; y < bar_h; ++y)
    f << "<rect x='" << bar_x << "' y='" << y0 + y << "' width='18' height='1.2' fill='"
      << shade(static_cast<float>((1.0 - double(y) / (bar_h - 1)) * (1.0 - double(y) / (bar_h - 1)))) << "'/>\n";
  f << "<rect x='" << bar_x << "' y='" << y0 << "' width='18' height='" << bar_h << "' fill='none' stroke='#999'/>\n";
  for (double v : {1.0, 0.5, 0.25, 0.1, 0.02, 0.0}) {
    const double yy = y0 + (1.0 - std::sqrt(v)) * (bar_h - 1);
    f << "<line x1='" << bar_x + 18 << "' x2='" << bar_x + 23 << "' y1='" << yy << "' y2='" << yy << "' stroke='#555'/>"
      << "<text x='" << bar_x + 27 << "' y='" << yy + 4 << "'>" << v << "</text>\n";
  }
  f << "<text x='" << bar_x - 4 << "' y='" << y0 - 8 << "'>weight</text>\n</svg>\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = EDGEATTN_EXAMPLE_MODELS "/dates_seq2seq.safetensors", svg = "translate_dates_alignment.svg";
  std::vector<std::string> inputs;
  std::size_t held_out = SIZE_MAX;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--model" || a == "--svg") {
      if (i + 1 >= argc) return fail(a + ": needs a value");
      (a == "--model" ? model : svg) = argv[++i];
    } else if (a == "--held-out") {  // check only the first N held-out dates (emulated runs)
      char* end = nullptr;
      const long v = i + 1 < argc ? std::strtol(argv[i + 1], &end, 10) : 0;
      if (i + 1 >= argc || *end || v < 1) return fail("--held-out: needs a count >= 1");
      held_out = static_cast<std::size_t>(v), ++i;
    } else if (a.size() > 1 && a[0] == '-' && a[1] == '-') {
      return fail("unknown option " + a);
    } else {
      inputs.push_back(a);
    }
  }
  if (inputs.empty())
    inputs = {"Tuesday, 24th of November 2026", "24.11.26", "nov 24 2026", "3. März 1987", "14 juillet 1989",
              "martes, 2 de mayo de 2000", "12 Jan 2049"};
  Result<SafetensorsFile> f = SafetensorsFile::open(model);
  if (!f.ok()) return fail(f.status().message());
  Result<Json> sv = parse_json(f->metadata().count("src_vocab") ? f->metadata().at("src_vocab") : "");
  Result<Json> tv = parse_json(f->metadata().count("tgt_vocab") ? f->metadata().at("tgt_vocab") : "");
  if (!sv.ok() || !tv.ok()) return fail(model + ": no src_vocab / tgt_vocab metadata");
  std::map<std::string, std::int64_t> src_id;
  for (std::size_t i = 0; i < sv->elements().size(); ++i) src_id[sv->elements()[i].as_string()] = std::int64_t(i);
  std::vector<std::string> tgt;
  for (const Json& t : tv->elements()) tgt.push_back(t.as_string());
  // The model file is a graph of one seq2seq node (docs/model-format.md);
  // its Seq2Seq gives beam search and the alignments beyond the graph's run.
  Result<Model> net = Model::load(f.value());
  if (!net.ok()) return fail(net.status().message());
  const Seq2Seq* m = net->find_module<Seq2Seq>();
  if (!m) return fail(model + ": the model has no seq2seq node");
  const std::size_t t_max = m->config().max_len;

  // The held-out test dates: greedy, all at once, against PyTorch and the truth.
  const auto read = [&](const char* k) {
    const TensorEntry* e = f->find(k);
    return e ? f->read_i64(*e) : Result<std::vector<std::int64_t>>(Status::invalid(std::string("no ") + k));
  };
  auto src = read("test.src"), lengths = read("test.src_lengths"), want = read("test.pytorch_tokens"),
       truth = read("test.target");
  if (!src.ok() || !lengths.ok() || !want.ok() || !truth.ok()) return fail(model + ": test tensors missing");
  const std::size_t s_len = src->size() / lengths->size();
  const std::size_t n = std::min(lengths->size(), held_out);
  const Context ctx{1};
  Workspace ws;
  std::size_t longest = s_len;
  for (const std::string& in : inputs) longest = std::max(longest, code_points(in).size());
  if (!ws.reserve(std::max(m->workspace_bytes(n, s_len, 1, ctx), m->workspace_bytes(1, longest, 4, ctx))).ok())
    return fail("out of memory");
  std::vector<std::int64_t> tokens(n * t_max);
  const Status st = m->greedy(ctx, src->data(), n, s_len, lengths->data(), t_max, false, tokens.data(), nullptr,
                              nullptr, nullptr, ws);
  if (!st.ok()) return fail(st.message());
  std::size_t same = 0, right = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t* a = tokens.data() + i * t_max;
    const std::string got = detokenize(tgt, a, t_max);
    same += got == detokenize(tgt, want->data() + i * t_max, t_max);
    right += got == detokenize(tgt, truth->data() + i * t_max, t_max);
  }
  std::printf("held-out dates: %zu; exact match %.2f%% (PyTorch: %.2f%%); translations equal to PyTorch's: %zu\n\n", n,
              100.0 * right / n, 100.0 * std::stod(f->metadata().at("pytorch_exact_match")), same);

  std::vector<std::int64_t> out(t_max);
  std::vector<float> align(t_max * longest);
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const std::vector<std::string> cps = code_points(inputs[k]);
    std::vector<std::int64_t> ids;
    for (const std::string& c : cps) ids.push_back(src_id.count(c) ? src_id[c] : 1);  // 1: <unk>
    Seq2Seq::Hypothesis h;
    h.tokens = out.data(), h.alignments = align.data();
    Seq2Seq::BeamOptions opt;
    opt.width = 4;
    const Status bs = m->beam_search(ctx, ids.data(), ids.size(), opt, h, ws);
    if (!bs.ok()) return fail(bs.message());
    const std::string iso = detokenize(tgt, out.data(), h.length);
    std::printf("  %-34s -> %s   (beam 4, log-prob %.4f)\n", inputs[k].c_str(), iso.c_str(), h.score);
    if (k == 0) {
      std::printf("\n  alignment of \"%s\" (rows: output characters, columns: input):\n", inputs[k].c_str());
      const char* shades = " .:-=+*#%@";
      for (std::size_t i = 0; i < h.length; ++i) {
        std::printf("    %s ", i < iso.size() ? iso.substr(i, 1).c_str() : "$");
        for (std::size_t j = 0; j < cps.size(); ++j) std::putchar(shades[int(align[i * cps.size() + j] * 9.99f)]);
        std::printf("\n");
      }
      std::printf("      %s\n\n", inputs[k].c_str());
      write_svg(svg, cps, iso, align, h.length);
    }
  }
  std::printf("\nwrote %s: the alignment matrix of the first input\n", svg.c_str());
  // PyTorch's translations are the float32 model's: a model with weights in
  // fewer bits (docs/weights.md) must still translate every held-out date.
  const auto weights = f->metadata().find("weights");
  if (weights != f->metadata().end() && weights->second != "f32")
    return right == n ? 0 : fail(weights->second + " weights: not every held-out date translated exactly");
  return same == n ? 0 : fail("translations differ from PyTorch's");
}
