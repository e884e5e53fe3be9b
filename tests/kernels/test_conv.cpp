// Direct convolution rows against double precision, and the block copy
// that lays out their inputs.
#include "tester.h"

TEST_CASE("conv_rows: 2-D taps against double precision, 1 to 25 output rows") {
  // Heights 3, 5 and 7 up to width 16 take the tap-column blocks (11, 9 and
  // 7 rows) and leave the other rows and the column tail to the tap-row
  // blocks; the other kernels take the tap-row blocks alone.
  const std::pair<std::size_t, std::size_t> kernels_hw[] = {
      {1, 1}, {2, 3}, {6, 7}, {3, 3}, {5, 5}, {7, 7}, {7, 2}, {3, 16}, {5, 17}};
  for_each_table([&](const detail::KernelTable& t) {
    for (const auto& [kh, kw] : kernels_hw)
      for (std::size_t rows : {1u, 2u, 3u, 5u, 7u, 11u, 16u, 25u})
        for (std::size_t n : sweep_sizes()) {
          if (n > 300) continue;
          const std::size_t ldx = n + kw + 2, ldy = n + 3;
          const std::size_t in_rows = rows + kh - 1;
          const auto x = random_floats(in_rows * ldx, -1, 1, 21 + n), w = random_floats(kh * kw, -1, 1, 22 + kw),
                     y0 = random_floats(rows * ldy, -1, 1, 23 + n);
          Misaligned mx(x, n % 4), my(y0, kw % 3);
          t.conv_rows(mx.data(), ldx, w.data(), kh, kw, my.data(), ldy, rows, n);
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

TEST_CASE("copy_rows: every width and misalignment, 1 to 7 rows, nothing past the block written") {
  for_each_table([&](const detail::KernelTable& t) {
    for (std::size_t rows : {1u, 2u, 7u})
      for (std::size_t n : sweep_sizes()) {
        const std::size_t ldx = n + 5, ldy = n + 3;
        const auto x = random_floats(rows * ldx, -1, 1, 31 + n), y0 = random_floats(rows * ldy, -1, 1, 32 + n);
        Misaligned mx(x, n % 4), my(y0, (n + 1) % 3);
        t.copy_rows(mx.data(), ldx, rows, n, my.data(), ldy);
        std::vector<double> want(rows * ldy), tol(rows * ldy, 0.0);
        for (std::size_t r = 0; r < rows; ++r)
          for (std::size_t c = 0; c < ldy; ++c) want[r * ldy + c] = c < n ? x[r * ldx + c] : y0[r * ldy + c];
        CAPTURE(n);
        CAPTURE(rows);
        expect_close(my.data(), want, tol, "copy_rows");
      }
  });
}

TEST_CASE("im2col_plane: kernels 1x1 to 5x5, pixel ranges starting and ending inside rows, exact") {
  const std::pair<std::size_t, std::size_t> kernels_hw[] = {{1, 1}, {3, 3}, {2, 3}, {5, 5}};
  for_each_table([&](const detail::KernelTable& t) {
    for (const auto& [kh, kw] : kernels_hw)
      for (std::size_t ow : {1u, 2u, 3u, 7u, 14u, 16u, 17u, 33u})
        for (std::size_t oh : {1u, 2u, 5u}) {
          const std::size_t n = oh * ow, ldx = ow + kw + 1, ldcol = n + 3;
          const auto x = random_floats((oh + kh - 1) * ldx, -1, 1, 71 + ow);
          const std::pair<std::size_t, std::size_t> ranges[] = {
              {0, n}, {1, n}, {0, n - 1}, {ow / 2, n - ow / 2}, {ow, n}, {n / 2, n / 2 + 1}};
          for (const auto& [n0, n1] : ranges) {
            if (n0 >= n1) continue;
            std::vector<float> col(kh * kw * ldcol, -7.0f);
            Misaligned mx(x, ow % 4);
            t.im2col_plane(mx.data(), ldx, kh, kw, ow, n0, n1, col.data(), ldcol);
            CAPTURE(kh);
            CAPTURE(kw);
            CAPTURE(ow);
            CAPTURE(oh);
            CAPTURE(n0);
            CAPTURE(n1);
            for (std::size_t q = 0; q < kh * kw; ++q)
              for (std::size_t i = 0; i < ldcol; ++i)
                REQUIRE(col[q * ldcol + i] ==
                        (i >= n0 && i < n1 ? x[(i / ow + q / kw) * ldx + i % ow + q % kw] : -7.0f));
          }
        }
  });
}

TEST_CASE("max_pool_rows: strides 1-3, windows 1x1 to 3x3, 1-3 rows, exact; a NaN reported; the first of equal zeros kept") {
  const std::pair<std::size_t, std::size_t> kernels_hw[] = {{1, 1}, {2, 2}, {3, 3}, {2, 3}, {3, 1}};
  for_each_table([&](const detail::KernelTable& t) {
    for (const auto& [kh, kw] : kernels_hw)
      for (std::size_t sw : {1u, 2u, 3u})
        for (std::size_t rows : {1u, 3u})
          for (std::size_t n : sweep_sizes()) {
            if (n > 300) continue;
            const std::size_t sh = 3 - sw % 2, ldx = n * sw + kw + 1, ldy = n + 2;  // (sh 2 or 3)
            const std::size_t in_rows = (rows - 1) * sh + kh;
            auto x = random_floats(in_rows * ldx, -1, 1, 41 + n);
            x[n % ldx] = -0.0f, x[(n % ldx) + 1] = 0.0f;  // equal values: the first wins, as PyTorch's scan
            const auto y0 = random_floats(rows * ldy, -1, 1, 42 + n);
            Misaligned mx(x, n % 4), my(y0, sw % 3);
            CAPTURE(n);
            CAPTURE(sw);
            CAPTURE(kh);
            CAPTURE(kw);
            CAPTURE(rows);
            CHECK(t.max_pool_rows(mx.data(), ldx, kh, kw, sh, sw, my.data(), ldy, rows, n));
            for (std::size_t r = 0; r < rows; ++r)
              for (std::size_t c = 0; c < ldy; ++c) {
                float m = -std::numeric_limits<float>::infinity();
                for (std::size_t i = 0; c < n && i < kh; ++i)
                  for (std::size_t j = 0; j < kw; ++j) {
                    const float v = x[(r * sh + i) * ldx + c * sw + j];
                    m = v > m ? v : m;
                  }
                if (c >= n) m = y0[r * ldy + c];  // nothing past n
                REQUIRE(std::memcmp(&m, my.data() + r * ldy + c, sizeof m) == 0);
              }
            x[(in_rows - 1) * ldx + (n - 1) * sw + kw - 1] = std::numeric_limits<float>::quiet_NaN();  // the last tap
            Misaligned mn(x, 0);
            CHECK_FALSE(t.max_pool_rows(mn.data(), ldx, kh, kw, sh, sw, my.data(), ldy, rows, n));
          }
  });
}

TEST_CASE("dwconv_row: 16 interleaved channels, strides 1-3, each activation, against double") {
  constexpr std::size_t L = kernels::kDwLanes;
  const std::pair<std::size_t, std::size_t> kernels_hw[] = {{3, 3}, {5, 5}, {1, 1}, {7, 7}, {3, 2}};
  for_each_table([&](const detail::KernelTable& t) {
    std::size_t seed = 0;
    for (const auto& [kh, kw] : kernels_hw)
      for (std::size_t sw : {1u, 2u, 3u})
        for (std::size_t n : {1u, 2u, 3u, 4u, 5u, 7u, 8u, 9u, 17u, 56u}) {
          const Activation act = kAllActivations[++seed % std::size(kAllActivations)];
          const std::size_t ldx = ((n - 1) * sw + kw + 1) * L;
          const auto x = random_floats(kh * ldx, -2, 2, 31 + seed), w = random_floats((kh * kw + 1) * L, -1, 1, 32 + seed);
          Misaligned mx(x, n % 4), mw(w, kw % 3);
          std::vector<float> y(n * L + 5, 7.0f);
          t.dwconv_row(mx.data(), ldx, mw.data(), kh, kw, sw, y.data(), n, act);
          std::vector<double> want(n * L + 5, 7.0), tol(n * L + 5, 0.0);  // past n: untouched
          for (std::size_t c = 0; c < n; ++c)
            for (std::size_t l = 0; l < L; ++l) {
              double s = w[kh * kw * L + l], mag = std::fabs(s);
              for (std::size_t i = 0; i < kh; ++i)
                for (std::size_t j = 0; j < kw; ++j) {
                  const double p = double(w[(i * kw + j) * L + l]) * x[i * ldx + (c * sw + j) * L + l];
                  s += p, mag += std::fabs(p);
                }
              want[c * L + l] = activation_ref(act, s);
              tol[c * L + l] = activation_tol(act, s, (kh * kw + 1) * kEps * mag + 1e-7);
            }
          const std::string a = activation_name(act);
          CAPTURE(n);
          CAPTURE(kh);
          CAPTURE(sw);
          CAPTURE(a);
          expect_close(y.data(), want, tol, "dwconv_row");
        }
  });
}

TEST_CASE("conv_row_oc16: 16 output channels in lanes, few input channels, against double") {
  constexpr std::size_t L = kernels::kDwLanes;
  for_each_table([&](const detail::KernelTable& t) {
    std::size_t seed = 0;
    for (std::size_t channels : {1u, 3u})
      for (const auto& [kh, kw] : {std::pair<std::size_t, std::size_t>{3, 3}, {5, 3}, {1, 1}})
        for (std::size_t sw : {1u, 2u})
          for (std::size_t n : {1u, 2u, 3u, 7u, 8u, 9u, 17u, 112u}) {
            const Activation act = kAllActivations[++seed % std::size(kAllActivations)];
            const std::size_t ldx = (n - 1) * sw + kw + 2, plane = kh * ldx + 3;
            const auto x = random_floats(channels * plane, -2, 2, 41 + seed);
            const auto w = random_floats((channels * kh * kw + 1) * L, -1, 1, 42 + seed);
            Misaligned mx(x, n % 4), mw(w, kw % 3);
            std::vector<float> y(n * L + 3, 5.0f);
            t.conv_row_oc16(mx.data(), ldx, plane, channels, mw.data(), kh, kw, sw, y.data(), n, act);
            std::vector<double> want(n * L + 3, 5.0), tol(n * L + 3, 0.0);
            for (std::size_t c = 0; c < n; ++c)
              for (std::size_t l = 0; l < L; ++l) {
                double s = w[channels * kh * kw * L + l], mag = std::fabs(s);
                for (std::size_t ch = 0; ch < channels; ++ch)
                  for (std::size_t i = 0; i < kh; ++i)
                    for (std::size_t j = 0; j < kw; ++j) {
                      const double p = double(w[((ch * kh + i) * kw + j) * L + l]) *
                                       x[ch * plane + i * ldx + c * sw + j];
                      s += p, mag += std::fabs(p);
                    }
                want[c * L + l] = activation_ref(act, s);
                tol[c * L + l] = activation_tol(act, s, (channels * kh * kw + 1) * kEps * mag + 1e-7);
              }
            const std::string a = activation_name(act);
            CAPTURE(n);
            CAPTURE(channels);
            CAPTURE(kh);
            CAPTURE(sw);
            CAPTURE(a);
            expect_close(y.data(), want, tol, "conv_row_oc16");
          }
  });
}
