// Time-series forecasting with an LSTM + self-attention (attention_forecaster
// of docs/modules.md), trained by tools/train_forecaster.py on the monthly El Nino
// sea surface temperatures (NOAA, public domain; examples/data/elnino.csv).
// Forecasts every month of the held-out years 1999-2010 one month ahead from
// the 36 before it, reports RMSE against the last-value and same-month-last-
// year baselines, checks every forecast against PyTorch's, and draws forecast
// vs actual and the attention over the last window (SVG, and as text).
//
//   elnino_forecast [--model M.safetensors] [--csv elnino.csv] [--svg OUT.svg]
//
// It runs the model file as deployed: load_module() and the generic Module.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "edgeattn/edgeattn.h"
#include "edgeattn/io.h"

using namespace edgeattn;

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "elnino_forecast: %s\n", what.c_str());
  return 1;
}

double rmse(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s / a.size());
}

// Forecast vs actual over the test months, and the last window's attention.
void write_svg(const std::string& path, const std::vector<std::string>& labels, const std::vector<double>& actual,
               const std::vector<double>& forecast, const std::vector<float>& attention) {
  const double w = 900, h = 300, x0 = 50, y0 = 20, pw = 830, ph = 200;
  double lo = 1e9, hi = -1e9;
  for (double v : actual) lo = std::fmin(lo, v), hi = std::fmax(hi, v);
  for (double v : forecast) lo = std::fmin(lo, v), hi = std::fmax(hi, v);
  const auto px = [&](std::size_t i) { return x0 + pw * i / (actual.size() - 1.0); };
  const auto py = [&](double v) { return y0 + ph * (hi - v) / (hi - lo); };
  std::ofstream f(path);
  f << "<svg xmlns='http://www.w3.org/2000/svg' width='" << w << "' height='" << h + 130
    << "' font-family='sans-serif' font-size='11'>\n<rect width='100%' height='100%' fill='white'/>\n";
  for (int k = 0; k <= 4; ++k) {
    const double v = lo + (hi - lo) * k / 4;
    f << "<text x='5' y='" << py(v) + 4 << "'>" << std::round(v * 10) / 10 << "</text><line x1='" << x0 << "' x2='"
      << x0 + pw << "' y1='" << py(v) << "' y2='" << py(v) << "' stroke='#ddd'/>\n";
  }
  for (std::size_t i = 0; i < labels.size(); i += 24)
    f << "<text x='" << px(i) - 15 << "' y='" << y0 + ph + 15 << "'>" << labels[i].substr(0, 4) << "</text>\n";
  const auto line = [&](const std::vector<double>& v, const char* colour) {
    f << "<polyline fill='none' stroke='" << colour << "' stroke-width='1.5' points='";
    for (std::size_t i = 0; i < v.size(); ++i) f << px(i) << "," << py(v[i]) << " ";
    f << "'/>\n";
  };
  line(actual, "#222"), line(forecast, "#d62728");
  f << "<text x='" << x0 << "' y='12'>Nino 1+2 SST (C), " << labels.front() << " .. " << labels.back()
    << ": actual (black), one-month-ahead forecast (red)</text>\n";
  double amax = 0;
  for (float a : attention) amax = std::fmax(amax, a);
  const double by = h + 100, bw = pw / attention.size();
  for (std::size_t j = 0; j < attention.size(); ++j) {
    const double bh = 80 * attention[j] / amax;
    f << "<rect x='" << x0 + j * bw << "' y='" << by - bh << "' width='" << bw - 1 << "' height='" << bh
      << "' fill='#1f77b4'/>\n";
  }
  f << "<text x='" << x0 << "' y='" << by + 15 << "'>attention of the last state over its 36-month window (left: oldest)"
    << "</text>\n</svg>\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = EDGEATTN_EXAMPLE_MODELS "/elnino_forecaster.safetensors";
  std::string csv = EDGEATTN_EXAMPLE_DATA "/elnino.csv", svg = "elnino_forecast.svg";
  for (int i = 1; i < argc; i += 2) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return fail(a + ": needs a value (or is not an option)");
    if (a == "--model") model = argv[i + 1];
    else if (a == "--csv") csv = argv[i + 1];
    else if (a == "--svg") svg = argv[i + 1];
    else return fail("unknown option " + a);
  }
  std::ifstream in(csv);
  std::vector<std::string> month;
  std::vector<double> sst;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    const std::size_t comma = line.find(',');
    if (comma == std::string::npos) return fail(csv + ": bad line '" + line + "'");
    month.push_back(line.substr(0, comma));
    sst.push_back(std::stod(line.substr(comma + 1)));
  }
  if (sst.empty()) return fail("cannot read " + csv);
  Result<SafetensorsFile> file = SafetensorsFile::open(model);
  if (!file.ok()) return fail(file.status().message());
  const auto& meta = file->metadata();
  const auto get = [&](const char* k) { auto it = meta.find(k); return it == meta.end() ? std::string("0") : it->second; };
  const std::size_t window = std::stoul(get("window"));
  const double mean = std::stod(get("mean")), stdev = std::stod(get("std"));
  std::size_t first = 0;
  while (first < month.size() && month[first].compare(0, 4, get("test_from")) != 0) ++first;
  const TensorEntry* te = file->find("pytorch.test_predictions");
  Result<Tensor> torch_pred = te ? file->read_f32(*te) : Result<Tensor>(Status::invalid("missing"));
  if (first < window || first == month.size() || !torch_pred.ok() || torch_pred->numel() != sst.size() - first)
    return fail(model + ": window, test_from or pytorch.test_predictions do not fit " + csv);
  Result<std::unique_ptr<Module>> loaded = load_module(model);
  if (!loaded.ok()) return fail(loaded.status().message());
  const Module& m = *loaded.value();

  // Plan once: input, outputs (with the attention weights), workspace.
  ValueMap inputs, outputs;
  inputs["x"] = Value::zeros(ValueType::f32, Shape{1, window, 1}).value();
  Result<std::vector<OutputSpec>> specs = m.check(inputs);
  if (!specs.ok()) return fail(specs.status().message());
  for (const OutputSpec& s : specs.value()) outputs[s.name] = Value::zeros(s.type, s.shape).value();
  Workspace ws;
  if (!ws.reserve(m.workspace_bytes(inputs, Context{1})).ok()) return fail("out of memory");

  std::vector<double> actual, forecast, last_value, seasonal;
  double worst = 0;
  for (std::size_t i = first; i < sst.size(); ++i) {
    float* x = inputs["x"].f32();
    for (std::size_t j = 0; j < window; ++j) x[j] = static_cast<float>((sst[i - window + j] - mean) / stdev);
    const Status st = m.run(Context{1}, inputs, outputs, ws);
    if (!st.ok()) return fail(st.message());
    const double y = outputs["y"].f32()[0] * stdev + mean;
    worst = std::fmax(worst, std::fabs(y - torch_pred->data()[i - first]));
    actual.push_back(sst[i]), forecast.push_back(y);
    last_value.push_back(sst[i - 1]), seasonal.push_back(sst[i - 12]);
  }
  const double r = rmse(forecast, actual), rl = rmse(last_value, actual), rs = rmse(seasonal, actual);
  std::printf("El Nino 1+2 SST, %s .. %s (%zu months held out), one month ahead from %zu months:\n",
              month[first].c_str(), month.back().c_str(), actual.size(), window);
  std::printf("  RMSE  attention_forecaster %.3f C | last value %.3f C | same month last year %.3f C\n", r, rl, rs);
  std::printf("  largest difference from PyTorch's forecasts: %.2e C\n", worst);
  // The last window's attention (row T-1 of the head-averaged weights).
  const float* wts = outputs["weights"].f32() + (window - 1) * window;
  std::vector<float> attention(wts, wts + window);
  const char* shades = " .:-=+*#%@";
  float amax = 0;
  for (float a : attention) amax = std::fmax(amax, a);
  std::printf("  attention of the last state over its window (oldest left): [");
  for (float a : attention) std::putchar(shades[int(a / amax * 9.99f)]);
  std::printf("]\n  last 12 months, actual / forecast (C):\n");
  for (std::size_t i = actual.size() - 12; i < actual.size(); ++i)
    std::printf("    %s  %5.2f / %5.2f\n", month[first + i].c_str(), actual[i], forecast[i]);
  write_svg(svg, std::vector<std::string>(month.begin() + first, month.end()), actual, forecast, attention);
  std::printf("wrote %s: forecast vs actual, and the attention weights\n", svg.c_str());
  if (worst > 1e-3) return fail("forecasts differ from PyTorch's by more than 1e-3 C");
  return r < rl && r < rs ? 0 : fail("the model does not beat both baselines");
}
