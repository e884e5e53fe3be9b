// Helpers shared by the vision modules. Internal.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "edgeattn/kernels.h"
#include "edgeattn/vision.h"

namespace edgeattn::detail {

inline std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// An eval-mode BatchNorm's factor per channel, s = gamma / sqrt(var + eps),
// in double so that a fold adds no rounding beyond the final one.
std::vector<double> batch_norm_factors(const BatchNorm& bn);
// weight rows (row floats each, one per channel) and bias folded with an
// eval-mode BatchNorm: w' = w s, b' = (b - mean) s + beta.
void fold_batch_norm(const BatchNorm& bn, float* weight, std::size_t row, float* bias);
// A Tensor holding a copy of data.
Result<Tensor> copy_tensor(const float* data, const Shape& shape);
// x is a contiguous, non-empty [B, channels, H, W] map, or an error naming module.
Status check_map(ConstView x, std::size_t channels, const char* module);

// The polyphase split of an h x w grid by strides (sh, sw): phase (a, b)
// holds rows a, a + sh, ... and columns b, b + sw, ..., phases one after
// another in (a, b) order, so the grid's size is unchanged. A stride-s
// convolution is the sum over phases of stride-1 convolutions of the
// input's phases with the kernel's (the same split of its taps), so the
// strided paths read unit-stride rows as the stride-1 ones do.
struct Phases {
  std::size_t sh, sw, h, w;
  std::size_t rows(std::size_t a) const { return a < h ? (h - a + sh - 1) / sh : 0; }
  std::size_t cols(std::size_t b) const { return b < w ? (w - b + sw - 1) / sw : 0; }
  std::size_t offset(std::size_t a, std::size_t b) const {
    std::size_t off = 0;
    for (std::size_t i = 0; i < a; ++i) off += rows(i) * w;  // the columns of a row sum to w
    for (std::size_t j = 0; j < b; ++j) off += rows(a) * cols(j);
    return off;
  }
};

// Plane p of x [C, h, w], zero-padded by (ph, pw), split as `grid` (the
// padded plane's) into out + p * grid.h * grid.w.
void split_phases(const float* x, std::size_t p, std::size_t h, std::size_t w, std::size_t ph,
                  std::size_t pw, const Phases& grid, float* out);
// Rows [r0, r1) of plane x [h, w] zero-padded by (ph, pw), into out with
// rows of w + 2 pw (a thread's band of a stride-1 grid).
void pad_rows(const float* x, std::size_t h, std::size_t w, std::size_t ph, std::size_t pw, std::size_t r0,
              std::size_t r1, float* out);

}  // namespace edgeattn::detail
