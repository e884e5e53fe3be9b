// Tensors: non-owning strided views over caller-owned float data, an owning
// 64-byte-aligned buffer, and the Workspace arena from which operators take
// their scratch memory so that a planned forward call allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>

#include "edgeattn/status.h"

namespace edgeattn {

constexpr int kMaxRank = 4;
constexpr std::size_t kAlignment = 64;  // a cache line and an AVX-512 register

// A shape of rank 0..4 (rank 0 is a scalar with one element).
struct Shape {
  int rank = 0;
  std::size_t dims[kMaxRank] = {0, 0, 0, 0};

  Shape() = default;
  Shape(std::initializer_list<std::size_t> d);
  std::size_t operator[](int i) const { return dims[i]; }
  std::size_t numel() const;
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string to_string() const;  // "[2, 3, 5]"
};

// A strided view of rank <= 4. Strides count elements, not bytes. T is float
// or const float. Views are cheap to copy and never own their data.
template <class T>
class TensorView {
 public:
  TensorView() = default;
  // A contiguous row-major view.
  TensorView(T* data, const Shape& shape);
  TensorView(T* data, const Shape& shape, const std::ptrdiff_t* strides);
  // A mutable view converts to a const one.
  template <class U, class = std::enable_if_t<std::is_same<T, const U>::value>>
  TensorView(const TensorView<U>& v) : TensorView(v.data(), v.shape(), v.strides()) {}  // NOLINT

  T* data() const { return data_; }
  const Shape& shape() const { return shape_; }
  const std::ptrdiff_t* strides() const { return strides_; }
  int rank() const { return shape_.rank; }
  std::size_t dim(int i) const { return shape_.dims[i]; }
  std::ptrdiff_t stride(int i) const { return strides_[i]; }
  std::size_t numel() const { return shape_.numel(); }
  bool empty() const { return data_ == nullptr; }
  // True when the elements are dense and row-major (size-1 axes ignored).
  bool is_contiguous() const;

  // Element access; no bounds checks (check shapes once, up front).
  T& operator()(std::size_t i) const { return data_[i * strides_[0]]; }
  T& operator()(std::size_t i, std::size_t j) const {
    return data_[i * strides_[0] + j * strides_[1]];
  }
  T& operator()(std::size_t i, std::size_t j, std::size_t k) const {
    return data_[i * strides_[0] + j * strides_[1] + k * strides_[2]];
  }
  T& operator()(std::size_t i, std::size_t j, std::size_t k, std::size_t l) const {
    return data_[i * strides_[0] + j * strides_[1] + k * strides_[2] + l * strides_[3]];
  }

  // The sub-view at index i of the first axis (rank drops by one).
  TensorView select(std::size_t i) const;

 private:
  T* data_ = nullptr;
  Shape shape_;
  std::ptrdiff_t strides_[kMaxRank] = {0, 0, 0, 0};
};

using View = TensorView<float>;
using ConstView = TensorView<const float>;
// Masks: uint8, nonzero = may attend (safetensors BOOL/U8).
using MaskView = TensorView<const std::uint8_t>;

extern template class TensorView<float>;
extern template class TensorView<const float>;
extern template class TensorView<const std::uint8_t>;

// Owning, 64-byte-aligned storage. Move-only.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer&& o) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  // Allocate `bytes` (rounded up to the alignment), zero-filled. Fails with
  // out_of_memory instead of throwing.
  static Result<AlignedBuffer> allocate(std::size_t bytes);

  void* data() const { return data_; }
  float* floats() const { return static_cast<float*>(data_); }
  std::size_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

class Weights;

// A float tensor that owns its memory: for weights and for outputs that a
// caller wants the library to allocate (at plan time, never per call).
class Tensor {
 public:
  Tensor() = default;
  static Result<Tensor> zeros(const Shape& shape);
  View view() const { return View(buffer_.floats(), shape_); }
  float* data() const { return buffer_.floats(); }
  const Shape& shape() const { return shape_; }
  // 0 for a default-constructed (absent) tensor, e.g. an optional bias.
  std::size_t numel() const { return buffer_.data() ? shape_.numel() : 0; }
  // A weight as a file stored it in fewer bits (weights.h; rows = dim 0),
  // beside the float values it dequantizes to: a module held in that type
  // takes it as it is (Weights::of) instead of rounding the floats again.
  const std::shared_ptr<const Weights>& stored() const { return stored_; }
  void set_stored(std::shared_ptr<const Weights> w) { stored_ = std::move(w); }

 private:
  AlignedBuffer buffer_;
  Shape shape_;
  std::shared_ptr<const Weights> stored_;
};

// Scratch arena, used as a stack. Size it once (sum of the
// *_workspace_bytes() of what will run), then operators take aligned slices
// with take<T>() and give back what they took with rewind(mark), mark being
// used() before they started. take() never allocates: when the arena is too
// small it returns nullptr and the operator reports out_of_memory.
//
// In a sanitizer build the arena's free bytes, and the padding that rounds
// each slice up to the alignment, are poisoned: a call that writes past the
// slice it took is caught even inside the one buffer.
class Workspace {
 public:
  Workspace() = default;
  ~Workspace();
  Workspace(Workspace&& o) noexcept;
  Workspace& operator=(Workspace&& o) noexcept;
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  // Make room for at least `bytes`; the only call that allocates.
  Status reserve(std::size_t bytes);
  // Use caller-owned memory (e.g. a static array on a board); not freed here.
  void attach(void* memory, std::size_t bytes);

  // Null when the arena is too small (or count * sizeof(T) would overflow).
  template <class T>
  T* take(std::size_t count) {
    return count > SIZE_MAX / sizeof(T) ? nullptr : static_cast<T*>(take_bytes(count * sizeof(T)));
  }
  void* take_bytes(std::size_t bytes);
  void rewind(std::size_t mark);
  void reset() { rewind(0); }

  std::size_t capacity() const { return capacity_; }
  std::size_t used() const { return used_; }

 private:
  AlignedBuffer owned_;
  unsigned char* base_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t used_ = 0;
};

// Bytes that take() of `count` Ts consumes, alignment padding included: add
// these up to size a Workspace.
// (SIZE_MAX when that would overflow: no arena can hold it.)
template <class T>
constexpr std::size_t workspace_bytes_for(std::size_t count) {
  return count > (SIZE_MAX - kAlignment) / sizeof(T)
             ? SIZE_MAX
             : (count * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment;
}

}  // namespace edgeattn
