// Typed weight matrices: conversions, quantization and the lane-group
// layout of weights.h.
#include "edgeattn/weights.h"

#include <cmath>
#include <cstring>

namespace edgeattn {

namespace {

std::uint32_t float_bits(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
float bits_float(std::uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// The bits of element c in its 32-bit word, and the word's index in a row.
struct Slot {
  std::size_t word;
  unsigned shift;
};
Slot slot_of(WeightType t, std::size_t c) {
  const std::size_t g = weight_group_elems(t), r = c % g;
  return {c / g * 16 + r % 16, static_cast<unsigned>(r / 16 * 8 * weight_type_bytes(t))};
}

float decode(WeightType t, std::uint32_t bits) {
  switch (t) {
    case WeightType::f32: return bits_float(bits);
    case WeightType::bf16: return bf16_to_float(static_cast<std::uint16_t>(bits));
    case WeightType::f16: return f16_to_float(static_cast<std::uint16_t>(bits));
    case WeightType::i8: return static_cast<float>(static_cast<std::int8_t>(bits & 0xFF));
  }
  return 0.0f;
}

}  // namespace

const char* weight_type_name(WeightType t) {
  switch (t) {
    case WeightType::f32: return "f32";
    case WeightType::bf16: return "bf16";
    case WeightType::f16: return "f16";
    case WeightType::i8: return "int8";
  }
  return "?";
}

Result<WeightType> weight_type_from_name(const std::string& name) {
  for (WeightType t : {WeightType::f32, WeightType::bf16, WeightType::f16, WeightType::i8})
    if (name == weight_type_name(t)) return t;
  return Status::invalid("unknown weight type '" + name + "' (f32, bf16, f16, int8)");
}

std::size_t weight_type_bytes(WeightType t) {
  return t == WeightType::f32 ? 4 : t == WeightType::i8 ? 1 : 2;
}

float bf16_to_float(std::uint16_t h) { return bits_float(static_cast<std::uint32_t>(h) << 16); }

// IEEE binary16 to binary32, exact (denormals included).
float f16_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF;
  if (exp == 0x1F) return bits_float(sign | 0x7F800000 | (man << 13));
  if (exp != 0) return bits_float(sign | ((exp + 112) << 23) | (man << 13));
  const float v = static_cast<float>(man) * 0x1p-24f;  // zero or subnormal: exact
  return sign ? -v : v;
}

std::uint16_t float_to_bf16(float f) {
  std::uint32_t x = float_bits(f);
  if ((x & 0x7FFFFFFF) > 0x7F800000) return static_cast<std::uint16_t>((x >> 16) | 0x40);  // quiet NaN
  x += 0x7FFF + ((x >> 16) & 1);
  return static_cast<std::uint16_t>(x >> 16);
}

std::uint16_t float_to_f16(float f) {
  std::uint32_t x = float_bits(f);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000);
  x &= 0x7FFFFFFF;
  if (x > 0x7F800000) return sign | 0x7E00;                // NaN
  if (x >= 0x477FF000) return sign | 0x7C00;               // rounds past 65504: inf
  if (x < 0x38800000)                                      // below 2^-14: subnormal
    return sign | static_cast<std::uint16_t>(std::nearbyint(bits_float(x) * 0x1p24f));
  x += 0xFFF + ((x >> 13) & 1) - (112u << 23);
  return sign | static_cast<std::uint16_t>(x >> 13);
}

std::size_t weight_row_bytes(WeightType type, std::size_t cols) {
  const std::size_t g = weight_group_elems(type);
  return (cols + g - 1) / g * kWeightGroupBytes;
}

std::uint32_t WeightRows::bits(std::size_t r, std::size_t c) const {
  const Slot s = slot_of(type, c);
  std::uint32_t word;
  std::memcpy(&word, static_cast<const unsigned char*>(data) + r * ld + 4 * s.word, 4);
  return word >> s.shift;
}

float WeightRows::at(std::size_t r, std::size_t c) const {
  const float v = decode(type, bits(r, c));
  return scale ? v * scale[r] : v;
}

Result<Weights> Weights::allocate(WeightType type, std::size_t rows, std::size_t cols, bool scales) {
  Weights w;
  w.type_ = type, w.rows_ = rows, w.cols_ = cols, w.ld_ = weight_row_bytes(type, cols);
  EDGEATTN_ASSIGN_OR_RETURN(buf, AlignedBuffer::allocate(rows * w.ld_));
  w.buf_ = std::move(buf);
  if (type == WeightType::i8 && scales) {
    EDGEATTN_ASSIGN_OR_RETURN(sc, AlignedBuffer::allocate(rows * sizeof(float)));
    w.scale_ = std::move(sc);
  }
  return w;
}

void Weights::put(std::size_t r, std::size_t c, std::uint32_t bits) {
  const Slot s = slot_of(type_, c);
  const std::uint32_t mask = type_ == WeightType::f32 ? 0xFFFFFFFFu
                             : type_ == WeightType::i8 ? 0xFFu : 0xFFFFu;
  unsigned char* p = static_cast<unsigned char*>(buf_.data()) + r * ld_ + 4 * s.word;
  std::uint32_t word;
  std::memcpy(&word, p, 4);
  word = (word & ~(mask << s.shift)) | ((bits & mask) << s.shift);
  std::memcpy(p, &word, 4);
}

Result<Weights> Weights::quantize(ConstView w, WeightType type, const std::string& what) {
  if (w.rank() != 2) return Status::invalid(what + ": a weight matrix must be 2-D, found " + w.shape().to_string());
  const std::size_t rows = w.dim(0), cols = w.dim(1);
  EDGEATTN_ASSIGN_OR_RETURN(out, allocate(type, rows, cols));
  for (std::size_t r = 0; r < rows; ++r) {
    float scale = 1.0f;
    if (type == WeightType::i8) {
      float amax = 0.0f;
      for (std::size_t c = 0; c < cols; ++c) amax = std::fabs(w(r, c)) > amax ? std::fabs(w(r, c)) : amax;
      if (amax > 0.0f && std::isfinite(amax)) scale = amax / 127.0f;
      out.scale_.floats()[r] = scale;
    }
    for (std::size_t c = 0; c < cols; ++c) {
      const float v = w(r, c);
      if (!std::isfinite(v))
        return Status::invalid(what + ": element [" + std::to_string(r) + ", " + std::to_string(c) +
                               "] is not finite");
      std::uint32_t bits = 0;
      switch (type) {
        case WeightType::f32: bits = float_bits(v); break;
        case WeightType::bf16: bits = float_to_bf16(v); break;
        case WeightType::f16: bits = float_to_f16(v); break;
        case WeightType::i8: bits = static_cast<std::uint8_t>(static_cast<std::int8_t>(std::nearbyint(v / scale))); break;
      }
      if (!std::isfinite(decode(type, bits)))
        return Status::invalid(what + ": " + std::to_string(v) + " at [" + std::to_string(r) + ", " +
                               std::to_string(c) + "] overflows " + weight_type_name(type));
      out.put(r, c, bits);
    }
  }
  return out;
}

Result<Weights> Weights::from_bits(WeightType type, std::size_t rows, std::size_t cols,
                                   const std::function<std::uint32_t(std::size_t, std::size_t)>& bits) {
  EDGEATTN_ASSIGN_OR_RETURN(out, allocate(type, rows, cols, false));
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) out.put(r, c, bits(r, c));
  return out;
}

Result<Weights> Weights::from_storage(WeightType type, const void* data, const float* scale,
                                      std::size_t rows, std::size_t cols, const std::string& what) {
  if (!data && rows * cols > 0) return Status::invalid(what + ": no data");
  if (type == WeightType::i8 && !scale) return Status::invalid(what + ": int8 weights need a scale per row");
  EDGEATTN_ASSIGN_OR_RETURN(out, allocate(type, rows, cols));
  const auto* src = static_cast<const unsigned char*>(data);
  const std::size_t size = weight_type_bytes(type);
  for (std::size_t r = 0; r < rows; ++r) {
    if (type == WeightType::i8) {
      float s;
      std::memcpy(&s, scale + r, 4);
      if (!(std::isfinite(s) && s > 0.0f))
        return Status::invalid(what + ": scale of row " + std::to_string(r) + " is " + std::to_string(s) +
                               ", must be finite and > 0");
      out.scale_.floats()[r] = s;
    }
    for (std::size_t c = 0; c < cols; ++c) {
      std::uint32_t bits = 0;
      std::memcpy(&bits, src + (r * cols + c) * size, size);  // little-endian targets only
      if (type != WeightType::i8 && !std::isfinite(decode(type, bits)))
        return Status::invalid(what + ": element [" + std::to_string(r) + ", " + std::to_string(c) +
                               "] is not finite");
      out.put(r, c, bits);
    }
  }
  return out;
}

Result<Weights> Weights::of(const std::vector<const Tensor*>& parts, WeightType type, const std::string& what,
                            std::size_t col0, std::size_t cols) {
  std::size_t rows = 0, width = 0;
  bool stored = true;
  for (const Tensor* t : parts) {
    const std::size_t r = t->shape().rank ? t->shape()[0] : 0, w = r ? t->numel() / r : 0;
    if (t->numel() == 0 || (width && w != width))
      return Status::invalid(what + ": expected a weight matrix of " + std::to_string(width) + " columns, found " +
                             (t->numel() ? t->shape().to_string() : "none"));
    rows += r, width = w;
    stored = stored && t->stored() && t->stored()->type() == type && t->stored()->rows() == r &&
             t->stored()->cols() == w;
  }
  if (rows == 1 || width == 1) type = WeightType::f32;  // a vector, as the exporter leaves it
  if (cols == 0) cols = width - col0;
  if (col0 + cols > width)
    return Status::invalid(what + ": columns [" + std::to_string(col0) + ", " + std::to_string(col0 + cols) +
                           ") of " + std::to_string(width));
  // Whole rows are quantized (int8: one scale per row, as the exporter's),
  // then the columns taken.
  std::vector<const Weights*> src;
  Weights whole;
  if (stored) {
    for (const Tensor* t : parts) src.push_back(t->stored().get());
  } else {
    EDGEATTN_ASSIGN_OR_RETURN(tmp, Tensor::zeros(Shape{rows, width}));
    std::size_t r0 = 0;
    for (const Tensor* t : parts) {
      std::memcpy(tmp.data() + r0 * width, t->data(), t->numel() * sizeof(float));
      r0 += t->shape()[0];
    }
    EDGEATTN_ASSIGN_OR_RETURN(q, quantize(tmp.view(), type, what));
    if (col0 == 0 && cols == width) return q;
    whole = std::move(q);
    src.push_back(&whole);
  }
  EDGEATTN_ASSIGN_OR_RETURN(out, allocate(type, rows, cols));
  std::size_t r0 = 0;
  for (const Weights* w : src) {
    const WeightRows v = w->view();
    for (std::size_t r = 0; r < w->rows(); ++r, ++r0) {
      if (v.scale) out.scale_.floats()[r0] = v.scale[r];
      for (std::size_t c = 0; c < cols; ++c) out.put(r0, c, v.bits(r, col0 + c));
    }
  }
  return out;
}

Status Weights::round_in_place(Tensor& t, WeightType type, const std::string& what) {
  EDGEATTN_ASSIGN_OR_RETURN(w, of(t, type, what));
  w.dequantize(t.data());
  t.set_stored(std::make_shared<const Weights>(std::move(w)));
  return {};
}

Status Weights::scale_rows(const double* factor) {
  if (!scale_.data()) {
    EDGEATTN_ASSIGN_OR_RETURN(sc, AlignedBuffer::allocate(rows_ * sizeof(float)));
    for (std::size_t r = 0; r < rows_; ++r) sc.floats()[r] = 1.0f;
    scale_ = std::move(sc);
  }
  for (std::size_t r = 0; r < rows_; ++r) scale_.floats()[r] = float(double(scale_.floats()[r]) * factor[r]);
  return {};
}

void Weights::dequantize(float* out) const {
  const WeightRows v = view();
  for (std::size_t r = 0; r < rows_; ++r)
    for (std::size_t c = 0; c < cols_; ++c) out[r * cols_ + c] = v.at(r, c);
}

}  // namespace edgeattn
