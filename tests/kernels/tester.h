// The kernel tester: every test takes the kernel under test from a table
// passed to it (for_each_table runs it once per ISA available here), as
// XNNPACK's micro-kernel testers take the function under test, and checks it
// against a double-precision reference and against the scalar table, over
// sizes 1..67 and larger, every misalignment of a vector, and inputs that
// overflow a naive exp.
//
// Tolerances (float32, eps = 2^-23 ~ 1.19e-7), each relative to the sum of
// the magnitudes of the terms involved (s), which bounds rounding error:
//   elementwise add/mul/scale/axpy: 2 eps * s (at most two roundings)
//   dot, gemv, gemm, reduce_sum:    (n eps + 1e-6) * s (n-term float sum)
//   exp: 1e-6 relative for |x| <= 87 (the contract), otherwise 1e-6 absolute
//   tanh, sigmoid: 1e-6 absolute (the contract)
//   softmax: 2e-6 relative + 1e-7 absolute per weight
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <vector>

#include "../../src/kernels/module_kernels.h"
#include "../../src/kernels/table.h"
#include "../test_util.h"

using namespace edgeattn;
using edgeattn::test::Misaligned;
using edgeattn::test::activation_ref;
using edgeattn::test::kAllActivations;
using edgeattn::test::random_floats;
using edgeattn::test::sweep_sizes;

namespace edgeattn::test {

constexpr double kEps = 1.1920929e-7;
constexpr double kInf = std::numeric_limits<double>::infinity();

// body(table) once per ISA available here. The ISA is also made active, so
// that the kernels:: entry points a test composes with (gemm, which packs
// and blocks around the table's micro-kernel) run the same ISA.
template <class F>
void for_each_table(F body) {
  for (Isa isa : available_isas()) {
    const detail::KernelTable* t = detail::table_for(isa);
    REQUIRE(t);
    REQUIRE(set_isa(isa).ok());
    const std::string isa_str = isa_name(isa);
    CAPTURE(isa_str);
    body(*t);
  }
  REQUIRE(set_isa("auto").ok());
}

// got[i] within tol[i] of want[i]; reports the first element that is not.
inline void expect_close(const float* got, const std::vector<double>& want,
                         const std::vector<double>& tol, const char* what) {
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double g = got[i], w = want[i];
    const bool same_special = (std::isnan(g) && std::isnan(w)) || (std::isinf(w) && g == w);
    if (same_special) continue;
    if (!(std::fabs(g - w) <= tol[i])) {
      FAIL_CHECK(what << "[" << i << "] = " << g << ", want " << w << " (tol " << tol[i] << ")");
      return;
    }
  }
}

// The error an activation adds to an input within tol of v: its slope (at
// most 1.5, hardswish's) times tol, and sigmoid's 1e-6 (|v| 1e-6 for silu).
inline double activation_tol(Activation act, double v, double tol) {
  if (act == Activation::none) return tol;
  return 1.5 * tol + 1e-6 * (1.0 + std::fabs(v)) + 4 * kEps * std::fabs(v);
}
// What f(table) gives with the scalar reference table.
template <class F>
std::vector<float> scalar_result(F f) {
  return f(detail::scalar_table());
}

// got agrees with the scalar path within the sum of their tolerances to the
// reference (2 * tol).
inline void expect_agrees_with_scalar(const std::vector<float>& got,
                                      const std::vector<float>& scalar,
                                      const std::vector<double>& tol, const char* what) {
  std::vector<double> want(scalar.begin(), scalar.end()), tol2(tol);
  for (double& x : tol2) x *= 2;
  expect_close(got.data(), want, tol2, what);
}

}  // namespace edgeattn::test

using edgeattn::test::expect_agrees_with_scalar;
using edgeattn::test::expect_close;
using edgeattn::test::activation_tol;
using edgeattn::test::for_each_table;
using edgeattn::test::kEps;
using edgeattn::test::kInf;
using edgeattn::test::scalar_result;
