// attention_forecaster: an LSTM over the window, multi-head self-attention
// over its states, and a linear head on the last state and its context.
#include <cstring>
#include <string>

#include "../checks.h"
#include "../kernels/module_kernels.h"
#include "../scratch.h"
#include "edgeattn/rnn.h"

namespace edgeattn {

using detail::max_of;
using detail::sat_mul;
using detail::Scratch;

namespace {
Status oom() { return Scratch::too_small("attention_forecaster"); }

// forward()'s scratch: the LSTM states S [B, T, H], the attention's output
// for lq query rows [B, lq, H], the last states [B, H] and one [2 H] row,
// then room for the LSTM or the attention (`nested`).
struct ForwardSlices {
  float *s, *c, *last, *cat;
};
ForwardSlices forward_slices(Scratch& sc, std::size_t bsz, std::size_t t, std::size_t lq,
                             std::size_t h, std::size_t nested) {
  ForwardSlices f{};
  f.s = sc.take<float>(sat_mul(bsz, t), h);
  f.c = sc.take<float>(sat_mul(bsz, lq), h);
  f.last = sc.take<float>(bsz, h);
  f.cat = sc.take<float>(2, h);
  sc.room(nested);
  return f;
}

// forecast()'s own scratch (before forward()'s): the sliding window
// [B, T, F], a round's predictions [B, P] and one held row [F].
struct ForecastSlices {
  float *win, *pred, *held;
};
ForecastSlices forecast_slices(Scratch& sc, std::size_t bsz, std::size_t t, std::size_t f,
                               std::size_t p) {
  ForecastSlices r{};
  r.win = sc.take<float>(sat_mul(bsz, t), f);
  r.pred = sc.take<float>(bsz, p);
  r.held = sc.take<float>(f);
  return r;
}
}  // namespace

Result<AttentionForecaster> AttentionForecaster::create(std::size_t f, std::size_t h, std::size_t heads,
                                                        std::size_t p, Weights w, WeightType weight_type) {
  if (p == 0) return Status::invalid("attention_forecaster: horizon must be positive");
  if (w.head_weight.shape() != Shape{p, 2 * h} || w.head_bias.shape() != Shape{p})
    return Status::invalid("attention_forecaster: head.weight must be " + Shape{p, 2 * h}.to_string() +
                           " and head.bias " + Shape{p}.to_string() + ", found " +
                           w.head_weight.shape().to_string() + " and " + w.head_bias.shape().to_string());
  AttentionForecaster m;
  std::vector<RnnWeights> lstm;
  lstm.push_back(std::move(w.lstm));
  Result<Rnn> rnn = Rnn::create(RnnType::lstm, f, h, 1, false, std::move(lstm), weight_type);
  if (!rnn.ok()) return Status::invalid("attention_forecaster " + rnn.status().message());
  Result<MultiheadAttention> attn = MultiheadAttention::create(h, heads, false, std::move(w.attn), weight_type);
  if (!attn.ok()) return Status::invalid("attention_forecaster attn: " + attn.status().message());
  m.lstm_ = std::move(rnn).value();
  m.attn_ = std::move(attn).value();
  EDGEATTN_ASSIGN_OR_RETURN(head, edgeattn::Weights::of(w.head_weight, weight_type, "attention_forecaster head.weight"));
  m.head_weight_ = std::move(head);
  m.head_bias_ = std::move(w.head_bias);
  return m;
}

std::size_t AttentionForecaster::weight_bytes() const {
  return lstm_.weight_bytes() + attn_.weight_bytes() +
         head_weight_.bytes() + head_bias_.numel() * sizeof(float);
}

std::size_t AttentionForecaster::workspace_bytes(std::size_t bsz, std::size_t t, const Context& ctx) const {
  Scratch sc;
  forward_slices(sc, bsz, t, t, hidden_size(),
                 max_of(lstm_.workspace_bytes(bsz, t, ctx), attn_.workspace_bytes(t, t, ctx)));
  return sc.bytes();
}

Status AttentionForecaster::forward(const Context& ctx, ConstView x, View y, View weights,
                                    Workspace& ws) const {
  if (x.empty() || x.rank() != 3 || !x.is_contiguous() || x.dim(2) != input_size() || x.numel() == 0)
    return Status::invalid("attention_forecaster: x must be a contiguous [B, T, " +
                           std::to_string(input_size()) + "] tensor, found " +
                           (x.empty() ? std::string("none") : x.shape().to_string()));
  const std::size_t bsz = x.dim(0), t = x.dim(1), h = hidden_size(), p = horizon();
  if (y.empty() || !y.is_contiguous() || y.shape() != Shape{bsz, p})
    return Status::invalid("attention_forecaster: y must be " + Shape{bsz, p}.to_string());
  if (!weights.empty() && (!weights.is_contiguous() || weights.shape() != Shape{bsz, t, t}))
    return Status::invalid("attention_forecaster: weights must be " + Shape{bsz, t, t}.to_string());
  // With the weights: every query row; without: only the last one is used.
  const std::size_t lq = weights.empty() ? 1 : t;
  Scratch sc(ws);
  const ForwardSlices sl = forward_slices(
      sc, bsz, t, lq, h, max_of(lstm_.workspace_bytes(bsz, t, ctx), attn_.workspace_bytes(lq, t, ctx)));
  if (!sc.ok()) return oom();
  float *s = sl.s, *c = sl.c, *last = sl.last, *cat = sl.cat;
  Status st = lstm_.forward(ctx, x, ConstView(), ConstView(), nullptr, View(s, Shape{bsz, t, h}), View(),
                            View(), ws);
  for (std::size_t b = 0; b < bsz; ++b) std::memcpy(last + b * h, s + (b * t + t - 1) * h, h * sizeof(float));
  const ConstView sv(s, Shape{bsz, t, h});
  const ConstView q = lq == 1 ? ConstView(last, Shape{bsz, 1, h}) : sv;
  if (st.ok()) st = attn_.forward(ctx, q, sv, sv, MaskView(), View(c, Shape{bsz, lq, h}), weights, ws);
  for (std::size_t b = 0; st.ok() && b < bsz; ++b) {  // y = head([S_T, C_T])
    std::memcpy(cat, last + b * h, h * sizeof(float));
    std::memcpy(cat + h, c + (b * lq + lq - 1) * h, h * sizeof(float));
    kernels::gemv_w(p, 2 * h, 1.0f, head_weight_.view(), cat, 0.0f, y.data() + b * p);
    kernels::add(y.data() + b * p, head_bias_.data(), y.data() + b * p, p);
  }
  return st;
}

std::size_t AttentionForecaster::forecast_extra_bytes(std::size_t bsz, std::size_t t) const {
  Scratch sc;
  forecast_slices(sc, bsz, t, input_size(), horizon());
  return sc.bytes();
}

Status AttentionForecaster::forecast(const Context& ctx, ConstView x, std::size_t target, std::size_t steps,
                                     ConstView future, View out, Workspace& ws) const {
  if (x.empty() || x.rank() != 3 || !x.is_contiguous() || x.dim(2) != input_size())
    return Status::invalid("attention_forecaster: x must be a contiguous [B, T, " +
                           std::to_string(input_size()) + "] tensor");
  const std::size_t bsz = x.dim(0), t = x.dim(1), f = input_size(), p = horizon();
  if (target >= f)
    return Status::invalid("attention_forecaster: target column " + std::to_string(target) +
                           " is not below input_size " + std::to_string(f));
  if (p > t)
    return Status::invalid("attention_forecaster: the horizon " + std::to_string(p) +
                           " is longer than the window " + std::to_string(t));
  if (out.empty() || !out.is_contiguous() || out.shape() != Shape{bsz, steps})
    return Status::invalid("attention_forecaster: out must be " + Shape{bsz, steps}.to_string());
  if (!future.empty() && (!future.is_contiguous() || future.shape() != Shape{bsz, steps, f}))
    return Status::invalid("attention_forecaster: future must be " + Shape{bsz, steps, f}.to_string());
  Scratch sc(ws);
  const ForecastSlices sl = forecast_slices(sc, bsz, t, f, p);
  sc.room(workspace_bytes(bsz, t, ctx));
  if (!sc.ok()) return oom();
  float *win = sl.win, *pred = sl.pred, *held = sl.held;
  std::memcpy(win, x.data(), bsz * t * f * sizeof(float));
  Status st;
  for (std::size_t done = 0; done < steps && st.ok(); done += p) {
    st = forward(ctx, ConstView(win, Shape{bsz, t, f}), View(pred, Shape{bsz, p}), View(), ws);
    const std::size_t n = steps - done < p ? steps - done : p;
    for (std::size_t b = 0; st.ok() && b < bsz; ++b) {
      std::memcpy(out.data() + b * steps + done, pred + b * p, n * sizeof(float));
      float* wb = win + b * t * f;
      // Slide by p rows: the predictions come in as the target column, the
      // other columns from `future` or held at the last known row.
      std::memcpy(held, wb + (t - 1) * f, f * sizeof(float));
      std::memmove(wb, wb + p * f, (t - p) * f * sizeof(float));
      for (std::size_t j = 0; j < p; ++j) {
        float* row = wb + (t - p + j) * f;
        for (std::size_t col = 0; col < f; ++col)
          row[col] = col == target                       ? pred[b * p + j]
                     : !future.empty() && done + j < steps ? future.data()[(b * steps + done + j) * f + col]
                                                          : held[col];
      }
    }
  }
  return st;
}

}  // namespace edgeattn
