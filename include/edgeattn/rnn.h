// Recurrent layers (modules.md: gru, lstm): torch.nn.GRU / torch.nn.LSTM
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
#include <vector>

#include "edgeattn/context.h"
#include "edgeattn/kernels.h"
#include "edgeattn/status.h"
#include "edgeattn/tensor.h"

namespace edgeattn {

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
  static Result<RnnCell> create(RnnType type, RnnWeights w);
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
  static Result<RnnCell> make(RnnType type, RnnWeights w, bool keep_input);
  Status check_state(ConstView h, View c, View h_out, std::size_t batch) const;
  // rows of h (ldh apart, contiguous within) advanced one step: gx row r at
  // gx[r], its gates after one another; gh: rows x G H scratch.
  Status step_rows(const Context& ctx, const float* const* gx, std::size_t rows, const float* h,
                   float* c, float* h_out, float* gh, Workspace& ws) const;
  RnnType type_ = RnnType::gru;
  std::size_t input_ = 0, hidden_ = 0;
  Tensor weight_ih_, bias_ih_, weight_hh_, bias_hh_;
  kernels::PackedB packed_ih_, packed_hh_;
};

class Rnn {
 public:
  // weights[layer * D + direction] (direction 0 forward, 1 reverse); layer
  // k > 0 takes D * H inputs.
  static Result<Rnn> create(RnnType type, std::size_t input_size, std::size_t hidden_size,
                            std::size_t num_layers, bool bidirectional,
                            std::vector<RnnWeights> weights);
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
  RnnType type_ = RnnType::gru;
  std::size_t input_ = 0, hidden_ = 0, layers_ = 0, dirs_ = 1;
  std::vector<RnnCell> cells_;            // [layer * D + dir]: the recurrent halves
  std::vector<Tensor> w_ih_, b_ih_;       // per layer, directions stacked: [D G H, in]
  std::vector<kernels::PackedB> packed_ih_;
};

}  // namespace edgeattn
