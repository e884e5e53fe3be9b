#include "module_gen.h"

namespace edgeattn::test {

std::size_t ModuleGen::pick(std::initializer_list<std::size_t> v) {
  std::uniform_int_distribution<std::size_t> d(0, v.size() - 1);
  return v.begin()[d(rng_)];
}

void ModuleGen::param(ParamSet& p, const std::string& key, const Shape& s, float lo, float hi) {
  Tensor t = Tensor::zeros(s).value();
  std::uniform_real_distribution<float> d(lo, hi);
  for (std::size_t i = 0; i < t.numel(); ++i) t.data()[i] = d(rng_);
  p.add(key, std::move(t));
}

Value ModuleGen::floats(const Shape& s) {
  Value v = Value::zeros(ValueType::f32, s).value();
  std::uniform_real_distribution<float> d(-2.0f, 2.0f);
  for (std::size_t i = 0; i < s.numel(); ++i) v.f32()[i] = d(rng_);
  return v;
}

Value ModuleGen::lengths(std::size_t batch, std::size_t max) {
  Value v = Value::zeros(ValueType::i64, Shape{batch}).value();
  std::uniform_int_distribution<std::int64_t> d(1, static_cast<std::int64_t>(max));
  for (std::size_t b = 0; b < batch; ++b) v.i64()[b] = d(rng_);
  v.i64()[0] = static_cast<std::int64_t>(max);  // one sequence is whole
  return v;
}

void ModuleGen::batch_norm(ParamSet& p, const std::string& prefix, std::size_t c) {
  param(p, prefix + "weight", Shape{c});
  param(p, prefix + "bias", Shape{c});
  param(p, prefix + "running_mean", Shape{c});
  param(p, prefix + "running_var", Shape{c}, 0.5f, 1.5f);
}

void ModuleGen::score(ParamSet& p, const std::string& prefix, const std::string& score,
                      std::size_t dq, std::size_t dk, std::size_t a, bool bias) {
  if (score == "general") param(p, prefix + "linear_in.weight", Shape{dk, dq});
  if (score != "additive") return;
  param(p, prefix + "query_proj.weight", Shape{a, dq});
  if (bias) param(p, prefix + "query_proj.bias", Shape{a});
  param(p, prefix + "key_proj.weight", Shape{a, dk});
  param(p, prefix + "v.weight", Shape{1, a});
}

void ModuleGen::rnn(ParamSet& p, const std::string& prefix, std::size_t gates, std::size_t in,
                    std::size_t h, std::size_t layers, bool bidi) {
  for (std::size_t l = 0; l < layers; ++l)
    for (int d = 0; d < (bidi ? 2 : 1); ++d) {
      const std::string s = "_l" + std::to_string(l) + (d ? "_reverse" : "");
      param(p, prefix + "weight_ih" + s, Shape{gates * h, l == 0 ? in : (bidi ? 2 : 1) * h});
      param(p, prefix + "weight_hh" + s, Shape{gates * h, h});
      param(p, prefix + "bias_ih" + s, Shape{gates * h});
      param(p, prefix + "bias_hh" + s, Shape{gates * h});
    }
}

ModuleCase ModuleGen::attention(const std::string& kind) {
  ModuleCase m;
  const char* scores[] = {"dot", "scaled_dot", "general", "additive"};
  const std::string sc = scores[pick({0, 1, 2, 3})];
  const bool bias = coin();
  const std::size_t b = pick({1, 3}), lq = pick({1, 2, 7, 17}), lk = pick({1, 5, 13, 37});
  const std::size_t dq = pick({1, 3, 8, 19}), dv = pick({1, 4, 11});
  const std::size_t dk = sc == "dot" || sc == "scaled_dot" ? dq : pick({2, 5, 16});
  m.config = "{\"score\": \"" + sc + "\", \"bias\": " + (bias ? "true" : "false") + "}";
  score(m.params, "", sc, dq, dk, pick({1, 6, 9}), bias);
  m.inputs["query"] = floats(Shape{b, lq, dq});
  m.inputs["keys"] = floats(Shape{b, lk, dk});
  m.inputs["values"] = floats(Shape{b, lk, dv});
  if (coin()) {
    Value mask = Value::zeros(ValueType::mask, Shape{b, coin() ? lq : 1, lk}).value();
    for (std::size_t i = 0; i < mask.shape().numel(); ++i) mask.mask()[i] = pick({0, 1, 1});
    m.inputs["mask"] = std::move(mask);
  }
  m.kind = kind;
  return m;
}

ModuleCase ModuleGen::multihead() {
  ModuleCase m;
  const std::size_t h = pick({1, 2, 3}), e = h * pick({1, 3, 5}), b = pick({1, 3});
  const bool causal = coin();
  const std::size_t lq = pick({1, 4, 9}), lk = causal ? lq : pick({1, 6, 13});
  m.config = "{\"embed_dim\": " + std::to_string(e) + ", \"num_heads\": " + std::to_string(h) +
             ", \"causal\": " + (causal ? "true" : "false") + "}";
  param(m.params, "in_proj_weight", Shape{3 * e, e});
  param(m.params, "in_proj_bias", Shape{3 * e});
  param(m.params, "out_proj.weight", Shape{e, e});
  param(m.params, "out_proj.bias", Shape{e});
  m.inputs["query"] = floats(Shape{b, lq, e});
  m.inputs["key"] = floats(Shape{b, lk, e});
  m.inputs["value"] = floats(Shape{b, lk, e});
  if (coin()) {
    Value kpm = Value::zeros(ValueType::mask, Shape{b, lk}).value();
    for (std::size_t i = 1; i < b * lk; ++i) kpm.mask()[i] = pick({0, 0, 1});
    m.inputs["key_padding_mask"] = std::move(kpm);
  }
  m.kind = "multihead_attention";
  return m;
}

ModuleCase ModuleGen::vision(const std::string& kind) {
  ModuleCase m;
  const std::size_t maps[][2] = {{1, 1}, {1, 9}, {13, 10}, {7, 9}, {3, 5}, {11, 1}, {4, 4}};
  const auto& hw = maps[pick({0, 1, 2, 3, 4, 5, 6})];
  const std::size_t b = pick({1, 3});
  std::size_t c = pick({1, 5, 8, 13, 20});
  const std::size_t r = pick({1, 2, 3}), k = pick({1, 3, 5, 7});
  const std::string cs = std::to_string(c), rs = std::to_string(r), ks = std::to_string(k);
  ParamSet& p = m.params;
  const auto mlp = [&](const std::string& prefix, bool bias) {
    param(p, prefix + "fc1.weight", Shape{r, c, 1, 1});
    param(p, prefix + "fc2.weight", Shape{c, r, 1, 1});
    if (bias) param(p, prefix + "fc1.bias", Shape{r}), param(p, prefix + "fc2.bias", Shape{c});
  };
  const auto spatial = [&](const std::string& prefix) {
    param(p, prefix + "conv.conv.weight", Shape{1, 2, k, k});
    batch_norm(p, prefix + "conv.bn.", 1);
  };
  if (kind == "se") {
    m.config = "{\"channels\": " + cs + ", \"rd_channels\": " + rs + ", \"act\": \"" +
               (coin() ? "silu" : "relu") + "\", \"gate\": \"" + (coin() ? "hard_sigmoid" : "sigmoid") + "\"}";
    mlp("", true);
  } else if (kind == "eca") {
    m.config = "{\"channels\": " + cs + ", \"kernel_size\": " + ks + "}";
    param(p, "conv.weight", Shape{1, 1, k});
  } else if (kind == "cbam_channel" || kind == "cbam") {
    const bool bias = coin();
    const std::string flag = std::string(", \"mlp_bias\": ") + (bias ? "true" : "false");
    m.config = "{\"channels\": " + cs + ", \"rd_channels\": " + rs + flag +
               (kind == "cbam" ? ", \"kernel_size\": " + ks : "") + "}";
    mlp(kind == "cbam" ? "channel." : "", bias);
    if (kind == "cbam") spatial("spatial.");
  } else if (kind == "cbam_spatial") {
    m.config = "{\"kernel_size\": " + ks + "}";
    spatial("");
  } else if (kind == "non_local") {
    m.config = "{\"channels\": " + cs + ", \"rd_channels\": " + rs + ", \"use_scale\": " +
               (coin() ? "true" : "false") + "}";
    for (const char* part : {"t.", "p.", "g."})
      param(p, std::string(part) + "weight", Shape{r, c, 1, 1}), param(p, std::string(part) + "bias", Shape{r});
    param(p, "z.weight", Shape{c, r, 1, 1});
    param(p, "z.bias", Shape{c});
    batch_norm(p, "norm.", c);
  } else if (kind == "sagan_attention") {
    c = pick({8, 16, 19});
    const std::size_t q = c / 8;
    m.config = "{\"channels\": " + std::to_string(c) + "}";
    for (const char* part : {"query_conv.", "key_conv."})
      param(p, std::string(part) + "weight", Shape{q, c, 1, 1}), param(p, std::string(part) + "bias", Shape{q});
    param(p, "value_conv.weight", Shape{c, c, 1, 1});
    param(p, "value_conv.bias", Shape{c});
    param(p, "gamma", Shape{1});
  } else {
    return m;
  }
  m.inputs["x"] = floats(Shape{b, c, hw[0], hw[1]});
  m.kind = kind;
  return m;
}

ModuleCase ModuleGen::recurrent(const std::string& kind) {
  ModuleCase m;
  const bool lstm = kind == "lstm", bidi = coin();
  const std::size_t in = pick({1, 3, 7}), h = pick({1, 5, 16}), layers = pick({1, 2});
  const std::size_t b = pick({1, 3}), t = pick({1, 2, 9});
  m.config = "{\"input_size\": " + std::to_string(in) + ", \"hidden_size\": " + std::to_string(h) +
             ", \"num_layers\": " + std::to_string(layers) + ", \"bidirectional\": " +
             (bidi ? "true" : "false") + "}";
  rnn(m.params, "", lstm ? 4 : 3, in, h, layers, bidi);
  m.inputs["x"] = floats(Shape{b, t, in});
  const Shape state{layers * (bidi ? 2 : 1), b, h};
  if (coin()) {
    m.inputs["h0"] = floats(state);
    if (lstm) m.inputs["c0"] = floats(state);
  }
  if (coin()) m.inputs["lengths"] = lengths(b, t);
  m.kind = kind;
  return m;
}

ModuleCase ModuleGen::seq2seq() {
  ModuleCase m;
  const char* scores[] = {"dot", "scaled_dot", "general", "additive"};
  const std::string sc = scores[pick({0, 1, 2, 3})];
  const std::size_t vs = pick({3, 11}), vt = pick({4, 9}), e = pick({1, 5}), he = pick({1, 3, 4});
  const std::size_t hd = sc == "dot" || sc == "scaled_dot" ? 2 * he : pick({2, 7}), a = pick({1, 5});
  const std::size_t b = pick({1, 3}), s = pick({1, 2, 6}), t = pick({1, 4});
  m.config = "{\"src_vocab\": " + std::to_string(vs) + ", \"tgt_vocab\": " + std::to_string(vt) +
             ", \"emb\": " + std::to_string(e) + ", \"enc_hidden\": " + std::to_string(he) +
             ", \"dec_hidden\": " + std::to_string(hd) + ", \"attention\": \"" + sc +
             "\", \"attn_hidden\": " + std::to_string(a) + ", \"bos\": 1, \"eos\": 2, \"max_len\": " +
             std::to_string(t) + "}";
  ParamSet& p = m.params;
  param(p, "encoder.embedding.weight", Shape{vs, e});
  rnn(p, "encoder.rnn.", 3, e, he, 1, true);
  param(p, "bridge.weight", Shape{hd, 2 * he});
  param(p, "bridge.bias", Shape{hd});
  param(p, "decoder.embedding.weight", Shape{vt, e});
  score(p, "decoder.attention.", sc, hd, 2 * he, a, true);
  param(p, "decoder.rnn.weight_ih", Shape{3 * hd, e + 2 * he});
  param(p, "decoder.rnn.weight_hh", Shape{3 * hd, hd});
  param(p, "decoder.rnn.bias_ih", Shape{3 * hd});
  param(p, "decoder.rnn.bias_hh", Shape{3 * hd});
  param(p, "decoder.out.weight", Shape{vt, hd + 2 * he + e});
  param(p, "decoder.out.bias", Shape{vt});
  Value src = Value::zeros(ValueType::i64, Shape{b, s}).value();
  for (std::size_t i = 0; i < b * s; ++i) src.i64()[i] = static_cast<std::int64_t>(pick({0, 1, 2}) % vs);
  m.inputs["src"] = std::move(src);
  if (coin()) m.inputs["src_lengths"] = lengths(b, s);
  m.kind = "seq2seq";
  return m;
}

ModuleCase ModuleGen::forecaster() {
  ModuleCase m;
  const std::size_t f = pick({1, 3}), heads = pick({1, 2}), h = heads * pick({2, 5}), horizon = pick({1, 4});
  const std::size_t b = pick({1, 3}), t = pick({1, 6, 13});
  m.config = "{\"input_size\": " + std::to_string(f) + ", \"hidden_size\": " + std::to_string(h) +
             ", \"num_heads\": " + std::to_string(heads) + ", \"horizon\": " + std::to_string(horizon) + "}";
  ParamSet& p = m.params;
  rnn(p, "lstm.", 4, f, h, 1, false);
  param(p, "attn.in_proj_weight", Shape{3 * h, h});
  param(p, "attn.in_proj_bias", Shape{3 * h});
  param(p, "attn.out_proj.weight", Shape{h, h});
  param(p, "attn.out_proj.bias", Shape{h});
  param(p, "head.weight", Shape{horizon, 2 * h});
  param(p, "head.bias", Shape{horizon});
  m.inputs["x"] = floats(Shape{b, t, f});
  m.kind = "attention_forecaster";
  return m;
}

ModuleCase ModuleGen::make(const std::string& kind) {
  if (kind == "soft_attention" || kind == "hard_attention") return attention(kind);
  if (kind == "multihead_attention") return multihead();
  if (kind == "gru" || kind == "lstm") return recurrent(kind);
  if (kind == "seq2seq") return seq2seq();
  if (kind == "attention_forecaster") return forecaster();
  return vision(kind);
}

}  // namespace edgeattn::test
