// A registry module (docs/modules.md) as a node: the node's inputs and
// outputs are the module's named ones ("input_names", "output_names"); a
// required output the graph does not read still gets a buffer of its own.
#include <algorithm>

#include "../scratch.h"
#include "ops_common.h"

namespace edgeattn::graph {
namespace {

struct ModuleState final : NodeState {
  ValueMap in, out;
  std::vector<Value*> in_ptr, out_ptr;  // in the node's order
  std::vector<Value*> unread;           // required outputs no node reads: workspace
};

class ModuleOp final : public Op {
 public:
  ModuleOp(std::unique_ptr<Module> m, std::vector<std::string> in, std::vector<std::string> out)
      : m_(std::move(m)), in_names_(std::move(in)), out_names_(std::move(out)) {}

  Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                        const ShapeEnv&) const override {
    EDGEATTN_ASSIGN_OR_RETURN(specs, m_->check(shapes_only(in)));
    std::vector<TensorType> out;
    for (const std::string& name : out_names_) {
      const OutputSpec* s = find(specs, name);
      if (!s) return Status::invalid("module " + std::string(m_->kind()) + " has no output '" + name + "'");
      out.push_back({s->type, s->shape});
    }
    return out;
  }
  // The module's own scratch, after buffers for the required outputs the
  // graph does not read.
  std::size_t workspace_bytes(const std::vector<TensorType>& in, const Context& ctx) const override {
    const ValueMap values = shapes_only(in);
    Result<std::vector<OutputSpec>> specs = m_->check(values);
    if (!specs.ok()) return 0;
    std::size_t bytes = 0;
    for (const OutputSpec& s : specs.value())
      if (unread(s)) bytes = detail::sat_add(bytes, unread_bytes(s));
    return detail::sat_add(bytes, m_->workspace_bytes(values, ctx));
  }
  std::size_t weight_bytes() const override { return m_->weight_bytes(); }
  const Module* module() const override { return m_.get(); }

  Result<std::unique_ptr<NodeState>> bind(const std::vector<TensorType>& in,
                                          const std::vector<TensorType>&) const override {
    auto st = std::make_unique<ModuleState>();
    st->in = shapes_only(in);
    for (const std::string& name : in_names_) st->in_ptr.push_back(&st->in.find(name)->second);
    EDGEATTN_ASSIGN_OR_RETURN(specs, m_->check(st->in));
    for (const OutputSpec& s : specs) {
      if (!unread(s) && !is_read(s)) continue;
      st->out[s.name] = Value::wrap(s.type, s.shape, nullptr);
      if (unread(s)) st->unread.push_back(&st->out[s.name]);
    }
    for (const std::string& name : out_names_) st->out_ptr.push_back(&st->out.find(name)->second);
    return std::unique_ptr<NodeState>(std::move(st));
  }

  Status run(const Context& ctx, const Slot* in, const Slot* out, Workspace& ws,
             NodeState* state) const override {
    auto& st = static_cast<ModuleState&>(*state);
    for (std::size_t i = 0; i < st.in_ptr.size(); ++i) st.in_ptr[i]->set_data(in[i].data);
    for (std::size_t o = 0; o < st.out_ptr.size(); ++o) st.out_ptr[o]->set_data(out[o].data);
    for (Value* v : st.unread) {
      void* p = ws.take_bytes(unread_bytes({"", v->type(), v->shape(), false}));
      if (!p) return {StatusCode::out_of_memory, "workspace too small for the module's unread outputs"};
      v->set_data(p);
    }
    return m_->run(ctx, st.in, st.out, ws);
  }

 private:
  ValueMap shapes_only(const std::vector<TensorType>& in) const {
    ValueMap m;
    for (std::size_t i = 0; i < in.size(); ++i)
      m[in_names_[i]] = Value::wrap(in[i].type, in[i].shape, nullptr);
    return m;
  }
  bool is_read(const OutputSpec& s) const {
    return std::find(out_names_.begin(), out_names_.end(), s.name) != out_names_.end();
  }
  bool unread(const OutputSpec& s) const { return !s.on_request && !is_read(s); }
  static std::size_t unread_bytes(const OutputSpec& s) {
    return workspace_bytes_for<unsigned char>(detail::sat_mul(s.shape.numel(), value_type_size(s.type)));
  }
  static const OutputSpec* find(const std::vector<OutputSpec>& specs, const std::string& name) {
    for (const OutputSpec& s : specs)
      if (s.name == name) return &s;
    return nullptr;
  }
  std::unique_ptr<Module> m_;
  std::vector<std::string> in_names_, out_names_;
};

}  // namespace

Result<std::unique_ptr<Op>> make_module(const std::string& kind, const OpArgs& args) {
  const std::vector<std::string> known = module_names();
  if (std::find(known.begin(), known.end(), kind) == known.end()) {
    std::string list;
    for (const std::string& n : op_names()) list += (list.empty() ? "" : ", ") + n;
    return Status::invalid("unknown op '" + kind + "' (known: " + list + ")");
  }
  if (args.input_names.size() != args.num_inputs || args.output_names.size() != args.num_outputs)
    return Status::invalid("a module node names each input and output: 'input_names' and "
                           "'output_names' must match 'inputs' and 'outputs'");
  for (std::size_t i = 0; i < args.input_names.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (args.input_names[i] == args.input_names[j])
        return Status::invalid("input name '" + args.input_names[i] + "' is given twice");
  EDGEATTN_ASSIGN_OR_RETURN(m, create_module(kind, args.config.json(), args.params));
  return std::unique_ptr<Op>(
      std::make_unique<ModuleOp>(std::move(m), args.input_names, args.output_names));
}

}  // namespace edgeattn::graph
