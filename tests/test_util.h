// Shared test helpers: seeded random data, per-ISA loops, misaligned buffers.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "edgeattn/edgeattn.h"

namespace edgeattn::test {

// activation.h's formulas in double precision.
inline double activation_ref(Activation act, double v) {
  const auto clamp6 = [](double x) { return std::isnan(x) ? x : std::min(std::max(x, 0.0), 6.0); };
  switch (act) {
    case Activation::none: return v;
    case Activation::relu: return v > 0 ? v : 0.0;
    case Activation::relu6: return clamp6(v);
    case Activation::sigmoid: return 1.0 / (1.0 + std::exp(-v));
    case Activation::silu: return v / (1.0 + std::exp(-v));
    case Activation::hardsigmoid: return clamp6(v + 3.0) / 6.0;
    case Activation::hardswish: return v * clamp6(v + 3.0) / 6.0;
  }
  return v;
}
constexpr Activation kAllActivations[] = {Activation::none,        Activation::relu,
                                          Activation::relu6,       Activation::sigmoid,
                                          Activation::silu,        Activation::hardsigmoid,
                                          Activation::hardswish};

// Replicable: every test seeds its own generator from a fixed number.
inline std::vector<float> random_floats(std::size_t n, float lo, float hi, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// A tensor of uniform values in [lo, hi), seeded.
inline Tensor random_tensor(const Shape& s, std::uint32_t seed, float lo, float hi) {
  Tensor t = Tensor::zeros(s).value();
  const std::vector<float> v = random_floats(s.numel(), lo, hi, seed);
  for (std::size_t i = 0; i < v.size(); ++i) t.data()[i] = v[i];
  return t;
}

// A copy of `data` starting `offset` floats past a 64-byte boundary, so
// kernels see every misalignment.
class Misaligned {
 public:
  Misaligned(const std::vector<float>& data, std::size_t offset)
      : storage_(data.size() + 32), offset_(offset) {
    auto addr = reinterpret_cast<std::uintptr_t>(storage_.data());
    start_ = static_cast<std::size_t>((64 - addr % 64) % 64 / sizeof(float)) + offset_;
    for (std::size_t i = 0; i < data.size(); ++i) storage_[start_ + i] = data[i];
  }
  float* data() { return storage_.data() + start_; }

 private:
  std::vector<float> storage_;
  std::size_t offset_, start_ = 0;
};

// Sizes around and between vector widths 4, 8 and 16: 1..67, plus larger.
inline std::vector<std::size_t> sweep_sizes() {
  std::vector<std::size_t> s;
  for (std::size_t n = 1; n <= 67; ++n) s.push_back(n);
  for (std::size_t n : {127u, 128u, 129u, 255u, 256u, 1000u, 1024u, 4099u}) s.push_back(n);
  return s;
}

// Runs body once per ISA available here, with that ISA active.
// A context with `threads` threads that splits work of any size, so that a
// test comparing thread counts exercises every split.
inline Context split_ctx(int threads) { return Context{threads, 0.0f}; }

template <class F>
void for_each_isa(F body) {
  for (Isa isa : available_isas()) {
    REQUIRE(set_isa(isa).ok());
    const std::string isa_str = isa_name(isa);
    CAPTURE(isa_str);
    body(isa);
  }
  REQUIRE(set_isa("auto").ok());
}

}  // namespace edgeattn::test
