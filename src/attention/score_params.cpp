#include "score_params.h"

namespace edgeattn::detail {

Result<ScoreWeights> score_weights(Score score, bool bias, const ParamSet& p) {
  ScoreWeights w;
  if (score == Score::general) {
    EDGEATTN_ASSIGN_OR_RETURN(lin, p.take_any("linear_in.weight"));
    w.linear_in = std::move(lin);
  } else if (score == Score::additive) {
    EDGEATTN_ASSIGN_OR_RETURN(qp, p.take_any("query_proj.weight"));
    if (qp.shape().rank != 2)
      return Status::invalid(p.where() + "param.query_proj.weight: expected [A, Dq], found " +
                             qp.shape().to_string());
    const std::size_t a = qp.shape()[0];
    EDGEATTN_ASSIGN_OR_RETURN(kp, p.take_any("key_proj.weight"));
    if (kp.shape().rank != 2 || kp.shape()[0] != a)
      return Status::invalid(p.where() + "param.key_proj.weight: expected [" + std::to_string(a) +
                             ", Dk], found " + kp.shape().to_string());
    EDGEATTN_ASSIGN_OR_RETURN(v, p.take("v.weight", Shape{1, a}));
    w.query_proj = std::move(qp);
    w.key_proj = std::move(kp);
    w.v = std::move(v);
    if (bias) {
      EDGEATTN_ASSIGN_OR_RETURN(b, p.take("query_proj.bias", Shape{a}));
      w.query_bias = std::move(b);
    }
  }
  return w;
}

}  // namespace edgeattn::detail
