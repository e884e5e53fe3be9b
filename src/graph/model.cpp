// Loading a model: the graph read from the file's metadata and checked as a
// whole (docs/model-format.md), BatchNorm and activations folded into the
// convolutions before them, every node's op built with its weights.
#include <map>
#include <set>

#include "../io/model_file.h"
#include "edgeattn/io.h"
#include "model_impl.h"

namespace edgeattn {
namespace {

using graph::NodeConfig;

constexpr std::size_t kMaxNodes = 1 << 16;

// A node as the file gives it, before its op is built.
struct NodeDef {
  std::string name, op, params;
  bool has_params = false;  // "params" given ("" then owns every key)
  const Json* config = nullptr;
  std::vector<std::string> inputs, outputs, input_names, output_names;
  // Folded in from the nodes after it (conv only).
  const NodeDef* bn = nullptr;
  std::string act;
  bool input_product = false;  // its inputs are those of a mul before it, folded in
  bool folded = false;  // a BatchNorm, activation or mul now part of a conv
};

Status bad(const std::string& where, const std::string& what) {
  return Status(StatusCode::parse_error, where + ": " + what);
}

Result<std::vector<std::string>> strings(const Json& j, const char* key, const std::string& where,
                                         bool required) {
  const Json* v = j.find(key);
  std::vector<std::string> out;
  if (!v) {
    if (required) return bad(where, "'" + std::string(key) + "' is missing");
    return out;
  }
  if (!v->is_array()) return bad(where, "'" + std::string(key) + "' must be a list of names");
  for (const Json& e : v->elements()) {
    if (!e.is_string() || e.as_string().empty())
      return bad(where, "'" + std::string(key) + "' must hold non-empty names");
    out.push_back(e.as_string());
  }
  return out;
}

Result<std::string> string_member(const Json& j, const char* key, const std::string& where) {
  const Json* v = j.find(key);
  if (!v || !v->is_string() || v->as_string().empty())
    return bad(where, "'" + std::string(key) + "' must be a non-empty string");
  return v->as_string();
}

Result<InputSpec> read_input(const Json& j, std::size_t i) {
  const std::string where = "inputs[" + std::to_string(i) + "]";
  if (!j.is_object()) return bad(where, "must be an object");
  InputSpec in;
  EDGEATTN_ASSIGN_OR_RETURN(name, string_member(j, "name", where));
  in.name = name;
  EDGEATTN_ASSIGN_OR_RETURN(dtype, string_member(j, "dtype", where));
  if (dtype == "f32") in.type = ValueType::f32;
  else if (dtype == "i64") in.type = ValueType::i64;
  else if (dtype == "bool") in.type = ValueType::mask;
  else return bad(where, "dtype '" + dtype + "' is not f32, i64 or bool");
  const Json* shape = j.find("shape");
  if (!shape || !shape->is_array() || shape->elements().size() > kMaxRank)
    return bad(where, "'shape' must be a list of at most 4 sizes or symbols");
  for (const Json& d : shape->elements()) {
    Dim dim;
    if (d.is_string() && !d.as_string().empty()) dim.symbol = d.as_string();
    else if (d.is_number() && d.is_integer() && d.as_integer() >= 1 &&
             d.as_integer() < (std::int64_t(1) << 31))
      dim.size = static_cast<std::size_t>(d.as_integer());
    else return bad(where, "'shape' holds a size that is neither in [1, 2^31) nor a symbol");
    in.shape.push_back(dim);
  }
  return in;
}

Result<NodeDef> read_node(const Json& j, std::size_t i) {
  std::string where = "nodes[" + std::to_string(i) + "]";
  if (!j.is_object()) return bad(where, "must be an object");
  NodeDef n;
  EDGEATTN_ASSIGN_OR_RETURN(name, string_member(j, "name", where));
  n.name = name;
  where = "node '" + name + "'";
  EDGEATTN_ASSIGN_OR_RETURN(op, string_member(j, "op", where));
  n.op = op;
  where += " (" + op + ")";
  EDGEATTN_ASSIGN_OR_RETURN(ins, strings(j, "inputs", where, true));
  EDGEATTN_ASSIGN_OR_RETURN(outs, strings(j, "outputs", where, true));
  EDGEATTN_ASSIGN_OR_RETURN(in_names, strings(j, "input_names", where, false));
  EDGEATTN_ASSIGN_OR_RETURN(out_names, strings(j, "output_names", where, false));
  n.inputs = std::move(ins), n.outputs = std::move(outs);
  n.input_names = std::move(in_names), n.output_names = std::move(out_names);
  if (n.outputs.empty()) return bad(where, "makes no value");
  if (const Json* p = j.find("params")) {
    if (!p->is_string()) return bad(where, "'params' must be a key prefix");
    n.params = p->as_string();
    n.has_params = true;
  }
  static const Json empty_object = parse_json("{}").value();
  n.config = j.find("config") ? j.find("config") : &empty_object;
  if (!n.config->is_object()) return bad(where, "'config' must be an object");
  return n;
}

// Folds each BatchNorm, then an activation of activation.h, into the convolution whose
// output only it reads (the epilogue of Conv2d; PyTorch computes the same
// up to rounding of the folded weights, as every inference runtime does).
void fold_into_convs(std::vector<NodeDef>& nodes, const std::set<std::string>& graph_outputs) {
  std::map<std::string, std::vector<NodeDef*>> readers;
  for (NodeDef& n : nodes)
    for (const std::string& v : n.inputs) readers[v].push_back(&n);
  const auto sole_reader = [&](const NodeDef& n, const char* op) -> NodeDef* {
    if (n.outputs.size() != 1 || graph_outputs.count(n.outputs[0])) return nullptr;
    const auto it = readers.find(n.outputs[0]);
    if (it == readers.end() || it->second.size() != 1) return nullptr;
    NodeDef* r = it->second[0];
    return r->op == op && r->inputs.size() == 1 && r->outputs.size() == 1 ? r : nullptr;
  };
  std::map<std::string, NodeDef*> maker;
  for (NodeDef& n : nodes)
    for (const std::string& v : n.outputs) maker[v] = &n;
  for (NodeDef& n : nodes) {
    if (n.op != "conv2d" && n.op != "conv1d") continue;
    // A two-input mul whose product only this conv2d reads (SE's gate times
    // the map before the block's projection): the conv takes both factors.
    const auto m = n.inputs.size() == 1 ? maker.find(n.inputs[0]) : maker.end();
    if (n.op == "conv2d" && m != maker.end() && m->second->op == "mul" && m->second->inputs.size() == 2 &&
        sole_reader(*m->second, "conv2d") == &n) {
      n.inputs = m->second->inputs;
      n.input_product = true;
      m->second->folded = true;
    }
    if (NodeDef* bn = sole_reader(n, "batch_norm")) {
      n.bn = bn;
      bn->folded = true;
      n.outputs = bn->outputs;
    }
    for (const char* act : {"relu", "relu6", "sigmoid", "silu", "hardsigmoid", "hardswish"})
      if (NodeDef* a = sole_reader(n, act)) {
        n.act = act;
        a->folded = true;
        n.outputs = a->outputs;
        break;
      }
  }
}

struct Loader {
  Model::Impl& m;
  const ParamSet& params;
  std::map<std::string, std::size_t, std::less<>> index;  // value name -> index

  Status define(const std::string& name, const std::string& where) {
    if (!index.emplace(name, m.value_names.size()).second)
      return bad(where, "makes '" + name + "', which is already made (a value has one maker)");
    m.value_names.push_back(name);
    return {};
  }
  Result<std::size_t> find(const std::string& name) const {
    const auto it = index.find(name);
    if (it == index.end())
      return Status::invalid("'" + name + "' is not made by an input or an earlier node");
    return it->second;
  }

  Status add_node(const NodeDef& d) {
    Model::Impl::Node node;
    node.name = d.name, node.op = d.op;
    const std::string where = node.where();
    for (const std::string& v : d.inputs) {
      Result<std::size_t> i = find(v);
      if (!i.ok()) return bad(where, "input " + i.status().message() + " (dangling or a cycle)");
      node.inputs.push_back(i.value());
    }
    EDGEATTN_ASSIGN_OR_RETURN(op, build(d, where));
    node.impl = std::move(op);
    for (const std::string& v : d.outputs) {
      EDGEATTN_RETURN_IF_ERROR(define(v, where));
      node.outputs.push_back(index.at(v));
    }
    m.weight_bytes += node.impl->weight_bytes();
    m.nodes.push_back(std::move(node));
    return {};
  }

  Result<std::unique_ptr<graph::Op>> build(const NodeDef& d, const std::string& where) {
    const NodeConfig config(*d.config, where);
    const ParamSet p = params.subset(d.params);
    ParamSet bn_params;
    const std::function<Result<std::size_t>(const std::string&)> value_index =
        [this](const std::string& v) { return find(v); };
    graph::OpArgs args{config, p, d.inputs.size(), d.outputs.size(), d.input_names,
                       d.output_names, value_index, nullptr, 1e-5, std::string()};
    if (d.bn) {
      bn_params = params.subset(d.bn->params);
      args.bn = &bn_params;
      EDGEATTN_ASSIGN_OR_RETURN(eps, NodeConfig(*d.bn->config, where).number("eps", 1e-5));
      args.bn_eps = eps;
    }
    args.act = d.act;
    args.input_product = d.input_product;
    Result<std::unique_ptr<graph::Op>> op =
        graph::find_op(d.op) ? graph::find_op(d.op)(args) : graph::make_module(d.op, args);
    if (!op.ok()) {
      const std::string& msg = op.status().message();
      return Status(op.status().code(),
                    msg.compare(0, where.size(), where) == 0 ? msg : where + ": " + msg);
    }
    return op;
  }
};

// Every parameter key lies under some node's prefix (else it is an extra
// tensor no node reads: a file that does not match its graph).
Status check_extra_params(const std::vector<NodeDef>& nodes, const SafetensorsFile& f) {
  for (const TensorEntry& e : f.entries()) {
    if (!detail::starts_with(e.name, "param.")) continue;
    const std::string key = e.name.substr(6);
    bool used = false;
    for (const NodeDef& n : nodes)
      if (n.has_params && detail::starts_with(key, n.params)) used = true;
    const std::string tail = "num_batches_tracked";
    const bool ignorable = key.size() >= tail.size() &&
                           key.compare(key.size() - tail.size(), tail.size(), tail) == 0;
    if (!used && !ignorable)
      return bad(f.name(), "tensor '" + e.name + "' belongs to no node (no node's 'params' prefix)");
  }
  return {};
}

Status read_graph(Model::Impl& m, const Json& g, const ParamSet& params,
                  const SafetensorsFile* file) {
  if (!g.is_object()) return bad("graph", "must be a JSON object");
  const Json* format = g.find("format");
  const Json* version = g.find("version");
  if (!format || !format->is_string() || format->as_string() != "edgeattn-graph")
    return bad("graph", "'format' must be \"edgeattn-graph\"");
  if (!version || !version->is_number() || !version->is_integer() || version->as_integer() != 1)
    return bad("graph", "'version' must be 1 (this runtime reads version 1)");
  const Json* inputs = g.find("inputs");
  const Json* nodes = g.find("nodes");
  const Json* outputs = g.find("outputs");
  if (!inputs || !inputs->is_array() || inputs->elements().empty())
    return bad("graph", "'inputs' must be a non-empty list");
  if (!nodes || !nodes->is_array() || nodes->elements().size() > kMaxNodes)
    return bad("graph", "'nodes' must be a list of at most 65536 nodes");
  if (!outputs || !outputs->is_array() || outputs->elements().empty())
    return bad("graph", "'outputs' must be a non-empty list");

  Loader l{m, params, {}};
  for (std::size_t i = 0; i < inputs->elements().size(); ++i) {
    EDGEATTN_ASSIGN_OR_RETURN(in, read_input(inputs->elements()[i], i));
    EDGEATTN_RETURN_IF_ERROR(l.define(in.name, "inputs[" + std::to_string(i) + "]"));
    m.inputs.push_back(std::move(in));
  }
  std::vector<NodeDef> defs;
  std::set<std::string> names;
  for (std::size_t i = 0; i < nodes->elements().size(); ++i) {
    EDGEATTN_ASSIGN_OR_RETURN(d, read_node(nodes->elements()[i], i));
    if (!names.insert(d.name).second) return bad("node '" + d.name + "'", "the name is used twice");
    defs.push_back(std::move(d));
  }
  std::set<std::string> output_values;
  for (std::size_t i = 0; i < outputs->elements().size(); ++i) {
    const Json& o = outputs->elements()[i];
    const std::string where = "outputs[" + std::to_string(i) + "]";
    if (!o.is_object()) return bad(where, "must be an object");
    EDGEATTN_ASSIGN_OR_RETURN(name, string_member(o, "name", where));
    EDGEATTN_ASSIGN_OR_RETURN(value, string_member(o, "value", where));
    for (const auto& [n, v] : m.outputs)
      if (n == name) return bad(where, "the output name '" + name + "' is used twice");
    m.outputs.emplace_back(name, 0);
    output_values.insert(value);
  }
  if (file) EDGEATTN_RETURN_IF_ERROR(check_extra_params(defs, *file));
  fold_into_convs(defs, output_values);
  for (const NodeDef& d : defs)
    if (!d.folded) EDGEATTN_RETURN_IF_ERROR(l.add_node(d));
  for (std::size_t i = 0; i < m.outputs.size(); ++i) {
    const std::string value = outputs->elements()[i].find("value")->as_string();
    Result<std::size_t> v = l.find(value);
    if (!v.ok()) return bad("output '" + m.outputs[i].first + "'", v.status().message());
    m.outputs[i].second = v.value();
  }
  return {};
}

Result<Model> from_parts(Model model, Model::Impl& m, const std::string& text,
                         const ParamSet& params, const SafetensorsFile* file) {
  Result<Json> g = parse_json(text);
  if (!g.ok()) return Status(StatusCode::parse_error, m.file + ": graph: " + g.status().message());
  const Status st = read_graph(m, g.value(), params, file);
  if (!st.ok()) return Status(st.code(), m.file + ": " + st.message());
  return model;
}

}  // namespace

Model::Model() : impl_(std::make_unique<Impl>()) {}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

Result<Model> Model::load(const std::string& path) {
  EDGEATTN_ASSIGN_OR_RETURN(f, SafetensorsFile::open(path));
  return load(f);
}

Result<Model> Model::load(const SafetensorsFile& f) {
  EDGEATTN_ASSIGN_OR_RETURN(kind, detail::metadata(f, "module"));
  if (kind != "graph")
    return Status(StatusCode::parse_error,
                  f.name() + ": module '" + kind + "' is a single module, not a graph (use load_module)");
  EDGEATTN_ASSIGN_OR_RETURN(text, detail::metadata(f, "config"));
  // (errors get the file's name once, from from_parts())
  ParamSet params = detail::read_params(f, "param.", "");
  EDGEATTN_RETURN_IF_ERROR(detail::read_weight_type(f, params));
  Model model;
  Impl& m = *model.impl_;
  m.file = f.name();
  return from_parts(std::move(model), m, text, params, &f);
}

Result<Model> Model::create(const std::string& graph_json, const ParamSet& params) {
  Model model;
  Impl& m = *model.impl_;
  m.file = "graph";
  return from_parts(std::move(model), m, graph_json, params, nullptr);
}

const std::vector<InputSpec>& Model::inputs() const { return impl_->inputs; }

std::vector<std::string> Model::output_names() const {
  std::vector<std::string> out;
  for (const auto& [name, v] : impl_->outputs) out.push_back(name);
  return out;
}

std::size_t Model::num_nodes() const { return impl_->nodes.size(); }
const Module* Model::node_module(std::size_t i) const {
  return i < impl_->nodes.size() ? impl_->nodes[i].impl->module() : nullptr;
}
std::size_t Model::weight_bytes() const { return impl_->weight_bytes; }

}  // namespace edgeattn
