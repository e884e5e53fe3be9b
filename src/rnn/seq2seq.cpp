// seq2seq: GRU encoder-decoder with attention (Bahdanau et al. 2015), with
// greedy, beam and sampling decoders over one shared decoder step.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "../checks.h"
#include "../kernels/module_kernels.h"
#include "../scratch.h"
#include "edgeattn/ops.h"
#include "edgeattn/rnn.h"

namespace edgeattn {

using detail::max_of;
using detail::sat_mul;
using detail::Scratch;

struct Seq2Seq::Memory {
  std::size_t batch = 0, src_len = 0;
  float* m = nullptr;             // [B, S, 2 He]
  float* keys = nullptr;          // additive: the key cache [B, S, A]; else m
  std::uint8_t* mask = nullptr;   // [B, 1, S] or null
  float* mc = nullptr;            // M W_ic^T [B, S, 3 Hd]
  float* mo = nullptr;            // M W_oc^T [B, S, Vt]
  float* x = nullptr;             // encoding's buffers: embedded src [B, S, E],
  float* hn = nullptr;            // the encoder's final states [2, B, He]
  float* cat = nullptr;           // and one [2 He] row
  float *gx = nullptr, *gh = nullptr;  // a step's buffers: [rows, 3 Hd] twice,
  float* context = nullptr;            // [rows, 2 He]
  const float** ptrs = nullptr;        // and [rows]
};

namespace {

Status need(const Tensor& t, const Shape& s, const char* what) {
  if (t.numel() == 0 || t.shape() != s)
    return Status::invalid(std::string("seq2seq: ") + what + " must be " + s.to_string() + ", found " +
                           (t.numel() ? t.shape().to_string() : "none"));
  return {};
}

Status oom() { return Scratch::too_small("seq2seq"); }

// The decoders' own slices (taken before the memory's).
struct GreedySlices {
  float *s, *s2, *lg, *a;  // states [B, Hd] twice, logits [B, Vt], alignment [B, S]
  std::int64_t* y;         // [B]
  std::size_t* ended;      // [B]
};
GreedySlices greedy_slices(Scratch& sc, std::size_t batch, std::size_t hd, std::size_t v, std::size_t sl) {
  GreedySlices g{};
  g.s = sc.take<float>(batch, hd), g.s2 = sc.take<float>(batch, hd);
  g.y = sc.take<std::int64_t>(batch);
  g.ended = sc.take<std::size_t>(batch);
  g.lg = sc.take<float>(batch, v), g.a = sc.take<float>(batch, sl);
  return g;
}

// One sentence, one hypothesis (score and sample): as greedy, with a second
// [Vt] row for the log-softmax or the sampling weights.
struct SingleSlices {
  float *s, *s2, *lg, *p, *a;
  std::int64_t* y;
};
SingleSlices single_slices(Scratch& sc, std::size_t hd, std::size_t v, std::size_t sl) {
  SingleSlices g{};
  g.s = sc.take<float>(hd), g.s2 = sc.take<float>(hd);
  g.y = sc.take<std::int64_t>(1);
  g.lg = sc.take<float>(v), g.p = sc.take<float>(v), g.a = sc.take<float>(sl);
  return g;
}

struct BeamSlices {
  float *s[2], *lg, *a, *scratch, *score[2], *hist_a[2], *s_next, *cand_score;
  std::int64_t *y, *hist[2], *cand_token;
  std::size_t* cand_row;
};
BeamSlices beam_slices(Scratch& sc, std::size_t w, std::size_t t_max, bool keep_align, std::size_t hd,
                       std::size_t v, std::size_t sl) {
  BeamSlices b{};
  for (float*& p : b.s) p = sc.take<float>(w, hd);
  b.y = sc.take<std::int64_t>(w);
  b.lg = sc.take<float>(w, v), b.a = sc.take<float>(w, sl), b.scratch = sc.take<float>(v);
  for (float*& p : b.score) p = sc.take<float>(w);
  for (std::int64_t*& p : b.hist) p = sc.take<std::int64_t>(w, t_max);
  for (float*& p : b.hist_a) p = keep_align ? sc.take<float>(w, sat_mul(t_max, sl)) : nullptr;
  b.s_next = sc.take<float>(w, hd);
  b.cand_score = sc.take<float>(w), b.cand_row = sc.take<std::size_t>(w), b.cand_token = sc.take<std::int64_t>(w);
  return b;
}

// table[v] = bias + emb[v] W^T over columns [c0, c0 + E) of w, in double:
// the part of a layer that acts on the embedding of token v.
Result<Tensor> token_table(const Tensor& emb, const Tensor& w, std::size_t c0, const Tensor& bias) {
  const std::size_t vocab = emb.shape()[0], e = emb.shape()[1], rows = w.shape()[0], cols = w.shape()[1];
  EDGEATTN_ASSIGN_OR_RETURN(t, Tensor::zeros(Shape{vocab, rows}));
  for (std::size_t v = 0; v < vocab; ++v)
    for (std::size_t r = 0; r < rows; ++r) {
      double s = bias.data()[r];
      for (std::size_t k = 0; k < e; ++k) s += double(emb.data()[v * e + k]) * w.data()[r * cols + c0 + k];
      t.data()[v * rows + r] = static_cast<float>(s);
    }
  return t;
}

// log_softmax of a row in place (stable): x - max - log(sum exp(x - max)).
void log_softmax(float* x, float* scratch, std::size_t n) {
  const float m = kernels::reduce_max(x, n);
  kernels::add_scalar(x, -m, scratch, n);
  kernels::exp(scratch, scratch, n);
  kernels::add_scalar(x, -(m + std::log(kernels::reduce_sum(scratch, n))), x, n);
}

}  // namespace

Result<Seq2Seq> Seq2Seq::create(const Seq2SeqConfig& c, Seq2SeqWeights w, WeightType wt) {
  if (!c.src_vocab || !c.tgt_vocab || !c.emb || !c.enc_hidden || !c.dec_hidden || !c.max_len)
    return Status::invalid("seq2seq: vocabularies, widths and max_len must be positive");
  const auto vt = static_cast<std::int64_t>(c.tgt_vocab);
  if (c.bos < 0 || c.bos >= vt || c.eos < 0 || c.eos >= vt)
    return Status::invalid("seq2seq: bos " + std::to_string(c.bos) + " and eos " + std::to_string(c.eos) +
                           " must be target token ids below " + std::to_string(vt));
  const std::size_t e = c.emb, he2 = 2 * c.enc_hidden, hd = c.dec_hidden, v = c.tgt_vocab;
  EDGEATTN_RETURN_IF_ERROR(need(w.enc_embedding, Shape{c.src_vocab, e}, "encoder.embedding.weight"));
  EDGEATTN_RETURN_IF_ERROR(need(w.dec_embedding, Shape{v, e}, "decoder.embedding.weight"));
  EDGEATTN_RETURN_IF_ERROR(need(w.bridge_weight, Shape{hd, he2}, "bridge.weight"));
  EDGEATTN_RETURN_IF_ERROR(need(w.bridge_bias, Shape{hd}, "bridge.bias"));
  EDGEATTN_RETURN_IF_ERROR(need(w.dec_rnn.weight_ih, Shape{3 * hd, e + he2}, "decoder.rnn.weight_ih"));
  EDGEATTN_RETURN_IF_ERROR(need(w.dec_rnn.bias_ih, Shape{3 * hd}, "decoder.rnn.bias_ih"));
  EDGEATTN_RETURN_IF_ERROR(need(w.out_weight, Shape{v, hd + he2 + e}, "decoder.out.weight"));
  EDGEATTN_RETURN_IF_ERROR(need(w.out_bias, Shape{v}, "decoder.out.bias"));
  Seq2Seq s;
  s.cfg_ = c;
  std::vector<RnnWeights> enc;
  enc.push_back(std::move(w.enc_forward));
  enc.push_back(std::move(w.enc_reverse));
  Result<Rnn> encoder = Rnn::create(RnnType::gru, e, c.enc_hidden, 1, true, std::move(enc), wt);
  if (!encoder.ok()) return Status::invalid("seq2seq encoder.rnn: " + encoder.status().message());
  s.encoder_ = std::move(encoder).value();
  Result<SoftAttention> att = SoftAttention::create(c.attention, std::move(w.attention), wt);
  if (!att.ok()) return Status::invalid("seq2seq decoder.attention: " + att.status().message());
  s.attention_ = std::move(att).value();
  const bool dot = c.attention == Score::dot || c.attention == Score::scaled_dot;
  if ((dot && hd != he2) || (s.attention_.query_dim() && s.attention_.query_dim() != hd) ||
      (s.attention_.key_dim() && s.attention_.key_dim() != he2))
    return Status::invalid("seq2seq decoder.attention: its query width must be dec_hidden " +
                           std::to_string(hd) + " and its key width 2 enc_hidden " + std::to_string(he2));
  // the weights' column blocks that act on c_t and on s_t, in the model's
  // type; the tables of the blocks acting on e from the same rounded values
  if (wt != WeightType::f32) {
    EDGEATTN_RETURN_IF_ERROR(Weights::round_in_place(w.dec_rnn.weight_ih, wt, "seq2seq decoder.rnn.weight_ih"));
    EDGEATTN_RETURN_IF_ERROR(Weights::round_in_place(w.out_weight, wt, "seq2seq decoder.out.weight"));
    EDGEATTN_RETURN_IF_ERROR(Weights::round_in_place(w.dec_embedding, wt, "seq2seq decoder.embedding.weight"));
  }
  EDGEATTN_ASSIGN_OR_RETURN(wic, Weights::of({&w.dec_rnn.weight_ih}, wt, "seq2seq decoder.rnn.weight_ih", e, he2));
  EDGEATTN_ASSIGN_OR_RETURN(gxt, token_table(w.dec_embedding, w.dec_rnn.weight_ih, 0, w.dec_rnn.bias_ih));
  EDGEATTN_ASSIGN_OR_RETURN(wos, Weights::of({&w.out_weight}, wt, "seq2seq decoder.out.weight", 0, hd));
  EDGEATTN_ASSIGN_OR_RETURN(woc, Weights::of({&w.out_weight}, wt, "seq2seq decoder.out.weight", hd, he2));
  EDGEATTN_ASSIGN_OR_RETURN(outt, token_table(w.dec_embedding, w.out_weight, hd + he2, w.out_bias));
  EDGEATTN_ASSIGN_OR_RETURN(bridge, Weights::of(w.bridge_weight, wt, "seq2seq bridge.weight"));
  Result<RnnCell> cell = RnnCell::make(RnnType::gru, std::move(w.dec_rnn), false, wt);
  if (!cell.ok()) return Status::invalid("seq2seq decoder.rnn " + cell.status().message());
  s.cell_ = std::move(cell).value();
  EDGEATTN_ASSIGN_OR_RETURN(pic, kernels::PackedB::pack(wic));
  EDGEATTN_ASSIGN_OR_RETURN(poc, kernels::PackedB::pack(woc));
  EDGEATTN_ASSIGN_OR_RETURN(pos, kernels::PackedB::pack(wos));
  s.w_ic_ = std::move(wic), s.gx_of_token_ = std::move(gxt);
  s.w_os_ = std::move(wos), s.w_oc_ = std::move(woc), s.out_of_token_ = std::move(outt);
  s.packed_ic_ = std::move(pic), s.packed_oc_ = std::move(poc), s.packed_os_ = std::move(pos);
  EDGEATTN_ASSIGN_OR_RETURN(emb, Weights::of(w.enc_embedding, wt, "seq2seq encoder.embedding.weight"));
  s.enc_embedding_ = std::move(emb);
  s.bridge_weight_ = std::move(bridge), s.bridge_bias_ = std::move(w.bridge_bias);
  return s;
}

std::size_t Seq2Seq::weight_bytes() const {
  const Tensor* ts[] = {&bridge_bias_, &gx_of_token_, &out_of_token_};
  std::size_t b = encoder_.weight_bytes() + attention_.weight_bytes() + cell_.weight_bytes() + enc_embedding_.bytes() +
                  bridge_weight_.bytes() + w_ic_.bytes() + w_os_.bytes() + w_oc_.bytes() +
                  packed_ic_.bytes() + packed_oc_.bytes() + packed_os_.bytes();
  for (const Tensor* t : ts) b += t->numel() * sizeof(float);
  return b;
}


// A decode's scratch after its own slices, one description for
// workspace_bytes() and the decoders: the memory (and encoding's buffers),
// the buffers of one step of groups x per_group rows, then room for encoding
// or for the step's attention and GEMMs.
struct Seq2Seq::Impl {
  static Memory memory_slices(const Seq2Seq& self, Scratch& sc, std::size_t batch, std::size_t sl,
                              bool lengths, std::size_t groups, std::size_t per_group,
                              const Context& ctx) {
    const std::size_t e = self.cfg_.emb, he = self.cfg_.enc_hidden, he2 = 2 * he,
                      hd = self.cfg_.dec_hidden;
    const std::size_t v = self.cfg_.tgt_vocab, a = self.attention_.attn_dim(),
                      rows = sat_mul(batch, sl);
    Memory m;
    m.batch = batch, m.src_len = sl;
    m.x = sc.take<float>(rows, e);
    m.m = sc.take<float>(rows, he2);
    m.hn = sc.take<float>(2 * batch, he);
    m.cat = sc.take<float>(he2);
    m.keys = a ? sc.take<float>(rows, a) : m.m;
    m.mc = sc.take<float>(rows, 3 * hd);
    m.mo = sc.take<float>(rows, v);
    m.mask = lengths ? sc.take<std::uint8_t>(rows) : nullptr;
    const std::size_t step_rows = sat_mul(groups, per_group);
    m.gx = sc.take<float>(step_rows, 3 * hd), m.gh = sc.take<float>(step_rows, 3 * hd);
    m.context = sc.take<float>(step_rows, he2);
    m.ptrs = sc.take<const float*>(step_rows);
    const std::size_t encode = max_of(max_of(self.encoder_.workspace_bytes(batch, sl, ctx),
                                             a ? matmul_workspace_bytes(ctx, rows, a, he2) : 0),
                                      max_of(matmul_workspace_bytes(ctx, rows, 3 * hd, he2),
                                             matmul_workspace_bytes(ctx, rows, v, he2)));
    const std::size_t step =
        max_of(self.attention_.workspace_bytes({groups, per_group, sl, hd, he2, he2}, ctx),
               max_of(matmul_workspace_bytes(ctx, step_rows, 3 * hd, hd),
                      matmul_workspace_bytes(ctx, step_rows, v, hd)));
    sc.room(max_of(encode, step));
    return m;
  }
};

std::size_t Seq2Seq::workspace_bytes(std::size_t batch, std::size_t s, std::size_t width,
                                     const Context& ctx) const {
  const std::size_t hd = cfg_.dec_hidden, v = cfg_.tgt_vocab;
  Scratch greedy, single, beam;
  greedy_slices(greedy, batch, hd, v, s);
  Impl::memory_slices(*this, greedy, batch, s, true, batch, 1, ctx);
  single_slices(single, hd, v, s);
  Impl::memory_slices(*this, single, 1, s, false, 1, 1, ctx);
  beam_slices(beam, width, cfg_.max_len, true, hd, v, s);
  Impl::memory_slices(*this, beam, 1, s, false, 1, width, ctx);
  return max_of(greedy.bytes(), max_of(single.bytes(), beam.bytes()));
}

Status Seq2Seq::check_tokens(const std::int64_t* src, std::size_t n, const std::int64_t* lengths,
                             std::size_t batch, std::size_t src_len) const {
  if (!src || batch == 0 || src_len == 0) return Status::invalid("seq2seq: src must be [B, S] with B, S >= 1");
  for (std::size_t i = 0; i < n; ++i)
    if (src[i] < 0 || src[i] >= static_cast<std::int64_t>(cfg_.src_vocab))
      return Status::invalid("seq2seq: src token " + std::to_string(src[i]) + " at " + std::to_string(i) +
                             " is outside the source vocabulary [0, " + std::to_string(cfg_.src_vocab) + ")");
  for (std::size_t b = 0; lengths && b < batch; ++b)
    if (lengths[b] < 1 || lengths[b] > static_cast<std::int64_t>(src_len))
      return Status::invalid("seq2seq: src_lengths[" + std::to_string(b) + "] = " + std::to_string(lengths[b]) +
                             " is outside [1, " + std::to_string(src_len) + "]");
  return {};
}

Status Seq2Seq::encode(const Context& ctx, const std::int64_t* src, std::size_t batch, std::size_t s,
                       const std::int64_t* lengths, float* state, const Memory& mem,
                       Workspace& ws) const {
  EDGEATTN_RETURN_IF_ERROR(check_tokens(src, batch * s, lengths, batch, s));
  const std::size_t e = cfg_.emb, he = cfg_.enc_hidden, he2 = 2 * he, hd = cfg_.dec_hidden;
  const std::size_t v = cfg_.tgt_vocab, a = attention_.attn_dim(), rows = batch * s;
  float *x = mem.x, *m = mem.m, *hn = mem.hn, *cat = mem.cat, *keys = mem.keys, *mc = mem.mc, *mo = mem.mo;
  std::uint8_t* mask = mem.mask;
  for (std::size_t i = 0; i < rows; ++i)
    kernels::widen_w(enc_embedding_.view().from_row(static_cast<std::size_t>(src[i])), 0, e, x + i * e);
  EDGEATTN_RETURN_IF_ERROR(encoder_.forward(ctx, ConstView(x, Shape{batch, s, e}), ConstView(), ConstView(),
                                            lengths, View(m, Shape{batch, s, he2}),
                                            View(hn, Shape{2, batch, he}), View(), ws));
  for (std::size_t b = 0; b < batch; ++b) {  // s_0 = tanh(bridge([h_fwd, h_bwd]))
    std::memcpy(cat, hn + b * he, he * sizeof(float));
    std::memcpy(cat + he, hn + (batch + b) * he, he * sizeof(float));
    float* sb = state + b * hd;
    kernels::gemv_w(hd, he2, 1.0f, bridge_weight_.view(), cat, 0.0f, sb);
    kernels::add(sb, bridge_bias_.data(), sb, hd);
    kernels::tanh(sb, sb, hd);
  }
  for (std::size_t b = 0; mask && b < batch; ++b)
    for (std::size_t j = 0; j < s; ++j) mask[b * s + j] = static_cast<std::int64_t>(j) < lengths[b];
  if (a)
    EDGEATTN_RETURN_IF_ERROR(attention_.project_keys(ctx, ConstView(m, Shape{batch, s, he2}),
                                                     View(keys, Shape{batch, s, a}), ws));
  kernels::GemmArgs g = gemm_args(rows, 3 * hd, he2, m, nullptr, true, mc);
  kernels::set_weights_b(g, w_ic_, &packed_ic_);
  EDGEATTN_RETURN_IF_ERROR(matmul(ctx, g, ws));
  kernels::GemmArgs o = gemm_args(rows, v, he2, m, nullptr, true, mo);
  kernels::set_weights_b(o, w_oc_, &packed_oc_);
  return matmul(ctx, o, ws);
}

Status Seq2Seq::step(const Context& ctx, const Memory& mem, std::size_t groups, std::size_t per_group,
                     const std::int64_t* y, const float* s, float* s_out, float* logits, float* a,
                     Workspace& ws, bool odd) const {
  const std::size_t he2 = 2 * cfg_.enc_hidden, hd = cfg_.dec_hidden, v = cfg_.tgt_vocab, g3 = 3 * hd;
  const std::size_t sl = mem.src_len, rows = groups * per_group;
  float *gx = mem.gx, *gh = mem.gh, *context = mem.context;
  const float** ptrs = mem.ptrs;
  // a_t from s_{t-1}: rows of a group query that group's memory.
  const ConstView q(s, Shape{groups, per_group, hd});
  const ConstView m(mem.m, Shape{groups, sl, he2});
  const MaskView mask = mem.mask ? MaskView(mem.mask, Shape{groups, 1, sl}) : MaskView();
  const View cv(context, Shape{groups, per_group, he2}), av(a, Shape{groups, per_group, sl});
  Status st = attention_.attn_dim()
                  ? attention_.forward_cached(ctx, q, ConstView(mem.keys, Shape{groups, sl, attention_.attn_dim()}),
                                              m, mask, cv, av, ws)
                  : attention_.forward(ctx, q, m, m, mask, cv, av, ws);
  if (!st.ok()) return st;
  for (std::size_t r = 0; r < rows; ++r) {  // W_ih [e, c] + b_ih = table[y] + a . (M W_ic^T)
    float* gr = gx + r * g3;
    std::memcpy(gr, gx_of_token_.data() + y[r] * g3, g3 * sizeof(float));
    kernels::gemv_t(sl, g3, 1.0f, mem.mc + (r / per_group) * sl * g3, g3, a + r * sl, 1.0f, gr);
    ptrs[r] = gr;
  }
  st = cell_.step_rows(ctx, ptrs, rows, s, nullptr, s_out, gh, ws, odd);
  for (std::size_t r = 0; st.ok() && r < rows; ++r) {  // out([s, c, e]) = W_os s + a . (M W_oc^T) + table[y]
    float* lr = logits + r * v;
    std::memcpy(lr, out_of_token_.data() + y[r] * v, v * sizeof(float));
    kernels::gemv_t(sl, v, 1.0f, mem.mo + (r / per_group) * sl * v, v, a + r * sl, 1.0f, lr);
  }
  kernels::GemmArgs o = gemm_args(rows, v, hd, s_out, nullptr, true, logits, 1.0f, 1.0f);
  kernels::set_weights_b(o, w_os_, &packed_os_);
  if (st.ok()) st = matmul(ctx, o, ws);
  return st;
}

Status Seq2Seq::greedy(const Context& ctx, const std::int64_t* src, std::size_t batch, std::size_t sl,
                       const std::int64_t* src_lengths, std::size_t steps, bool stop_at_eos,
                       std::int64_t* tokens, float* logits, float* alignments, std::size_t* out_lengths,
                       Workspace& ws) const {
  if (!tokens || steps == 0) return Status::invalid("seq2seq: greedy needs steps >= 1 and a tokens buffer");
  const std::size_t hd = cfg_.dec_hidden, v = cfg_.tgt_vocab;
  Scratch sc(ws);
  const GreedySlices g = greedy_slices(sc, batch, hd, v, sl);
  const Memory mem = Impl::memory_slices(*this, sc, batch, sl, src_lengths != nullptr, batch, 1, ctx);
  if (!sc.ok()) return oom();
  float *s = g.s, *s2 = g.s2, *lg = g.lg, *a = g.a;
  std::int64_t* y = g.y;
  std::size_t* ended = g.ended;  // length up to eos, 0 while running
  EDGEATTN_RETURN_IF_ERROR(encode(ctx, src, batch, sl, src_lengths, s, mem, ws));
  for (std::size_t b = 0; b < batch; ++b) y[b] = cfg_.bos, ended[b] = 0;
  std::size_t t = 0, running = batch;
  Status st;
  for (; t < steps && running > 0 && st.ok(); ++t) {
    st = step(ctx, mem, batch, 1, y, s, s2, lg, a, ws, t % 2 == 1);
    std::swap(s, s2);
    for (std::size_t b = 0; st.ok() && b < batch; ++b) {
      const auto tok = ended[b] ? cfg_.eos : static_cast<std::int64_t>(kernels::argmax(lg + b * v, v));
      tokens[b * steps + t] = y[b] = tok;
      if (logits) std::memcpy(logits + (b * steps + t) * v, lg + b * v, v * sizeof(float));
      if (alignments) std::memcpy(alignments + (b * steps + t) * sl, a + b * sl, sl * sizeof(float));
      if (stop_at_eos && !ended[b] && tok == cfg_.eos) ended[b] = t + 1, --running;
    }
  }
  for (std::size_t b = 0; b < batch; ++b) {  // after every sentence ended: eos, zero rows
    for (std::size_t u = t; u < steps; ++u) {
      tokens[b * steps + u] = cfg_.eos;
      if (logits) std::memset(logits + (b * steps + u) * v, 0, v * sizeof(float));
      if (alignments) std::memset(alignments + (b * steps + u) * sl, 0, sl * sizeof(float));
    }
    if (out_lengths) out_lengths[b] = ended[b] ? ended[b] : steps;
  }
  return st;
}

namespace {

// The `width` best (score, row, token) candidates, best first; ties go to
// the earlier row and token, so a beam of one follows the greedy argmax.
struct Candidates {
  float* score;
  std::size_t* row;
  std::int64_t* token;
  std::size_t count = 0, width = 0;

  void offer(float sc, std::size_t r, std::int64_t tok) {
    if (count == width && !(sc > score[count - 1])) return;
    std::size_t i = count < width ? count++ : count - 1;
    for (; i > 0 && sc > score[i - 1]; --i) score[i] = score[i - 1], row[i] = row[i - 1], token[i] = token[i - 1];
    score[i] = sc, row[i] = r, token[i] = tok;
  }
};

}  // namespace

Status Seq2Seq::beam_search(const Context& ctx, const std::int64_t* src, std::size_t sl,
                            const BeamOptions& opt, Hypothesis& out, Workspace& ws) const {
  const std::size_t t_max = opt.max_len ? opt.max_len : cfg_.max_len, w = opt.width;
  if (w == 0 || w > kMaxBeamWidth || t_max > cfg_.max_len || !out.tokens)
    return Status::invalid("seq2seq: beam width must be 1.." + std::to_string(kMaxBeamWidth) +
                           " (found " + std::to_string(w) + "), max_len at most the config's " +
                           std::to_string(cfg_.max_len) + ", and out.tokens given");
  const std::size_t hd = cfg_.dec_hidden, v = cfg_.tgt_vocab;
  const bool keep_align = out.alignments != nullptr;
  Scratch sc(ws);
  const BeamSlices bs = beam_slices(sc, w, t_max, keep_align, hd, v, sl);
  const Memory mem = Impl::memory_slices(*this, sc, 1, sl, false, 1, w, ctx);
  if (!sc.ok()) return oom();
  float* s[2] = {bs.s[0], bs.s[1]};
  float *lg = bs.lg, *a = bs.a, *scratch = bs.scratch, *s_next = bs.s_next;
  float* const* score = bs.score;
  float* const* hist_a = bs.hist_a;
  std::int64_t* y = bs.y;
  std::int64_t* const* hist = bs.hist;
  Candidates cand{bs.cand_score, bs.cand_row, bs.cand_token, 0, w};
  EDGEATTN_RETURN_IF_ERROR(encode(ctx, src, 1, sl, nullptr, s[0], mem, ws));
  std::size_t alive = 1, cur = 0;
  y[0] = cfg_.bos, score[0][0] = 0.0f;
  float best = -std::numeric_limits<float>::infinity();
  out.length = 0;
  Status st;
  for (std::size_t t = 0; t < t_max && alive > 0 && st.ok(); ++t) {
    st = step(ctx, mem, 1, alive, y, s[cur], s[1 - cur], lg, a, ws, t % 2 == 1);
    if (!st.ok()) break;
    cand.count = 0;
    for (std::size_t r = 0; r < alive; ++r) {
      log_softmax(lg + r * v, scratch, v);
      for (std::size_t tok = 0; tok < v; ++tok) cand.offer(score[cur][r] + lg[r * v + tok], r, std::int64_t(tok));
    }
    std::size_t next = 0;
    for (std::size_t c = 0; c < cand.count; ++c) {
      const std::size_t r = cand.row[c];
      const std::int64_t tok = cand.token[c];
      std::int64_t* toks = hist[1 - cur] + next * t_max;
      float* al = keep_align ? hist_a[1 - cur] + next * t_max * sl : nullptr;
      std::memcpy(toks, hist[cur] + r * t_max, t * sizeof(std::int64_t));
      toks[t] = tok;
      if (al) {
        std::memcpy(al, hist_a[cur] + r * t_max * sl, t * sl * sizeof(float));
        std::memcpy(al + t * sl, a + r * sl, sl * sizeof(float));
      }
      if (tok == cfg_.eos || t + 1 == t_max) {  // finished: by eos, or by length
        const float len = static_cast<float>(t + 1);
        const float norm = opt.length_alpha != 0.0f ? cand.score[c] / std::pow(len, opt.length_alpha) : cand.score[c];
        if (norm > best) {
          best = norm, out.length = t + 1, out.score = cand.score[c];
          std::memcpy(out.tokens, toks, (t + 1) * sizeof(std::int64_t));
          if (al) std::memcpy(out.alignments, al, (t + 1) * sl * sizeof(float));
        }
        continue;  // its slot in the next buffers is reused
      }
      std::memcpy(s_next + next * hd, s[1 - cur] + r * hd, hd * sizeof(float));
      score[1 - cur][next] = cand.score[c];
      ++next;
    }
    for (std::size_t r = 0; r < next; ++r) y[r] = hist[1 - cur][r * t_max + t];
    std::memcpy(s[1 - cur], s_next, next * hd * sizeof(float));
    cur = 1 - cur;
    alive = next;
    // Scores only fall as hypotheses grow: without length normalisation no
    // live one can still beat the best finished one.
    if (opt.length_alpha == 0.0f && alive > 0 && score[cur][0] <= best) break;
  }
  return st;
}

Status Seq2Seq::score(const Context& ctx, const std::int64_t* src, std::size_t sl,
                      const std::int64_t* tokens, std::size_t n, float* score, Workspace& ws) const {
  const std::size_t hd = cfg_.dec_hidden, v = cfg_.tgt_vocab;
  if (!tokens || !score || n == 0 || n > cfg_.max_len)
    return Status::invalid("seq2seq: score needs 1 to " + std::to_string(cfg_.max_len) + " tokens");
  for (std::size_t t = 0; t < n; ++t)
    if (tokens[t] < 0 || tokens[t] >= static_cast<std::int64_t>(v))
      return Status::invalid("seq2seq: target token " + std::to_string(tokens[t]) + " at " + std::to_string(t) +
                             " is outside the target vocabulary [0, " + std::to_string(v) + ")");
  Scratch sc(ws);
  const SingleSlices g = single_slices(sc, hd, v, sl);
  const Memory mem = Impl::memory_slices(*this, sc, 1, sl, false, 1, 1, ctx);
  if (!sc.ok()) return oom();
  float *s = g.s, *s2 = g.s2, *lg = g.lg, *scratch = g.p, *a = g.a;
  std::int64_t* y = g.y;
  EDGEATTN_RETURN_IF_ERROR(encode(ctx, src, 1, sl, nullptr, s, mem, ws));
  *score = 0.0f;
  Status st;
  for (std::size_t t = 0; t < n && st.ok(); ++t) {
    y[0] = t == 0 ? cfg_.bos : tokens[t - 1];
    st = step(ctx, mem, 1, 1, y, s, s2, lg, a, ws, t % 2 == 1);
    std::swap(s, s2);
    log_softmax(lg, scratch, v);
    *score += lg[tokens[t]];
  }
  return st;
}

Status Seq2Seq::sample(const Context& ctx, const std::int64_t* src, std::size_t sl, const SampleOptions& opt,
                       Hypothesis& out, Workspace& ws) const {
  const std::size_t t_max = opt.max_len ? opt.max_len : cfg_.max_len;
  if (!(opt.temperature > 0.0f) || !out.tokens || t_max > cfg_.max_len)
    return Status::invalid("seq2seq: sampling needs temperature > 0, out.tokens, max_len <= " +
                           std::to_string(cfg_.max_len));
  const std::size_t hd = cfg_.dec_hidden, v = cfg_.tgt_vocab;
  const std::size_t k = opt.top_k && opt.top_k < v ? opt.top_k : v;
  Scratch sc(ws);
  const SingleSlices g = single_slices(sc, hd, v, sl);
  const Memory mem = Impl::memory_slices(*this, sc, 1, sl, false, 1, 1, ctx);
  if (!sc.ok()) return oom();
  float *s = g.s, *s2 = g.s2, *lg = g.lg, *p = g.p, *a = g.a;
  std::int64_t* y = g.y;
  EDGEATTN_RETURN_IF_ERROR(encode(ctx, src, 1, sl, nullptr, s, mem, ws));
  y[0] = cfg_.bos;
  out.length = 0, out.score = 0.0f;
  Status st;
  for (std::size_t t = 0; t < t_max && st.ok(); ++t) {
    st = step(ctx, mem, 1, 1, y, s, s2, lg, a, ws, t % 2 == 1);
    std::swap(s, s2);
    if (!st.ok()) break;
    // The k-th largest logit bounds the candidates (ties at it all stay).
    float thr = -std::numeric_limits<float>::infinity();
    if (k < v) {
      std::memcpy(p, lg, v * sizeof(float));
      for (std::size_t i = 0; i < k; ++i) {  // k selection passes; k is small
        std::size_t best = i;
        for (std::size_t j = i + 1; j < v; ++j) if (p[j] > p[best]) best = j;
        std::swap(p[i], p[best]);
      }
      thr = p[k - 1];
    }
    const float m = kernels::reduce_max(lg, v);
    float sum = 0.0f;
    for (std::size_t j = 0; j < v; ++j) sum += p[j] = lg[j] >= thr ? std::exp((lg[j] - m) / opt.temperature) : 0.0f;
    const float u = uniform01(opt.seed, 0, t) * sum;
    std::size_t tok = 0;
    for (float acc = p[0]; tok + 1 < v && !(u < acc);) acc += p[++tok];
    while (p[tok] == 0.0f && tok > 0) --tok;  // u at the very top: the last candidate
    y[0] = out.tokens[t] = static_cast<std::int64_t>(tok);
    if (out.alignments) std::memcpy(out.alignments + t * sl, a, sl * sizeof(float));
    log_softmax(lg, p, v);
    out.score += lg[tok];
    out.length = t + 1;
    if (y[0] == cfg_.eos) break;
  }
  return st;
}

}  // namespace edgeattn
