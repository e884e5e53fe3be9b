// A loaded model's internals, shared by loading (model.cpp) and planning
// (plan.cpp). Internal.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "edgeattn/model.h"
#include "graph.h"

namespace edgeattn {

struct Model::Impl {
  struct Node {
    std::string name, op;
    std::vector<std::size_t> inputs, outputs;  // value indices
    std::unique_ptr<graph::Op> impl;
    std::string where() const { return "node '" + name + "' (" + op + ")"; }
  };
  std::string file;                      // for errors
  std::vector<InputSpec> inputs;         // inputs[i] is value i
  std::vector<std::string> value_names;  // by value index
  std::vector<Node> nodes;               // in the order they run
  std::vector<std::pair<std::string, std::size_t>> outputs;  // name, value
  std::size_t weight_bytes = 0;
};

}  // namespace edgeattn
