// Every node kind of the graph format besides the registry's modules, named
// once (docs/model-format.md documents each; a test checks the two agree).
// Adding one: make_<name> in the ops_*.cpp of its family and a line here.
#pragma once

#define EDGEATTN_GRAPH_OP_LIST(X)                                                       \
  /* elementwise (ops_elementwise.cpp) */                                               \
  X(identity) X(dropout) X(relu) X(relu6) X(leaky_relu) X(hardtanh) X(sigmoid) X(tanh) \
  X(silu) X(hardswish) X(hardsigmoid) X(gelu) X(add) X(sub) X(mul) X(div)               \
  /* reductions and pooling (ops_reduce.cpp) */                                         \
  X(mean) X(sum) X(max) X(softmax) X(log_softmax) X(max_pool2d) X(avg_pool2d)           \
  X(adaptive_avg_pool2d)                                                                \
  /* shapes and data movement (ops_shape.cpp) */                                        \
  X(reshape) X(permute) X(expand) X(concat) X(select) X(slice) X(constant)              \
  /* layers with weights (ops_layers.cpp) */                                            \
  X(conv2d) X(conv1d) X(batch_norm) X(linear) X(embedding) X(matmul)
