// Weight matrices stored in fewer bits (docs/weights.md): bfloat16, IEEE
// half, or int8 with one float32 scale per row (symmetric, zero point 0, as
// PyTorch's per-channel quantization and XNNPACK's QC8 weights). Weights
// stay in their type in memory; kernels widen them in registers and
// accumulate in float32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "edgeattn/status.h"
#include "edgeattn/tensor.h"

namespace edgeattn {

enum class WeightType : std::uint8_t { f32, bf16, f16, i8 };

// "f32", "bf16", "f16", "int8" (the exporter's and the CLIs' spelling).
const char* weight_type_name(WeightType t);
Result<WeightType> weight_type_from_name(const std::string& name);
std::size_t weight_type_bytes(WeightType t);  // bytes per element: 4, 2, 2, 1

// Exact conversions (round to nearest even when narrowing, as torch's
// .to(torch.bfloat16) and .half()).
float bf16_to_float(std::uint16_t h);
float f16_to_float(std::uint16_t h);
std::uint16_t float_to_bf16(float f);
std::uint16_t float_to_f16(float f);

// Rows of a typed matrix as kernels read them: each row is whole lane
// groups of 64 bytes (one cache line; rows start on one). A group
// holds 16 32-bit words; word l carries the elements l, l + 16, l + 32 and
// l + 48 of the group (as many as fit: 1 float, 2 halves, 4 int8), lowest
// bits first. A vector of any width up to 16 words then widens into whole
// vectors of consecutive elements with shifts alone, so the layout does not
// depend on the ISA or on the GEMM's register tile. Padding is zero.
// scale: one float per row for int8 (null otherwise); value = q * scale.
struct WeightRows {
  WeightType type = WeightType::f32;
  const void* data = nullptr;
  std::size_t ld = 0;  // bytes from one row to the next
  const float* scale = nullptr;

  bool empty() const { return data == nullptr; }
  // Rows from r on.
  WeightRows from_row(std::size_t r) const {
    return {type, static_cast<const unsigned char*>(data) + r * ld, ld, scale ? scale + r : nullptr};
  }
  // Element c of row r, dequantized.
  float at(std::size_t r, std::size_t c) const;
  // Its bits as stored (the low 32, 16 or 8 bits of the result).
  std::uint32_t bits(std::size_t r, std::size_t c) const;
};

constexpr std::size_t kWeightGroupBytes = 64;
// Elements per lane group: 16 floats, 32 halves, 64 int8.
inline std::size_t weight_group_elems(WeightType t) { return kWeightGroupBytes / weight_type_bytes(t); }

// An owning typed matrix [rows, cols] in WeightRows' layout. Move-only.
class Weights {
 public:
  Weights() = default;
  // w [rows, cols] float32 stored as `type`: bf16/f16 rounded to nearest
  // even; int8 per row with scale = max|w| / 127 (1 for an all-zero row)
  // and q = round(w / scale), as torch.quantize_per_channel with that
  // scale. Fails, naming `what`, on a value that is not finite or that
  // overflows the type (f16: |w| >= 65520).
  static Result<Weights> quantize(ConstView w, WeightType type, const std::string& what);
  // Values as a file stores them, row-major: bf16/f16 bits, int8 values
  // (scale: rows floats, finite and > 0), or floats. Non-finite f16/bf16 or
  // float values fail, naming `what`.
  static Result<Weights> from_storage(WeightType type, const void* data, const float* scale,
                                      std::size_t rows, std::size_t cols, const std::string& what);
  // A matrix laid out anew from stored bits, element (r, c) = bits(r, c)
  // (as WeightRows::bits gives them): int8 without scales, which the
  // caller then holds (GemvPanels' rows mix outputs, so its scales are per
  // output, not per row).
  static Result<Weights> from_bits(WeightType type, std::size_t rows, std::size_t cols,
                                   const std::function<std::uint32_t(std::size_t, std::size_t)>& bits);

  // Rows of one or more tensors stacked (each [rows_i, cols...], its
  // dims after the first flattened), columns [col0, col0 + cols) of them
  // (cols 0: all), as `type`: the stored weights themselves when every
  // tensor carries them in that type (Tensor::stored), else the floats
  // quantized. A vector (one row or one column in all) stays float32, as
  // the exporter leaves it.
  static Result<Weights> of(const std::vector<const Tensor*>& parts, WeightType type,
                            const std::string& what, std::size_t col0 = 0, std::size_t cols = 0);
  static Result<Weights> of(const Tensor& t, WeightType type, const std::string& what) {
    return of(std::vector<const Tensor*>{&t}, type, what);
  }

  // t's floats replaced by what a model holding t in `type` computes with
  // (its dequantized values), which t then carries as stored (Tensor::stored).
  static Status round_in_place(Tensor& t, WeightType type, const std::string& what);

  WeightType type() const { return type_; }
  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  WeightRows view() const { return {type_, buf_.data(), ld_, scale_.floats()}; }
  float at(std::size_t r, std::size_t c) const { return view().at(r, c); }
  // Row r's values times factor[r] (a BatchNorm folded in): the row's scale
  // (int8's, or one given to a float type here) becomes float(scale *
  // factor[r]); the stored elements stay as they are.
  Status scale_rows(const double* factor);
  // The dequantized values into out [rows, cols] (contiguous).
  void dequantize(float* out) const;
  // Bytes the model holds: the elements, their padding and the scales.
  std::size_t bytes() const { return buf_.bytes() + scale_.bytes(); }
  // The element bytes alone (rows x cols x size), without padding or scales.
  std::size_t element_bytes() const { return rows_ * cols_ * weight_type_bytes(type_); }

 private:
  static Result<Weights> allocate(WeightType type, std::size_t rows, std::size_t cols, bool scales = true);
  void put(std::size_t r, std::size_t c, std::uint32_t bits);
  WeightType type_ = WeightType::f32;
  std::size_t rows_ = 0, cols_ = 0, ld_ = 0;
  AlignedBuffer buf_, scale_;
};

// Row stride of a typed matrix with `cols` columns: whole lane groups.
std::size_t weight_row_bytes(WeightType type, std::size_t cols);

}  // namespace edgeattn
