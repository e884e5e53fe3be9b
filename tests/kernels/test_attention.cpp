// Attention's fused additive scores.
#include "tester.h"

TEST_CASE("additive_scores: v . tanh(q + k_j) against double precision") {
  for_each_table([](const detail::KernelTable& t) {
    for (std::size_t a : {1u, 7u, 16u, 33u, 256u}) {
      const std::size_t n = 9, ldk = a + 2;
      const auto q = random_floats(a, -2, 2, 51), k = random_floats(n * ldk, -2, 2, 52);
      const auto v = random_floats(a, -1, 1, 53);
      std::vector<float> out(n);
      t.additive_scores(q.data(), k.data(), ldk, n, a, v.data(), out.data());
      for (std::size_t j = 0; j < n; ++j) {
        double s = 0, mag = 0;
        for (std::size_t i = 0; i < a; ++i) {
          s += v[i] * std::tanh(double(q[i]) + k[j * ldk + i]);
          mag += std::fabs(v[i]);
        }
        CAPTURE(a);
        CHECK(std::fabs(out[j] - s) <= 1e-6 * mag + 1e-6);  // tanh's 1e-6 per term
      }
    }
  });
}
