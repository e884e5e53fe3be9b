// Elementwise kernels: axpy, scale, add, mul, add_scalar, scale_mul.
#include "tester.h"

TEST_CASE("elementwise: axpy, scale, add, mul, add_scalar, scale_mul (also in place)") {
  for_each_table([](const detail::KernelTable& t) {
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
        run("add", [&](const float* x, const float* y, float* o) { t.add(x, y, o, n); },
            [](double x, double y) { return x + y; }, abs_sum);
        run("mul", [&](const float* x, const float* y, float* o) { t.mul(x, y, o, n); },
            [](double x, double y) { return x * y; },
            [](double x, double y) { return std::fabs(x * y); });
        run("scale", [&](const float* x, const float*, float* o) { kernels::scale(alpha, x, o, n); },
            [&](double x, double) { return alpha * x; },
            [&](double x, double) { return std::fabs(alpha * x); });
        run("add_scalar",
            [&](const float* x, const float*, float* o) { t.add_scalar(x, alpha, o, n); },
            [&](double x, double) { return x + alpha; },
            [&](double x, double) { return std::fabs(x) + std::fabs(alpha); });
        run("scale_mul",
            [&](const float* x, const float* y, float* o) { t.scale_mul(alpha, x, y, o, n); },
            [&](double x, double y) { return alpha * x * y; },
            [&](double x, double y) { return std::fabs(alpha * x * y); });
        run("axpy",
            [&](const float* x, const float* y, float* o) {
              for (std::size_t i = 0; i < n; ++i) o[i] = y[i];
              t.axpy(alpha, x, o, n);
            },
            [&](double x, double y) { return alpha * x + y; },
            [&](double x, double y) { return std::fabs(alpha * x) + std::fabs(y); });
        // In place: y aliases the first input.
        t.add(ma.data(), mb.data(), ma.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
          want[i] = double(a[i]) + b[i];
          tol[i] = 2 * kEps * (std::fabs(a[i]) + std::fabs(b[i]));
        }
        expect_close(ma.data(), want, tol, "add in place");
      }
    }
  });
}
