// The registry's factories, one per name of module_list.h; each concept's
// sources define theirs. Internal.
#pragma once

#include <memory>
#include <string_view>

#include "edgeattn/module.h"
#include "module_list.h"

namespace edgeattn::detail {

// The shape of input `name`, or rank 0 when absent: workspace_bytes()
// reads inputs that check() may not have seen, and must not throw.
inline const Shape& shape_of(const ValueMap& in, std::string_view name) {
  static const Shape none;
  const auto it = in.find(name);
  return it == in.end() ? none : it->second.shape();
}

using Factory = Result<std::unique_ptr<Module>> (*)(const Json& config, const ParamSet& params);

#define EDGEATTN_DECLARE_FACTORY(name) \
  Result<std::unique_ptr<Module>> make_##name(const Json& config, const ParamSet& params);
EDGEATTN_MODULE_LIST(EDGEATTN_DECLARE_FACTORY)
#undef EDGEATTN_DECLARE_FACTORY

}  // namespace edgeattn::detail
