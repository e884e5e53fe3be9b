// Whole networks: a graph of operators and modules read from one model file
// (docs/model-format.md), planned for the shapes of its inputs and run with
// no allocation. The file comes from tools/edgeattn_torch's export_model().
//
//   Model m = Model::load("net.safetensors").value();
//   ModelPlan plan = m.plan({{"input", Shape{1, 3, 224, 224}}}, ctx).value();
//   ws.reserve(plan.workspace_bytes());
//   plan.run(ctx, inputs, outputs, ws);       // outputs: plan.outputs()
//
// A plan is tied to the model it came from (which must outlive it) and to
// its input shapes; plan again for others (each symbolic dimension of the
// file, e.g. the batch, may take any size). One plan serves one thread at a
// time; threads that run a model together each take a plan of their own.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "edgeattn/module.h"
#include "edgeattn/safetensors.h"

namespace edgeattn {

// One dimension of an input: a fixed size, or a symbol (e.g. "batch") that
// takes the same size wherever it appears.
struct Dim {
  std::size_t size = 0;
  std::string symbol;  // empty: fixed
};
struct InputSpec {
  std::string name;
  ValueType type = ValueType::f32;
  std::vector<Dim> shape;
};

class Model;

class ModelPlan {
 public:
  ModelPlan();
  ~ModelPlan();
  ModelPlan(ModelPlan&&) noexcept;
  ModelPlan& operator=(ModelPlan&&) noexcept;

  // The input shapes planned for.
  const std::map<std::string, Shape>& input_shapes() const;
  // What run() writes: every output of the model, with its shape.
  const std::vector<OutputSpec>& outputs() const;
  // Scratch bytes run() needs: the activations as laid out by liveness,
  // plus the most any one node needs while it runs.
  std::size_t workspace_bytes() const;
  // The activations' arena (intermediate values sharing memory once dead)
  // and what they would take each in its own buffer.
  std::size_t arena_bytes() const;
  std::size_t activation_bytes() const;
  // Flops of one run: twice the multiply-adds of the convolutions, Linear
  // layers and matmuls (registry modules and elementwise nodes not counted).
  double flops() const;
  // Runs the model on `inputs` (the shapes planned for) into `outputs`
  // (allocated as outputs() says). Allocates nothing.
  Status run(const Context& ctx, const ValueMap& inputs, ValueMap& outputs, Workspace& ws);
  // Per-node wall time of the last run, when timing is on (edgeattn-run
  // --time): op kind (with a conv's path and kernel, e.g. "conv2d
  // depthwise 3x3/2"), node name, nanoseconds, and flops() counted for it.
  struct NodeTime {
    std::string op, node;
    double ns = 0, flops = 0;
  };
  void set_timing(bool on);
  std::vector<NodeTime> node_times() const;

 private:
  friend class Model;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Model {
 public:
  Model();
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  // Reads and validates the whole graph before anything runs: an unknown op,
  // a value used before it is made or made twice, a missing, extra or
  // mis-shaped parameter, each an error naming the file and the node.
  static Result<Model> load(const std::string& path);
  static Result<Model> load(const SafetensorsFile& file);
  // From a graph's JSON text and its parameters (keys without "param.").
  static Result<Model> create(const std::string& graph_json, const ParamSet& params);

  const std::vector<InputSpec>& inputs() const;
  std::vector<std::string> output_names() const;
  std::size_t num_nodes() const;
  std::size_t weight_bytes() const;
  // The registry module that node i runs, or null (an op like conv2d).
  const Module* node_module(std::size_t i) const;
  // The first module node whose typed object is a T (a Seq2Seq for its beam
  // search, ...), or null: what the model's modules offer beyond run().
  template <class T>
  const T* find_module() const {
    for (std::size_t i = 0; i < num_nodes(); ++i)
      if (const Module* m = node_module(i))
        if (const T* t = m->as<T>()) return t;
    return nullptr;
  }

  // Plans for these input shapes (every input named, each shape matching
  // its spec; symbols consistent): output shapes, memory layout, workspace.
  Result<ModelPlan> plan(const std::map<std::string, Shape>& input_shapes,
                         const Context& ctx) const;

  // The model as a Module (the case-file kind "graph"): check() and
  // workspace_bytes() plan for the shapes given, run() re-plans only when
  // they change. Its runs are serialised by a lock.
  static std::unique_ptr<Module> as_module(Model model);

  struct Impl;  // the runtime's (src/graph)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgeattn
