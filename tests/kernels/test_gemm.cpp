// The GEMM (blocking edges, packed B, argument checks) and transpose.
#include "tester.h"

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

TEST_CASE("gemm_narrow: 1-16 columns, row blocks and their rests, against double; nothing past n written") {
  constexpr std::size_t L = kernels::kNarrowCols;
  for_each_table([&](const detail::KernelTable& t) {
    for (std::size_t m : {1u, 2u, 5u, 23u, 24u, 25u, 50u})
      for (std::size_t k : {1u, 7u, 16u, 33u, 300u})
        for (std::size_t n = 1; n <= L; ++n) {
          const std::size_t lda = k + 3, ldc = n + 2;
          const auto a = random_floats(m * lda, -1, 1, 60 + m + k), b = random_floats(k * L, -1, 1, 61 + k + n),
                     c0 = random_floats(m * ldc, -1, 1, 62 + n);
          Misaligned ma(a, (m + k) % 4), mc(c0, n % 3);
          t.gemm_narrow(m, k, ma.data(), lda, b.data(), n, mc.data(), ldc);
          std::vector<double> want(m * ldc), tol(m * ldc, 0.0);
          for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < ldc; ++j) {
              double s = 0, mag = 0;
              for (std::size_t p = 0; j < n && p < k; ++p) {
                s += double(a[i * lda + p]) * b[p * L + j];
                mag += std::fabs(double(a[i * lda + p]) * b[p * L + j]);
              }
              want[i * ldc + j] = j < n ? s : c0[i * ldc + j];
              tol[i * ldc + j] = j < n ? (k + 1) * kEps * mag + 1e-7 : 0.0;
            }
          CAPTURE(m);
          CAPTURE(k);
          CAPTURE(n);
          expect_close(mc.data(), want, tol, "gemm_narrow");
        }
  });
}

namespace {
struct GemmCase {
  std::size_t m, n, k;
  bool trans_b;
  float alpha, beta;
  std::size_t pad;  // extra leading-dimension elements
  Activation act = Activation::none;  // with a bias per row when not none
};

void check_gemm(const GemmCase& c) {
  const std::size_t lda = c.k + c.pad, ldb = (c.trans_b ? c.k : c.n) + c.pad, ldc = c.n + c.pad;
  const std::size_t brows = c.trans_b ? c.n : c.k;
  const auto a = random_floats(c.m * lda, -1, 1, 100 + c.m * 7 + c.k);
  const auto b = random_floats(brows * ldb, -1, 1, 200 + c.n * 5 + c.k);
  std::vector<float> c0 = random_floats(c.m * ldc, -1, 1, 300);
  const auto row_bias = random_floats(c.m, -2, 2, 400 + c.m);
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
      const double bias = c.act == Activation::none ? 0.0 : row_bias[i];
      const double pre = c.alpha * s + old + bias;
      want[i * c.n + j] = activation_ref(c.act, pre);
      tol[i * c.n + j] = activation_tol(
          c.act, pre, (c.k * kEps + 1e-6) * (std::fabs(c.alpha) * mag + std::fabs(old) + std::fabs(bias)));
    }
  std::vector<float> cm = c0;
  kernels::GemmArgs g;
  g.m = c.m, g.n = c.n, g.k = c.k, g.alpha = c.alpha, g.beta = c.beta;
  g.a = a.data(), g.lda = lda, g.b = b.data(), g.ldb = ldb, g.trans_b = c.trans_b;
  g.c = cm.data(), g.ldc = ldc;
  if (c.act != Activation::none) g.bias = row_bias.data(), g.act = c.act;
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
  const std::string act = activation_name(c.act);
  CAPTURE(act);
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
  for_each_table([&](const detail::KernelTable&) {
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

TEST_CASE("gemm epilogue: bias per row and each activation, on edge tiles and after k blocks") {
  for_each_table([&](const detail::KernelTable&) {
    std::size_t i = 0;
    for (Activation act : kAllActivations) {
      ++i;
      for (std::size_t m : {1u, 5u, 13u})
        for (std::size_t n : {3u, 17u, 40u})
          check_gemm({m, n, 7, i % 2 == 0, 1.0f, i % 3 == 0 ? 0.5f : 0.0f, 1, act});
      check_gemm({19, 33, 300, false, 1.0f, 0.0f, 0, act});  // k > kc: the epilogue only at the end
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
  for_each_table([&](const detail::KernelTable&) {
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

// A thread's share of C's columns against a B packed once (a 1x1 conv run
// transposed): from any whole tile inside a block of the packing, no b on
// the ISA it was packed for, bitwise the columns of the whole product.
TEST_CASE("gemm: a pre-packed B's columns from a whole tile on, without b; to_rows gives op(B)^T back") {
  for_each_table([&](const detail::KernelTable& t) {
    if (t.blocking.nr == 0) return;  // (the scalar table packs nothing)
    const std::size_t nr = t.blocking.nr, nc = t.blocking.nc;
    for (const std::size_t n : {std::size_t(3) * nr + 5, nc + 2 * nr + 3})  // one block of columns, two
      for (const std::size_t k : {std::size_t(9), std::size_t(300)}) {      // one block of k, two
        CAPTURE(n);
        CAPTURE(k);
        const std::size_t m = 13;
        const auto a = random_floats(m * k, -1, 1, 70 + k), w = random_floats(n * k, -1, 1, 71 + n);
        Result<kernels::PackedB> packed = kernels::PackedB::pack(w.data(), k, true, k, n);  // op(B) = W^T
        REQUIRE(packed.ok());
        std::vector<float> rows(n * (k + 2), -7.0f);  // row j of W from to_rows, two pad floats
        packed->to_rows(0, n, rows.data(), k + 2);
        bool same = true;
        for (std::size_t j = 0; j < n; ++j)
          same = same && std::memcmp(rows.data() + j * (k + 2), w.data() + j * k, k * sizeof(float)) == 0 &&
                 rows[j * (k + 2) + k] == -7.0f;
        CHECK(same);
        std::vector<float> part(5 * (k + 1));  // rows 2 .. 6 of W
        packed->to_rows(2, 7, part.data(), k + 1);
        for (std::size_t j = 0; j < 5; ++j) CHECK(part[j * (k + 1) + k / 2] == w[(j + 2) * k + k / 2]);
        kernels::GemmArgs g;
        g.m = m, g.n = n, g.k = k, g.a = a.data(), g.lda = k, g.b = w.data(), g.ldb = k, g.trans_b = true;
        std::vector<float> whole(m * n), share(m * n, -7.0f);
        g.c = whole.data(), g.ldc = n, g.packed_b = &packed.value();
        std::vector<unsigned char> ws(kernels::gemm_workspace_bytes(m, n, k));
        REQUIRE(kernels::gemm(g, ws.data(), ws.size()).ok());
        const std::size_t col0 = n > nc ? nc : nr, cols = n > nc ? n - nc : 2 * nr + 1;
        kernels::GemmArgs s = g;
        s.b = nullptr, s.n = cols, s.packed_b_col = col0, s.c = share.data() + col0;
        const Status st = kernels::gemm(s, ws.data(), ws.size());
        REQUIRE_MESSAGE(st.ok(), st.to_string());
        for (std::size_t i = 0; i < m; ++i)
          CHECK(std::memcmp(share.data() + i * n + col0, whole.data() + i * n + col0, cols * sizeof(float)) == 0);
        s.packed_b_col = col0 + 1, s.n = cols - 1;  // not a whole tile
        CHECK(kernels::gemm(s, ws.data(), ws.size()).message().find("not whole tiles inside one block") !=
              std::string::npos);
        s.packed_b_col = col0, s.n = n - col0 + 1;  // past packed B's columns
        CHECK(kernels::gemm(s, ws.data(), ws.size()).message().find("from its column") != std::string::npos);
      }
  });
}

TEST_CASE("gemm: k == 0 scales C by beta (then the epilogue); bad arguments are named") {
  std::vector<float> c = {1, 2, 3, 4};
  const std::vector<float> bias = {-1, 0.5f};
  kernels::GemmArgs g;
  g.m = 2, g.n = 2, g.k = 0, g.beta = 0.5f, g.c = c.data(), g.ldc = 2;
  for_each_table([&](const detail::KernelTable&) {
    std::vector<float> cc = c;
    g.c = cc.data();
    REQUIRE(kernels::gemm(g, nullptr, 0).ok());
    CHECK(cc == std::vector<float>{0.5f, 1, 1.5f, 2});
    cc = c;
    g.bias = bias.data(), g.act = Activation::relu;
    REQUIRE(kernels::gemm(g, nullptr, 0).ok());
    CHECK(cc == std::vector<float>{0, 0, 2, 2.5f});
    g.bias = nullptr, g.act = Activation::none;
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
  Result<kernels::PackedB> other_isa = kernels::PackedB::pack(b.data(), 2, false, 3, 2);
  REQUIRE(other_isa.ok());
  g.packed_b = &other_isa.value();
  for_each_table([&](const detail::KernelTable& t) {  // no b: only on the ISA it was packed for
    if (t.isa != other_isa->isa() || !other_isa->bytes())
      CHECK(kernels::gemm(g, nullptr, 0).message().find("B is null") != std::string::npos);
  });
  g.packed_b = nullptr;
  g.b = b.data();
  if (active_isa() != Isa::scalar) {  // the blocked path needs a workspace
    s = kernels::gemm(g, nullptr, 0);
    CHECK(s.code() == StatusCode::out_of_memory);
    CHECK(s.message().find("workspace") != std::string::npos);
  }
}
