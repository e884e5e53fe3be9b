// Attention cores (docs/modules.md: soft_attention, hard_attention,
// multihead_attention). Inputs are batch-first and contiguous:
// query [B, Lq, Dq], keys [B, Lk, Dk], values [B, Lk, Dv]. Masks are uint8,
// nonzero = may attend, [B, Lq, Lk] or [B, 1, Lk]. A query row that may
// attend nothing gets all-zero weights and a zero context (PyTorch would give
// NaN); hard attention gives it index -1.
//
// Each class is immutable once created: one instance may serve several
// threads at once, each with its own Workspace. Size the workspace once with
// workspace_bytes() for the largest shapes you will run; smaller ones reuse it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "edgeattn/context.h"
#include "edgeattn/kernels.h"
#include "edgeattn/status.h"
#include "edgeattn/tensor.h"
#include "edgeattn/weights.h"

namespace edgeattn {

// Attention scores s[i, j] between query i and key j:
//   dot         q_i . k_j                       (Luong et al. 2015)
//   scaled_dot  q_i . k_j / sqrt(Dk)            (Vaswani et al. 2017)
//   general     (W q_i) . k_j, W [Dk, Dq]       (Luong et al. 2015)
//   additive    v . tanh(Wq q_i + bq + Wk k_j)  (Bahdanau et al. 2015)
enum class Score { dot, scaled_dot, general, additive };
const char* score_name(Score s);
Result<Score> score_from_name(const std::string& name);

// The learned weights of a score (PyTorch keys in docs/modules.md).
struct ScoreWeights {
  Tensor linear_in;     // general: linear_in.weight [Dk, Dq]
  Tensor query_proj;    // additive: query_proj.weight [A, Dq]
  Tensor query_bias;    // additive: query_proj.bias [A], empty without bias
  Tensor key_proj;      // additive: key_proj.weight [A, Dk]
  Tensor v;             // additive: v.weight [1, A]
};

struct AttentionDims {
  std::size_t batch = 1, lq = 1, lk = 1, dq = 0, dk = 0, dv = 0;
};

class SoftAttention {
 public:
  // Checks the weights' shapes against each other.
  // weight_type: the type of linear_in, query_proj and key_proj
  // (weights.h); the bias and v stay float32.
  static Result<SoftAttention> create(Score score, ScoreWeights weights,
                                      WeightType weight_type = WeightType::f32);

  Score score() const { return score_; }
  std::size_t weight_bytes() const;
  // The query/key widths the weights fix (0 = any; dot scores need Dq == Dk).
  std::size_t query_dim() const;
  std::size_t key_dim() const;

  std::size_t workspace_bytes(const AttentionDims& max, const Context& ctx) const;
  // context [B, Lq, Dv]; weights [B, Lq, Lk] or empty (not computed).
  Status forward(const Context& ctx, ConstView query, ConstView keys, ConstView values,
                 MaskView mask, View context, View weights, Workspace& ws) const;
  // Hard attention by argmax: indices [B, Lq] (first maximum, -1 for a row
  // with nothing to attend) and context[b, i] = values[b, indices[b, i]].
  Status forward_argmax(const Context& ctx, ConstView query, ConstView keys, ConstView values,
                        MaskView mask, std::int64_t* indices, View context, Workspace& ws) const;

  // Hard attention by sampling: `draws` indices per query row drawn from the
  // row's weights (sample_rows below, row key b * Lq + i); indices
  // [B, Lq, draws]; context = the mean of the drawn values rows (the
  // Monte-Carlo estimate of the soft context; one draw: that row).
  Status forward_sample(const Context& ctx, ConstView query, ConstView keys, ConstView values,
                        MaskView mask, std::uint64_t seed, std::size_t draws,
                        std::int64_t* indices, View context, Workspace& ws) const;

  // Additive attention in decoder steps: the key projection keys Wk^T depends
  // only on the keys, so compute it once per sequence (key_cache
  // [B, Lk, A]) and pass the cache instead of the keys at every step.
  std::size_t attn_dim() const { return attn_dim_; }
  Status project_keys(const Context& ctx, ConstView keys, View key_cache, Workspace& ws) const;
  Status forward_cached(const Context& ctx, ConstView query, ConstView key_cache, ConstView values,
                        MaskView mask, View context, View weights, Workspace& ws) const;

  // Shapes of the inputs against each other and the weights.
  Status check(ConstView query, ConstView keys, ConstView values, MaskView mask) const;

 private:
  struct Impl;  // the private helpers (soft_attention.cpp)
  Score score_ = Score::dot;
  ScoreWeights w_;  // the vectors (query_bias, v); the matrices are below
  Weights linear_in_, query_proj_, key_proj_;
  // Float32 projection matrices packed once for the GEMM (kernels::PackedB).
  kernels::PackedB packed_in_, packed_query_, packed_key_;
  std::size_t attn_dim_ = 0;
};

// Seeded categorical sampling from softmax rows. The k-th draw of row r uses
// the uniform number uniform01(seed, first_row + r, k), a pure function of
// its counters (SplitMix64, Steele et al. 2014), so rows can be split across
// threads freely; the weights come from kernels::exp_lanes16 and sums in a
// fixed 16-wide tree, so the same seed gives the same indices on every ISA
// and thread count. scores [R, N]; mask empty or [R or 1, N]; indices
// [R, draws], -1 for a row with nothing to draw.
float uniform01(std::uint64_t seed, std::uint64_t row, std::uint64_t draw);
std::size_t sample_rows_workspace_bytes(std::size_t n, const Context& ctx);
Status sample_rows(const Context& ctx, ConstView scores, MaskView mask, std::uint64_t seed,
                   std::uint64_t first_row, std::size_t draws, std::int64_t* indices,
                   Workspace& ws);

// torch.nn.MultiheadAttention(E, h, bias=True, batch_first=True), eval mode.
class MultiheadAttention {
 public:
  struct Weights {
    Tensor in_proj_weight;   // [3E, E]
    Tensor in_proj_bias;     // [3E]
    Tensor out_proj_weight;  // [E, E]
    Tensor out_proj_bias;    // [E]
  };
  // weight_type: the type of the two projection matrices (weights.h).
  static Result<MultiheadAttention> create(std::size_t embed_dim, std::size_t num_heads,
                                           bool causal, Weights weights,
                                           WeightType weight_type = WeightType::f32);

  std::size_t embed_dim() const { return e_; }
  std::size_t num_heads() const { return h_; }
  std::size_t weight_bytes() const;
  std::size_t workspace_bytes(std::size_t lq, std::size_t lk, const Context& ctx) const;
  // query [B, Lq, E], key/value [B, Lk, E]; key_padding_mask empty or uint8
  // [B, Lk] with nonzero = padding (ignored), as PyTorch. output [B, Lq, E];
  // weights [B, Lq, Lk] (averaged over heads) or empty.
  Status forward(const Context& ctx, ConstView query, ConstView key, ConstView value,
                 MaskView key_padding_mask, View output, View weights, Workspace& ws) const;

 private:
  struct Impl;  // forward()'s scratch layout (multihead_attention.cpp)
  float scale() const;  // 1 / sqrt(head dim)
  bool folds(std::size_t lq, std::size_t lk) const;
  Status head_projected(const Context& ctx, std::size_t hd, const float* qp, std::size_t lq,
                        const float* kp, const float* vp, std::size_t lk, const std::uint8_t* allowed,
                        float* p, float* heads, Workspace& ws) const;
  Status head_folded(const Context& ctx, std::size_t hd, const float* qp, std::size_t lq,
                     const float* key, const float* value, std::size_t lk,
                     const std::uint8_t* allowed, float* p, float* qs, float* heads) const;
  std::size_t e_ = 0, h_ = 0;
  bool causal_ = false;
  edgeattn::Weights in_proj_, out_proj_;  // [3E, E] (q, k, v blocks of rows), [E, E]
  Tensor in_bias_, out_bias_;
  kernels::PackedB packed_[4];  // float32: the q, k, v in-projections and the out-projection
};

}  // namespace edgeattn
