// Recurrent layers (docs/modules.md: gru, lstm): torch.nn.GRU / torch.nn.LSTM
// with batch_first=True and bias=True in eval mode, any number of layers,
// uni- or bidirectional, initial states, and variable lengths with
// pack_padded_sequence semantics; and single-step cells (torch.nn.GRUCell /
// LSTMCell) for decoders.
//
// The input projections of all time steps are one GEMM per layer (both
// directions' weights stacked and packed at creation); each step is then the
// recurrent GEMV (W_hh h + b_hh) and the fused gate kernel. As elsewhere,
// objects are immutable once created, workspaces are sized once, and
// results are the same bits for any thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "edgeattn/attention.h"
#include "edgeattn/context.h"
#include "edgeattn/kernels.h"
#include "edgeattn/status.h"
#include "edgeattn/tensor.h"
#include "edgeattn/weights.h"

namespace edgeattn {
namespace kernels {
class GemvPanels;
}

// Gate order as PyTorch: GRU r, z, n (3 gates); LSTM i, f, g, o (4).
enum class RnnType { gru, lstm };
const char* rnn_type_name(RnnType t);

// One layer and direction: weight_ih [G H, I], weight_hh [G H, H],
// bias_ih [G H], bias_hh [G H] (PyTorch's weight_ih_l{k}[_reverse], ...).
struct RnnWeights {
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
};

class RnnCell {
 public:
  // weights: the type W_ih and W_hh are held in (weights.h); biases stay
  // float32.
  static Result<RnnCell> create(RnnType type, RnnWeights w, WeightType weights = WeightType::f32);
  RnnCell();
  ~RnnCell();
  RnnCell(RnnCell&&) noexcept;
  RnnCell& operator=(RnnCell&&) noexcept;
  RnnType type() const { return type_; }
  std::size_t input_size() const { return input_; }
  std::size_t hidden_size() const { return hidden_; }
  std::size_t gates() const { return type_ == RnnType::gru ? 3 : 4; }
  std::size_t weight_bytes() const;
  std::size_t workspace_bytes(std::size_t batch, const Context& ctx) const;
  // One step for a batch: x [B, I], h [B, H]; h_out [B, H] may be h. LSTM:
  // c [B, H] is updated in place; GRU: c is empty.
  Status step(const Context& ctx, ConstView x, ConstView h, View c, View h_out,
              Workspace& ws) const;
  // The same with the input projection given, gx [B, G H] = x W_ih^T + b_ih
  // (computed for a whole sequence at once, or, in a seq2seq decoder, mixed
  // from parts precomputed per sentence).
  Status step_projected(const Context& ctx, ConstView gx, ConstView h, View c, View h_out,
                        Workspace& ws) const;

 private:
  friend class Rnn;
  friend class Seq2Seq;
  static Result<RnnCell> make(RnnType type, RnnWeights w, bool keep_input, WeightType weights);
  Status check_state(ConstView h, View c, View h_out, std::size_t batch) const;
  struct Impl;  // a step's scratch layout (rnn.cpp)
  // rows of h (ldh apart, contiguous within) advanced one step: gx row r at
  // gx[r], its gates after one another; gh: rows x G H scratch. A loop over
  // time passes its step's parity as odd (see gemv_t_panels' backward).
  Status step_rows(const Context& ctx, const float* const* gx, std::size_t rows, const float* h,
                   float* c, float* h_out, float* gh, Workspace& ws, bool odd = false) const;
  RnnType type_ = RnnType::gru;
  std::size_t input_ = 0, hidden_ = 0;
  Weights weight_ih_, weight_hh_;  // in the cell's weight type
  Tensor bias_ih_, bias_hh_;
  kernels::PackedB packed_ih_, packed_hh_;  // float32 weights packed for GEMMs over rows > 1
  std::unique_ptr<kernels::GemvPanels> panels_hh_;  // one row: W_hh as gemv_t_panels reads it
};

class Rnn {
 public:
  // weights[layer * D + direction] (direction 0 forward, 1 reverse); layer
  // k > 0 takes D * H inputs.
  // weight_type: as RnnCell's (a layer of one input feature keeps its
  // W_ih column, a vector, in float32).
  static Result<Rnn> create(RnnType type, std::size_t input_size, std::size_t hidden_size,
                            std::size_t num_layers, bool bidirectional,
                            std::vector<RnnWeights> weights, WeightType weight_type = WeightType::f32);
  RnnType type() const { return type_; }
  std::size_t input_size() const { return input_; }
  std::size_t hidden_size() const { return hidden_; }
  std::size_t num_layers() const { return layers_; }
  std::size_t directions() const { return dirs_; }
  std::size_t weight_bytes() const;
  std::size_t workspace_bytes(std::size_t batch, std::size_t steps, const Context& ctx) const;
  // x [B, T, I]; h0 (and LSTM c0) empty or [L D, B, H]; lengths null or B
  // values in [1, T] (sequence b is processed up to lengths[b], the reverse
  // direction from lengths[b] - 1; outputs past it are 0; h_n holds each
  // sequence's final state). output [B, T, D H] (forward half first); h_n
  // (and LSTM c_n) [L D, B, H] or empty; axis 0 is layer * D + direction.
  Status forward(const Context& ctx, ConstView x, ConstView h0, ConstView c0,
                 const std::int64_t* lengths, View output, View h_n, View c_n,
                 Workspace& ws) const;

 private:
  Status check(ConstView x, ConstView h0, ConstView c0, const std::int64_t* lengths, View output,
               View h_n, View c_n) const;
  Status run_direction(const Context& ctx, std::size_t layer, std::size_t dir, const float* gx,
                       std::size_t bsz, std::size_t steps, const std::int64_t* lengths,
                       ConstView h0, ConstView c0, float* out, View h_n, View c_n,
                       Workspace& ws) const;
  struct Impl;  // the scratch layouts (rnn.cpp)
  std::size_t direction_bytes(std::size_t bsz, const Context& ctx) const;
  RnnType type_ = RnnType::gru;
  std::size_t input_ = 0, hidden_ = 0, layers_ = 0, dirs_ = 1;
  std::vector<RnnCell> cells_;            // [layer * D + dir]: the recurrent halves
  std::vector<Weights> w_ih_;             // per layer, directions stacked: [D G H, in] ([1, D G H] for in = 1)
  std::vector<Tensor> b_ih_;
  std::vector<kernels::PackedB> packed_ih_;
};

// ---- seq2seq: GRU encoder-decoder with attention (Bahdanau et al. 2015) ----

struct Seq2SeqConfig {
  std::size_t src_vocab = 0, tgt_vocab = 0, emb = 0, enc_hidden = 0, dec_hidden = 0;
  Score attention = Score::additive;
  std::size_t attn_hidden = 0;  // additive only
  std::int64_t bos = 1, eos = 2;
  std::size_t max_len = 1;
};

// The contract's parameters (docs/modules.md seq2seq), PyTorch's shapes.
struct Seq2SeqWeights {
  Tensor enc_embedding;                  // encoder.embedding.weight [Vs, E]
  RnnWeights enc_forward, enc_reverse;   // encoder.rnn.*_l0, *_l0_reverse: GRU(E, He)
  Tensor bridge_weight, bridge_bias;     // [Hd, 2 He], [Hd]
  Tensor dec_embedding;                  // decoder.embedding.weight [Vt, E]
  ScoreWeights attention;                // decoder.attention.*
  RnnWeights dec_rnn;                    // decoder.rnn.*: GRUCell(E + 2 He, Hd)
  Tensor out_weight, out_bias;           // decoder.out: [Vt, Hd + 2 He + E], [Vt]
};

// Encoding: M = biGRU(embedding(src)), s_0 = tanh(bridge([h_fwd, h_bwd])).
// Step t from y_0 = bos: e = embedding(y_{t-1}); a_t, c_t = attention(s_{t-1},
// M) with source padding masked; s_t = GRUCell([e, c_t], s_{t-1}); logits =
// out([s_t, c_t, e]). Per sentence, the parts of the GRU's input and of the
// output layer that act on c_t are applied to the memory once (c_t is a
// convex combination of memory rows, so W c_t = a_t . (M W^T)), and the
// parts acting on e are tables per target token made at load: a step reads
// only W_hh, the attention's query projection and the output's state part.
class Seq2Seq {
 public:
  // weight_type: the type of every weight matrix and embedding (weights.h);
  // biases and the per-token tables made at load stay float32.
  static Result<Seq2Seq> create(const Seq2SeqConfig& config, Seq2SeqWeights w,
                                WeightType weight_type = WeightType::f32);
  const Seq2SeqConfig& config() const { return cfg_; }
  std::size_t weight_bytes() const;
  // For `batch` sentences of up to src_len tokens and beams of up to
  // beam_width hypotheses (greedy and sampling need 1).
  std::size_t workspace_bytes(std::size_t batch, std::size_t src_len, std::size_t beam_width,
                              const Context& ctx) const;

  // Greedy decoding of src [B, S] (ids < src_vocab; src_lengths null or B
  // values in [1, S]): `steps` steps, each y_t = argmax (first maximum).
  // tokens [B, steps]; logits [B, steps, Vt] and alignments [B, steps, S] or
  // null. stop_at_eos: a sentence ends with its eos (later tokens are eos,
  // out_lengths[b] counts up to and with it) and decoding stops when all
  // have ended; otherwise exactly `steps` steps (the registry's case).
  Status greedy(const Context& ctx, const std::int64_t* src, std::size_t batch, std::size_t src_len,
                const std::int64_t* src_lengths, std::size_t steps, bool stop_at_eos,
                std::int64_t* tokens, float* logits, float* alignments, std::size_t* out_lengths,
                Workspace& ws) const;

  // One decoded sentence: tokens [max_len] (eos included when reached),
  // its length, score (the sum of its tokens' log-softmax), alignments
  // [max_len, S] or null.
  struct Hypothesis {
    std::int64_t* tokens = nullptr;
    float* alignments = nullptr;
    std::size_t length = 0;
    float score = 0.0f;
  };
  // Beam search over one sentence src [S]: width hypotheses; each step
  // keeps the `width` best extensions of the live ones by total score; one
  // ending in eos is finished. The best finished one by score / length^alpha
  // (alpha 0: the score itself) is returned. max_len 0 = the config's.
  // The widest beam beam_search() takes (a wider one is invalid_argument;
  // workspace_bytes() for it saturates to SIZE_MAX, which no workspace holds).
  static constexpr std::size_t kMaxBeamWidth = 1024;
  struct BeamOptions {
    std::size_t width = 4;
    float length_alpha = 0.0f;
    std::size_t max_len = 0;
  };
  Status beam_search(const Context& ctx, const std::int64_t* src, std::size_t src_len,
                     const BeamOptions& opt, Hypothesis& out, Workspace& ws) const;
  // Sampling decode for text generation: y_t drawn from softmax(logits / T)
  // over the top_k logits (0: all), with draw t of uniform01(seed, 0, t)
  // (attention.h), so a seed gives the same sentence on every run. Stops
  // at eos or max_len.
  struct SampleOptions {
    float temperature = 1.0f;
    std::size_t top_k = 0;
    std::uint64_t seed = 0;
    std::size_t max_len = 0;
  };
  Status sample(const Context& ctx, const std::int64_t* src, std::size_t src_len,
                const SampleOptions& opt, Hypothesis& out, Workspace& ws) const;
  // The model's score for a given target sentence (teacher forcing): the
  // sum over t < n of log_softmax(logits_t)[tokens[t]], step t fed
  // tokens[t - 1] (bos first). n <= max_len.
  Status score(const Context& ctx, const std::int64_t* src, std::size_t src_len,
               const std::int64_t* tokens, std::size_t n, float* score, Workspace& ws) const;

 private:
  struct Memory;  // one batch's encoding and the step's buffers, in the workspace
  struct Impl;  // the decode's scratch layout (seq2seq.cpp)
  // Fills `mem` (taken by Impl::memory_slices) and the initial state [B, Hd].
  Status encode(const Context& ctx, const std::int64_t* src, std::size_t batch, std::size_t src_len,
                const std::int64_t* src_lengths, float* state, const Memory& mem,
                Workspace& ws) const;
  // odd: the step index's parity (see RnnCell::step_rows).
  Status step(const Context& ctx, const Memory& m, std::size_t groups, std::size_t per_group,
              const std::int64_t* y, const float* s, float* s_out, float* logits, float* a,
              Workspace& ws, bool odd) const;
  Status check_tokens(const std::int64_t* src, std::size_t n, const std::int64_t* lengths,
                      std::size_t batch, std::size_t src_len) const;
  Seq2SeqConfig cfg_;
  Rnn encoder_;
  Weights enc_embedding_;           // rows widened as tokens are looked up
  Tensor bridge_bias_;
  Weights bridge_weight_;
  SoftAttention attention_;
  RnnCell cell_;                    // the decoder GRUCell's recurrent half
  Weights w_ic_;                    // [3 Hd, 2 He]
  Tensor gx_of_token_;              // [Vt, 3 Hd] = emb W_ie^T + b_ih
  Weights w_os_, w_oc_;             // [Vt, Hd]; [Vt, 2 He]
  Tensor out_of_token_;             // [Vt, Vt] = emb W_oe^T + b
  kernels::PackedB packed_ic_, packed_oc_, packed_os_;
};

// ---- attention_forecaster: LSTM with self-attention over its states ----

// S = LSTM(x) [B, T, H]; C = MultiheadAttention(S, S, S) (not causal);
// y = head([S[:, T-1], C[:, T-1]]) [B, P] (docs/modules.md). Without the weights
// only the last query row of the attention is computed.
class AttentionForecaster {
 public:
  struct Weights {
    RnnWeights lstm;                   // lstm.*_l0: LSTM(F, H)
    MultiheadAttention::Weights attn;  // attn.*
    Tensor head_weight, head_bias;     // [P, 2 H], [P]
  };
  static Result<AttentionForecaster> create(std::size_t input_size, std::size_t hidden_size,
                                            std::size_t num_heads, std::size_t horizon, Weights w,
                                             WeightType weight_type = WeightType::f32);
  std::size_t input_size() const { return lstm_.input_size(); }
  std::size_t hidden_size() const { return lstm_.hidden_size(); }
  std::size_t horizon() const { return head_bias_.numel(); }
  std::size_t weight_bytes() const;
  std::size_t workspace_bytes(std::size_t batch, std::size_t window, const Context& ctx) const;
  // x [B, T, F]; y [B, P]; weights [B, T, T] (head-averaged) or empty.
  Status forward(const Context& ctx, ConstView x, View y, View weights, Workspace& ws) const;
  // Forecasts `steps` values of input column `target` beyond the window by
  // feeding predictions back: each round predicts P values, appends them to
  // the window (column target; the other columns from future [B, steps, F]
  // if given, else held at their last value) and drops as many of the
  // oldest rows. out [B, steps]. Scratch: workspace_bytes(batch, T) +
  // forecast_extra_bytes(batch, T).
  std::size_t forecast_extra_bytes(std::size_t batch, std::size_t window) const;
  Status forecast(const Context& ctx, ConstView x, std::size_t target, std::size_t steps,
                  ConstView future, View out, Workspace& ws) const;

 private:
  Rnn lstm_;
  MultiheadAttention attn_;
  edgeattn::Weights head_weight_;
  Tensor head_bias_;
};

}  // namespace edgeattn
