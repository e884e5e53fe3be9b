// Softmax (masked, empty rows, in place) and the online base-2 softmax step.
#include "tester.h"

namespace {
// Double-precision softmax with the library's masked/empty-row rules.
std::vector<double> softmax_ref(const std::vector<float>& x, const std::uint8_t* mask) {
  double m = -kInf;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!mask || mask[i]) m = std::max(m, double(x[i]));
  std::vector<double> y(x.size(), 0.0);
  if (m == -kInf) return y;
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!mask || mask[i]) s += y[i] = std::exp(double(x[i]) - m);
  for (double& v : y) v /= s;
  return y;
}
}  // namespace

TEST_CASE("softmax: stable for large scores, masks, empty rows, in place") {
  for_each_table([](const detail::KernelTable& t) {
    for (std::size_t n : sweep_sizes()) {
      for (int variant = 0; variant < 4; ++variant) {
        // 0: plain [-5, 5]; 1: scores in [80, 100]; 2: random mask; 3: all masked
        const auto x = variant == 1 ? random_floats(n, 80, 100, 11 + n)
                                    : random_floats(n, -5, 5, 12 + n);
        std::vector<std::uint8_t> mask(n);
        std::mt19937 rng(13 + n);
        for (auto& m : mask) m = variant == 3 ? 0 : static_cast<std::uint8_t>(rng() % 3 != 0);
        const std::uint8_t* mp = variant >= 2 ? mask.data() : nullptr;
        const auto want = softmax_ref(x, mp);
        std::vector<double> tol(n);
        for (std::size_t i = 0; i < n; ++i) tol[i] = 2e-6 * want[i] + 1e-7;
        CAPTURE(n);
        CAPTURE(variant);
        Misaligned in(x, variant), out(std::vector<float>(n, 7.0f), 3 - variant);
        t.softmax(in.data(), mp, out.data(), n);
        expect_close(out.data(), want, tol, "softmax");
        for (std::size_t i = 0; i < n; ++i)
          if (mp && !mp[i]) CHECK(out.data()[i] == 0.0f);  // exactly 0
        t.softmax(in.data(), mp, in.data(), n);  // in place
        expect_close(in.data(), want, tol, "softmax in place");
      }
    }
    t.softmax(nullptr, nullptr, nullptr, 0);  // empty row: nothing to do
  });
}

TEST_CASE("online_softmax2: one base-2 streaming step per row against double precision") {
  // Rows: the first block (m = -inf) with masked scores; a block whose
  // maximum passes the running one; one below it (outputs untouched: the
  // factor is exactly 1); scores near 130 (90 log2 e, where a naive 2^x
  // overflows); an all-masked row before anything was attended; and scores
  // 119 to 131 below the running maximum, where the vector code turns 2^ to
  // exactly 0 below -125 (the scalar reference's libm may give denormals).
  // AVX-512's vrndscaleps/vscalefps path gives AVX2's bits (the same
  // rounding, FMA polynomial and exact power-of-two product). 20 rows, the
  // six kinds in turn: the vector code takes rows 16 at a time.
  const float ninf = -std::numeric_limits<float>::infinity();
  const float kind_m[] = {ninf, 125.0f, 200.0f, 60.0f, ninf, 0.0f};
  const float kind_lo[] = {-8.0f, 118.0f, 190.0f, 120.0f, 0.0f, -131.0f};
  const float kind_l[] = {0.0f, 2.5f, 7.0f, 1.0f, 0.0f, 1.0f};
  const std::size_t rows = 20, dv = 13, ldo = 16;
  std::vector<float> m0(rows), lo(rows), l0(rows);
  for (std::size_t r = 0; r < rows; ++r) m0[r] = kind_m[r % 6], lo[r] = kind_lo[r % 6], l0[r] = kind_l[r % 6];
  std::map<std::size_t, std::vector<float>> avx2;  // n -> AVX2's scores
  for_each_table([&](const detail::KernelTable& t) {
    for (std::size_t n : sweep_sizes()) {
      if (n > 300) continue;
      const std::size_t lds = n + 5;
      std::vector<float> s0(rows * lds, 0.0f);
      for (std::size_t r = 0; r < rows; ++r) {
        const auto v = random_floats(n, lo[r], lo[r] + 12.0f, 31 + n + r);
        for (std::size_t i = 0; i < n; ++i)
          s0[r * lds + i] = r % 6 == 4 || (r % 6 == 0 && i % 3 == 1) ? ninf : v[i];
      }
      const auto o0 = random_floats(rows * ldo, -1, 1, 32 + n);
      Misaligned s(s0, n % 4);
      std::vector<float> m(m0), l(l0), o(o0);
      t.online_softmax2(s.data(), lds, rows, n, m.data(), l.data(), o.data(), ldo, dv);
      CAPTURE(n);
      const std::vector<float> got(s.data(), s.data() + rows * lds);
      if (t.isa == Isa::avx2) avx2[n] = got;
      if (t.isa == Isa::avx512 && avx2.count(n)) CHECK(avx2[n] == got);
      for (std::size_t r = 0; r < rows; ++r) {
        CAPTURE(r);
        double mx = m0[r];
        for (std::size_t i = 0; i < n; ++i) mx = std::max(mx, double(s0[r * lds + i]));
        if (mx == -kInf) {  // nothing attended yet: zeros, state kept
          for (std::size_t i = 0; i < n; ++i) CHECK(s.data()[r * lds + i] == 0.0f);
          CHECK(m[r] == m0[r]);
          CHECK(l[r] == l0[r]);
          continue;
        }
        CHECK(m[r] == float(mx));
        std::vector<double> want(n), tol(n);
        double sum = 0;
        for (std::size_t i = 0; i < n; ++i) {  // 2^ of the float difference, as the kernel takes it
          const float x = s0[r * lds + i] - float(mx);
          sum += want[i] = x < -125.0f ? 0.0 : std::exp2(double(x));
          tol[i] = t.isa == Isa::scalar && x < -125.0f ? 0x1p-125 : 1e-6 * want[i];
        }
        expect_close(s.data() + r * lds, want, tol, "online_softmax2 scores");
        const double alpha = m0[r] == ninf ? 0.0 : std::exp2(double(m0[r] - float(mx)));
        const double lw = l0[r] * alpha + sum;
        CHECK(std::fabs(l[r] - lw) <= (n * kEps + 1e-6) * lw);
        std::vector<double> ow(ldo), otol(ldo);
        for (std::size_t j = 0; j < ldo; ++j) {  // past dv: untouched
          ow[j] = j < dv ? o0[r * ldo + j] * alpha : o0[r * ldo + j];
          otol[j] = j < dv ? 2e-6 * std::fabs(ow[j]) : 0.0;
        }
        expect_close(o.data() + r * ldo, ow, otol, "online_softmax2 outputs");
      }
    }
  });
}
