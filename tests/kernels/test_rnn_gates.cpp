// The fused GRU and LSTM gate updates against PyTorch's cell formulas.
#include "tester.h"

TEST_CASE("gru_gates and lstm_gates: PyTorch's cell formulas in double precision") {
  for_each_table([](const detail::KernelTable& t) {
    for (std::size_t n : sweep_sizes()) {
      if (n > 300) continue;
      const auto gx = random_floats(4 * n, -4, 4, 31 + n), gh = random_floats(4 * n, -4, 4, 32 + n),
                 h = random_floats(n, -1, 1, 33 + n), c0 = random_floats(n, -2, 2, 34 + n);
      std::vector<float> hg(n), c(c0), hl(n);
      t.gru_gates(gx.data(), gh.data(), h.data(), hg.data(), n);
      t.lstm_gates(gx.data(), gh.data(), c.data(), hl.data(), n);
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
      t.gru_gates(gx.data(), gh.data(), inplace.data(), inplace.data(), n);
      CHECK(std::memcmp(inplace.data(), hg.data(), n * sizeof(float)) == 0);
    }
  });
}
