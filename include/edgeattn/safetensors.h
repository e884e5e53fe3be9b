// Reading safetensors files (the official format: 8-byte little-endian
// header length, a JSON header, then the tensors' bytes). The whole file is
// validated when opened, before any tensor data is touched: every rule below
// that fails gives an error naming the file and the tensor or key at fault.
//   - header length within the file and at most kSafetensorsMaxHeaderBytes
//     (checked before parsing), at most kSafetensorsMaxTensors entries;
//     header a JSON object (strict: see json.h); entries {dtype, shape,
//     data_offsets} only, their numbers written as integers (2, not 2.0)
//   - known dtype; shape of non-negative integers whose byte size does not
//     overflow and equals end - begin
//   - the data ranges, sorted, tile the data section exactly: none out of
//     range, reversed, overlapping, or leaving a gap
//   - __metadata__, if present, an object of strings
// Data is read through mmap where the OS has it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "edgeattn/status.h"
#include "edgeattn/tensor.h"

namespace edgeattn {

// Caps on what a file may ask of the loader (docs/case-format.md).
constexpr std::uint64_t kSafetensorsMaxHeaderBytes = 4u << 20;  // 4 MiB
constexpr std::size_t kSafetensorsMaxTensors = 65536;

enum class DType { boolean, u8, i8, i16, u16, f16, bf16, i32, u32, f32, f64, i64, u64 };

const char* dtype_name(DType d);  // as in the file: "F32", "BOOL", ...
std::size_t dtype_size(DType d);

struct TensorEntry {
  std::string name;
  DType dtype;
  std::vector<std::uint64_t> shape;  // any rank, as stored
  std::uint64_t begin = 0, end = 0;  // byte offsets into the data section

  std::uint64_t numel() const;
  std::string shape_string() const;  // "[2, 3]"
};

class SafetensorsFile {
 public:
  // Opens and validates `path` (mmap when available).
  static Result<SafetensorsFile> open(const std::string& path);
  // Validates bytes already in memory (copied); `name` is used in errors.
  static Result<SafetensorsFile> from_bytes(const void* data, std::size_t size,
                                            const std::string& name);

  const std::string& name() const { return name_; }
  const std::vector<TensorEntry>& entries() const { return entries_; }
  const TensorEntry* find(const std::string& tensor) const;
  bool has_metadata() const { return has_metadata_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // A tensor as float32 (F32 copied, F16 and BF16 converted), rank 0..4.
  Result<Tensor> read_f32(const TensorEntry& e) const;
  // A weight: read_f32's floats, and for F16/BF16, and I8 with its row
  // scales in '<name>.scale' (F32 [rows]; value = q * scale), the weights
  // as stored beside them (Tensor::stored; rows = dim 0).
  Result<Tensor> read_weight(const TensorEntry& e) const;
  // A tensor as int64 (I64, or I32 widened).
  Result<std::vector<std::int64_t>> read_i64(const TensorEntry& e) const;
  // A mask (BOOL or U8) as bytes, nonzero = true.
  Result<std::vector<std::uint8_t>> read_u8(const TensorEntry& e) const;

  // "file: tensor 'key': <what>" for callers' errors.
  Status error(const TensorEntry& e, const std::string& what) const;

 private:
  struct Storage;
  static Result<SafetensorsFile> parse(std::shared_ptr<Storage> storage, const std::string& name);
  const unsigned char* bytes(const TensorEntry& e) const;

  std::shared_ptr<Storage> storage_;
  std::string name_;
  std::size_t data_start_ = 0;
  std::vector<TensorEntry> entries_;
  bool has_metadata_ = false;
  std::map<std::string, std::string> metadata_;
};

// Shape of an entry as a Shape (rank <= 4), or an error naming it.
Result<Shape> entry_shape(const SafetensorsFile& f, const TensorEntry& e);

}  // namespace edgeattn
