// Factories of the registry, one per module name; each concept's sources
// define theirs. Internal.
#pragma once

#include <memory>
#include <string_view>

#include "edgeattn/attention.h"
#include "edgeattn/module.h"

namespace edgeattn::detail {

// The parameters of a soft-attention score under p's keys (linear_in.weight;
// query_proj.*, key_proj.weight, v.weight), shared by every module holding one.
Result<ScoreWeights> score_weights(Score score, bool bias, const ParamSet& p);

// The shape of input `name`, or rank 0 when absent: workspace_bytes()
// reads inputs that check() may not have seen, and must not throw.
inline const Shape& shape_of(const ValueMap& in, std::string_view name) {
  static const Shape none;
  const auto it = in.find(name);
  return it == in.end() ? none : it->second.shape();
}

using Factory = Result<std::unique_ptr<Module>> (*)(const Json& config, const ParamSet& params);

Result<std::unique_ptr<Module>> make_soft_attention(const Json& config, const ParamSet& params);
Result<std::unique_ptr<Module>> make_hard_attention(const Json& config, const ParamSet& params);
Result<std::unique_ptr<Module>> make_multihead_attention(const Json& config, const ParamSet& params);
Result<std::unique_ptr<Module>> make_se(const Json& config, const ParamSet& params);
Result<std::unique_ptr<Module>> make_eca(const Json& config, const ParamSet& params);
Result<std::unique_ptr<Module>> make_cbam_channel(const Json& config, const ParamSet& params);
Result<std::unique_ptr<Module>> make_cbam_spatial(const Json& config, const ParamSet& params);
Result<std::unique_ptr<Module>> make_cbam(const Json& config, const ParamSet& params);
Result<std::unique_ptr<Module>> make_non_local(const Json& config, const ParamSet& params);
Result<std::unique_ptr<Module>> make_sagan_attention(const Json& config, const ParamSet& params);
Result<std::unique_ptr<Module>> make_gru(const Json& config, const ParamSet& params);
Result<std::unique_ptr<Module>> make_lstm(const Json& config, const ParamSet& params);
Result<std::unique_ptr<Module>> make_seq2seq(const Json& config, const ParamSet& params);
Result<std::unique_ptr<Module>> make_attention_forecaster(const Json& config, const ParamSet& params);

}  // namespace edgeattn::detail
