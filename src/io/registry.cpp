#include <utility>

#include "registry.h"

namespace edgeattn {
namespace {

struct Entry {
  const char* name;
  detail::Factory make;
};
#define EDGEATTN_REGISTRY_ENTRY(name) {#name, detail::make_##name},
constexpr Entry kRegistry[] = {EDGEATTN_MODULE_LIST(EDGEATTN_REGISTRY_ENTRY)};
#undef EDGEATTN_REGISTRY_ENTRY

}  // namespace

std::vector<std::string> module_names() {
  std::vector<std::string> out;
  for (const auto& e : kRegistry) out.emplace_back(e.name);
  return out;
}

Result<std::unique_ptr<Module>> create_module(const std::string& kind, const Json& config,
                                              const ParamSet& params) {
  if (!config.is_object())
    return Status::invalid(kind + ": config is a " + Json::type_name(config.type()) +
                           ", not a JSON object");
  for (const auto& e : kRegistry)
    if (kind == e.name) return e.make(config, params);
  std::string known;
  for (const auto& e : kRegistry) known += (known.empty() ? "" : ", ") + std::string(e.name);
  return Status::invalid("unknown module '" + kind + "' (known: " + known + ")");
}

}  // namespace edgeattn
