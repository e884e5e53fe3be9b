// Factories of the registry, one per module name; each concept's sources
// define theirs. Internal.
#pragma once

#include <memory>

#include "edgeattn/attention.h"
#include "edgeattn/module.h"

namespace edgeattn::detail {

// The parameters of a soft-attention score under p's keys (linear_in.weight;
// query_proj.*, key_proj.weight, v.weight), shared by every module holding one.
Result<ScoreWeights> score_weights(Score score, bool bias, const ParamSet& p);

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
