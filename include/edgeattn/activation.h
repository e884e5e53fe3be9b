// The activations a convolution or GEMM applies in its epilogue (and the
// graph's elementwise nodes), each PyTorch's formula:
//   relu max(x, 0); relu6 min(max(x, 0), 6) (NaN stays NaN, as hardtanh);
//   sigmoid 1 / (1 + e^-x); silu x sigmoid(x);
//   hardsigmoid min(max(x + 3, 0), 6) / 6 (NaN stays NaN);
//   hardswish x min(max(x + 3, 0), 6) / 6 (MobileNetV3, Howard et al. 2019).
#pragma once

#include <string>

#include "edgeattn/status.h"

namespace edgeattn {

enum class Activation { none, relu, relu6, sigmoid, silu, hardsigmoid, hardswish };

// The graph's op names ("none", "relu", "relu6", ...), and back.
const char* activation_name(Activation a);
Result<Activation> activation_from_name(const std::string& name);

}  // namespace edgeattn
