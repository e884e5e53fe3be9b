// The graph runtime's pieces (docs/model-format.md): shape expressions,
// node definitions as read from a file, and the operator interface every
// node kind implements. Internal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "edgeattn/context.h"
#include "edgeattn/json.h"
#include "edgeattn/module.h"
#include "op_list.h"

namespace edgeattn::graph {

// A tensor as planning sees it.
struct TensorType {
  ValueType type = ValueType::f32;
  Shape shape;
};
// A tensor at run time: its type and shape, and where it is.
struct Slot {
  ValueType type = ValueType::f32;
  Shape shape;
  void* data = nullptr;
  float* f32() const { return static_cast<float*>(data); }
};

// An integer computed from shapes at plan time: a literal, a dimension of a
// value made earlier, or arithmetic on two of them (the batch size times
// the channels of a reshape, say). Evaluated once per plan.
struct Expr {
  enum class Kind { literal, dim, add, sub, mul, floordiv };
  Kind kind = Kind::literal;
  std::int64_t value = 0;     // literal; dim: the axis (negative from the end)
  std::size_t tensor = 0;     // dim: the value's index
  std::vector<Expr> args;     // two for arithmetic
};

// Reads a node's config with errors that name the node.
class NodeConfig {
 public:
  NodeConfig(const Json& json, std::string where) : json_(json), where_(std::move(where)) {}
  const std::string& where() const { return where_; }
  Status bad(const std::string& key, const std::string& what) const;
  bool has(const char* key) const { return json_.find(key) != nullptr; }
  Result<std::int64_t> integer(const char* key, std::int64_t lo, std::int64_t hi) const;
  Result<std::int64_t> integer(const char* key, std::int64_t lo, std::int64_t hi,
                               std::int64_t fallback) const;
  // A list of integers (a single integer is taken for `count` copies when
  // count > 0, as PyTorch's kernel_size=3 for (3, 3)); count 0: any length.
  Result<std::vector<std::int64_t>> integers(const char* key, std::size_t count, std::int64_t lo,
                                             std::int64_t hi) const;
  Result<bool> boolean(const char* key, bool fallback) const;
  Result<double> number(const char* key, double fallback) const;
  Result<std::string> choice(const char* key, const std::vector<std::string>& allowed,
                             const char* fallback) const;
  // A list of shape expressions (integers, {"dim": [value, axis]}, {"mul":
  // [a, b]}, ...); value names resolve through `index_of`.
  Result<std::vector<Expr>> exprs(const char* key,
                                  const std::function<Result<std::size_t>(const std::string&)>&
                                      index_of) const;
  const Json& json() const { return json_; }

 private:
  const Json& json_;
  std::string where_;
};

// The shapes known while planning, for the expressions to read.
class ShapeEnv {
 public:
  explicit ShapeEnv(const std::vector<TensorType>& types) : types_(types) {}
  Result<std::int64_t> eval(const Expr& e, const std::string& where) const;

 private:
  const std::vector<TensorType>& types_;
};

// Per-plan state of a node, when it needs some (a module's value maps).
struct NodeState {
  virtual ~NodeState() = default;
};

// One node kind. Created once at load (weights packed there), immutable
// after; plan() and run() may be called from any thread.
class Op {
 public:
  virtual ~Op() = default;
  // The outputs' types for these inputs, or an error naming the mismatch.
  virtual Result<std::vector<TensorType>> infer(const std::vector<TensorType>& in,
                                                const ShapeEnv& env) const = 0;
  virtual std::size_t workspace_bytes(const std::vector<TensorType>& in, const Context& ctx) const {
    (void)in, (void)ctx;
    return 0;
  }
  // Output 0 is input 0's memory with another shape (reshape, identity):
  // the planner gives it no buffer and nothing runs.
  virtual bool is_view() const { return false; }
  // Output 0 may be written over input 0 (same bytes) when nothing reads
  // input 0 afterwards.
  virtual bool in_place() const { return false; }
  virtual std::size_t weight_bytes() const { return 0; }
  // Multiply-adds times two, for the ops that are products (conv, linear,
  // matmul); 0 for the rest, whose work is memory traffic.
  virtual double flops(const std::vector<TensorType>& in, const std::vector<TensorType>& out) const {
    (void)in, (void)out;
    return 0;
  }
  // The op's way of running for these inputs, where it has several (a
  // conv's path), to split profiles by it; empty otherwise.
  virtual std::string kind(const std::vector<TensorType>& in) const {
    (void)in;
    return {};
  }
  // The registry module the node runs, if it is one.
  virtual const Module* module() const { return nullptr; }
  virtual Result<std::unique_ptr<NodeState>> bind(const std::vector<TensorType>& in,
                                                  const std::vector<TensorType>& out) const {
    (void)in, (void)out;
    return std::unique_ptr<NodeState>();
  }
  virtual Status run(const Context& ctx, const Slot* in, const Slot* out, Workspace& ws,
                     NodeState* state) const = 0;
};

// What a factory gets: the node's config and parameters (keys under its
// prefix, the prefix removed), its name for errors, and its input and
// output counts as the file gives them.
struct OpArgs {
  const NodeConfig& config;
  const ParamSet& params;
  std::size_t num_inputs, num_outputs;
  const std::vector<std::string>& input_names;   // registry modules: their ports
  const std::vector<std::string>& output_names;
  const std::function<Result<std::size_t>(const std::string&)>& value_index;
  // Folded in by the loader (conv2d and conv1d only): the BatchNorm that
  // followed, its parameters and eps, and the activation after that.
  const ParamSet* bn = nullptr;
  double bn_eps = 1e-5;
  std::string act;
  // conv2d: a mul before it folded in; its two inputs are the factors.
  bool input_product = false;
};
using OpFactory = Result<std::unique_ptr<Op>> (*)(const OpArgs& args);

// The factory for an op name (op_list.h, or a registry module), or null.
OpFactory find_op(const std::string& op);
// Every op name: op_list.h's, then the registry's modules.
std::vector<std::string> op_names();

#define EDGEATTN_GRAPH_DECLARE(name) Result<std::unique_ptr<Op>> make_##name(const OpArgs& args);
EDGEATTN_GRAPH_OP_LIST(EDGEATTN_GRAPH_DECLARE)
#undef EDGEATTN_GRAPH_DECLARE
// A registry module as a node (ops_module.cpp); args.config is its config.
Result<std::unique_ptr<Op>> make_module(const std::string& kind, const OpArgs& args);

}  // namespace edgeattn::graph
