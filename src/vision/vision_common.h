// Helpers shared by the vision modules. Internal.
#pragma once

#include <cstring>
#include <string>

#include "edgeattn/kernels.h"
#include "edgeattn/vision.h"

namespace edgeattn::detail {

inline std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// weight rows (row floats each, one per channel) and bias folded with an
// eval-mode BatchNorm: w' = w s, b' = (b - mean) s + beta, s = gamma / sqrt(var + eps).
void fold_batch_norm(const BatchNorm& bn, float* weight, std::size_t row, float* bias);
// A Tensor holding a copy of data.
Result<Tensor> copy_tensor(const float* data, const Shape& shape);
// x is a contiguous, non-empty [B, channels, H, W] map, or an error naming module.
Status check_map(ConstView x, std::size_t channels, const char* module);

inline void activate_row(Activation act, const float* x, float* y, std::size_t n) {
  if (act == Activation::relu) kernels::relu(x, y, n);
  else if (act == Activation::silu) kernels::silu(x, y, n);
  else if (x != y) std::memcpy(y, x, n * sizeof(float));
}

// planes [c, h, w] copied into [c, h + 2 ph, w + 2 pw] with zero borders.
inline void pad_planes(const float* x, std::size_t c, std::size_t h, std::size_t w, std::size_t ph,
                       std::size_t pw, float* out) {
  const std::size_t oh = h + 2 * ph, ow = w + 2 * pw;
  std::memset(out, 0, c * oh * ow * sizeof(float));
  for (std::size_t p = 0; p < c; ++p)
    for (std::size_t r = 0; r < h; ++r)
      std::memcpy(out + (p * oh + r + ph) * ow + pw, x + (p * h + r) * w, w * sizeof(float));
}

}  // namespace edgeattn::detail
