// Attention modules through their C++ API: against a double-precision
// reference, bitwise equal for 1 and 2 threads on every ISA, one workspace
// planned for the largest shape serving smaller ones, and clear errors.
#include <cmath>
#include <limits>
#include <cstring>
#include <utility>

#include "edgeattn/attention.h"
#include "test_util.h"

using namespace edgeattn;
using edgeattn::test::for_each_isa;
using edgeattn::test::split_ctx;
using edgeattn::test::random_floats;

namespace {

Tensor tensor(const Shape& s, std::uint32_t seed, float scale = 0.5f) {
  return test::random_tensor(s, seed, -scale, scale);
}

SoftAttention make(Score score, std::size_t dq, std::size_t dk, std::size_t a = 12) {
  ScoreWeights w;
  if (score == Score::general) w.linear_in = tensor(Shape{dk, dq}, 1);
  if (score == Score::additive) {
    w.query_proj = tensor(Shape{a, dq}, 2);
    w.query_bias = tensor(Shape{a}, 3);
    w.key_proj = tensor(Shape{a, dk}, 4);
    w.v = tensor(Shape{1, a}, 5);
  }
  return std::move(SoftAttention::create(score, std::move(w))).value();
}

// Double-precision soft attention for one batch element.
std::vector<double> reference(Score score, const SoftAttention& att, const ScoreWeights& w,
                              const float* q, const float* k, const float* v, std::size_t lq,
                              std::size_t lk, std::size_t dq, std::size_t dk, std::size_t dv) {
  (void)att;
  std::vector<double> ctx(lq * dv, 0.0);
  for (std::size_t i = 0; i < lq; ++i) {
    std::vector<double> s(lk);
    for (std::size_t j = 0; j < lk; ++j) {
      double acc = 0;
      if (score == Score::dot || score == Score::scaled_dot) {
        for (std::size_t d = 0; d < dq; ++d) acc += double(q[i * dq + d]) * k[j * dk + d];
        if (score == Score::scaled_dot) acc /= std::sqrt(double(dk));
      } else if (score == Score::general) {
        for (std::size_t e = 0; e < dk; ++e) {
          double wq = 0;
          for (std::size_t d = 0; d < dq; ++d) wq += double(w.linear_in.data()[e * dq + d]) * q[i * dq + d];
          acc += wq * k[j * dk + e];
        }
      } else {
        const std::size_t a = w.v.shape()[1];
        for (std::size_t h = 0; h < a; ++h) {
          double t = w.query_bias.data()[h];
          for (std::size_t d = 0; d < dq; ++d) t += double(w.query_proj.data()[h * dq + d]) * q[i * dq + d];
          for (std::size_t d = 0; d < dk; ++d) t += double(w.key_proj.data()[h * dk + d]) * k[j * dk + d];
          acc += w.v.data()[h] * std::tanh(t);
        }
      }
      s[j] = acc;
    }
    double m = -INFINITY, sum = 0;
    for (double x : s) m = std::max(m, x);
    for (double& x : s) sum += x = std::exp(x - m);
    for (std::size_t j = 0; j < lk; ++j)
      for (std::size_t d = 0; d < dv; ++d) ctx[i * dv + d] += s[j] / sum * v[j * dv + d];
  }
  return ctx;
}

}  // namespace

TEST_CASE("soft attention: all scores against double precision, every ISA") {
  const std::size_t b = 2, lq = 5, lk = 37, dq = 9, dv = 11;
  for (Score score : {Score::dot, Score::scaled_dot, Score::general, Score::additive}) {
    const std::size_t dk = (score == Score::dot || score == Score::scaled_dot) ? dq : 14;
    ScoreWeights w;  // the same weights make() builds, for the reference
    if (score == Score::general) w.linear_in = tensor(Shape{dk, dq}, 1);
    if (score == Score::additive) {
      w.query_proj = tensor(Shape{12, dq}, 2);
      w.query_bias = tensor(Shape{12}, 3);
      w.key_proj = tensor(Shape{12, dk}, 4);
      w.v = tensor(Shape{1, 12}, 5);
    }
    const SoftAttention att = make(score, dq, dk);
    const auto q = random_floats(b * lq * dq, -1, 1, 10), k = random_floats(b * lk * dk, -1, 1, 11);
    const auto v = random_floats(b * lk * dv, -1, 1, 12);
    for_each_isa([&](Isa) {
      std::vector<float> ctx(b * lq * dv);
      Workspace ws;
      REQUIRE(ws.reserve(att.workspace_bytes({b, lq, lk, dq, dk, dv}, Context{1})).ok());
      const Status st = att.forward(Context{1}, ConstView(q.data(), Shape{b, lq, dq}),
                                    ConstView(k.data(), Shape{b, lk, dk}),
                                    ConstView(v.data(), Shape{b, lk, dv}), MaskView(),
                                    View(ctx.data(), Shape{b, lq, dv}), View(), ws);
      REQUIRE_MESSAGE(st.ok(), st.to_string());
      for (std::size_t bi = 0; bi < b; ++bi) {
        const auto want = reference(score, att, w, &q[bi * lq * dq], &k[bi * lk * dk],
                                    &v[bi * lk * dv], lq, lk, dq, dk, dv);
        for (std::size_t i = 0; i < want.size(); ++i) {
          CAPTURE(score_name(score));
          CHECK(std::fabs(ctx[bi * lq * dv + i] - want[i]) <= 1e-5 + 1e-4 * std::fabs(want[i]));
        }
      }
    });
  }
}

TEST_CASE("attention modules: bitwise equal for 1 and 2 threads on every ISA") {
  const std::size_t b = 2, lq = 70, lk = 300, d = 64;
  const auto q = random_floats(b * lq * d, -1, 1, 20), k = random_floats(b * lk * d, -1, 1, 21);
  std::vector<std::uint8_t> mask(b * lk, 1);
  for (std::size_t j = 250; j < lk; ++j) mask[lk + j] = 0;
  const ConstView qv(q.data(), Shape{b, lq, d}), kv(k.data(), Shape{b, lk, d});
  const MaskView mv(mask.data(), Shape{b, 1, lk});
  for (Score score : {Score::scaled_dot, Score::general, Score::additive}) {
    const SoftAttention att = make(score, d, d);
    for_each_isa([&](Isa) {
      std::vector<float> c[2], w[2];
      for (int t = 0; t < 2; ++t) {
        c[t].assign(b * lq * d, 0);
        w[t].assign(b * lq * lk, 0);
        Workspace ws;
        REQUIRE(ws.reserve(att.workspace_bytes({b, lq, lk, d, d, d}, split_ctx(t + 1))).ok());
        REQUIRE(att.forward(split_ctx(t + 1), qv, kv, kv, mv, View(c[t].data(), Shape{b, lq, d}),
                            View(w[t].data(), Shape{b, lq, lk}), ws).ok());
      }
      CHECK(std::memcmp(c[0].data(), c[1].data(), c[0].size() * 4) == 0);
      CHECK(std::memcmp(w[0].data(), w[1].data(), w[0].size() * 4) == 0);
    });
  }
  MultiheadAttention::Weights mw{tensor(Shape{3 * d, d}, 30), tensor(Shape{3 * d}, 31),
                                 tensor(Shape{d, d}, 32), tensor(Shape{d}, 33)};
  const MultiheadAttention mha = std::move(MultiheadAttention::create(d, 4, true, std::move(mw))).value();
  std::vector<std::uint8_t> kpm(b * lk, 0);
  for (std::size_t j = 200; j < lk; ++j) kpm[j] = 1;
  for_each_isa([&](Isa) {
    std::vector<float> o[2], w[2];
    for (int t = 0; t < 2; ++t) {
      o[t].assign(b * lq * d, 0);
      w[t].assign(b * lq * lk, 0);
      Workspace ws;
      REQUIRE(ws.reserve(mha.workspace_bytes(lq, lk, Context{t + 1})).ok());
      REQUIRE(mha.forward(Context{t + 1}, qv, kv, kv, MaskView(kpm.data(), Shape{b, lk}),
                          View(o[t].data(), Shape{b, lq, d}), View(w[t].data(), Shape{b, lq, lk}), ws)
                  .ok());
    }
    CHECK(std::memcmp(o[0].data(), o[1].data(), o[0].size() * 4) == 0);
    CHECK(std::memcmp(w[0].data(), w[1].data(), w[0].size() * 4) == 0);
  });
}

TEST_CASE("streaming attention: whole and partial key blocks and tiles; 1, 2, 3 threads bitwise equal") {
  // No weights requested: the tiled, online-softmax path. 600 and 608 keys
  // are two whole blocks of 256 and a partial one, of 88 keys (not whole
  // register panels: run unfused) or 96 (whole panels: fused); 70 and 67
  // queries whole register tiles and a partial one (of 6 rows, or of 3,
  // which the half-height micro-kernel scores). Thread splits start pieces
  // at other tiles, so a tile whose exponentials ran inside its
  // neighbour's P V product in one run runs alone in another: the bits
  // must not depend on it.
  const std::size_t b = 2, d = 33, dv = 40;
  const SoftAttention att = make(Score::scaled_dot, d, d);
  for (const auto& [lq, lk] : {std::pair<std::size_t, std::size_t>{70, 600}, {67, 608}}) {
    CAPTURE(lq);
    CAPTURE(lk);
    const auto q = random_floats(b * lq * d, -2, 2, 40), k = random_floats(b * lk * d, -2, 2, 41);
    const auto v = random_floats(b * lk * dv, -1, 1, 42);
    for_each_isa([&](Isa) {
      std::vector<float> c[3];
      for (int t = 0; t < 3; ++t) {
        c[t].assign(b * lq * dv, 0);
        Workspace ws;
        REQUIRE(ws.reserve(att.workspace_bytes({b, lq, lk, d, d, dv}, split_ctx(t + 1))).ok());
        REQUIRE(att.forward(split_ctx(t + 1), ConstView(q.data(), Shape{b, lq, d}),
                            ConstView(k.data(), Shape{b, lk, d}), ConstView(v.data(), Shape{b, lk, dv}),
                            MaskView(), View(c[t].data(), Shape{b, lq, dv}), View(), ws)
                    .ok());
      }
      CHECK(std::memcmp(c[0].data(), c[1].data(), c[0].size() * 4) == 0);
      CHECK(std::memcmp(c[0].data(), c[2].data(), c[0].size() * 4) == 0);
      for (std::size_t bi = 0; bi < b; ++bi) {
        const auto want = reference(Score::scaled_dot, att, ScoreWeights{}, &q[bi * lq * d],
                                    &k[bi * lk * d], &v[bi * lk * dv], lq, lk, d, d, dv);
        for (std::size_t i = 0; i < want.size(); ++i)
          CHECK(std::fabs(c[0][bi * lq * dv + i] - want[i]) <= 1e-5 + 1e-4 * std::fabs(want[i]));
      }
    });
  }
}

TEST_CASE("multihead_attention: one query (projections folded into it) agrees with many") {
  const std::size_t b = 2, lq = 40, lk = 45, e = 32;
  MultiheadAttention::Weights mw{tensor(Shape{3 * e, e}, 34), tensor(Shape{3 * e}, 35),
                                 tensor(Shape{e, e}, 36), tensor(Shape{e}, 37)};
  const MultiheadAttention mha = std::move(MultiheadAttention::create(e, 4, false, std::move(mw))).value();
  const auto q = random_floats(b * lq * e, -1, 1, 38), k = random_floats(b * lk * e, -1, 1, 39);
  const auto v = random_floats(b * lk * e, -1, 1, 40);
  std::vector<std::uint8_t> kpm(b * lk, 1);  // batch 1 all padding: its outputs are out_proj.bias
  for (std::size_t j = 0; j < 30; ++j) kpm[j] = 0;
  const ConstView kv(k.data(), Shape{b, lk, e}), vv(v.data(), Shape{b, lk, e});
  const MaskView mask(kpm.data(), Shape{b, lk});
  for_each_isa([&](Isa) {
    Workspace ws;
    REQUIRE(ws.reserve(mha.workspace_bytes(lq, lk, Context{1})).ok());
    std::vector<float> all(b * lq * e), wall(b * lq * lk);
    REQUIRE(mha.forward(Context{1}, ConstView(q.data(), Shape{b, lq, e}), kv, vv, mask,
                        View(all.data(), Shape{b, lq, e}), View(wall.data(), Shape{b, lq, lk}), ws).ok());
    std::vector<float> qi(b * e), one(b * e), wone(b * lk);
    for (std::size_t i = 0; i < lq; ++i) {
      for (std::size_t bi = 0; bi < b; ++bi)
        std::memcpy(qi.data() + bi * e, q.data() + (bi * lq + i) * e, e * sizeof(float));
      REQUIRE(mha.forward(Context{1}, ConstView(qi.data(), Shape{b, 1, e}), kv, vv, mask,
                          View(one.data(), Shape{b, 1, e}), View(wone.data(), Shape{b, 1, lk}), ws).ok());
      for (std::size_t bi = 0; bi < b; ++bi) {
        for (std::size_t c = 0; c < e; ++c) {
          const float want = all[(bi * lq + i) * e + c];
          CHECK(std::fabs(one[bi * e + c] - want) <= 1e-5f + 1e-4f * std::fabs(want));
        }
        for (std::size_t j = 0; j < lk; ++j) {
          const float want = wall[(bi * lq + i) * lk + j];
          CHECK(std::fabs(wone[bi * lk + j] - want) <= 1e-6f + 1e-4f * want);
        }
      }
    }
  });
}

TEST_CASE("one plan for the largest shape serves smaller ones; too small is an error") {
  const SoftAttention att = make(Score::additive, 16, 16);
  Workspace ws;
  REQUIRE(ws.reserve(att.workspace_bytes({1, 30, 50, 16, 16, 8}, Context{2})).ok());
  const std::size_t capacity = ws.capacity();
  for (std::size_t l : {1u, 7u, 30u}) {
    const auto q = random_floats(l * 16, -1, 1, 40), v = random_floats(50 * 8, -1, 1, 41);
    const auto k = random_floats(50 * 16, -1, 1, 42);
    std::vector<float> c(l * 8);
    const Status st = att.forward(Context{2}, ConstView(q.data(), Shape{1, l, 16}),
                                  ConstView(k.data(), Shape{1, 50, 16}),
                                  ConstView(v.data(), Shape{1, 50, 8}), MaskView(),
                                  View(c.data(), Shape{1, l, 8}), View(), ws);
    CHECK_MESSAGE(st.ok(), st.to_string());
    CHECK(ws.used() == 0);
    CHECK(ws.capacity() == capacity);  // nothing allocated
  }
  Workspace tiny;
  REQUIRE(tiny.reserve(64).ok());
  const auto q = random_floats(30 * 16, -1, 1, 43), k = random_floats(50 * 16, -1, 1, 44);
  std::vector<float> c(30 * 16);
  const Status st = att.forward(Context{1}, ConstView(q.data(), Shape{1, 30, 16}),
                                ConstView(k.data(), Shape{1, 50, 16}),
                                ConstView(k.data(), Shape{1, 50, 16}), MaskView(),
                                View(c.data(), Shape{1, 30, 16}), View(), tiny);
  CHECK(st.code() == StatusCode::out_of_memory);
  CHECK(st.message().find("workspace") != std::string::npos);
}

TEST_CASE("hard attention: first maximum on ties, -1 and zero context for empty rows") {
  const SoftAttention att = make(Score::dot, 2, 2);
  // Two batches, four keys each; for the query (1, 0) keys 1 and 3 tie for
  // the maximum score 2. Batch 1 masks every key.
  const float q2[4] = {1, 0, 1, 0};
  const float k2[16] = {0, 1, 2, 0, -1, 0, 2, 5, 0, 1, 2, 0, -1, 0, 2, 5};
  const float v2[16] = {10, 11, 20, 21, 30, 31, 40, 41, 10, 11, 20, 21, 30, 31, 40, 41};
  const std::uint8_t mask[8] = {1, 1, 1, 1, 0, 0, 0, 0};
  std::int64_t idx[2];
  float ctx[4];
  Workspace ws;
  REQUIRE(ws.reserve(att.workspace_bytes({2, 1, 4, 2, 2, 2}, Context{1})).ok());
  REQUIRE(att.forward_argmax(Context{1}, ConstView(q2, Shape{2, 1, 2}), ConstView(k2, Shape{2, 4, 2}),
                             ConstView(v2, Shape{2, 4, 2}), MaskView(mask, Shape{2, 1, 4}), idx,
                             View(ctx, Shape{2, 1, 2}), ws)
              .ok());
  CHECK(idx[0] == 1);
  CHECK(ctx[0] == 20.0f);
  CHECK(idx[1] == -1);
  CHECK(ctx[2] == 0.0f);
  CHECK(ctx[3] == 0.0f);
}

TEST_CASE("hard attention: a NaN score wins among the allowed keys only, as torch.argmax, on every ISA") {
  const SoftAttention att = make(Score::dot, 1, 1);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // 21 keys (vector tails on every ISA): key 0 masked and largest, keys 1
  // and 10 NaN, key 15 large. torch: masked_fill(-inf) then argmax -> 1.
  std::vector<float> k(21, 0.5f), v(21);
  k[0] = 100.0f, k[1] = nan, k[10] = nan, k[15] = 50.0f;
  for (std::size_t j = 0; j < 21; ++j) v[j] = static_cast<float>(j);
  std::vector<std::uint8_t> mask(21, 1);
  mask[0] = 0;
  const float q = 1.0f;
  Workspace ws;
  REQUIRE(ws.reserve(att.workspace_bytes({1, 1, 21, 1, 1, 1}, Context{1})).ok());
  test::for_each_isa([&](Isa) {
    std::int64_t idx = -7;
    float ctx = 0;
    for (bool masked : {true, false}) {
      CAPTURE(masked);
      REQUIRE(att.forward_argmax(Context{1}, ConstView(&q, Shape{1, 1, 1}), ConstView(k.data(), Shape{1, 21, 1}),
                                 ConstView(v.data(), Shape{1, 21, 1}),
                                 masked ? MaskView(mask.data(), Shape{1, 1, 21}) : MaskView(), &idx,
                                 View(&ctx, Shape{1, 1, 1}), ws)
                  .ok());
      CHECK(idx == 1);
      CHECK(ctx == 1.0f);
    }
  });
}

TEST_CASE("attention: shape errors name the tensors") {
  const SoftAttention att = make(Score::general, 6, 13);
  const auto x = random_floats(1000, -1, 1, 50);
  Workspace ws;
  std::vector<float> c(100);
  Status st = att.forward(Context{1}, ConstView(x.data(), Shape{1, 2, 5}), ConstView(x.data(), Shape{1, 3, 13}),
                          ConstView(x.data(), Shape{1, 3, 4}), MaskView(), View(c.data(), Shape{1, 2, 4}),
                          View(), ws);
  CHECK(st.message().find("query width 5, the weights expect 6") != std::string::npos);
  st = att.forward(Context{1}, ConstView(x.data(), Shape{1, 2, 6}), ConstView(x.data(), Shape{1, 3, 13}),
                   ConstView(x.data(), Shape{1, 4, 4}), MaskView(), View(c.data(), Shape{1, 2, 4}), View(), ws);
  CHECK(st.message().find("differ in length") != std::string::npos);
  const std::uint8_t m[6] = {1, 1, 1, 1, 1, 1};
  st = att.forward(Context{1}, ConstView(x.data(), Shape{1, 2, 6}), ConstView(x.data(), Shape{1, 3, 13}),
                   ConstView(x.data(), Shape{1, 3, 4}), MaskView(m, Shape{1, 2, 2}),
                   View(c.data(), Shape{1, 2, 4}), View(), ws);
  CHECK(st.message().find("mask [1, 2, 2] must be [1, 2 or 1, 3]") != std::string::npos);
  CHECK(MultiheadAttention::create(10, 3, false, {}).status().message().find("multiple of num_heads") !=
        std::string::npos);
}

TEST_CASE("sampling: same seed, same indices on every ISA and thread count") {
  const std::size_t rows = 64, n = 1029;
  const auto s = random_floats(rows * n, -4, 4, 60);
  std::vector<std::uint8_t> mask(rows * n, 1);
  for (std::size_t j = 0; j < n; ++j) mask[5 * n + j] = 0;  // row 5: nothing to draw
  for (std::size_t j = 0; j < n; j += 3) mask[7 * n + j] = 0;
  std::vector<std::int64_t> first;
  for_each_isa([&](Isa) {
    for (int threads : {1, 2}) {
      std::vector<std::int64_t> idx(rows * 3);
      Workspace ws;
      REQUIRE(ws.reserve(sample_rows_workspace_bytes(n, split_ctx(threads))).ok());
      REQUIRE(sample_rows(split_ctx(threads), ConstView(s.data(), Shape{rows, n}),
                          MaskView(mask.data(), Shape{rows, n}), 1234, 0, 3, idx.data(), ws)
                  .ok());
      if (first.empty()) first = idx;
      CHECK(idx == first);
    }
  });
  for (int k = 0; k < 3; ++k) CHECK(first[5 * 3 + k] == -1);
  for (int k = 0; k < 3; ++k) CHECK(first[7 * 3 + k] % 3 != 0);  // masked keys never drawn
  std::vector<std::int64_t> other(rows * 3);
  Workspace ws;
  REQUIRE(ws.reserve(sample_rows_workspace_bytes(n, Context{1})).ok());
  REQUIRE(sample_rows(Context{1}, ConstView(s.data(), Shape{rows, n}), MaskView(), 99, 0, 3,
                      other.data(), ws).ok());
  CHECK(other != first);  // another seed, other draws
}

TEST_CASE("sampling: frequencies follow the softmax weights (chi-square, fixed seed)") {
  // One distribution over 8 categories, drawn once in each of 40000 rows.
  const float scores[8] = {0.0f, 1.0f, -1.0f, 2.0f, 0.5f, -3.0f, 1.5f, 0.25f};
  const std::size_t rows = 40000, n = 8;
  std::vector<float> s(rows * n);
  for (std::size_t r = 0; r < rows; ++r) std::memcpy(&s[r * n], scores, sizeof scores);
  std::vector<std::int64_t> idx(rows);
  Workspace ws;
  REQUIRE(ws.reserve(sample_rows_workspace_bytes(n, Context{2})).ok());
  REQUIRE(sample_rows(Context{2}, ConstView(s.data(), Shape{rows, n}), MaskView(), 7, 0, 1,
                      idx.data(), ws).ok());
  double p[8], z = 0;
  for (int i = 0; i < 8; ++i) z += p[i] = std::exp(double(scores[i]));
  std::vector<double> count(8, 0);
  for (std::int64_t i : idx) {
    REQUIRE(i >= 0);
    REQUIRE(i < 8);
    count[static_cast<std::size_t>(i)] += 1;
  }
  double chi2 = 0;
  for (int i = 0; i < 8; ++i) {
    const double expect = rows * p[i] / z;
    chi2 += (count[i] - expect) * (count[i] - expect) / expect;
  }
  INFO("chi-square " << chi2);
  CHECK(chi2 < 24.32);  // 7 degrees of freedom, p = 0.001
  CHECK(chi2 > 0.0);
}

TEST_CASE("hard attention by sampling: Monte-Carlo context approaches the soft context") {
  const SoftAttention att = make(Score::scaled_dot, 8, 8);
  const std::size_t lq = 3, lk = 20, d = 8, draws = 20000;
  const auto q = random_floats(lq * d, -1, 1, 70), k = random_floats(lk * d, -1, 1, 71);
  const ConstView qv(q.data(), Shape{1, lq, d}), kv(k.data(), Shape{1, lk, d});
  std::vector<float> soft(lq * d), mc(lq * d);
  std::vector<std::int64_t> idx(lq * draws);
  Workspace ws;
  REQUIRE(ws.reserve(att.workspace_bytes({1, lq, lk, d, d, d}, Context{1})).ok());
  REQUIRE(att.forward(Context{1}, qv, kv, kv, MaskView(), View(soft.data(), Shape{1, lq, d}), View(), ws).ok());
  REQUIRE(att.forward_sample(Context{1}, qv, kv, kv, MaskView(), 5, draws, idx.data(),
                             View(mc.data(), Shape{1, lq, d}), ws).ok());
  for (std::size_t i = 0; i < mc.size(); ++i) CHECK(std::fabs(mc[i] - soft[i]) < 0.03);
  std::vector<float> one(lq * d);
  REQUIRE(att.forward_sample(Context{1}, qv, kv, kv, MaskView(), 5, 1, idx.data(),
                             View(one.data(), Shape{1, lq, d}), ws).ok());
  for (std::size_t i = 0; i < lq; ++i)  // one draw: the context is that value row
    CHECK(std::memcmp(&one[i * d], &k[static_cast<std::size_t>(idx[i]) * d], d * 4) == 0);
}

TEST_CASE("additive attention with the key projection cached: bitwise the same as forward") {
  const std::size_t b = 2, lk = 23, dq = 10, dk = 14, dv = 6, a = 12;
  const SoftAttention att = make(Score::additive, dq, dk, a);
  const auto k = random_floats(b * lk * dk, -1, 1, 80), v = random_floats(b * lk * dv, -1, 1, 81);
  std::vector<std::uint8_t> mask(b * lk, 1);
  mask[lk + 3] = 0;
  for_each_isa([&](Isa) {
    for (std::size_t lq : {1u, 3u}) {
      const auto q = random_floats(b * lq * dq, -1, 1, 82);
      const AttentionDims dims{b, lq, lk, dq, dk, dv};
      Workspace ws;
      REQUIRE(ws.reserve(att.workspace_bytes(dims, Context{1})).ok());
      std::vector<float> c1(b * lq * dv), w1(b * lq * lk), c2(c1.size()), w2(w1.size()), cache(b * lk * a);
      const ConstView qv(q.data(), Shape{b, lq, dq}), vv(v.data(), Shape{b, lk, dv});
      const MaskView mv(mask.data(), Shape{b, 1, lk});
      REQUIRE(att.forward(Context{1}, qv, ConstView(k.data(), Shape{b, lk, dk}), vv, mv,
                          View(c1.data(), Shape{b, lq, dv}), View(w1.data(), Shape{b, lq, lk}), ws).ok());
      REQUIRE(att.project_keys(Context{1}, ConstView(k.data(), Shape{b, lk, dk}),
                               View(cache.data(), Shape{b, lk, a}), ws).ok());
      const Status st = att.forward_cached(Context{1}, qv, ConstView(cache.data(), Shape{b, lk, a}), vv, mv,
                                           View(c2.data(), Shape{b, lq, dv}), View(w2.data(), Shape{b, lq, lk}), ws);
      REQUIRE_MESSAGE(st.ok(), st.to_string());
      CHECK(w1 == w2);
      CHECK(c1 == c2);
    }
  });
  const SoftAttention dot = make(Score::dot, 4, 4);
  Workspace ws;
  std::vector<float> x(16);
  CHECK(dot.project_keys(Context{1}, ConstView(x.data(), Shape{1, 4, 4}), View(x.data(), Shape{1, 4, 4}), ws)
            .message()
            .find("only additive") != std::string::npos);
}
