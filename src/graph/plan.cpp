// Planning and running a model: shapes inferred node by node, every
// intermediate value given a place in one arena by liveness (values whose
// lifetimes do not overlap share memory), then runs that only move
// pointers.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "../parallel.h"
#include "../scratch.h"
#include "model_impl.h"

namespace edgeattn {

using graph::Slot;
using graph::TensorType;

struct ModelPlan::Impl {
  const Model::Impl* model = nullptr;
  std::map<std::string, Shape> input_shapes;
  int threads = 1;
  std::vector<TensorType> types;         // by value
  std::vector<std::size_t> root;         // the value whose memory a value uses
  std::vector<std::size_t> offset;       // arena offset of a root (inputs: unused)
  std::vector<std::unique_ptr<graph::NodeState>> states;
  std::vector<Slot> slots;               // by value, pointers set per run
  std::vector<std::vector<Slot>> node_in, node_out;
  std::vector<OutputSpec> outputs;
  std::size_t arena = 0, activations = 0, node_scratch = 0;
  double flops = 0;
  bool timing = false;
  std::vector<double> times;
  std::vector<std::string> kinds;        // per node: op, refined by Op::kind
  std::vector<double> node_flops;
};

namespace {

// No value of a plan may hold more (256 GiB of floats): sizes stay far from
// overflow in every byte count, and a hostile file's shapes are refused here.
constexpr std::uint64_t kMaxValueElements = std::uint64_t(1) << 36;

// The elements of a shape, saturating (Shape::numel() would wrap on a
// 32-bit board for hostile sizes).
std::uint64_t elements(const Shape& s) {
  std::uint64_t n = 1;
  for (int d = 0; d < s.rank; ++d) n = s[d] && n > kMaxValueElements / s[d] ? kMaxValueElements + 1 : n * s[d];
  return n;
}

std::size_t bytes_of(const TensorType& t) {
  const std::size_t n = t.shape.numel(), e = value_type_size(t.type);
  return n > SIZE_MAX / e ? SIZE_MAX : n * e;
}

// The input shapes against the specs: every input given, each dimension its
// fixed size, each symbol one size throughout.
Status check_inputs(const Model::Impl& m, const std::map<std::string, Shape>& shapes) {
  std::map<std::string, std::size_t> symbols;
  for (const auto& [name, s] : shapes) {
    bool known = false;
    for (const InputSpec& in : m.inputs) known |= in.name == name;
    if (!known) return Status::invalid(m.file + ": the model has no input '" + name + "'");
  }
  for (const InputSpec& in : m.inputs) {
    const auto it = shapes.find(in.name);
    if (it == shapes.end()) return Status::invalid(m.file + ": input '" + in.name + "' is missing");
    const Shape& s = it->second;
    std::string want = "[";
    for (std::size_t d = 0; d < in.shape.size(); ++d)
      want += (d ? ", " : "") + (in.shape[d].symbol.empty() ? std::to_string(in.shape[d].size)
                                                            : in.shape[d].symbol);
    want += "]";
    const auto mismatch = [&](const std::string& why) {
      return Status::invalid(m.file + ": input '" + in.name + "' is " + s.to_string() +
                             ", the model takes " + want + why);
    };
    if (s.rank != static_cast<int>(in.shape.size())) return mismatch("");
    for (int d = 0; d < s.rank; ++d) {
      const Dim& dim = in.shape[static_cast<std::size_t>(d)];
      if (s[d] == 0) return mismatch(" (no dimension may be 0)");
      if (dim.symbol.empty()) {
        if (s[d] != dim.size) return mismatch("");
        continue;
      }
      const auto [sym, fresh] = symbols.emplace(dim.symbol, s[d]);
      if (!fresh && sym->second != s[d])
        return mismatch(" ('" + dim.symbol + "' is " + std::to_string(sym->second) + " elsewhere)");
    }
  }
  return {};
}

// First-fit by decreasing size: each buffer goes at the lowest offset where
// it overlaps no placed buffer that is alive at the same time.
struct Buffer {
  std::size_t value, bytes, first, last;
};
std::size_t place(std::vector<Buffer>& buffers, std::vector<std::size_t>& offset) {
  std::sort(buffers.begin(), buffers.end(),
            [](const Buffer& a, const Buffer& b) { return a.bytes > b.bytes || (a.bytes == b.bytes && a.value < b.value); });
  std::vector<const Buffer*> placed;
  std::size_t top = 0;
  for (const Buffer& b : buffers) {
    std::vector<std::pair<std::size_t, std::size_t>> taken;
    for (const Buffer* p : placed)
      if (p->first <= b.last && b.first <= p->last)
        taken.emplace_back(offset[p->value], offset[p->value] + p->bytes);
    std::sort(taken.begin(), taken.end());
    std::size_t at = 0;
    for (const auto& [lo, hi] : taken) {
      if (at + b.bytes <= lo) break;
      at = std::max(at, hi);
    }
    offset[b.value] = at;
    top = std::max(top, detail::sat_add(at, b.bytes));
    placed.push_back(&b);
  }
  return top;
}

}  // namespace

Result<ModelPlan> Model::plan(const std::map<std::string, Shape>& input_shapes,
                              const Context& ctx) const {
  const Impl& m = *impl_;
  EDGEATTN_RETURN_IF_ERROR(check_inputs(m, input_shapes));
  ModelPlan plan;
  ModelPlan::Impl& p = *plan.impl_;
  p.model = &m;
  p.input_shapes = input_shapes;
  p.threads = resolve_threads(ctx);
  const std::size_t nv = m.value_names.size(), nn = m.nodes.size();
  p.types.resize(nv);
  p.root.resize(nv);
  for (std::size_t v = 0; v < nv; ++v) p.root[v] = v;
  for (std::size_t i = 0; i < m.inputs.size(); ++i) {
    p.types[i] = {m.inputs[i].type, input_shapes.at(m.inputs[i].name)};
    if (elements(p.types[i].shape) * value_type_size(p.types[i].type) > SIZE_MAX)
      return Status(StatusCode::out_of_memory, m.file + ": input '" + m.inputs[i].name + "' " +
                                                   p.types[i].shape.to_string() + " is too large");
  }

  // Shapes, node by node; then each value's last reader.
  const graph::ShapeEnv env(p.types);
  std::vector<std::size_t> last(nv, 0);
  for (std::size_t k = 0; k < nn; ++k) {
    const Impl::Node& n = m.nodes[k];
    std::vector<TensorType> in;
    for (std::size_t v : n.inputs) in.push_back(p.types[v]), last[v] = k;
    Result<std::vector<TensorType>> out = n.impl->infer(in, env);
    if (!out.ok()) {
      const std::string& msg = out.status().message();
      return Status(out.status().code(), m.file + ": " + (msg.compare(0, 5, "node ") == 0 ? msg : n.where() + ": " + msg));
    }
    if (out->size() != n.outputs.size())
      return Status::invalid(m.file + ": " + n.where() + " makes " + std::to_string(out->size()) +
                             " values, the file names " + std::to_string(n.outputs.size()));
    for (std::size_t o = 0; o < out->size(); ++o) {
      const Shape& s = out.value()[o].shape;
      if (elements(s) > kMaxValueElements || elements(s) * value_type_size(out.value()[o].type) > SIZE_MAX)
        return Status(StatusCode::out_of_memory, m.file + ": " + n.where() + " makes a value of shape " +
                                                     s.to_string() + ", more than 2^36 elements");
      p.types[n.outputs[o]] = out.value()[o];
    }
    p.node_scratch = std::max(p.node_scratch, n.impl->workspace_bytes(in, ctx));
  }
  for (const auto& [name, v] : m.outputs) last[v] = nn;  // copied out after the last node

  // Memory: views and in-place outputs share their input's; the rest get
  // arena buffers alive from their maker to their last reader.
  const std::size_t ni = m.inputs.size();
  std::vector<std::size_t> maker(nv, 0), root_last(last);
  for (std::size_t k = 0; k < nn; ++k) {
    const Impl::Node& n = m.nodes[k];
    for (std::size_t v : n.outputs) maker[v] = k;
    if (n.inputs.empty()) continue;
    const std::size_t in0 = n.inputs[0], out0 = n.outputs[0], r = p.root[in0];
    const bool view = n.impl->is_view();
    const bool reuse = n.impl->in_place() && r >= ni && root_last[r] == k &&
                       bytes_of(p.types[in0]) == bytes_of(p.types[out0]) &&
                       p.types[in0].type == p.types[out0].type;
    if (view || reuse) {
      p.root[out0] = r;
      root_last[r] = std::max(root_last[r], last[out0]);
    }
  }
  std::vector<Buffer> buffers;
  for (std::size_t v = ni; v < nv; ++v) {
    p.activations = detail::sat_add(p.activations, detail::aligned_bytes(bytes_of(p.types[v])));
    if (p.root[v] == v)
      buffers.push_back({v, detail::aligned_bytes(bytes_of(p.types[v])), maker[v], root_last[v]});
  }
  p.offset.assign(nv, 0);
  p.arena = place(buffers, p.offset);

  // Node states, and the slots every run re-points.
  p.slots.resize(nv);
  for (std::size_t v = 0; v < nv; ++v) p.slots[v] = {p.types[v].type, p.types[v].shape, nullptr};
  for (const Impl::Node& n : m.nodes) {
    std::vector<TensorType> in, out;
    for (std::size_t v : n.inputs) in.push_back(p.types[v]);
    for (std::size_t v : n.outputs) out.push_back(p.types[v]);
    p.node_flops.push_back(n.impl->flops(in, out));
    p.flops += p.node_flops.back();
    const std::string kind = n.impl->kind(in);
    p.kinds.push_back(kind.empty() ? n.op : n.op + " " + kind);
    EDGEATTN_ASSIGN_OR_RETURN(state, n.impl->bind(in, out));
    p.states.push_back(std::move(state));
    p.node_in.emplace_back(n.inputs.size());
    p.node_out.emplace_back(n.outputs.size());
  }
  for (const auto& [name, v] : m.outputs)
    p.outputs.push_back({name, p.types[v].type, p.types[v].shape, false});
  p.times.assign(nn, 0.0);
  return plan;
}

ModelPlan::ModelPlan() : impl_(std::make_unique<Impl>()) {}
ModelPlan::~ModelPlan() = default;
ModelPlan::ModelPlan(ModelPlan&&) noexcept = default;
ModelPlan& ModelPlan::operator=(ModelPlan&&) noexcept = default;

const std::map<std::string, Shape>& ModelPlan::input_shapes() const { return impl_->input_shapes; }
const std::vector<OutputSpec>& ModelPlan::outputs() const { return impl_->outputs; }
std::size_t ModelPlan::arena_bytes() const { return impl_->arena; }
std::size_t ModelPlan::activation_bytes() const { return impl_->activations; }
double ModelPlan::flops() const { return impl_->flops; }
std::size_t ModelPlan::workspace_bytes() const {
  return detail::sat_add(detail::aligned_bytes(impl_->arena), impl_->node_scratch);
}
void ModelPlan::set_timing(bool on) { impl_->timing = on; }

std::vector<ModelPlan::NodeTime> ModelPlan::node_times() const {
  std::vector<NodeTime> out;
  for (std::size_t k = 0; k < impl_->model->nodes.size(); ++k)
    out.push_back({impl_->kinds[k], impl_->model->nodes[k].name, impl_->times[k], impl_->node_flops[k]});
  return out;
}

Status ModelPlan::run(const Context& ctx, const ValueMap& inputs, ValueMap& outputs,
                      Workspace& ws) {
  Impl& p = *impl_;
  const Model::Impl& m = *p.model;
  EDGEATTN_RETURN_IF_ERROR(require_workspace(ws, workspace_bytes(), "model"));
  for (std::size_t i = 0; i < m.inputs.size(); ++i) {
    EDGEATTN_ASSIGN_OR_RETURN(in, find_input(inputs, m.inputs[i].name, m.inputs[i].type, true));
    if (in->shape() != p.types[i].shape)
      return Status::invalid("input '" + m.inputs[i].name + "' is " + in->shape().to_string() +
                             ", planned for " + p.types[i].shape.to_string());
    p.slots[i].data = in->data();
  }
  for (const OutputSpec& o : p.outputs)
    EDGEATTN_RETURN_IF_ERROR(find_output(outputs, o.name, o.type, o.shape, true).status());
  const std::size_t mark = ws.used();
  unsigned char* arena = static_cast<unsigned char*>(ws.take_bytes(p.arena));
  const std::size_t ni = m.inputs.size();
  for (std::size_t v = ni; v < p.slots.size(); ++v) {
    const std::size_t r = p.root[v];
    p.slots[v].data = r < ni ? p.slots[r].data : arena + p.offset[r];
  }
  Status st;
  for (std::size_t k = 0; k < m.nodes.size() && st.ok(); ++k) {
    const Model::Impl::Node& n = m.nodes[k];
    if (n.impl->is_view()) continue;
    for (std::size_t i = 0; i < n.inputs.size(); ++i) p.node_in[k][i] = p.slots[n.inputs[i]];
    for (std::size_t o = 0; o < n.outputs.size(); ++o) p.node_out[k][o] = p.slots[n.outputs[o]];
    const std::int64_t t0 = p.timing ? detail::steady_ns() : 0;
    const std::size_t node_mark = ws.used();
    st = n.impl->run(ctx, p.node_in[k].data(), p.node_out[k].data(), ws, p.states[k].get());
    ws.rewind(node_mark);
    if (p.timing) p.times[k] = double(detail::steady_ns() - t0);
    if (!st.ok()) st = Status(st.code(), n.where() + ": " + st.message());
  }
  for (std::size_t o = 0; o < m.outputs.size() && st.ok(); ++o) {
    const Slot& s = p.slots[m.outputs[o].second];
    Value& out = outputs.find(m.outputs[o].first)->second;
    const std::size_t bytes = bytes_of({s.type, s.shape});
    if (bytes) std::memmove(out.data(), s.data, bytes);
  }
  ws.rewind(mark);
  return st;
}

namespace {

// The "graph" module of case files: plans on first sight of a shape and
// context, keeps the plan for the runs that follow.
class GraphModule final : public Module {
 public:
  const void* typed(const std::type_info& t) const override { return typed_if(t, model_); }
  explicit GraphModule(Model m) : model_(std::move(m)) {}
  const char* kind() const override { return "graph"; }
  std::size_t weight_bytes() const override { return model_.weight_bytes(); }

  Result<std::vector<OutputSpec>> check(const ValueMap& inputs) const override {
    std::lock_guard<std::mutex> lock(mu_);
    EDGEATTN_RETURN_IF_ERROR(replan(inputs, Context{}));
    return plan_.outputs();
  }
  std::size_t workspace_bytes(const ValueMap& inputs, const Context& ctx) const override {
    std::lock_guard<std::mutex> lock(mu_);
    return replan(inputs, ctx).ok() ? plan_.workspace_bytes() : SIZE_MAX;
  }
  Status run(const Context& ctx, const ValueMap& inputs, ValueMap& outputs,
             Workspace& ws) const override {
    std::lock_guard<std::mutex> lock(mu_);
    EDGEATTN_RETURN_IF_ERROR(replan(inputs, ctx));
    return plan_.run(ctx, inputs, outputs, ws);
  }

 private:
  // Plans again unless the inputs' shapes and the thread count are those
  // of the current plan (comparing allocates nothing).
  Status replan(const ValueMap& inputs, const Context& ctx) const {
    if (planned_ && threads_ == resolve_threads(ctx) && same_shapes(inputs)) return {};
    std::map<std::string, Shape> shapes;
    for (const auto& [name, v] : inputs) shapes[name] = v.shape();
    EDGEATTN_ASSIGN_OR_RETURN(p, model_.plan(shapes, ctx));
    plan_ = std::move(p);
    threads_ = resolve_threads(ctx);
    planned_ = true;
    return {};
  }
  bool same_shapes(const ValueMap& inputs) const {
    const auto& planned = plan_.input_shapes();
    if (planned.size() != inputs.size()) return false;
    auto a = planned.begin();
    for (auto b = inputs.begin(); b != inputs.end(); ++a, ++b)
      if (a->first != b->first || a->second != b->second.shape()) return false;
    return true;
  }

  Model model_;
  mutable std::mutex mu_;
  mutable ModelPlan plan_;
  mutable bool planned_ = false;
  mutable int threads_ = 0;
};

}  // namespace

std::unique_ptr<Module> Model::as_module(Model model) {
  return std::make_unique<GraphModule>(std::move(model));
}

}  // namespace edgeattn
