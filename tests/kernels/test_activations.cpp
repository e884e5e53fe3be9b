// Transcendental functions and activations: exp, sampling's exp_lanes16,
// tanh, sigmoid, relu, silu.
#include "tester.h"

TEST_CASE("exp: 1e-6 relative for |x| <= 87, special values, no NaN from large inputs") {
  std::vector<float> x = random_floats(4099, -87, 87, 42);
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1.0f, -1.0f, 87.0f, -87.0f, 0.34657359f})
    x.push_back(v);
  const auto big = random_floats(67, 80, 100, 43);  // overflow a naive exp
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> edge = {-inf, inf, std::nanf(""), 88.7f, 89.0f, 100.0f, 1e30f,
                             -88.0f, -100.0f, -104.0f, -1e30f};
  edge.insert(edge.end(), big.begin(), big.end());
  for_each_table([&](const detail::KernelTable& t) {
    std::vector<float> y(x.size());
    t.exp(x.data(), y.data(), x.size());
    std::vector<double> want(x.size()), tol(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      want[i] = std::exp(double(x[i]));
      tol[i] = 1e-6 * want[i];
    }
    expect_close(y.data(), want, tol, "exp");
    expect_agrees_with_scalar(y, scalar_result([&](const detail::KernelTable& ref) {
                                std::vector<float> s(x.size());
                                ref.exp(x.data(), s.data(), x.size());
                                return s;
                              }),
                              tol, "exp vs scalar");
    std::vector<float> e(edge.size());
    t.exp(edge.data(), e.data(), edge.size());
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
      for_each_table([&](const detail::KernelTable& t) {
        std::vector<float> e(padded, 7.0f), lanes(16, 7.0f);
        t.exp_lanes16(x.data(), m, n, shift, e.data(), lanes.data());
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
  for_each_table([&](const detail::KernelTable& t) {
    for (int fn = 0; fn < 2; ++fn) {
      const char* name = fn ? "sigmoid" : "tanh";
      auto run = [&](const detail::KernelTable& k, std::vector<float>& out) {
        if (fn) k.sigmoid(x.data(), out.data(), x.size());
        else k.tanh(x.data(), out.data(), x.size());
      };
      std::vector<float> y(x.size());
      run(t, y);
      std::vector<double> want(x.size()), tol(x.size(), 1e-6);
      for (std::size_t i = 0; i < x.size(); ++i)
        want[i] = fn ? 1.0 / (1.0 + std::exp(-double(x[i]))) : std::tanh(double(x[i]));
      expect_close(y.data(), want, tol, name);
      expect_agrees_with_scalar(y, scalar_result([&](const detail::KernelTable& ref) {
                                  std::vector<float> s(x.size());
                                  run(ref, s);
                                  return s;
                                }),
                                tol, name);
      std::vector<float> nan_in = {std::nanf("")}, nan_out(1);
      if (fn) t.sigmoid(nan_in.data(), nan_out.data(), 1);
      else t.tanh(nan_in.data(), nan_out.data(), 1);
      CHECK(std::isnan(nan_out[0]));
    }
  });
}

TEST_CASE("relu and silu: relu exact, silu within |x| * 1e-6 + 1e-6") {
  std::vector<float> x = random_floats(4099, -12, 12, 7);
  const float inf = std::numeric_limits<float>::infinity();
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 90.0f, -90.0f, 1e30f, -1e30f, inf, -inf}) x.push_back(v);
  for_each_table([&](const detail::KernelTable& t) {
    for (std::size_t n : sweep_sizes()) {
      if (n > x.size()) continue;
      for (std::size_t off = 0; off < 3; ++off) {
        Misaligned in(std::vector<float>(x.begin(), x.begin() + n), off);
        std::vector<float> r(n), si(n);
        t.relu(in.data(), r.data(), n);
        t.silu(in.data(), si.data(), n);
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

TEST_CASE("activate: every activation within its tolerance, NaN kept, the clamps' edges exact") {
  std::vector<float> x = random_floats(4099, -12, 12, 8);
  const float inf = std::numeric_limits<float>::infinity();
  for (float v : {0.0f, -0.0f, -3.0f, 3.0f, 6.0f, -2.9999998f, 3.0000002f, 5.9999995f, 90.0f, -90.0f,
                  1e30f, -1e30f, inf, -inf})
    x.push_back(v);
  for_each_table([&](const detail::KernelTable& t) {
    for (Activation act : kAllActivations) {
      const std::string name = activation_name(act);
      CAPTURE(name);
      for (std::size_t n : sweep_sizes()) {
        if (n > x.size()) continue;
        Misaligned in(std::vector<float>(x.end() - n, x.end()), n % 3);
        std::vector<float> y(n);
        t.activate(act, in.data(), y.data(), n);
        std::vector<double> want(n), tol(n);
        for (std::size_t i = 0; i < n; ++i) {
          const double v = in.data()[i];
          want[i] = activation_ref(act, v);
          // sigmoid and silu are approximations; the rest are exact up to
          // one rounding of the hard ones' division
          const bool smooth = act == Activation::sigmoid || act == Activation::silu;
          tol[i] = smooth ? 1e-6 * (1.0 + std::fabs(v)) : 2 * kEps * std::fabs(want[i]);
        }
        CAPTURE(n);
        expect_close(y.data(), want, tol, "activate");
        t.activate(act, in.data(), in.data(), n);  // in place
        CHECK(std::memcmp(in.data(), y.data(), n * sizeof(float)) == 0);
      }
      std::vector<float> nan_in(9, std::nanf("")), nan_out(9);
      t.activate(act, nan_in.data(), nan_out.data(), nan_in.size());
      if (act != Activation::relu)  // relu(NaN) is 0 here, as max(x, 0) in registers
        for (float v : nan_out) CHECK(std::isnan(v));
    }
  });
}
