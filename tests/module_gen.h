// Random, valid instances of every registry module: a config, parameters
// under the contract's keys and inputs, with awkward sizes (odd and prime
// widths, 1x1 and 1xN maps, length-1 sequences, batch 1 and 3). Seeded, so
// a failure names a replicable case.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "edgeattn/edgeattn.h"
#include "edgeattn/io.h"

namespace edgeattn::test {

struct ModuleCase {
  std::string kind, config;
  ParamSet params;
  ValueMap inputs;
};

class ModuleGen {
 public:
  explicit ModuleGen(std::uint32_t seed) : rng_(seed) {}
  // A random instance of `kind`; an unknown kind gives an empty kind.
  ModuleCase make(const std::string& kind);

 private:
  std::size_t pick(std::initializer_list<std::size_t> v);
  bool coin() { return pick({0, 1}) == 1; }
  void param(ParamSet& p, const std::string& key, const Shape& s, float lo = -0.5f, float hi = 0.5f);
  Value floats(const Shape& s);
  Value lengths(std::size_t batch, std::size_t max);
  void batch_norm(ParamSet& p, const std::string& prefix, std::size_t c);
  void score(ParamSet& p, const std::string& prefix, const std::string& score, std::size_t dq,
             std::size_t dk, std::size_t a, bool bias);
  void rnn(ParamSet& p, const std::string& prefix, std::size_t gates, std::size_t in, std::size_t h,
           std::size_t layers, bool bidi);
  ModuleCase attention(const std::string& kind);
  ModuleCase multihead();
  ModuleCase vision(const std::string& kind);
  ModuleCase recurrent(const std::string& kind);
  ModuleCase seq2seq();
  ModuleCase forecaster();
  std::mt19937 rng_;
};

}  // namespace edgeattn::test
