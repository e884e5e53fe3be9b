// Kernels on every ISA available here against a double-precision reference
// and against the scalar path, over sizes 1..67 and larger, every
// misalignment of a vector, and inputs that overflow a naive exp.
//
// Tolerances (float32, eps = 2^-23 ~ 1.19e-7), each relative to the sum of
// the magnitudes of the terms involved (s), which bounds rounding error:
//   elementwise add/mul/scale/axpy: 2 eps * s (at most two roundings)
//   dot, gemv, gemm, reduce_sum:    (n eps + 1e-6) * s (n-term float sum)
//   exp: 1e-6 relative for |x| <= 87 (the contract), otherwise 1e-6 absolute
//   tanh, sigmoid: 1e-6 absolute (the contract)
//   softmax: 2e-6 relative + 1e-7 absolute per weight
#include <algorithm>
#include <cmath>
#include <map>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "test_util.h"

using namespace edgeattn;
using edgeattn::test::for_each_isa;
using edgeattn::test::Misaligned;
using edgeattn::test::random_floats;
using edgeattn::test::sweep_sizes;

namespace {

constexpr double kEps = 1.1920929e-7;
constexpr double kInf = std::numeric_limits<double>::infinity();

// got[i] within tol[i] of want[i]; reports the first element that is not.
void expect_close(const float* got, const std::vector<double>& want, const std::vector<double>& tol,
                  const char* what) {
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double g = got[i], w = want[i];
    const bool same_special = (std::isnan(g) && std::isnan(w)) || (std::isinf(w) && g == w);
    if (same_special) continue;
    if (!(std::fabs(g - w) <= tol[i])) {
      FAIL_CHECK(what << "[" << i << "] = " << g << ", want " << w << " (tol " << tol[i] << ")");
      return;
    }
  }
}

// Runs f on the scalar path and the active ISA and checks the two agree
// within the sum of their tolerances to the reference (2 * tol).
template <class F>
std::vector<float> scalar_result(F f) {
  const Isa isa = active_isa();
  REQUIRE(set_isa(Isa::scalar).ok());
  std::vector<float> out = f();
  REQUIRE(set_isa(isa).ok());
  return out;
}

void expect_agrees_with_scalar(const std::vector<float>& got, const std::vector<float>& scalar,
                               const std::vector<double>& tol, const char* what) {
  std::vector<double> want(scalar.begin(), scalar.end()), tol2(tol);
  for (double& t : tol2) t *= 2;
  expect_close(got.data(), want, tol2, what);
}

}  // namespace

TEST_CASE("dispatch: scalar is always there, the best is picked, names round-trip") {
  const std::vector<Isa> isas = available_isas();
  REQUIRE(!isas.empty());
  CHECK(isas.front() == Isa::scalar);
  CHECK(set_isa("auto").ok());
  CHECK(active_isa() == isas.back());
  for (Isa isa : isas) {
    Result<Isa> parsed = isa_from_name(isa_name(isa));
    REQUIRE(parsed.ok());
    CHECK(parsed.value() == isa);
  }
  const Status bad = set_isa("avx1024");
  CHECK(bad.code() == StatusCode::invalid_argument);
  CHECK(bad.message().find("avx1024") != std::string::npos);
  // An ISA of the other architecture is never available.
#if defined(__x86_64__)
  const Status other = set_isa(Isa::neon64);
#else
  const Status other = set_isa(Isa::avx512);
#endif
  CHECK(other.code() == StatusCode::unsupported);
  CHECK(active_isa() == isas.back());
  // EDGEATTN_EXPECT_ISA is set by CI runs under qemu -cpu X (and on ARM) to
  // prove that the intended path is the one selected there.
  if (const char* expect = std::getenv("EDGEATTN_EXPECT_ISA")) {
    INFO("EDGEATTN_EXPECT_ISA=" << expect << ", active " << isa_name(active_isa()));
    CHECK(std::string(isa_name(active_isa())) == expect);
  }
}

TEST_CASE("dot and reduce_sum / reduce_max / reduce_mean") {
  for_each_isa([](Isa) {
    for (std::size_t n : sweep_sizes()) {
      const auto a = random_floats(n, -1, 1, 1 + n), b = random_floats(n, -1, 1, 1000 + n);
      for (std::size_t off = 0; off < 4; ++off) {
        Misaligned ma(a, off), mb(b, 3 - off);
        double ref = 0, s = 0, sum = 0, sabs = 0, mx = -kInf;
        for (std::size_t i = 0; i < n; ++i) {
          ref += double(a[i]) * b[i];
          s += std::fabs(double(a[i]) * b[i]);
          sum += a[i];
          sabs += std::fabs(a[i]);
          mx = std::max(mx, double(a[i]));
        }
        const double tol = (n * kEps + 1e-6) * s, tol_sum = (n * kEps + 1e-6) * sabs;
        CAPTURE(n);
        CAPTURE(off);
        CHECK(std::fabs(kernels::dot(ma.data(), mb.data(), n) - ref) <= tol);
        CHECK(std::fabs(kernels::reduce_sum(ma.data(), n) - sum) <= tol_sum);
        CHECK(kernels::reduce_max(ma.data(), n) == float(mx));
        CHECK(std::fabs(kernels::reduce_mean(ma.data(), n) - sum / n) <= tol_sum / n);
      }
    }
    CHECK(kernels::dot(nullptr, nullptr, 0) == 0.0f);
    CHECK(kernels::reduce_sum(nullptr, 0) == 0.0f);
    CHECK(kernels::reduce_mean(nullptr, 0) == 0.0f);
    CHECK(kernels::reduce_max(nullptr, 0) == -std::numeric_limits<float>::infinity());
  });
}

TEST_CASE("global_pool and scale_rows: many rows per call, each as its one-row kernel") {
  for_each_isa([](Isa) {
    for (std::size_t rows : {1u, 3u, 7u})
      for (std::size_t n : sweep_sizes()) {
        if (rows * n > 20000) continue;
        const auto x = random_floats(rows * n, -2, 2, 5 * n + rows), a = random_floats(rows, -3, 3, n);
        Misaligned mx(x, n % 4);
        std::vector<float> mean(rows), max(rows), mean_only(rows, 7.0f), y(rows * n);
        kernels::global_pool(mx.data(), rows, n, mean.data(), max.data());
        kernels::global_pool(mx.data(), rows, n, mean_only.data(), nullptr);
        kernels::scale_rows(a.data(), mx.data(), rows, n, y.data());
        CAPTURE(rows);
        CAPTURE(n);
        for (std::size_t r = 0; r < rows; ++r) {
          const float* xr = mx.data() + r * n;
          CHECK(mean[r] == kernels::reduce_mean(xr, n));
          CHECK(mean_only[r] == mean[r]);
          CHECK(max[r] == *std::max_element(xr, xr + n));
          for (std::size_t i = 0; i < n; ++i)
            if (!(std::fabs(y[r * n + i] - double(a[r]) * xr[i]) <= kEps * std::fabs(a[r] * xr[i]))) {
              FAIL_CHECK("scale_rows row " << r << " [" << i << "]");
              break;
            }
        }
        kernels::scale_rows(a.data(), mx.data(), rows, n, mx.data());  // in place
        CHECK(std::equal(y.begin(), y.end(), mx.data()));
      }
    float mean = 1.0f, max = 1.0f;
    kernels::global_pool(nullptr, 1, 0, &mean, &max);
    CHECK(mean == 0.0f);
    CHECK(max == -std::numeric_limits<float>::infinity());
  });
}

TEST_CASE("argmax: the first maximum wherever it lies, ties, -inf") {
  for_each_isa([](Isa) {
    for (std::size_t n : sweep_sizes()) {
      auto x = random_floats(n, -1, 1, 70 + n);
      for (std::size_t at : {std::size_t{0}, n / 3, n / 2, n - 1}) {
        std::vector<float> y = x;
        y[at] = 2.0f;
        for (std::size_t later : {at + 1, at + 11, at + 37, n - 1})  // later ties, other lanes
          if (later > at && later < n) y[later] = 2.0f;
        CAPTURE(n);
        CAPTURE(at);
        CHECK(kernels::argmax(y.data(), n) == at);
      }
      std::vector<float> ninf(n, -std::numeric_limits<float>::infinity());
      CHECK(kernels::argmax(ninf.data(), n) == 0);
      std::vector<float> flat(n, 0.5f);  // every element ties
      CHECK(kernels::argmax(flat.data(), n) == 0);
    }
    CHECK(kernels::argmax(nullptr, 0) == 0);
  });
}

TEST_CASE("argmax: NaN counts as the maximum, the first NaN wins, the same on every ISA") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for_each_isa([&](Isa) {
    for (std::size_t n : sweep_sizes()) {
      CAPTURE(n);
      auto x = random_floats(n, -1, 1, 90 + n);
      for (std::size_t at : {std::size_t{0}, n / 3, n - 1}) {
        std::vector<float> y = x;
        y[at] = nan;
        if (at + 5 < n) y[at + 5] = nan;  // a later NaN does not win
        y[n / 2 == at ? 0 : n / 2] = inf;  // nor does +inf
        if (n / 2 == at) continue;
        CAPTURE(at);
        CHECK(kernels::argmax(y.data(), n) == at);
      }
      std::vector<float> cancel(n, 0.0f);  // +inf and -inf sum to NaN, but no NaN is there
      cancel[n - 1] = inf;
      if (n > 1) cancel[0] = -inf;
      CHECK(kernels::argmax(cancel.data(), n) == n - 1);
    }
  });
}

TEST_CASE("elementwise: axpy, scale, add, mul, add_scalar, scale_mul (also in place)") {
  for_each_isa([](Isa) {
    for (std::size_t n : sweep_sizes()) {
      const auto a = random_floats(n, -3, 3, 7 + n), b = random_floats(n, -3, 3, 77 + n);
      const float alpha = -1.75f;
      for (std::size_t off = 0; off < 4; ++off) {
        CAPTURE(n);
        CAPTURE(off);
        Misaligned ma(a, off), mb(b, (off + 1) % 4), out(std::vector<float>(n), (off + 2) % 4);
        std::vector<double> want(n), tol(n);
        auto run = [&](const char* name, auto kernel, auto ref, auto mag) {
          kernel(ma.data(), mb.data(), out.data());
          for (std::size_t i = 0; i < n; ++i) {
            want[i] = ref(double(a[i]), double(b[i]));
            tol[i] = 2 * kEps * mag(double(a[i]), double(b[i]));
          }
          expect_close(out.data(), want, tol, name);
        };
        const auto abs_sum = [](double x, double y) { return std::fabs(x) + std::fabs(y); };
        run("add", [&](const float* x, const float* y, float* o) { kernels::add(x, y, o, n); },
            [](double x, double y) { return x + y; }, abs_sum);
        run("mul", [&](const float* x, const float* y, float* o) { kernels::mul(x, y, o, n); },
            [](double x, double y) { return x * y; },
            [](double x, double y) { return std::fabs(x * y); });
        run("scale", [&](const float* x, const float*, float* o) { kernels::scale(alpha, x, o, n); },
            [&](double x, double) { return alpha * x; },
            [&](double x, double) { return std::fabs(alpha * x); });
        run("add_scalar",
            [&](const float* x, const float*, float* o) { kernels::add_scalar(x, alpha, o, n); },
            [&](double x, double) { return x + alpha; },
            [&](double x, double) { return std::fabs(x) + std::fabs(alpha); });
        run("scale_mul",
            [&](const float* x, const float* y, float* o) { kernels::scale_mul(alpha, x, y, o, n); },
            [&](double x, double y) { return alpha * x * y; },
            [&](double x, double y) { return std::fabs(alpha * x * y); });
        run("axpy",
            [&](const float* x, const float* y, float* o) {
              for (std::size_t i = 0; i < n; ++i) o[i] = y[i];
              kernels::axpy(alpha, x, o, n);
            },
            [&](double x, double y) { return alpha * x + y; },
            [&](double x, double y) { return std::fabs(alpha * x) + std::fabs(y); });
        // In place: y aliases the first input.
        kernels::add(ma.data(), mb.data(), ma.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
          want[i] = double(a[i]) + b[i];
          tol[i] = 2 * kEps * (std::fabs(a[i]) + std::fabs(b[i]));
        }
        expect_close(ma.data(), want, tol, "add in place");
      }
    }
  });
}

TEST_CASE("exp: 1e-6 relative for |x| <= 87, special values, no NaN from large inputs") {
  std::vector<float> x = random_floats(4099, -87, 87, 42);
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1.0f, -1.0f, 87.0f, -87.0f, 0.34657359f})
    x.push_back(v);
  const auto big = random_floats(67, 80, 100, 43);  // overflow a naive exp
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> edge = {-inf, inf, std::nanf(""), 88.7f, 89.0f, 100.0f, 1e30f,
                             -88.0f, -100.0f, -104.0f, -1e30f};
  edge.insert(edge.end(), big.begin(), big.end());
  for_each_isa([&](Isa) {
    std::vector<float> y(x.size());
    kernels::exp(x.data(), y.data(), x.size());
    std::vector<double> want(x.size()), tol(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      want[i] = std::exp(double(x[i]));
      tol[i] = 1e-6 * want[i];
    }
    expect_close(y.data(), want, tol, "exp");
    expect_agrees_with_scalar(y, scalar_result([&] {
                                std::vector<float> s(x.size());
                                kernels::exp(x.data(), s.data(), x.size());
                                return s;
                              }),
                              tol, "exp vs scalar");
    std::vector<float> e(edge.size());
    kernels::exp(edge.data(), e.data(), edge.size());
    for (std::size_t i = 0; i < edge.size(); ++i) {
      CAPTURE(edge[i]);
      const double w = std::exp(double(edge[i]));
      if (std::isnan(edge[i])) {
        CHECK(std::isnan(e[i]));
      } else if (w > std::numeric_limits<float>::max()) {
        CHECK(e[i] == inf);  // overflow is inf, never NaN
      } else if (edge[i] >= -87) {
        CHECK(std::fabs(e[i] - w) <= 1e-6 * w);
      } else {
        CHECK(std::fabs(e[i] - w) <= 1e-6);
      }
    }
    CHECK(e[0] == 0.0f);  // exp(-inf)
  });
}

TEST_CASE("exp_lanes16: bitwise the same on every ISA, within 1e-6 relative, lanes in order") {
  const float ninf = -std::numeric_limits<float>::infinity();
  for (std::size_t n : {1u, 3u, 15u, 16u, 17u, 100u, 4099u}) {
    std::vector<float> x = random_floats(n, -87, 87, 44 + n);
    std::vector<std::uint8_t> mask(n);
    for (std::size_t i = 0; i < n; ++i) mask[i] = (i * 7) % 5 != 0;
    if (n > 8) {  // the edges: -inf, far below the shift, at e^-87, 0, NaN
      x[1] = ninf, x[2] = -100.0f, x[3] = 0.0f, x[4] = -0.0f, x[5] = std::nanf("");
      x[6] = -87.0f + 20.0f, x[7] = std::nextafter(-87.0f + 20.0f, -100.0f);
    }
    const float shift = 20.0f;
    const std::size_t padded = (n + 15) / 16 * 16;
    const std::uint8_t* masks[] = {nullptr, mask.data()};
    for (const std::uint8_t* m : masks) {
      std::vector<float> first;
      for_each_isa([&](Isa) {
        std::vector<float> e(padded, 7.0f), lanes(16, 7.0f);
        kernels::exp_lanes16(x.data(), m, n, shift, e.data(), lanes.data());
        CAPTURE(n);
        CAPTURE(m != nullptr);
        for (std::size_t i = 0; i < padded; ++i) {
          CAPTURE(i);
          if (i >= n || (m && !m[i])) {
            CHECK(e[i] == 0.0f);
          } else if (!std::isnan(x[i])) {
            const double want = std::exp(double(x[i] - shift));  // the float difference
            // + e^-87: smaller weights are 0
            CHECK(std::fabs(e[i] - want) <= 1e-6 * want + 1.7e-38);
          }
        }
        std::vector<float> want(16, 0.0f);  // the defined order, in float
        for (std::size_t c = 0; c < padded; c += 16)
          for (std::size_t l = 0; l < 16; ++l) want[l] += e[c + l];
        CHECK(std::memcmp(lanes.data(), want.data(), 16 * sizeof(float)) == 0);
        if (first.empty()) first = e;
        CHECK(std::memcmp(first.data(), e.data(), padded * sizeof(float)) == 0);
      });
    }
  }
}

TEST_CASE("tanh and sigmoid: 1e-6 absolute everywhere") {
  std::vector<float> x = random_floats(4099, -12, 12, 5);
  const auto small = random_floats(67, -1e-3f, 1e-3f, 6);
  x.insert(x.end(), small.begin(), small.end());
  const float inf = std::numeric_limits<float>::infinity();
  for (float v : {0.0f, -0.0f, 1e-9f, 30.0f, -30.0f, 100.0f, -100.0f, 1e30f, -1e30f, inf, -inf})
    x.push_back(v);
  for (int i = -200000; i <= 200000; ++i) x.push_back(i * 5e-5f);  // dense over [-10, 10]
  for_each_isa([&](Isa) {
    for (int fn = 0; fn < 2; ++fn) {
      const char* name = fn ? "sigmoid" : "tanh";
      auto run = [&](std::vector<float>& out) {
        if (fn) kernels::sigmoid(x.data(), out.data(), x.size());
        else kernels::tanh(x.data(), out.data(), x.size());
      };
      std::vector<float> y(x.size());
      run(y);
      std::vector<double> want(x.size()), tol(x.size(), 1e-6);
      for (std::size_t i = 0; i < x.size(); ++i)
        want[i] = fn ? 1.0 / (1.0 + std::exp(-double(x[i]))) : std::tanh(double(x[i]));
      expect_close(y.data(), want, tol, name);
      expect_agrees_with_scalar(y, scalar_result([&] {
                                  std::vector<float> s(x.size());
                                  run(s);
                                  return s;
                                }),
                                tol, name);
      std::vector<float> nan_in = {std::nanf("")}, nan_out(1);
      if (fn) kernels::sigmoid(nan_in.data(), nan_out.data(), 1);
      else kernels::tanh(nan_in.data(), nan_out.data(), 1);
      CHECK(std::isnan(nan_out[0]));
    }
  });
}

TEST_CASE("relu and silu: relu exact, silu within |x| * 1e-6 + 1e-6") {
  std::vector<float> x = random_floats(4099, -12, 12, 7);
  const float inf = std::numeric_limits<float>::infinity();
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 90.0f, -90.0f, 1e30f, -1e30f, inf, -inf}) x.push_back(v);
  for_each_isa([&](Isa) {
    for (std::size_t n : sweep_sizes()) {
      if (n > x.size()) continue;
      for (std::size_t off = 0; off < 3; ++off) {
        Misaligned in(std::vector<float>(x.begin(), x.begin() + n), off);
        std::vector<float> r(n), si(n);
        kernels::relu(in.data(), r.data(), n);
        kernels::silu(in.data(), si.data(), n);
        std::vector<double> want_r(n), want_s(n), tol_r(n, 0.0), tol_s(n);
        for (std::size_t i = 0; i < n; ++i) {
          const double v = in.data()[i];
          want_r[i] = v > 0 ? v : 0.0;
          want_s[i] = v / (1.0 + std::exp(-v));
          tol_s[i] = 1e-6 * (1.0 + std::fabs(v));
        }
        CAPTURE(n);
        expect_close(r.data(), want_r, tol_r, "relu");
        expect_close(si.data(), want_s, tol_s, "silu");
      }
    }
  });
}

TEST_CASE("rows_mean_max: mean and max across rows against double precision") {
  for_each_isa([](Isa) {
    for (std::size_t rows : {1u, 3u, 17u, 64u})
      for (std::size_t n : sweep_sizes()) {
        const std::size_t ldx = n + 5;
        const auto x = random_floats(rows * ldx, -3, 3, 11 + n), sc = random_floats(rows, 0, 1, 12 + rows);
        for (const float* scale : {static_cast<const float*>(nullptr), sc.data()}) {
          Misaligned mx(x, n % 4);
          std::vector<float> mean(n), max(n);
          kernels::rows_mean_max(mx.data(), ldx, rows, scale, mean.data(), max.data(), n);
          std::vector<double> want_mean(n), want_max(n), tol_mean(n), tol_max(n, 0.0);
          for (std::size_t i = 0; i < n; ++i) {
            double s = 0, mag = 0;
            float m = -INFINITY;
            for (std::size_t r = 0; r < rows; ++r) {
              const float t = scale ? scale[r] * x[r * ldx + i] : x[r * ldx + i];  // rounded, as specified
              s += t;
              mag += std::fabs(t);
              m = std::max(m, t);
            }
            want_mean[i] = s / rows;
            tol_mean[i] = (rows + 1) * kEps * mag / rows;
            want_max[i] = m;
          }
          CAPTURE(n);
          CAPTURE(rows);
          expect_close(mean.data(), want_mean, tol_mean, "rows_mean_max mean");
          expect_close(max.data(), want_max, tol_max, "rows_mean_max max");
        }
      }
  });
}

TEST_CASE("gru_gates and lstm_gates: PyTorch's cell formulas in double precision") {
  for_each_isa([](Isa) {
    for (std::size_t n : sweep_sizes()) {
      if (n > 300) continue;
      const auto gx = random_floats(4 * n, -4, 4, 31 + n), gh = random_floats(4 * n, -4, 4, 32 + n),
                 h = random_floats(n, -1, 1, 33 + n), c0 = random_floats(n, -2, 2, 34 + n);
      std::vector<float> hg(n), c(c0), hl(n);
      kernels::gru_gates(gx.data(), gh.data(), h.data(), hg.data(), n);
      kernels::lstm_gates(gx.data(), gh.data(), c.data(), hl.data(), n);
      std::vector<double> want_g(n), want_c(n), want_h(n), tol(n, 4e-6);
      const auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
      for (std::size_t k = 0; k < n; ++k) {
        const double r = sig(double(gx[k]) + gh[k]), z = sig(double(gx[n + k]) + gh[n + k]);
        const double m = std::tanh(double(gx[2 * n + k]) + r * gh[2 * n + k]);
        want_g[k] = (1 - z) * m + z * h[k];
        const double i = sig(double(gx[k]) + gh[k]), f = sig(double(gx[n + k]) + gh[n + k]);
        const double g = std::tanh(double(gx[2 * n + k]) + gh[2 * n + k]);
        const double o = sig(double(gx[3 * n + k]) + gh[3 * n + k]);
        want_c[k] = f * c0[k] + i * g;
        want_h[k] = o * std::tanh(want_c[k]);
      }
      CAPTURE(n);
      expect_close(hg.data(), want_g, tol, "gru_gates");
      expect_close(c.data(), want_c, tol, "lstm_gates c");
      expect_close(hl.data(), want_h, tol, "lstm_gates h");
      std::vector<float> inplace(h);  // h_out aliasing h
      kernels::gru_gates(gx.data(), gh.data(), inplace.data(), inplace.data(), n);
      CHECK(std::memcmp(inplace.data(), hg.data(), n * sizeof(float)) == 0);
    }
  });
}

TEST_CASE("conv_rows: 2-D taps against double precision, 1 to 25 output rows") {
  // Heights 3, 5 and 7 up to width 16 take the tap-column blocks (11, 9 and
  // 7 rows) and leave the other rows and the column tail to the tap-row
  // blocks; the other kernels take the tap-row blocks alone.
  const std::pair<std::size_t, std::size_t> kernels_hw[] = {
      {1, 1}, {2, 3}, {6, 7}, {3, 3}, {5, 5}, {7, 7}, {7, 2}, {3, 16}, {5, 17}};
  for_each_isa([&](Isa) {
    for (const auto& [kh, kw] : kernels_hw)
      for (std::size_t rows : {1u, 2u, 3u, 5u, 7u, 11u, 16u, 25u})
        for (std::size_t n : sweep_sizes()) {
          if (n > 300) continue;
          const std::size_t ldx = n + kw + 2, ldy = n + 3;
          const std::size_t in_rows = rows + kh - 1;
          const auto x = random_floats(in_rows * ldx, -1, 1, 21 + n), w = random_floats(kh * kw, -1, 1, 22 + kw),
                     y0 = random_floats(rows * ldy, -1, 1, 23 + n);
          Misaligned mx(x, n % 4), my(y0, kw % 3);
          kernels::conv_rows(mx.data(), ldx, w.data(), kh, kw, my.data(), ldy, rows, n);
          std::vector<double> want(rows * ldy), tol(rows * ldy);
          for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t c = 0; c < ldy; ++c) {  // columns past n: untouched
              double acc = y0[r * ldy + c], mag = std::fabs(acc);
              for (std::size_t i = 0; c < n && i < kh; ++i)
                for (std::size_t j = 0; j < kw; ++j) {
                  const double t = double(w[i * kw + j]) * x[(r + i) * ldx + c + j];
                  acc += t;
                  mag += std::fabs(t);
                }
              want[r * ldy + c] = acc;
              tol[r * ldy + c] = c < n ? (kh * kw + 1) * kEps * mag + 1e-7 : 0.0;
            }
          CAPTURE(n);
          CAPTURE(kh);
          CAPTURE(kw);
          CAPTURE(rows);
          expect_close(my.data(), want, tol, "conv_rows");
        }
  });
}

namespace {
// Double-precision softmax with the library's masked/empty-row rules.
std::vector<double> softmax_ref(const std::vector<float>& x, const std::uint8_t* mask) {
  double m = -kInf;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!mask || mask[i]) m = std::max(m, double(x[i]));
  std::vector<double> y(x.size(), 0.0);
  if (m == -kInf) return y;
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!mask || mask[i]) s += y[i] = std::exp(double(x[i]) - m);
  for (double& v : y) v /= s;
  return y;
}
}  // namespace

TEST_CASE("softmax: stable for large scores, masks, empty rows, in place") {
  for_each_isa([](Isa) {
    for (std::size_t n : sweep_sizes()) {
      for (int variant = 0; variant < 4; ++variant) {
        // 0: plain [-5, 5]; 1: scores in [80, 100]; 2: random mask; 3: all masked
        const auto x = variant == 1 ? random_floats(n, 80, 100, 11 + n)
                                    : random_floats(n, -5, 5, 12 + n);
        std::vector<std::uint8_t> mask(n);
        std::mt19937 rng(13 + n);
        for (auto& m : mask) m = variant == 3 ? 0 : static_cast<std::uint8_t>(rng() % 3 != 0);
        const std::uint8_t* mp = variant >= 2 ? mask.data() : nullptr;
        const auto want = softmax_ref(x, mp);
        std::vector<double> tol(n);
        for (std::size_t i = 0; i < n; ++i) tol[i] = 2e-6 * want[i] + 1e-7;
        CAPTURE(n);
        CAPTURE(variant);
        Misaligned in(x, variant), out(std::vector<float>(n, 7.0f), 3 - variant);
        kernels::softmax(in.data(), mp, out.data(), n);
        expect_close(out.data(), want, tol, "softmax");
        for (std::size_t i = 0; i < n; ++i)
          if (mp && !mp[i]) CHECK(out.data()[i] == 0.0f);  // exactly 0
        kernels::softmax(in.data(), mp, in.data(), n);  // in place
        expect_close(in.data(), want, tol, "softmax in place");
      }
    }
    kernels::softmax(nullptr, nullptr, nullptr, 0);  // empty row: nothing to do
  });
}

TEST_CASE("transpose: b = a^T for odd shapes and strides, padding untouched") {
  for (std::size_t rows : {1u, 3u, 4u, 5u, 8u, 17u})
    for (std::size_t cols : {1u, 2u, 4u, 7u, 16u, 33u}) {
      const std::size_t lda = cols + 3, ldb = rows + 2;
      const auto a = random_floats(rows * lda, -1, 1, 50 + rows * 64 + cols);
      std::vector<float> b(cols * ldb, -7.0f);
      kernels::transpose(rows, cols, a.data(), lda, b.data(), ldb);
      CAPTURE(rows);
      CAPTURE(cols);
      for (std::size_t j = 0; j < cols; ++j)
        for (std::size_t i = 0; i < ldb; ++i)
          CHECK(b[j * ldb + i] == (i < rows ? a[i * lda + j] : -7.0f));
    }
}

TEST_CASE("online_softmax2: one base-2 streaming step per row against double precision") {
  // Rows: the first block (m = -inf) with masked scores; a block whose
  // maximum passes the running one; one below it (outputs untouched: the
  // factor is exactly 1); scores near 130 (90 log2 e, where a naive 2^x
  // overflows); an all-masked row before anything was attended; and scores
  // 119 to 131 below the running maximum, where the vector code turns 2^ to
  // exactly 0 below -125 (the scalar reference's libm may give denormals).
  // AVX-512's vrndscaleps/vscalefps path gives AVX2's bits (the same
  // rounding, FMA polynomial and exact power-of-two product). 20 rows, the
  // six kinds in turn: the vector code takes rows 16 at a time.
  const float ninf = -std::numeric_limits<float>::infinity();
  const float kind_m[] = {ninf, 125.0f, 200.0f, 60.0f, ninf, 0.0f};
  const float kind_lo[] = {-8.0f, 118.0f, 190.0f, 120.0f, 0.0f, -131.0f};
  const float kind_l[] = {0.0f, 2.5f, 7.0f, 1.0f, 0.0f, 1.0f};
  const std::size_t rows = 20, dv = 13, ldo = 16;
  std::vector<float> m0(rows), lo(rows), l0(rows);
  for (std::size_t r = 0; r < rows; ++r) m0[r] = kind_m[r % 6], lo[r] = kind_lo[r % 6], l0[r] = kind_l[r % 6];
  std::map<std::size_t, std::vector<float>> avx2;  // n -> AVX2's scores
  for_each_isa([&](Isa isa) {
    for (std::size_t n : sweep_sizes()) {
      if (n > 300) continue;
      const std::size_t lds = n + 5;
      std::vector<float> s0(rows * lds, 0.0f);
      for (std::size_t r = 0; r < rows; ++r) {
        const auto v = random_floats(n, lo[r], lo[r] + 12.0f, 31 + n + r);
        for (std::size_t i = 0; i < n; ++i)
          s0[r * lds + i] = r % 6 == 4 || (r % 6 == 0 && i % 3 == 1) ? ninf : v[i];
      }
      const auto o0 = random_floats(rows * ldo, -1, 1, 32 + n);
      Misaligned s(s0, n % 4);
      std::vector<float> m(m0), l(l0), o(o0);
      kernels::online_softmax2(s.data(), lds, rows, n, m.data(), l.data(), o.data(), ldo, dv);
      CAPTURE(n);
      const std::vector<float> got(s.data(), s.data() + rows * lds);
      if (isa == Isa::avx2) avx2[n] = got;
      if (isa == Isa::avx512 && avx2.count(n)) CHECK(avx2[n] == got);
      for (std::size_t r = 0; r < rows; ++r) {
        CAPTURE(r);
        double mx = m0[r];
        for (std::size_t i = 0; i < n; ++i) mx = std::max(mx, double(s0[r * lds + i]));
        if (mx == -kInf) {  // nothing attended yet: zeros, state kept
          for (std::size_t i = 0; i < n; ++i) CHECK(s.data()[r * lds + i] == 0.0f);
          CHECK(m[r] == m0[r]);
          CHECK(l[r] == l0[r]);
          continue;
        }
        CHECK(m[r] == float(mx));
        std::vector<double> want(n), tol(n);
        double sum = 0;
        for (std::size_t i = 0; i < n; ++i) {  // 2^ of the float difference, as the kernel takes it
          const float x = s0[r * lds + i] - float(mx);
          sum += want[i] = x < -125.0f ? 0.0 : std::exp2(double(x));
          tol[i] = isa == Isa::scalar && x < -125.0f ? 0x1p-125 : 1e-6 * want[i];
        }
        expect_close(s.data() + r * lds, want, tol, "online_softmax2 scores");
        const double alpha = m0[r] == ninf ? 0.0 : std::exp2(double(m0[r] - float(mx)));
        const double lw = l0[r] * alpha + sum;
        CHECK(std::fabs(l[r] - lw) <= (n * kEps + 1e-6) * lw);
        std::vector<double> ow(ldo), otol(ldo);
        for (std::size_t j = 0; j < ldo; ++j) {  // past dv: untouched
          ow[j] = j < dv ? o0[r * ldo + j] * alpha : o0[r * ldo + j];
          otol[j] = j < dv ? 2e-6 * std::fabs(ow[j]) : 0.0;
        }
        expect_close(o.data() + r * ldo, ow, otol, "online_softmax2 outputs");
      }
    }
  });
}

namespace {
// y = alpha A x + beta y in double, and the per-row error bound.
void gemv_ref(std::size_t m, std::size_t k, float alpha, const std::vector<float>& a,
              std::size_t lda, const std::vector<float>& x, float beta,
              const std::vector<float>& y0, std::vector<double>& want, std::vector<double>& tol) {
  want.assign(m, 0);
  tol.assign(m, 0);
  for (std::size_t i = 0; i < m; ++i) {
    double s = 0, mag = 0;
    for (std::size_t p = 0; p < k; ++p) {
      s += double(a[i * lda + p]) * x[p];
      mag += std::fabs(double(a[i * lda + p]) * x[p]);
    }
    const double old = beta == 0 ? 0.0 : beta * double(y0[i]);
    want[i] = alpha * s + old;
    tol[i] = (k * kEps + 1e-6) * (std::fabs(alpha) * mag + std::fabs(old));
  }
}
}  // namespace

TEST_CASE("gemv: row blocks and tails, lda > k, beta 0 does not read y") {
  for_each_isa([](Isa) {
    for (std::size_t m : {1u, 3u, 4u, 5u, 7u, 17u, 64u}) {
      for (std::size_t k : sweep_sizes()) {
        if (k > 1024) continue;
        const std::size_t lda = k + 3;
        const auto a = random_floats(m * lda, -1, 1, 17 * m + k);
        const auto x = random_floats(k, -1, 1, 18 + k);
        for (float beta : {0.0f, 0.5f}) {
          std::vector<float> y0 = random_floats(m, -1, 1, 19);
          if (beta == 0.0f) y0.assign(m, std::nanf(""));
          std::vector<double> want, tol;
          gemv_ref(m, k, 1.5f, a, lda, x, beta, y0, want, tol);
          std::vector<float> y = y0;
          kernels::gemv(m, k, 1.5f, a.data(), lda, x.data(), beta, y.data());
          CAPTURE(m);
          CAPTURE(k);
          expect_close(y.data(), want, tol, "gemv");
        }
      }
    }
  });
}

TEST_CASE("gemv_t: weighted sums of rows, column tails, beta 0 does not read y") {
  for_each_isa([](Isa) {
    for (std::size_t m : {1u, 3u, 50u}) {
      for (std::size_t k : sweep_sizes()) {
        if (k > 1024) continue;
        const std::size_t lda = k + 1;
        const auto a = random_floats(m * lda, -1, 1, 31 * m + k), x = random_floats(m, -1, 1, 32);
        for (float beta : {0.0f, -0.5f}) {
          std::vector<float> y = beta == 0.0f ? std::vector<float>(k, std::nanf(""))
                                              : random_floats(k, -1, 1, 33);
          const std::vector<float> y0 = y;
          std::vector<double> want(k), tol(k);
          for (std::size_t j = 0; j < k; ++j) {
            double s = 0, mag = 0;
            for (std::size_t i = 0; i < m; ++i) {
              s += double(a[i * lda + j]) * x[i];
              mag += std::fabs(double(a[i * lda + j]) * x[i]);
            }
            const double old = beta == 0.0f ? 0.0 : beta * double(y0[j]);
            want[j] = 2.0 * s + old;
            tol[j] = (m * kEps + 1e-6) * (2.0 * mag + std::fabs(old));
          }
          kernels::gemv_t(m, k, 2.0f, a.data(), lda, x.data(), beta, y.data());
          CAPTURE(m);
          CAPTURE(k);
          expect_close(y.data(), want, tol, "gemv_t");
        }
      }
    }
  });
}

TEST_CASE("gemv_t_panels: panel tails, bias or none, backward and split bitwise equal to forward") {
  for_each_isa([](Isa) {
    for (std::size_t m : {1u, 3u, 64u}) {
      for (std::size_t n : sweep_sizes()) {
        if (n > 1024) continue;
        const std::size_t lda = n + 3;
        const auto a = random_floats(m * lda, -1, 1, 61 * m + n), x = random_floats(m, -1, 1, 62);
        const auto bias = random_floats(n, -1, 1, 63);
        const Result<kernels::GemvPanels> p = kernels::GemvPanels::pack(a.data(), lda, m, n);
        REQUIRE(p.ok());
        for (const float* b : {static_cast<const float*>(nullptr), bias.data()}) {
          std::vector<double> want(n), tol(n);
          for (std::size_t j = 0; j < n; ++j) {
            double s = b ? b[j] : 0.0, mag = std::fabs(s);
            for (std::size_t i = 0; i < m; ++i) {
              s += double(a[i * lda + j]) * x[i];
              mag += std::fabs(double(a[i * lda + j]) * x[i]);
            }
            want[j] = s;
            tol[j] = (m * kEps + 1e-6) * mag;
          }
          std::vector<float> fwd(n, std::nanf("")), bwd(n, std::nanf(""));
          kernels::gemv_t_panels(p.value(), x.data(), b, fwd.data(), false);
          kernels::gemv_t_panels(p.value(), x.data(), b, bwd.data(), true);
          CAPTURE(m);
          CAPTURE(n);
          expect_close(fwd.data(), want, tol, "gemv_t_panels");
          CHECK(std::memcmp(fwd.data(), bwd.data(), n * sizeof(float)) == 0);
          for (std::size_t parts : {2u, 3u, 5u}) {  // each output from one part, the same bits
            std::vector<float> split(n, std::nanf(""));
            for (std::size_t q = 0; q < parts; ++q)
              kernels::gemv_t_panels(p.value(), x.data(), b, split.data(), q % 2 == 1, q, parts);
            CAPTURE(parts);
            CHECK(std::memcmp(fwd.data(), split.data(), n * sizeof(float)) == 0);
          }
        }
      }
    }
  });
  CHECK(kernels::GemvPanels::pack(nullptr, 4, 2, 4).status().message().find("A is null") != std::string::npos);
  const std::vector<float> a(8);
  CHECK(kernels::GemvPanels::pack(a.data(), 3, 2, 4).status().message().find("lda 3 < n") != std::string::npos);
}

TEST_CASE("additive_scores: v . tanh(q + k_j) against double precision") {
  for_each_isa([](Isa) {
    for (std::size_t a : {1u, 7u, 16u, 33u, 256u}) {
      const std::size_t n = 9, ldk = a + 2;
      const auto q = random_floats(a, -2, 2, 51), k = random_floats(n * ldk, -2, 2, 52);
      const auto v = random_floats(a, -1, 1, 53);
      std::vector<float> out(n);
      kernels::additive_scores(q.data(), k.data(), ldk, n, a, v.data(), out.data());
      for (std::size_t j = 0; j < n; ++j) {
        double s = 0, mag = 0;
        for (std::size_t i = 0; i < a; ++i) {
          s += v[i] * std::tanh(double(q[i]) + k[j * ldk + i]);
          mag += std::fabs(v[i]);
        }
        CAPTURE(a);
        CHECK(std::fabs(out[j] - s) <= 1e-6 * mag + 1e-6);  // tanh's 1e-6 per term
      }
    }
  });
}

namespace {
struct GemmCase {
  std::size_t m, n, k;
  bool trans_b;
  float alpha, beta;
  std::size_t pad;  // extra leading-dimension elements
};

void check_gemm(const GemmCase& c) {
  const std::size_t lda = c.k + c.pad, ldb = (c.trans_b ? c.k : c.n) + c.pad, ldc = c.n + c.pad;
  const std::size_t brows = c.trans_b ? c.n : c.k;
  const auto a = random_floats(c.m * lda, -1, 1, 100 + c.m * 7 + c.k);
  const auto b = random_floats(brows * ldb, -1, 1, 200 + c.n * 5 + c.k);
  std::vector<float> c0 = random_floats(c.m * ldc, -1, 1, 300);
  if (c.beta == 0.0f) c0.assign(c.m * ldc, std::nanf(""));  // must not be read
  std::vector<double> want(c.m * c.n), tol(c.m * c.n);
  for (std::size_t i = 0; i < c.m; ++i)
    for (std::size_t j = 0; j < c.n; ++j) {
      double s = 0, mag = 0;
      for (std::size_t p = 0; p < c.k; ++p) {
        const double bv = c.trans_b ? b[j * ldb + p] : b[p * ldb + j];
        s += a[i * lda + p] * bv;
        mag += std::fabs(a[i * lda + p] * bv);
      }
      const double old = c.beta == 0.0f ? 0.0 : c.beta * double(c0[i * ldc + j]);
      want[i * c.n + j] = c.alpha * s + old;
      tol[i * c.n + j] = (c.k * kEps + 1e-6) * (std::fabs(c.alpha) * mag + std::fabs(old));
    }
  std::vector<float> cm = c0;
  kernels::GemmArgs g;
  g.m = c.m, g.n = c.n, g.k = c.k, g.alpha = c.alpha, g.beta = c.beta;
  g.a = a.data(), g.lda = lda, g.b = b.data(), g.ldb = ldb, g.trans_b = c.trans_b;
  g.c = cm.data(), g.ldc = ldc;
  std::vector<unsigned char> ws(kernels::gemm_workspace_bytes(c.m, c.n, c.k) + 1);
  // +1: an odd start address, so gemm must align the workspace itself
  const Status st = kernels::gemm(g, ws.data() + 1, ws.size() - 1);
  REQUIRE_MESSAGE(st.ok(), st.to_string());
  std::vector<float> got(c.m * c.n);
  for (std::size_t i = 0; i < c.m; ++i)
    for (std::size_t j = 0; j < c.n; ++j) got[i * c.n + j] = cm[i * ldc + j];
  CAPTURE(c.m);
  CAPTURE(c.n);
  CAPTURE(c.k);
  CAPTURE(c.trans_b);
  CAPTURE(c.beta);
  expect_close(got.data(), want, tol, "gemm");
  // B packed beforehand: bitwise the same C (the same arithmetic, only the
  // packing moved out of the call).
  Result<kernels::PackedB> packed = kernels::PackedB::pack(b.data(), ldb, c.trans_b, c.k, c.n);
  REQUIRE(packed.ok());
  std::vector<float> cp = c0;
  g.c = cp.data();
  g.packed_b = &packed.value();
  REQUIRE(kernels::gemm(g, ws.data() + 1, ws.size() - 1).ok());
  CHECK(std::memcmp(cp.data(), cm.data(), cm.size() * sizeof(float)) == 0);
  for (std::size_t i = 0; i < c.m; ++i)  // padding columns untouched
    for (std::size_t j = c.n; j < ldc; ++j)
      if (!(std::isnan(cm[i * ldc + j]) && std::isnan(c0[i * ldc + j])))
        CHECK(cm[i * ldc + j] == c0[i * ldc + j]);
}
}  // namespace

TEST_CASE("gemm: odd shapes, both op(B), alpha/beta, strided, blocking edges") {
  const std::size_t dims[] = {1, 2, 3, 5, 7, 8, 13, 16, 17, 31, 33, 67};
  for_each_isa([&](Isa) {
    for (std::size_t m : dims)
      for (std::size_t n : dims)
        for (std::size_t k : {1u, 3u, 16u, 67u})
          check_gemm({m, n, k, (m + n) % 2 == 0, 1.0f, 0.0f, (m * n) % 3});
    for (bool tb : {false, true}) {
      check_gemm({64, 96, 65, tb, -0.5f, 0.75f, 1});
      check_gemm({146, 70, 300, tb, 1.0f, 1.0f, 0});   // k > kc: beta applied once; 146 rows end in a half tile
      check_gemm({257, 2100, 9, tb, 2.0f, 0.0f, 0});   // n > nc, m > mc
      check_gemm({256, 256, 256, tb, 1.0f, 0.0f, 0});
    }
  });
}

TEST_CASE("gemm: B packed for another ISA falls back to B; a packed B of other size is an error") {
  const std::size_t m = 9, n = 40, k = 300;
  const auto a = random_floats(m * k, -1, 1, 1), b = random_floats(k * n, -1, 1, 2);
  REQUIRE(set_isa("auto").ok());
  Result<kernels::PackedB> packed = kernels::PackedB::pack(b.data(), n, false, k, n);  // for the best ISA
  REQUIRE(packed.ok());
  std::vector<float> want(m * n), got(m * n);
  kernels::GemmArgs g;
  g.m = m, g.n = n, g.k = k, g.a = a.data(), g.lda = k, g.b = b.data(), g.ldb = n, g.ldc = n;
  std::vector<unsigned char> ws(kernels::gemm_workspace_bytes(m, n, k));
  for_each_isa([&](Isa) {
    g.packed_b = nullptr, g.c = want.data();
    REQUIRE(kernels::gemm(g, ws.data(), ws.size()).ok());
    g.packed_b = &packed.value(), g.c = got.data();
    REQUIRE(kernels::gemm(g, ws.data(), ws.size()).ok());
    CHECK(want == got);
  });
  Result<kernels::PackedB> other = kernels::PackedB::pack(b.data(), n, false, k - 1, n);
  REQUIRE(other.ok());
  g.packed_b = &other.value();
  const Status s = kernels::gemm(g, ws.data(), ws.size());
  CHECK(s.message().find("packed B is 299 x 40") != std::string::npos);
}

TEST_CASE("gemm: k == 0 scales C by beta; bad arguments are named") {
  std::vector<float> c = {1, 2, 3, 4};
  kernels::GemmArgs g;
  g.m = 2, g.n = 2, g.k = 0, g.beta = 0.5f, g.c = c.data(), g.ldc = 2;
  for_each_isa([&](Isa) {
    std::vector<float> cc = c;
    g.c = cc.data();
    REQUIRE(kernels::gemm(g, nullptr, 0).ok());
    CHECK(cc == std::vector<float>{0.5f, 1, 1.5f, 2});
  });
  const std::vector<float> a(6), b(6);
  g.k = 3, g.a = a.data(), g.lda = 2, g.b = b.data(), g.ldb = 2, g.c = c.data();
  Status s = kernels::gemm(g, nullptr, 0);
  CHECK(s.code() == StatusCode::invalid_argument);
  CHECK(s.message().find("lda 2 < k") != std::string::npos);
  g.lda = 3;
  g.b = nullptr;
  s = kernels::gemm(g, nullptr, 0);
  CHECK(s.message().find("B is null") != std::string::npos);
  g.b = b.data();
  if (active_isa() != Isa::scalar) {  // the blocked path needs a workspace
    s = kernels::gemm(g, nullptr, 0);
    CHECK(s.code() == StatusCode::out_of_memory);
    CHECK(s.message().find("workspace") != std::string::npos);
  }
}
