#include <utility>

#include "../registry.h"

namespace edgeattn {
namespace {

struct Entry {
  const char* name;
  detail::Factory make;
};
constexpr Entry kRegistry[] = {
    {"soft_attention", detail::make_soft_attention},
    {"hard_attention", detail::make_hard_attention},
    {"multihead_attention", detail::make_multihead_attention},
    {"se", detail::make_se},
    {"eca", detail::make_eca},
    {"cbam_channel", detail::make_cbam_channel},
    {"cbam_spatial", detail::make_cbam_spatial},
    {"cbam", detail::make_cbam},
    {"non_local", detail::make_non_local},
    {"sagan_attention", detail::make_sagan_attention},
    {"gru", detail::make_gru},
    {"lstm", detail::make_lstm},
    {"seq2seq", detail::make_seq2seq},
    {"attention_forecaster", detail::make_attention_forecaster},
};

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
