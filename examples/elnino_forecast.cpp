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
// It runs the model file as deployed: edgeattn::Model, planned once.
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

// Forecast vs actual over the test months (top), and the attention of the
// last forecast over the months of its window (bottom), each with its axes,
// scale and legend.
void write_svg(const std::string& path, const std::vector<std::string>& labels, const std::vector<double>& actual,
               const std::vector<double>& forecast, const std::vector<std::string>& window_labels,
               const std::vector<float>& attention, double rmse_model) {
  const double w = 940, x0 = 70, pw = 820, y0 = 78, ph = 220;  // the forecast panel
  const double ay0 = y0 + ph + 90, aph = 110;                    // the attention panel
  const double h = ay0 + aph + 62;
  double lo = 1e9, hi = -1e9;
  for (double v : actual) lo = std::fmin(lo, v), hi = std::fmax(hi, v);
  for (double v : forecast) lo = std::fmin(lo, v), hi = std::fmax(hi, v);
  lo = std::floor(lo), hi = std::ceil(hi);
  const auto px = [&](std::size_t i) { return x0 + pw * i / (actual.size() - 1.0); };
  const auto py = [&](double v) { return y0 + ph * (hi - v) / (hi - lo); };
  std::ofstream f(path);
  f << "<svg xmlns='http://www.w3.org/2000/svg' width='" << w << "' height='" << h
    << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n";
  f << "<text x='" << x0 << "' y='22' font-size='16' font-weight='bold'>El Nino 1+2 sea-surface temperature, "
    << labels.front() << " to " << labels.back() << ": forecasts one month ahead</text>\n";
  f << "<text x='" << x0 << "' y='42' fill='#555'>attention_forecaster (LSTM + self-attention), "
    << "each month forecast from the 36 before it; RMSE " << std::round(rmse_model * 1000) / 1000
    << " C over " << actual.size() << " held-out months</text>\n";
  for (double v = lo; v <= hi + 1e-9; v += 1) {  // y grid every degree
    f << "<line x1='" << x0 << "' x2='" << x0 + pw << "' y1='" << py(v) << "' y2='" << py(v) << "' stroke='#e4e4e4'/>"
      << "<text x='" << x0 - 8 << "' y='" << py(v) + 4 << "' text-anchor='end'>" << v << "</text>\n";
  }
  f << "<text transform='translate(20," << y0 + ph / 2 << ") rotate(-90)' text-anchor='middle'>SST (C)</text>\n";
  for (std::size_t i = 0; i < labels.size(); i += 12)
    f << "<line x1='" << px(i) << "' x2='" << px(i) << "' y1='" << y0 + ph << "' y2='" << y0 + ph + 5
      << "' stroke='#888'/><text x='" << px(i) << "' y='" << y0 + ph + 18 << "' text-anchor='middle'>"
      << labels[i].substr(0, 4) << "</text>\n";
  const auto line = [&](const std::vector<double>& v, const char* colour) {
    f << "<polyline fill='none' stroke='" << colour << "' stroke-width='1.6' points='";
    for (std::size_t i = 0; i < v.size(); ++i) f << px(i) << "," << py(v[i]) << " ";
    f << "'/>\n";
  };
  line(actual, "#222"), line(forecast, "#d62728");
  const double lx = x0 + pw - 330, ly = y0 - 14;  // legend, above the plot
  f << "<line x1='" << lx << "' x2='" << lx + 28 << "' y1='" << ly << "' y2='" << ly
    << "' stroke='#222' stroke-width='2'/><text x='" << lx + 34 << "' y='" << ly + 4 << "'>actual</text>\n"
    << "<line x1='" << lx + 110 << "' x2='" << lx + 138 << "' y1='" << ly << "' y2='" << ly
    << "' stroke='#d62728' stroke-width='2'/><text x='" << lx + 144 << "' y='" << ly + 4
    << "'>forecast, one month ahead</text>\n";
  // The attention panel: weights with a scale, months of the window.
  double amax = 0;
  for (float a : attention) amax = std::fmax(amax, a);
  const double top = std::ceil(amax * 50) / 50;  // a round upper tick, in steps of 0.02
  const double bw = pw / attention.size();
  f << "<text x='" << x0 << "' y='" << ay0 - 22 << "' font-size='14' font-weight='bold'>Attention of the last forecast ("
    << labels.back() << ") over the 36 months of its window</text>\n";
  for (int k = 0; k <= 2; ++k) {
    const double v = top * k / 2, yy = ay0 + aph - aph * v / top;
    f << "<line x1='" << x0 << "' x2='" << x0 + pw << "' y1='" << yy << "' y2='" << yy << "' stroke='#e4e4e4'/>"
      << "<text x='" << x0 - 8 << "' y='" << yy + 4 << "' text-anchor='end'>" << std::round(v * 1000) / 1000
      << "</text>\n";
  }
  f << "<text transform='translate(20," << ay0 + aph / 2 << ") rotate(-90)' text-anchor='middle'>weight</text>\n";
  for (std::size_t j = 0; j < attention.size(); ++j) {
    const double bh = aph * attention[j] / top;
    f << "<rect x='" << x0 + j * bw + 1 << "' y='" << ay0 + aph - bh << "' width='" << bw - 2 << "' height='" << bh
      << "' fill='#1f77b4'/>\n";
    if (j % 6 == 0 || j + 1 == attention.size())
      f << "<text x='" << x0 + (j + 0.5) * bw << "' y='" << ay0 + aph + 16 << "' text-anchor='middle'>"
        << window_labels[j] << "</text>\n";
  }
  f << "<text x='" << x0 + pw / 2 << "' y='" << ay0 + aph + 36
    << "' text-anchor='middle' fill='#555'>month of the window (weights of the last query row, averaged over the heads)"
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
  Result<Model> net = Model::load(file.value());
  if (!net.ok()) return fail(net.status().message());

  // Plan once: input, outputs (with the attention weights), workspace.
  ValueMap inputs, outputs;
  inputs["x"] = Value::zeros(ValueType::f32, Shape{1, window, 1}).value();
  Result<ModelPlan> plan = net->plan({{"x", inputs["x"].shape()}}, Context{1});
  if (!plan.ok()) return fail(plan.status().message());
  for (const OutputSpec& s : plan->outputs()) outputs[s.name] = Value::zeros(s.type, s.shape).value();
  Workspace ws;
  if (!ws.reserve(plan->workspace_bytes()).ok()) return fail("out of memory");

  std::vector<double> actual, forecast, last_value, seasonal;
  double worst = 0;
  for (std::size_t i = first; i < sst.size(); ++i) {
    float* x = inputs["x"].f32();
    for (std::size_t j = 0; j < window; ++j) x[j] = static_cast<float>((sst[i - window + j] - mean) / stdev);
    const Status st = plan->run(Context{1}, inputs, outputs, ws);
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
  const std::size_t last = month.size() - 1;  // the last forecast's window: the months before it
  write_svg(svg, std::vector<std::string>(month.begin() + first, month.end()), actual, forecast,
            std::vector<std::string>(month.begin() + (last - window), month.begin() + last), attention, r);
  std::printf("wrote %s: forecast vs actual, and the attention weights\n", svg.c_str());
  // PyTorch's forecasts are the float32 model's: a model with weights in
  // fewer bits (docs/weights.md) is held to its accuracy instead, its RMSE
  // within 2% of the float32 model's.
  const std::string weights = meta.count("weights") ? meta.at("weights") : "f32";
  if (weights == "f32" && worst > 1e-3) return fail("forecasts differ from PyTorch's by more than 1e-3 C");
  const double rmse_f32 = std::stod(get("rmse_model"));
  std::printf("  weights %s: RMSE %.4f C, %+.2f%% from the float32 model's %.4f C\n", weights.c_str(), r,
              100.0 * (r / rmse_f32 - 1.0), rmse_f32);
  if (weights != "f32" && r > 1.02 * rmse_f32) return fail("RMSE more than 2% above the float32 model's");
  return r < rl && r < rs ? 0 : fail("the model does not beat both baselines");
}
