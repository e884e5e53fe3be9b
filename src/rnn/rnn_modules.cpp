// Registry entries gru and lstm: PyTorch's config and state_dict keys
// (weight_ih_l{k}[_reverse], ...), adapted to Module. Inputs x, optional
// h0 (and c0), optional lengths (int64); outputs output, h_n (and c_n).
#include "../registry.h"
#include "edgeattn/rnn.h"

namespace edgeattn {
namespace {

class RnnModule final : public Module {
 public:
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
        {"h_n", ValueType::f32, state}};
    if (lstm()) out.push_back({"c_n", ValueType::f32, state});
    return out;
  }

  std::size_t workspace_bytes(const ValueMap& in, const Context& ctx) const override {
    const Shape& s = in.at("x").shape();
    return rnn_.workspace_bytes(s[0], s[1], ctx);
  }

  Status run(const Context& ctx, const ValueMap& in, ValueMap& out, Workspace& ws) const override {
    const auto view = [&](const char* name) {
      const auto it = in.find(name);
      return it == in.end() ? ConstView() : ConstView(it->second.view());
    };
    const auto len = in.find("lengths");
    const Value* o = find_output(out, "output");
    if (!o) return Status::invalid(std::string(kind()) + ": output 'output' is required");
    const Value* hn = find_output(out, "h_n");
    const Value* cn = find_output(out, "c_n");
    return rnn_.forward(ctx, in.at("x").view(), view("h0"), view("c0"),
                        len == in.end() ? nullptr : len->second.i64(), o->view(),
                        hn ? hn->view() : View(), cn ? cn->view() : View(), ws);
  }

 private:
  Rnn rnn_;
};

Result<std::unique_ptr<Module>> make_rnn(RnnType type, const Json& config, const ParamSet& p) {
  const Config c(config, rnn_type_name(type));
  EDGEATTN_ASSIGN_OR_RETURN(in, c.positive_int("input_size"));
  EDGEATTN_ASSIGN_OR_RETURN(hid, c.positive_int("hidden_size"));
  EDGEATTN_ASSIGN_OR_RETURN(layers, c.positive_int("num_layers"));
  EDGEATTN_ASSIGN_OR_RETURN(bidi, c.boolean("bidirectional", false));
  const std::size_t h = static_cast<std::size_t>(hid), L = static_cast<std::size_t>(layers);
  const std::size_t dirs = bidi ? 2 : 1, gh = (type == RnnType::gru ? 3 : 4) * h;
  std::vector<RnnWeights> w;
  for (std::size_t l = 0; l < L; ++l)
    for (std::size_t d = 0; d < dirs; ++d) {
      const std::string suffix = "_l" + std::to_string(l) + (d ? "_reverse" : "");
      const std::size_t inputs = l == 0 ? static_cast<std::size_t>(in) : dirs * h;
      RnnWeights x;
      EDGEATTN_ASSIGN_OR_RETURN(wih, p.take("weight_ih" + suffix, Shape{gh, inputs}));
      EDGEATTN_ASSIGN_OR_RETURN(whh, p.take("weight_hh" + suffix, Shape{gh, h}));
      EDGEATTN_ASSIGN_OR_RETURN(bih, p.take("bias_ih" + suffix, Shape{gh}));
      EDGEATTN_ASSIGN_OR_RETURN(bhh, p.take("bias_hh" + suffix, Shape{gh}));
      x.weight_ih = std::move(wih), x.weight_hh = std::move(whh);
      x.bias_ih = std::move(bih), x.bias_hh = std::move(bhh);
      w.push_back(std::move(x));
    }
  EDGEATTN_ASSIGN_OR_RETURN(rnn, Rnn::create(type, static_cast<std::size_t>(in), h, L, bidi, std::move(w)));
  return std::unique_ptr<Module>(new RnnModule(std::move(rnn)));
}

}  // namespace

namespace detail {
Result<std::unique_ptr<Module>> make_gru(const Json& config, const ParamSet& p) {
  return make_rnn(RnnType::gru, config, p);
}
Result<std::unique_ptr<Module>> make_lstm(const Json& config, const ParamSet& p) {
  return make_rnn(RnnType::lstm, config, p);
}
}  // namespace detail
}  // namespace edgeattn
