// Reductions: dot, sums, maxima, means, global pooling, argmax (with its NaN
// rule), and the mean/max across rows.
#include "tester.h"

TEST_CASE("dot and reduce_sum / reduce_max / reduce_mean") {
  for_each_table([](const detail::KernelTable& t) {
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
        CHECK(std::fabs(t.dot(ma.data(), mb.data(), n) - ref) <= tol);
        CHECK(std::fabs(t.reduce_sum(ma.data(), n) - sum) <= tol_sum);
        CHECK(t.reduce_max(ma.data(), n) == float(mx));
        CHECK(std::fabs(kernels::reduce_mean(ma.data(), n) - sum / n) <= tol_sum / n);
      }
    }
    CHECK(t.dot(nullptr, nullptr, 0) == 0.0f);
    CHECK(t.reduce_sum(nullptr, 0) == 0.0f);
    CHECK(kernels::reduce_mean(nullptr, 0) == 0.0f);
    CHECK(t.reduce_max(nullptr, 0) == -std::numeric_limits<float>::infinity());
  });
}

TEST_CASE("global_pool and scale_rows: many rows per call, each as its one-row kernel") {
  for_each_table([](const detail::KernelTable& t) {
    for (std::size_t rows : {1u, 3u, 7u})
      for (std::size_t n : sweep_sizes()) {
        if (rows * n > 20000) continue;
        const auto x = random_floats(rows * n, -2, 2, 5 * n + rows), a = random_floats(rows, -3, 3, n);
        Misaligned mx(x, n % 4);
        std::vector<float> mean(rows), max(rows), mean_only(rows, 7.0f), y(rows * n);
        t.global_pool(mx.data(), rows, n, mean.data(), max.data());
        t.global_pool(mx.data(), rows, n, mean_only.data(), nullptr);
        t.scale_rows(a.data(), mx.data(), rows, n, y.data());
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
        t.scale_rows(a.data(), mx.data(), rows, n, mx.data());  // in place
        CHECK(std::equal(y.begin(), y.end(), mx.data()));
      }
    float mean = 1.0f, max = 1.0f;
    t.global_pool(nullptr, 1, 0, &mean, &max);
    CHECK(mean == 0.0f);
    CHECK(max == -std::numeric_limits<float>::infinity());
  });
}

TEST_CASE("argmax: the first maximum wherever it lies, ties, -inf") {
  for_each_table([](const detail::KernelTable& t) {
    for (std::size_t n : sweep_sizes()) {
      auto x = random_floats(n, -1, 1, 70 + n);
      for (std::size_t at : {std::size_t{0}, n / 3, n / 2, n - 1}) {
        std::vector<float> y = x;
        y[at] = 2.0f;
        for (std::size_t later : {at + 1, at + 11, at + 37, n - 1})  // later ties, other lanes
          if (later > at && later < n) y[later] = 2.0f;
        CAPTURE(n);
        CAPTURE(at);
        CHECK(t.argmax(y.data(), n) == at);
      }
      std::vector<float> ninf(n, -std::numeric_limits<float>::infinity());
      CHECK(t.argmax(ninf.data(), n) == 0);
      std::vector<float> flat(n, 0.5f);  // every element ties
      CHECK(t.argmax(flat.data(), n) == 0);
    }
    CHECK(t.argmax(nullptr, 0) == 0);
  });
}

TEST_CASE("argmax: NaN counts as the maximum, the first NaN wins, the same on every ISA") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for_each_table([&](const detail::KernelTable& t) {
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
        CHECK(t.argmax(y.data(), n) == at);
      }
      std::vector<float> cancel(n, 0.0f);  // +inf and -inf sum to NaN, but no NaN is there
      cancel[n - 1] = inf;
      if (n > 1) cancel[0] = -inf;
      CHECK(t.argmax(cancel.data(), n) == n - 1);
    }
  });
}

TEST_CASE("rows_mean_max: mean and max across rows against double precision") {
  for_each_table([](const detail::KernelTable& t) {
    for (std::size_t rows : {1u, 3u, 17u, 64u})
      for (std::size_t n : sweep_sizes()) {
        const std::size_t ldx = n + 5;
        const auto x = random_floats(rows * ldx, -3, 3, 11 + n), sc = random_floats(rows, 0, 1, 12 + rows);
        for (const float* scale : {static_cast<const float*>(nullptr), sc.data()}) {
          Misaligned mx(x, n % 4);
          std::vector<float> mean(n), max(n);
          t.rows_mean_max(mx.data(), ldx, rows, scale, mean.data(), max.data(), n);
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
