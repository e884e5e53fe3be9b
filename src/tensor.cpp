#include "edgeattn/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#define EDGEATTN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EDGEATTN_ASAN 1
#endif
#endif
#ifdef EDGEATTN_ASAN
#include <sanitizer/asan_interface.h>
#define EDGEATTN_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define EDGEATTN_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define EDGEATTN_POISON(p, n) ((void)(p), (void)(n))
#define EDGEATTN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace edgeattn {

Shape::Shape(std::initializer_list<std::size_t> d) {
  for (std::size_t v : d) {
    if (rank == kMaxRank) break;  // rank > 4 is not representable; callers check
    dims[rank++] = v;
  }
}

std::size_t Shape::numel() const {  // saturates: a hostile shape cannot wrap to a small size
  std::size_t n = 1;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] == 0) return 0;
    n = n > SIZE_MAX / dims[i] ? SIZE_MAX : n * dims[i];
  }
  return n;
}

bool Shape::operator==(const Shape& o) const {
  if (rank != o.rank) return false;
  for (int i = 0; i < rank; ++i)
    if (dims[i] != o.dims[i]) return false;
  return true;
}

std::string Shape::to_string() const {
  std::string s = "[";
  for (int i = 0; i < rank; ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

template <class T>
TensorView<T>::TensorView(T* data, const Shape& shape) : data_(data), shape_(shape) {
  std::ptrdiff_t s = 1;
  for (int i = shape.rank - 1; i >= 0; --i) {
    strides_[i] = s;
    s *= static_cast<std::ptrdiff_t>(shape.dims[i]);
  }
}

template <class T>
TensorView<T>::TensorView(T* data, const Shape& shape, const std::ptrdiff_t* strides)
    : data_(data), shape_(shape) {
  for (int i = 0; i < shape.rank; ++i) strides_[i] = strides[i];
}

template <class T>
bool TensorView<T>::is_contiguous() const {
  std::ptrdiff_t expect = 1;
  for (int i = shape_.rank - 1; i >= 0; --i) {
    if (shape_.dims[i] == 1) continue;
    if (strides_[i] != expect) return false;
    expect *= static_cast<std::ptrdiff_t>(shape_.dims[i]);
  }
  return true;
}

template <class T>
TensorView<T> TensorView<T>::select(std::size_t i) const {
  Shape sub;
  std::ptrdiff_t st[kMaxRank] = {0, 0, 0, 0};
  sub.rank = shape_.rank - 1;
  for (int d = 1; d < shape_.rank; ++d) {
    sub.dims[d - 1] = shape_.dims[d];
    st[d - 1] = strides_[d];
  }
  return TensorView(data_ + static_cast<std::ptrdiff_t>(i) * strides_[0], sub, st);
}

template class TensorView<float>;
template class TensorView<const float>;
template class TensorView<const std::uint8_t>;

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

AlignedBuffer::AlignedBuffer(AlignedBuffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& o) noexcept {
  if (this != &o) {
    std::free(data_);
    data_ = std::exchange(o.data_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}

Result<AlignedBuffer> AlignedBuffer::allocate(std::size_t bytes) {
  AlignedBuffer b;
  if (bytes == 0) return b;
  if (bytes > SIZE_MAX - kAlignment)
    return Status(StatusCode::out_of_memory, "cannot allocate " + std::to_string(bytes) + " bytes");
  const std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  b.data_ = std::aligned_alloc(kAlignment, rounded);
  if (!b.data_)
    return Status(StatusCode::out_of_memory,
                  "cannot allocate " + std::to_string(rounded) + " bytes");
  std::memset(b.data_, 0, rounded);
  b.bytes_ = rounded;
  return b;
}

Result<Tensor> Tensor::zeros(const Shape& shape) {
  const std::size_t n = shape.numel();
  if (n != 0 && n > SIZE_MAX / sizeof(float))
    return Status(StatusCode::out_of_memory, "tensor " + shape.to_string() + " is too large");
  Result<AlignedBuffer> buf = AlignedBuffer::allocate(n * sizeof(float));
  if (!buf.ok()) return buf.status();
  Tensor t;
  t.buffer_ = std::move(buf).value();
  t.shape_ = shape;
  return t;
}

Workspace::~Workspace() { EDGEATTN_UNPOISON(base_, capacity_); }

Workspace::Workspace(Workspace&& o) noexcept { *this = std::move(o); }

Workspace& Workspace::operator=(Workspace&& o) noexcept {
  if (this == &o) return *this;
  EDGEATTN_UNPOISON(base_, capacity_);
  owned_ = std::move(o.owned_);
  base_ = o.base_, capacity_ = o.capacity_, used_ = o.used_;
  o.base_ = nullptr, o.capacity_ = 0, o.used_ = 0;
  return *this;
}

Status Workspace::reserve(std::size_t bytes) {
  if (bytes <= capacity_) return {};
  Result<AlignedBuffer> buf = AlignedBuffer::allocate(bytes);
  if (!buf.ok()) return buf.status();
  EDGEATTN_UNPOISON(base_, capacity_);
  owned_ = std::move(buf).value();
  base_ = static_cast<unsigned char*>(owned_.data());
  capacity_ = owned_.bytes();
  used_ = 0;
  EDGEATTN_POISON(base_, capacity_);
  return {};
}

void Workspace::attach(void* memory, std::size_t bytes) {
  EDGEATTN_UNPOISON(base_, capacity_);
  owned_ = AlignedBuffer();
  // Align the start; the bytes skipped are lost to the arena.
  const auto addr = reinterpret_cast<std::uintptr_t>(memory);
  const std::size_t skip = (kAlignment - addr % kAlignment) % kAlignment;
  base_ = static_cast<unsigned char*>(memory) + (skip < bytes ? skip : bytes);
  capacity_ = skip < bytes ? bytes - skip : 0;
  used_ = 0;
  EDGEATTN_POISON(base_, capacity_);
}

void* Workspace::take_bytes(std::size_t bytes) {
  const std::size_t need = workspace_bytes_for<unsigned char>(bytes);
  if (need < bytes || need > capacity_ - used_) return nullptr;
  void* p = base_ + used_;
  used_ += need;
  EDGEATTN_UNPOISON(p, bytes);
  return p;
}

void Workspace::rewind(std::size_t mark) {
  if (mark >= used_) return;
  EDGEATTN_POISON(base_ + mark, used_ - mark);
  used_ = mark;
}

}  // namespace edgeattn
