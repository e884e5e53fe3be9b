// Registry entries gru, lstm, seq2seq and attention_forecaster: configs and
// state_dict keys as in docs/modules.md (PyTorch's own for the RNNs), adapted to
// Module.
#include "../io/registry.h"
#include "../attention/score_params.h"
#include "edgeattn/rnn.h"

namespace edgeattn {
namespace {

class RnnModule final : public Module {
 public:
  const void* typed(const std::type_info& t) const override { return typed_if(t, rnn_); }
  explicit RnnModule(Rnn rnn) : rnn_(std::move(rnn)) {}
  const char* kind() const override { return rnn_type_name(rnn_.type()); }
  std::size_t weight_bytes() const override { return rnn_.weight_bytes(); }
  bool lstm() const { return rnn_.type() == RnnType::lstm; }

  Result<std::vector<OutputSpec>> check(const ValueMap& in) const override {
    EDGEATTN_ASSIGN_OR_RETURN(x, find_input(in, "x", ValueType::f32, true));
    EDGEATTN_ASSIGN_OR_RETURN(h0, find_input(in, "h0", ValueType::f32, false));
    EDGEATTN_ASSIGN_OR_RETURN(c0, find_input(in, "c0", ValueType::f32, false));
    EDGEATTN_ASSIGN_OR_RETURN(len, find_input(in, "lengths", ValueType::i64, false));
    const Shape& s = x->shape();
    const std::string k = kind();
    if (s.rank != 3 || s[2] != rnn_.input_size() || s[0] == 0 || s[1] == 0)
      return Status::invalid(k + ": input 'x' " + s.to_string() + " must be [B, T, " +
                             std::to_string(rnn_.input_size()) + "] with B, T >= 1");
    const Shape state{rnn_.num_layers() * rnn_.directions(), s[0], rnn_.hidden_size()};
    for (const auto& [v, name] : {std::make_pair(h0, "h0"), std::make_pair(c0, "c0")})
      if (v && v->shape() != state)
        return Status::invalid(k + ": input '" + name + "' must be " + state.to_string() +
                               ", found " + v->shape().to_string());
    if (c0 && !lstm()) return Status::invalid("gru: input 'c0' is an LSTM state");
    if (len) {
      if (len->shape() != Shape{s[0]})
        return Status::invalid(k + ": input 'lengths' must be " + Shape{s[0]}.to_string() +
                               ", found " + len->shape().to_string());
      for (std::size_t b = 0; b < s[0]; ++b)
        if (len->i64()[b] < 1 || len->i64()[b] > static_cast<std::int64_t>(s[1]))
          return Status::invalid(k + ": lengths[" + std::to_string(b) + "] = " +
                                 std::to_string(len->i64()[b]) + " is outside [1, " +
                                 std::to_string(s[1]) + "]");
    }
    std::vector<OutputSpec> out{
        {"output", ValueType::f32, Shape{s[0], s[1], rnn_.directions() * rnn_.hidden_size()}},
        {"h_n", ValueType::f32, state, true}};
    if (lstm()) out.push_back({"c_n", ValueType::f32, state, true});
    return out;
  }

  std::size_t workspace_bytes(const ValueMap& in, const Context& ctx) const override {
    const Shape& s = detail::shape_of(in, "x");
    return rnn_.workspace_bytes(s[0], s[1], ctx);
  }

  Status run(const Context& ctx, const ValueMap& in, ValueMap& out, Workspace& ws) const override {
    EDGEATTN_ASSIGN_OR_RETURN(x, find_input(in, "x", ValueType::f32, true));
    EDGEATTN_ASSIGN_OR_RETURN(h0, find_input(in, "h0", ValueType::f32, false));
    EDGEATTN_ASSIGN_OR_RETURN(c0, find_input(in, "c0", ValueType::f32, false));
    EDGEATTN_ASSIGN_OR_RETURN(len, find_input(in, "lengths", ValueType::i64, false));
    const Shape& s = x->shape();
    if (s.rank != 3) return Status::invalid(std::string(kind()) + ": input 'x' must be [B, T, I]");
    if (len && len->shape() != Shape{s[0]})
      return Status::invalid(std::string(kind()) + ": input 'lengths' must be " + Shape{s[0]}.to_string());
    EDGEATTN_RETURN_IF_ERROR(require_workspace(ws, rnn_.workspace_bytes(s[0], s[1], ctx), kind()));
    const Shape state{rnn_.num_layers() * rnn_.directions(), s[0], rnn_.hidden_size()};
    EDGEATTN_ASSIGN_OR_RETURN(
        o, find_output(out, "output", ValueType::f32, Shape{s[0], s[1], rnn_.directions() * rnn_.hidden_size()}, true));
    EDGEATTN_ASSIGN_OR_RETURN(hn, find_output(out, "h_n", ValueType::f32, state, false));
    EDGEATTN_ASSIGN_OR_RETURN(cn, find_output(out, "c_n", ValueType::f32, state, false));
    const auto view = [](const Value* v) { return v ? ConstView(v->view()) : ConstView(); };
    return rnn_.forward(ctx, x->view(), view(h0), view(c0), len ? len->i64() : nullptr, o->view(),
                        hn ? hn->view() : View(), cn ? cn->view() : View(), ws);
  }

 private:
  Rnn rnn_;
};

// One layer and direction's weights under PyTorch's keys.
Result<RnnWeights> rnn_weights(const ParamSet& p, const std::string& suffix, std::size_t gh,
                               std::size_t inputs, std::size_t h) {
  RnnWeights x;
  EDGEATTN_ASSIGN_OR_RETURN(wih, p.take("weight_ih" + suffix, Shape{gh, inputs}));
  EDGEATTN_ASSIGN_OR_RETURN(whh, p.take("weight_hh" + suffix, Shape{gh, h}));
  EDGEATTN_ASSIGN_OR_RETURN(bih, p.take("bias_ih" + suffix, Shape{gh}));
  EDGEATTN_ASSIGN_OR_RETURN(bhh, p.take("bias_hh" + suffix, Shape{gh}));
  x.weight_ih = std::move(wih), x.weight_hh = std::move(whh);
  x.bias_ih = std::move(bih), x.bias_hh = std::move(bhh);
  return x;
}

std::size_t size_of(std::int64_t v) { return static_cast<std::size_t>(v); }

Result<std::unique_ptr<Module>> make_rnn(RnnType type, const Json& config, const ParamSet& p) {
  const Config c(config, rnn_type_name(type));
  EDGEATTN_ASSIGN_OR_RETURN(in, c.positive_int("input_size"));
  EDGEATTN_ASSIGN_OR_RETURN(hid, c.positive_int("hidden_size"));
  EDGEATTN_ASSIGN_OR_RETURN(layers, c.positive_int("num_layers"));
  EDGEATTN_ASSIGN_OR_RETURN(bidi, c.boolean("bidirectional", false));
  const std::size_t h = size_of(hid), L = size_of(layers);
  const std::size_t dirs = bidi ? 2 : 1, gh = (type == RnnType::gru ? 3 : 4) * h;
  std::vector<RnnWeights> w;
  for (std::size_t l = 0; l < L; ++l)
    for (std::size_t d = 0; d < dirs; ++d) {
      const std::string suffix = "_l" + std::to_string(l) + (d ? "_reverse" : "");
      EDGEATTN_ASSIGN_OR_RETURN(x, rnn_weights(p, suffix, gh, l == 0 ? size_of(in) : dirs * h, h));
      w.push_back(std::move(x));
    }
  EDGEATTN_ASSIGN_OR_RETURN(rnn, Rnn::create(type, size_of(in), h, L, bidi, std::move(w), p.weight_type()));
  return std::unique_ptr<Module>(new RnnModule(std::move(rnn)));
}

class Seq2SeqModule final : public Module {
 public:
  const void* typed(const std::type_info& t) const override { return typed_if(t, m_); }
  explicit Seq2SeqModule(Seq2Seq m) : m_(std::move(m)) {}
  const char* kind() const override { return "seq2seq"; }
  std::size_t weight_bytes() const override { return m_.weight_bytes(); }

  Result<std::vector<OutputSpec>> check(const ValueMap& in) const override {
    EDGEATTN_ASSIGN_OR_RETURN(src, find_input(in, "src", ValueType::i64, true));
    EDGEATTN_ASSIGN_OR_RETURN(len, find_input(in, "src_lengths", ValueType::i64, false));
    const Shape& s = src->shape();
    if (s.rank != 2 || s[0] == 0 || s[1] == 0)
      return Status::invalid("seq2seq: input 'src' " + s.to_string() + " must be [B, S] with B, S >= 1");
    if (len && len->shape() != Shape{s[0]})
      return Status::invalid("seq2seq: input 'src_lengths' must be " + Shape{s[0]}.to_string() +
                             ", found " + len->shape().to_string());
    const Seq2SeqConfig& c = m_.config();
    for (std::size_t i = 0; i < s.numel(); ++i)
      if (src->i64()[i] < 0 || src->i64()[i] >= static_cast<std::int64_t>(c.src_vocab))
        return Status::invalid("seq2seq: src token " + std::to_string(src->i64()[i]) +
                               " is outside the source vocabulary [0, " + std::to_string(c.src_vocab) + ")");
    for (std::size_t b = 0; len && b < s[0]; ++b)
      if (len->i64()[b] < 1 || len->i64()[b] > static_cast<std::int64_t>(s[1]))
        return Status::invalid("seq2seq: src_lengths[" + std::to_string(b) + "] = " +
                               std::to_string(len->i64()[b]) + " is outside [1, " + std::to_string(s[1]) + "]");
    const std::size_t t = c.max_len;
    return std::vector<OutputSpec>{{"tokens", ValueType::i64, Shape{s[0], t}},
                                   {"logits", ValueType::f32, Shape{s[0], t, c.tgt_vocab}, true},
                                   {"alignments", ValueType::f32, Shape{s[0], t, s[1]}, true}};
  }

  std::size_t workspace_bytes(const ValueMap& in, const Context& ctx) const override {
    const Shape& s = detail::shape_of(in, "src");
    return m_.workspace_bytes(s[0], s[1], 1, ctx);
  }

  Status run(const Context& ctx, const ValueMap& in, ValueMap& out, Workspace& ws) const override {
    EDGEATTN_ASSIGN_OR_RETURN(src, find_input(in, "src", ValueType::i64, true));
    EDGEATTN_ASSIGN_OR_RETURN(len, find_input(in, "src_lengths", ValueType::i64, false));
    const Shape& s = src->shape();
    if (s.rank != 2 || (len && len->shape() != Shape{s[0]}))
      return Status::invalid("seq2seq: input 'src' must be [B, S] and 'src_lengths' [B]");
    EDGEATTN_RETURN_IF_ERROR(require_workspace(ws, m_.workspace_bytes(s[0], s[1], 1, ctx), kind()));
    const std::size_t t = m_.config().max_len;
    EDGEATTN_ASSIGN_OR_RETURN(tokens, find_output(out, "tokens", ValueType::i64, Shape{s[0], t}, true));
    EDGEATTN_ASSIGN_OR_RETURN(
        logits, find_output(out, "logits", ValueType::f32, Shape{s[0], t, m_.config().tgt_vocab}, false));
    EDGEATTN_ASSIGN_OR_RETURN(align, find_output(out, "alignments", ValueType::f32, Shape{s[0], t, s[1]}, false));
    return m_.greedy(ctx, src->i64(), s[0], s[1], len ? len->i64() : nullptr, t, false, tokens->i64(),
                     logits ? logits->f32() : nullptr, align ? align->f32() : nullptr, nullptr, ws);
  }

 private:
  Seq2Seq m_;
};

class ForecasterModule final : public Module {
 public:
  const void* typed(const std::type_info& t) const override { return typed_if(t, m_); }
  explicit ForecasterModule(AttentionForecaster m) : m_(std::move(m)) {}
  const char* kind() const override { return "attention_forecaster"; }
  std::size_t weight_bytes() const override { return m_.weight_bytes(); }

  Result<std::vector<OutputSpec>> check(const ValueMap& in) const override {
    EDGEATTN_ASSIGN_OR_RETURN(x, find_input(in, "x", ValueType::f32, true));
    const Shape& s = x->shape();
    if (s.rank != 3 || s[2] != m_.input_size() || s[0] == 0 || s[1] == 0)
      return Status::invalid("attention_forecaster: input 'x' " + s.to_string() + " must be [B, T, " +
                             std::to_string(m_.input_size()) + "] with B, T >= 1");
    return std::vector<OutputSpec>{{"y", ValueType::f32, Shape{s[0], m_.horizon()}},
                                   {"weights", ValueType::f32, Shape{s[0], s[1], s[1]}, true}};
  }

  std::size_t workspace_bytes(const ValueMap& in, const Context& ctx) const override {
    const Shape& s = detail::shape_of(in, "x");
    return m_.workspace_bytes(s[0], s[1], ctx);
  }

  Status run(const Context& ctx, const ValueMap& in, ValueMap& out, Workspace& ws) const override {
    EDGEATTN_ASSIGN_OR_RETURN(x, find_input(in, "x", ValueType::f32, true));
    const Shape& s = x->shape();
    if (s.rank != 3) return Status::invalid("attention_forecaster: input 'x' must be [B, T, F]");
    EDGEATTN_RETURN_IF_ERROR(require_workspace(ws, m_.workspace_bytes(s[0], s[1], ctx), kind()));
    EDGEATTN_ASSIGN_OR_RETURN(y, find_output(out, "y", ValueType::f32, Shape{s[0], m_.horizon()}, true));
    EDGEATTN_ASSIGN_OR_RETURN(w, find_output(out, "weights", ValueType::f32, Shape{s[0], s[1], s[1]}, false));
    return m_.forward(ctx, x->view(), y->view(), w ? w->view() : View(), ws);
  }

 private:
  AttentionForecaster m_;
};

}  // namespace

namespace detail {
Result<std::unique_ptr<Module>> make_gru(const Json& config, const ParamSet& p) {
  return make_rnn(RnnType::gru, config, p);
}
Result<std::unique_ptr<Module>> make_lstm(const Json& config, const ParamSet& p) {
  return make_rnn(RnnType::lstm, config, p);
}

Result<std::unique_ptr<Module>> make_seq2seq(const Json& config, const ParamSet& p) {
  const Config c(config, "seq2seq");
  Seq2SeqConfig k;
  const char* sizes[] = {"src_vocab", "tgt_vocab", "emb", "enc_hidden", "dec_hidden", "max_len"};
  std::size_t* fields[] = {&k.src_vocab, &k.tgt_vocab, &k.emb, &k.enc_hidden, &k.dec_hidden, &k.max_len};
  for (int i = 0; i < 6; ++i) {
    EDGEATTN_ASSIGN_OR_RETURN(v, c.positive_int(sizes[i]));
    *fields[i] = size_of(v);
  }
  EDGEATTN_ASSIGN_OR_RETURN(score_name, c.choice("attention", {"dot", "scaled_dot", "general", "additive"}));
  EDGEATTN_ASSIGN_OR_RETURN(score, score_from_name(score_name));
  k.attention = score;
  if (score == Score::additive) {
    EDGEATTN_ASSIGN_OR_RETURN(a, c.positive_int("attn_hidden"));
    k.attn_hidden = size_of(a);
  }
  for (const char* tok : {"bos", "eos"}) {
    const Json* v = config.find(tok);
    if (!v || !v->is_integer())
      return Status::invalid(std::string("seq2seq config '") + tok + "': missing (a target token id)");
    (std::string(tok) == "bos" ? k.bos : k.eos) = v->as_integer();
  }
  const std::size_t he2 = 2 * k.enc_hidden, hd = k.dec_hidden, e = k.emb;
  Seq2SeqWeights w;
  EDGEATTN_ASSIGN_OR_RETURN(ee, p.take("encoder.embedding.weight", Shape{k.src_vocab, e}));
  const ParamSet enc = p.subset("encoder.rnn.");
  EDGEATTN_ASSIGN_OR_RETURN(fwd, rnn_weights(enc, "_l0", 3 * k.enc_hidden, e, k.enc_hidden));
  EDGEATTN_ASSIGN_OR_RETURN(rev, rnn_weights(enc, "_l0_reverse", 3 * k.enc_hidden, e, k.enc_hidden));
  EDGEATTN_ASSIGN_OR_RETURN(bw, p.take("bridge.weight", Shape{hd, he2}));
  EDGEATTN_ASSIGN_OR_RETURN(bb, p.take("bridge.bias", Shape{hd}));
  EDGEATTN_ASSIGN_OR_RETURN(de, p.take("decoder.embedding.weight", Shape{k.tgt_vocab, e}));
  EDGEATTN_ASSIGN_OR_RETURN(att, score_weights(score, true, p.subset("decoder.attention.")));
  EDGEATTN_ASSIGN_OR_RETURN(cell, rnn_weights(p.subset("decoder.rnn."), "", 3 * hd, e + he2, hd));
  EDGEATTN_ASSIGN_OR_RETURN(ow, p.take("decoder.out.weight", Shape{k.tgt_vocab, hd + he2 + e}));
  EDGEATTN_ASSIGN_OR_RETURN(ob, p.take("decoder.out.bias", Shape{k.tgt_vocab}));
  w.enc_embedding = std::move(ee), w.enc_forward = std::move(fwd), w.enc_reverse = std::move(rev);
  w.bridge_weight = std::move(bw), w.bridge_bias = std::move(bb), w.dec_embedding = std::move(de);
  w.attention = std::move(att), w.dec_rnn = std::move(cell);
  w.out_weight = std::move(ow), w.out_bias = std::move(ob);
  EDGEATTN_ASSIGN_OR_RETURN(m, Seq2Seq::create(k, std::move(w), p.weight_type()));
  return std::unique_ptr<Module>(new Seq2SeqModule(std::move(m)));
}

Result<std::unique_ptr<Module>> make_attention_forecaster(const Json& config, const ParamSet& p) {
  const Config c(config, "attention_forecaster");
  EDGEATTN_ASSIGN_OR_RETURN(f, c.positive_int("input_size"));
  EDGEATTN_ASSIGN_OR_RETURN(h, c.positive_int("hidden_size"));
  EDGEATTN_ASSIGN_OR_RETURN(heads, c.positive_int("num_heads"));
  EDGEATTN_ASSIGN_OR_RETURN(horizon, c.positive_int("horizon"));
  const std::size_t H = size_of(h);
  AttentionForecaster::Weights w;
  EDGEATTN_ASSIGN_OR_RETURN(lstm, rnn_weights(p.subset("lstm."), "_l0", 4 * H, size_of(f), H));
  EDGEATTN_ASSIGN_OR_RETURN(ipw, p.take("attn.in_proj_weight", Shape{3 * H, H}));
  EDGEATTN_ASSIGN_OR_RETURN(ipb, p.take("attn.in_proj_bias", Shape{3 * H}));
  EDGEATTN_ASSIGN_OR_RETURN(opw, p.take("attn.out_proj.weight", Shape{H, H}));
  EDGEATTN_ASSIGN_OR_RETURN(opb, p.take("attn.out_proj.bias", Shape{H}));
  EDGEATTN_ASSIGN_OR_RETURN(hw, p.take("head.weight", Shape{size_of(horizon), 2 * H}));
  EDGEATTN_ASSIGN_OR_RETURN(hb, p.take("head.bias", Shape{size_of(horizon)}));
  w.lstm = std::move(lstm);
  w.attn.in_proj_weight = std::move(ipw), w.attn.in_proj_bias = std::move(ipb);
  w.attn.out_proj_weight = std::move(opw), w.attn.out_proj_bias = std::move(opb);
  w.head_weight = std::move(hw), w.head_bias = std::move(hb);
  EDGEATTN_ASSIGN_OR_RETURN(m, AttentionForecaster::create(size_of(f), H, size_of(heads), size_of(horizon),
                                                           std::move(w), p.weight_type()));
  return std::unique_ptr<Module>(new ForecasterModule(std::move(m)));
}
}  // namespace detail
}  // namespace edgeattn
