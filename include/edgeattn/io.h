// Case files and model files (docs/case-format.md): a module's name, config and
// parameters, and for a case its inputs and the outputs PyTorch produced.
// Errors name the file and the tensor or key at fault.
#pragma once

#include <memory>
#include <string>

#include "edgeattn/module.h"
#include "edgeattn/safetensors.h"

namespace edgeattn {

struct Case {
  std::string path;
  std::string kind;  // registry name
  std::unique_ptr<Module> module;
  ValueMap inputs;    // input.<name>
  ValueMap expected;  // expected.<name>
  double atol = 1e-5, rtol = 1e-4;
  std::string weights = "f32";  // the weight type the module holds (metadata "weights")
};

Result<Case> load_case(const std::string& path);
Result<Case> load_case(const SafetensorsFile& file);

// A deployed model: a case file without inputs and expected outputs.
Result<std::unique_ptr<Module>> load_module(const std::string& path);
// One module out of a whole network's state_dict (any safetensors file,
// metadata optional), selected by key prefix, e.g. "layer2.0.se.", with the
// registry name and JSON config given here.
Result<std::unique_ptr<Module>> load_module(const std::string& path, const std::string& kind,
                                            const std::string& config_json,
                                            const std::string& prefix);

// The torch.allclose rule |got - want| <= atol + rtol |want| for floats;
// exact equality for integers. max_rel is over elements with want != 0.
struct Comparison {
  double max_abs = 0, max_rel = 0;
  bool ok = true;
};
Comparison compare(const Value& got, const Value& want, double atol, double rtol);

}  // namespace edgeattn
