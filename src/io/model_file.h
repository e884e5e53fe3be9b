// What case files and model files share: the module a file names and its
// metadata. Internal.
#pragma once

#include <memory>
#include <string>

#include "edgeattn/io.h"

namespace edgeattn::detail {

inline bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}
// The tensors under `prefix` as float parameters, keys without the prefix
// (one that cannot be read as floats is kept as unreadable); `where`
// prefixes their errors.
ParamSet read_params(const SafetensorsFile& f, const std::string& prefix, const std::string& where);
// The weight type of the file's metadata "weights" (weights.h), if any,
// into params; an unknown one is an error naming the file.
Status read_weight_type(const SafetensorsFile& f, ParamSet& params);
// The module `kind` with `config_text`, its parameters the file's tensors
// under `prefix` (errors name the file).
Result<std::unique_ptr<Module>> module_from(const SafetensorsFile& f, const std::string& kind,
                                            const std::string& config_text, const std::string& prefix);
// The metadata value `key`, or an error naming the file.
Result<std::string> metadata(const SafetensorsFile& f, const std::string& key);

}  // namespace edgeattn::detail
