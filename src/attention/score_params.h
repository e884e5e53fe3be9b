// The parameters of a soft-attention score under p's keys (linear_in.weight;
// query_proj.*, key_proj.weight, v.weight; docs/modules.md), shared by every
// module that holds one (soft and hard attention, seq2seq). Internal.
#pragma once

#include "edgeattn/attention.h"
#include "edgeattn/module.h"

namespace edgeattn::detail {

Result<ScoreWeights> score_weights(Score score, bool bias, const ParamSet& p);

}  // namespace edgeattn::detail
