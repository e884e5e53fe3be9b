// Kernels over typed weights (weights.h): gemv_w, gemv_multi_w, gemv_t_panels, widen_w
// and the GEMM's typed B, each against double precision over the
// dequantized weights (the only difference left is float32 accumulation),
// for every weight type on every ISA, with odd sizes and lane-group tails.
#include <doctest/doctest.h>

#include "edgeattn/ops.h"
#include "tester.h"

using namespace edgeattn::test;

namespace {

constexpr WeightType kTypes[] = {WeightType::f32, WeightType::bf16, WeightType::f16, WeightType::i8};

// A random [rows, cols] matrix held as `type`.
Weights random_weights(WeightType type, std::size_t rows, std::size_t cols, std::uint32_t seed) {
  const std::vector<float> w = random_floats(rows * cols, -1, 1, seed);
  Result<Weights> q = Weights::quantize(ConstView(w.data(), Shape{rows, cols}), type, "w");
  REQUIRE(q.ok());
  return std::move(q).value();
}

// sum_c w[r][c] x[c] in double over the dequantized weights, and its tolerance.
void reference_rows(const Weights& w, const float* x, std::vector<double>& want, std::vector<double>& tol) {
  want.assign(w.rows(), 0.0), tol.assign(w.rows(), 0.0);
  for (std::size_t r = 0; r < w.rows(); ++r) {
    double s = 0, mag = 0;
    for (std::size_t c = 0; c < w.cols(); ++c) {
      const double v = double(w.at(r, c)) * x[c];
      s += v, mag += std::fabs(v);
    }
    want[r] = s;
    tol[r] = ((w.cols() + 2) * kEps + 1e-6) * mag;  // + the scale's rounding
  }
}

const std::size_t kSizes[] = {1, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 129, 255};

}  // namespace

TEST_CASE("gemv_w: every weight type against double, odd sizes, alpha, beta, misaligned x") {
  for_each_table([](const detail::KernelTable& t) {
    for (WeightType type : kTypes)
      for (std::size_t k : kSizes)
        for (std::size_t m : {1u, 3u, 4u, 9u, 17u}) {
          const Weights w = random_weights(type, m, k, 7 * m + k);
          const auto x = random_floats(k, -1, 1, 11 + k);
          Misaligned mx(x, k % 4);
          std::vector<double> want, tol;
          reference_rows(w, x.data(), want, tol);
          CAPTURE(weight_type_name(type));
          CAPTURE(k);
          CAPTURE(m);
          std::vector<float> y(m, std::nanf(""));  // beta 0: y not read
          t.gemv_w(m, k, 1.0f, w.view(), mx.data(), 0.0f, y.data());
          expect_close(y.data(), want, tol, "gemv_w");
          std::vector<float> y2(m, 1.0f);
          t.gemv_w(m, k, 0.5f, w.view(), mx.data(), 2.0f, y2.data());
          for (std::size_t i = 0; i < m; ++i) want[i] = 0.5 * want[i] + 2.0, tol[i] = 0.5 * tol[i] + 4 * kEps;
          expect_close(y2.data(), want, tol, "gemv_w alpha beta");
        }
  });
}

TEST_CASE("gemv_multi_w: 1 to 8 products, every weight type, odd k, strides, untouched padding") {
  for_each_table([](const detail::KernelTable& t) {
    for (WeightType type : kTypes)
      for (std::size_t nx = 1; nx <= kernels::kGemvMultiMax; ++nx)
        for (std::size_t k : {1u, 7u, 16u, 33u, 65u, 300u})
          for (std::size_t m : {1u, 3u, 5u}) {
            const Weights w = random_weights(type, m, k, 61 + k + m);
            const std::size_t ldx = k + 1, ldy = nx + 2;
            const auto x = random_floats(nx * ldx, -1, 1, 62 + nx);
            Misaligned mx(x, nx % 3);
            std::vector<float> y(m * ldy, 9.0f);
            t.gemv_multi_w(m, k, w.view(), mx.data(), ldx, nx, y.data(), ldy);
            std::vector<double> want(m * ldy, 9.0), tol(m * ldy, 0.0), col, col_tol;
            for (std::size_t j = 0; j < nx; ++j) {
              reference_rows(w, x.data() + j * ldx, col, col_tol);
              for (std::size_t i = 0; i < m; ++i) want[i * ldy + j] = col[i], tol[i * ldy + j] = col_tol[i];
            }
            CAPTURE(weight_type_name(type));
            CAPTURE(nx);
            CAPTURE(k);
            CAPTURE(m);
            expect_close(y.data(), want, tol, "gemv_multi_w");
          }
  });
}

// The float path's rows at any stride (a conv's weight rows, k floats apart).
TEST_CASE("gemv_multi_w: float rows at any stride") {
  for_each_table([](const detail::KernelTable& t) {
    for (std::size_t k : {1u, 7u, 33u, 300u}) {
      const std::size_t m = 5, lda = k + 3, nx = 3;
      const auto a = random_floats(m * lda, -1, 1, 71 + k), x = random_floats(nx * k, -1, 1, 72);
      Misaligned ma(a, k % 4);
      std::vector<float> y(m * nx);
      t.gemv_multi_w(m, k, WeightRows{WeightType::f32, ma.data(), lda * sizeof(float), nullptr}, x.data(), k, nx,
                     y.data(), nx);
      std::vector<double> want(m * nx), tol(m * nx);
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < nx; ++j) {
          double s = 0, mag = 0;
          for (std::size_t p = 0; p < k; ++p) {
            const double v = double(a[i * lda + p]) * x[j * k + p];
            s += v, mag += std::fabs(v);
          }
          want[i * nx + j] = s, tol[i * nx + j] = (k * kEps + 1e-6) * mag;
        }
      CAPTURE(k);
      expect_close(y.data(), want, tol, "gemv_multi_w f32 stride");
    }
  });
}

TEST_CASE("widen_w: any start and length, dequantized exactly") {
  for_each_table([](const detail::KernelTable& t) {
    for (WeightType type : kTypes) {
      const Weights w = random_weights(type, 2, 300, 5);
      for (std::size_t begin : {0u, 1u, 31u, 32u, 64u, 100u})
        for (std::size_t n : {0u, 1u, 15u, 64u, 65u, 200u}) {
          std::vector<float> y(n + 1, 7.0f);
          t.widen_w(w.view().from_row(1), begin, n, y.data());
          CAPTURE(weight_type_name(type));
          CAPTURE(begin);
          CAPTURE(n);
          for (std::size_t i = 0; i < n; ++i) REQUIRE(y[i] == w.at(1, begin + i));
          CHECK(y[n] == 7.0f);  // nothing past n
        }
    }
  });
}

TEST_CASE("widen_w: f16 subnormals, signed zeros and extremes; int8 -128..127") {
  const std::uint16_t halves[] = {0x0000, 0x8000, 0x0001, 0x83FF, 0x0400, 0x7BFF, 0xFBFF, 0x3C00, 0x3555};
  std::vector<std::uint16_t> h(64);
  std::vector<std::int8_t> q(64);
  for (std::size_t i = 0; i < 64; ++i) {
    h[i] = halves[i % 9];
    q[i] = static_cast<std::int8_t>(i * 4 - 128);
  }
  const float scale = 0.25f;
  const Result<Weights> wh = Weights::from_storage(WeightType::f16, h.data(), nullptr, 1, 64, "h");
  const Result<Weights> wq = Weights::from_storage(WeightType::i8, q.data(), &scale, 1, 64, "q");
  REQUIRE(wh.ok());
  REQUIRE(wq.ok());
  for_each_table([&](const detail::KernelTable& t) {
    float y[64];
    t.widen_w(wh->view(), 0, 64, y);
    for (std::size_t i = 0; i < 64; ++i) {
      const float want = f16_to_float(h[i]);
      CAPTURE(i);
      CHECK(std::memcmp(&y[i], &want, 4) == 0);  // the sign of zero too
    }
    t.widen_w(wq->view(), 0, 64, y);
    for (std::size_t i = 0; i < 64; ++i) CHECK(y[i] == q[i] * 0.25f);
  });
}

TEST_CASE("gemv_t_panels: every weight type, panel tails, bias or none, backward and split bitwise equal") {
  for_each_table([](const detail::KernelTable&) {
    for (WeightType type : kTypes)
      for (std::size_t m : {1u, 3u, 64u}) {
        for (std::size_t n : {1u, 7u, 16u, 33u, 64u, 65u, 127u, 200u, 384u}) {
          const Weights w = random_weights(type, n, m, 61 * m + n);
          const auto x = random_floats(m, -1, 1, 62), bias = random_floats(n, -1, 1, 63);
          const Result<kernels::GemvPanels> p = kernels::GemvPanels::pack(w);
          REQUIRE(p.ok());
          for (const float* b : {static_cast<const float*>(nullptr), bias.data()}) {
            std::vector<double> want, tol;
            reference_rows(w, x.data(), want, tol);
            for (std::size_t j = 0; b && j < n; ++j) want[j] += b[j], tol[j] += 2 * kEps * std::fabs(b[j]);
            std::vector<float> fwd(n, std::nanf("")), bwd(n, std::nanf(""));
            kernels::gemv_t_panels(p.value(), x.data(), b, fwd.data(), false);
            kernels::gemv_t_panels(p.value(), x.data(), b, bwd.data(), true);
            CAPTURE(weight_type_name(type));
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
}

TEST_CASE("gemm with typed A or B: every weight type against double, blocks past kc, threads bitwise equal") {
  for_each_table([](const detail::KernelTable&) {
    for (bool typed_a : {false, true})
      for (WeightType type : kTypes)
        for (std::size_t m : {1u, 7u, 70u})  // 70: past a block of typed A rows (8 tiles)
          for (std::size_t n : {1u, 17u, 70u})
            for (std::size_t k : {1u, 65u, 300u}) {
              // typed A: W [m, k] times floats B [k, n]; typed B: floats A [m, k] times W [n, k]^T
              const Weights w = random_weights(type, typed_a ? m : n, k, 3 * n + k + m);
              const auto f = random_floats((typed_a ? n : m) * k, -1, 1, 9 + m), bias = random_floats(m, -1, 1, 4);
              std::vector<float> c(m * n, std::nanf(""));
              kernels::GemmArgs g;
              g.m = m, g.n = n, g.k = k, g.c = c.data(), g.ldc = n;
              if (typed_a) {
                g.a_weights = w.view();
                g.b = f.data(), g.ldb = n;
              } else {
                g.a = f.data(), g.lda = k;
                g.b_weights = w.view();
              }
              g.bias = bias.data();
              const auto a_at = [&](std::size_t i, std::size_t p) { return typed_a ? double(w.at(i, p)) : f[i * k + p]; };
              const auto b_at = [&](std::size_t p, std::size_t j) { return typed_a ? double(f[p * n + j]) : w.at(j, p); };
              Workspace ws;
              REQUIRE(ws.reserve(matmul_workspace_bytes(Context{3}, m, n, k)).ok());
              REQUIRE(matmul(Context{1}, g, ws).ok());
              std::vector<double> want(m * n), tol(m * n);
              for (std::size_t i = 0; i < m; ++i)
                for (std::size_t j = 0; j < n; ++j) {
                  double s = bias[i], mag = std::fabs(bias[i]);
                  for (std::size_t p = 0; p < k; ++p) {
                    const double v = a_at(i, p) * b_at(p, j);
                    s += v, mag += std::fabs(v);
                  }
                  want[i * n + j] = s;
                  tol[i * n + j] = ((k + 2) * kEps + 1e-6) * mag;
                }
              CAPTURE(typed_a);
              CAPTURE(weight_type_name(type));
              CAPTURE(m);
              CAPTURE(n);
              CAPTURE(k);
              expect_close(c.data(), want, tol, "gemm typed");
              for (int threads : {2, 3}) {
                std::vector<float> c2(m * n, std::nanf(""));
                g.c = c2.data();
                REQUIRE(matmul(Context{threads}, g, ws).ok());
                CHECK(std::memcmp(c.data(), c2.data(), c.size() * sizeof(float)) == 0);
                g.c = c.data();
              }
            }
  });
}

TEST_CASE("gemm with typed A or B: checks name what is wrong") {
  const Weights w = random_weights(WeightType::i8, 4, 8, 1);
  std::vector<float> a(16), c(8);
  kernels::GemmArgs g;
  g.m = 2, g.n = 4, g.k = 8, g.a = a.data(), g.lda = 8, g.c = c.data(), g.ldc = 4;
  g.b_weights = w.view();
  g.b_weights.ld = 32;
  CHECK(detail::check_gemm(g).message().find("typed B's rows are 32 bytes") != std::string::npos);
  g.b_weights = w.view();
  kernels::PackedB packed;
  g.packed_b = &packed;
  CHECK(detail::check_gemm(g).message().find("cannot also be packed") != std::string::npos);
  g.packed_b = nullptr;
  g.b = a.data(), g.ldb = 4;
  g.b_weights = WeightRows();
  g.a = nullptr;
  g.a_weights = w.view();
  g.a_weights.ld = 16;
  CHECK(detail::check_gemm(g).message().find("typed A's rows are 16 bytes") != std::string::npos);
}
