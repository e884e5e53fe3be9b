// gemv, gemv_t and gemv_t over packed panels.
#include "tester.h"

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
  for_each_table([](const detail::KernelTable& t) {
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
          t.gemv(m, k, 1.5f, a.data(), lda, x.data(), beta, y.data());
          CAPTURE(m);
          CAPTURE(k);
          expect_close(y.data(), want, tol, "gemv");
        }
      }
    }
  });
}

TEST_CASE("gemv_t: weighted sums of rows, column tails, beta 0 does not read y") {
  for_each_table([](const detail::KernelTable& t) {
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
          t.gemv_t(m, k, 2.0f, a.data(), lda, x.data(), beta, y.data());
          CAPTURE(m);
          CAPTURE(k);
          expect_close(y.data(), want, tol, "gemv_t");
        }
      }
    }
  });
}
