// Threaded operators: correct against the kernels they call, bitwise equal
// for 1 and 2 threads on every ISA, and clear errors for bad shapes.
#include <cstring>

#include "../src/parallel.h"
#include "test_util.h"

using namespace edgeattn;
using edgeattn::test::for_each_isa;
using edgeattn::test::split_ctx;
using edgeattn::test::random_floats;

namespace {
bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::vector<float> run_matmul(int threads, std::size_t m, std::size_t n, std::size_t k,
                              bool trans_b, float beta) {
  const auto a = random_floats(m * k, -1, 1, 1), b = random_floats(n * k, -1, 1, 2);
  std::vector<float> c = random_floats(m * n, -1, 1, 3);
  kernels::GemmArgs g;
  g.m = m, g.n = n, g.k = k, g.a = a.data(), g.lda = k, g.b = b.data();
  g.ldb = trans_b ? k : n, g.trans_b = trans_b, g.beta = beta, g.c = c.data(), g.ldc = n;
  const Context ctx = split_ctx(threads);
  Workspace ws;
  REQUIRE(ws.reserve(matmul_workspace_bytes(ctx, m, n, k)).ok());
  const auto bias = random_floats(m, -1, 1, 4);
  g.bias = bias.data(), g.act = Activation::hardswish;
  const std::vector<float> c0 = c;
  const Status s = matmul(ctx, g, ws);
  REQUIRE_MESSAGE(s.ok(), s.to_string());
  CHECK(ws.used() == 0);  // scratch returned
  for (std::size_t i = 0; i < m; ++i)  // against double: the GEMV paths apply the epilogue too
    for (std::size_t j = 0; j < n; ++j) {
      double acc = beta * double(c0[i * n + j]) + bias[i], mag = std::fabs(acc);
      for (std::size_t p = 0; p < k; ++p) {
        const double t = double(a[i * k + p]) * (trans_b ? b[j * k + p] : b[p * n + j]);
        acc += t, mag += std::fabs(t);
      }
      const double want = test::activation_ref(Activation::hardswish, acc);
      if (!(std::fabs(c[i * n + j] - want) <= 1.5 * (k + 2) * 1.2e-7 * mag + 1e-6)) {
        FAIL_CHECK("C[" << i << ", " << j << "] = " << c[i * n + j] << ", want " << want);
        return c;
      }
    }
  return c;
}
}  // namespace

TEST_CASE("matmul: 1, 2, 3 threads bitwise equal, within rounding of double, epilogue included") {
  struct Shape3 {
    std::size_t m, n, k;
  };
  for_each_isa([](Isa) {
    for (const Shape3 s : {Shape3{1, 1, 1}, Shape3{67, 513, 33}, Shape3{513, 67, 300},
                           Shape3{130, 130, 64}, Shape3{1024, 1024, 64},
                           Shape3{1, 300, 301}, Shape3{1, 1000, 257},  // one-row GEMVs split
                           Shape3{1000, 1, 257}, Shape3{7, 1, 5}}) {  // one-column GEMVs
      for (bool tb : {false, true}) {
        CAPTURE(s.m);
        CAPTURE(s.n);
        CAPTURE(tb);
        const auto one = run_matmul(1, s.m, s.n, s.k, tb, 0.25f);
        const auto two = run_matmul(2, s.m, s.n, s.k, tb, 0.25f);
        const auto three = run_matmul(3, s.m, s.n, s.k, tb, 0.25f);
        CHECK(bitwise_equal(one, two));
        CHECK(bitwise_equal(one, three));
      }
    }
  });
}

TEST_CASE("matmul: a workspace too small is an error, one for fewer threads is slower only") {
  const std::size_t m = 200, n = 300, k = 40;
  const auto a = random_floats(m * k, -1, 1, 4), b = random_floats(k * n, -1, 1, 5);
  std::vector<float> c1(m * n), c2(m * n);
  kernels::GemmArgs g;
  g.m = m, g.n = n, g.k = k, g.a = a.data(), g.lda = k, g.b = b.data(), g.ldb = n;
  g.c = c1.data(), g.ldc = n;
  Workspace small;
  REQUIRE(small.reserve(64).ok());
  if (active_isa() != Isa::scalar) {
    const Status s = matmul(Context{2}, g, small);
    CHECK(s.code() == StatusCode::out_of_memory);
    CHECK(s.message().find("matmul_workspace_bytes") != std::string::npos);
  }
  Workspace one_thread;
  REQUIRE(one_thread.reserve(matmul_workspace_bytes(Context{1}, m, n, k)).ok());
  REQUIRE(matmul(Context{2}, g, one_thread).ok());
  g.c = c2.data();
  Workspace two;
  REQUIRE(two.reserve(matmul_workspace_bytes(Context{2}, m, n, k)).ok());
  REQUIRE(matmul(Context{2}, g, two).ok());
  CHECK(bitwise_equal(c1, c2));
}

TEST_CASE("softmax op: rows, broadcast [B,1,L] mask, threads, bad shapes") {
  const std::size_t B = 3, Lq = 37, Lk = 1029;
  const auto x = random_floats(B * Lq * Lk, -8, 8, 9);
  std::vector<std::uint8_t> mask(B * Lk);
  for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = (i * 7) % 5 != 0;
  for (std::size_t j = 0; j < Lk; ++j) mask[Lk + j] = 0;  // batch 1: nothing to attend
  const ConstView xv(x.data(), Shape{B, Lq, Lk});
  const MaskView mv(mask.data(), Shape{B, 1, Lk});
  for_each_isa([&](Isa) {
    std::vector<float> y1(x.size()), y2(x.size()), want(Lk);
    REQUIRE(softmax(Context{1}, xv, mv, View(y1.data(), xv.shape())).ok());
    REQUIRE(softmax(split_ctx(2), xv, mv, View(y2.data(), xv.shape())).ok());
    CHECK(bitwise_equal(y1, y2));
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t i = 0; i < Lq; i += 9) {
        kernels::softmax(&x[(b * Lq + i) * Lk], &mask[b * Lk], want.data(), Lk);
        CHECK(std::memcmp(want.data(), &y1[(b * Lq + i) * Lk], Lk * sizeof(float)) == 0);
      }
    for (std::size_t j = 0; j < Lk; ++j) CHECK(y1[(1 * Lq + 5) * Lk + j] == 0.0f);
  });
  std::vector<float> y(x.size());
  Status s = softmax(Context{}, xv, MaskView(mask.data(), Shape{B, 1, Lk - 1}),
                     View(y.data(), xv.shape()));
  CHECK(s.code() == StatusCode::invalid_argument);
  CHECK(s.message().find("[3, 1, 1028]") != std::string::npos);
  s = softmax(Context{}, xv, MaskView(), View(y.data(), Shape{B, Lk, Lq}));
  CHECK(s.message().find("differs from x shape") != std::string::npos);
}

TEST_CASE("add / mul with broadcasting") {
  const auto a = random_floats(2 * 3 * 17, -2, 2, 21);
  const auto bias = random_floats(17, -2, 2, 22);
  const auto col = random_floats(3, -2, 2, 23);
  const ConstView av(a.data(), Shape{2, 3, 17});
  for_each_isa([&](Isa) {
    std::vector<float> y(a.size());
    const View yv(y.data(), av.shape());
    REQUIRE(add(split_ctx(2), av, ConstView(bias.data(), Shape{17}), yv).ok());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(y[i] == a[i] + bias[i % 17]);
    REQUIRE(mul(Context{1}, av, ConstView(col.data(), Shape{3, 1}), yv).ok());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(y[i] == a[i] * col[(i / 17) % 3]);
    REQUIRE(mul(Context{1}, ConstView(col.data(), Shape{3, 1}), av, yv).ok());  // commuted
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(y[i] == col[(i / 17) % 3] * a[i]);
    // [3, 1] + [17] -> [3, 17]: both broadcast
    std::vector<float> z(3 * 17);
    REQUIRE(add(Context{}, ConstView(col.data(), Shape{3, 1}), ConstView(bias.data(), Shape{17}),
                View(z.data(), Shape{3, 17}))
                .ok());
    for (std::size_t i = 0; i < z.size(); ++i) CHECK(z[i] == col[i / 17] + bias[i % 17]);
    // an SE gate: [1, 2, 3, 17] * [1, 2, 1, 1] (H and W coalesce into one row)
    const auto gate = random_floats(2, -2, 2, 24);
    std::vector<float> g(a.size());
    REQUIRE(mul(split_ctx(2), ConstView(a.data(), Shape{1, 2, 3, 17}), ConstView(gate.data(), Shape{1, 2, 1, 1}),
                View(g.data(), Shape{1, 2, 3, 17}))
                .ok());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(g[i] == a[i] * gate[i / 51]);
  });
  std::vector<float> y(a.size());
  const Status s = add(Context{}, av, ConstView(bias.data(), Shape{16}), View(y.data(), av.shape()));
  CHECK(s.code() == StatusCode::invalid_argument);
  CHECK(s.message().find("[16]") != std::string::npos);
}

TEST_CASE("threads: per-call context and the process default") {
  CHECK(resolve_threads(Context{1}) == 1);
  if (has_openmp()) {
    CHECK(resolve_threads(Context{3}) == 3);
    CHECK(set_num_threads(2).ok());
    CHECK(resolve_threads(Context{}) == 2);
    // Counts no runtime serves are refused or clamped, never a crash.
    CHECK(set_num_threads(100000).code() == StatusCode::invalid_argument);
    CHECK(set_num_threads(-1).code() == StatusCode::invalid_argument);
    CHECK(resolve_threads(Context{}) == 2);
    CHECK(resolve_threads(Context{100000}) <= kMaxThreads);
    CHECK(set_num_threads(0).ok());
    CHECK(default_num_threads() >= 1);
  } else {
    CHECK(resolve_threads(Context{3}) == 1);
  }
}

TEST_CASE("threads on a busy machine: two long waits in a row mark the cores busy for a while") {
  // (parallel_for runs its steps on the caller alone while team_is_contended())
  set_yield_when_busy(true);  // (and forgets earlier measurements)
  const std::int64_t now = detail::steady_ns();
  detail::note_team_wait(now - 4'000'000, now - 3'000'000, now);  // waited 3 ms of 4: once is not enough
  CHECK_FALSE(detail::team_is_contended());
  detail::note_team_wait(now - 4'000'000, now - 3'000'000, now);  // twice in a row: the cores are busy
  CHECK(detail::team_is_contended());
  set_yield_when_busy(true);
  detail::note_team_wait(now - 4'000'000, now - 3'000'000, now);
  detail::note_team_wait(now - 4'000'000, now - 100'000, now);  // a piece's tail breaks the streak
  detail::note_team_wait(now - 4'000'000, now - 3'000'000, now);
  CHECK_FALSE(detail::team_is_contended());
  detail::note_team_wait(now - 400'000'000, now - 3'000'000, now);  // 3 ms of a 400 ms step: its tail
  CHECK_FALSE(detail::team_is_contended());
  set_yield_when_busy(false);  // off: nothing is measured, the team always runs
  detail::note_team_wait(now - 4'000'000, now - 3'000'000, now);
  detail::note_team_wait(now - 4'000'000, now - 3'000'000, now);
  CHECK_FALSE(detail::team_is_contended());
}
