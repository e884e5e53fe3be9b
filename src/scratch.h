// One description of a call's scratch memory. A call lays out its workspace
// slices in one function that takes a Scratch: workspace_bytes() runs it on
// a counting Scratch, forward() on one over the caller's Workspace, so the
// size a call reports and the slices it takes are the same arithmetic (as
// ggml's graph plan computes the work size that its compute then uses).
// Internal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "edgeattn/tensor.h"

namespace edgeattn::detail {

// Saturating size arithmetic for sizes computed from user numbers (shapes,
// beam widths, lengths): a result that would wrap is SIZE_MAX, which no
// reservation, cap or take() can satisfy, so it fails cleanly downstream.
constexpr std::size_t sat_add(std::size_t a, std::size_t b) {
  return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}
constexpr std::size_t sat_mul(std::size_t a, std::size_t b) {
  return b != 0 && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}
// Bytes a take of `bytes` consumes: rounded up to the alignment, saturating.
constexpr std::size_t aligned_bytes(std::size_t bytes) {
  return bytes > SIZE_MAX - (kAlignment - 1) ? SIZE_MAX
                                             : (bytes + kAlignment - 1) / kAlignment * kAlignment;
}
inline std::size_t max_of(std::size_t a, std::size_t b) { return a > b ? a : b; }

class Scratch {
 public:
  // Counting only: take() returns null, bytes() is the high-water mark.
  Scratch() = default;
  // Takes from `ws`, from what it already holds; gives it all back (rewinds
  // `ws` to where it was) when destroyed.
  explicit Scratch(Workspace& ws) : ws_(&ws), start_(ws.used()) {}
  ~Scratch() {
    if (ws_) ws_->rewind(start_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  // A slice of count * times Ts (the product saturating).
  template <class T>
  T* take(std::size_t count, std::size_t times = 1) {
    return static_cast<T*>(take_bytes(sat_mul(sat_mul(count, times), sizeof(T))));
  }
  void* take_bytes(std::size_t bytes) {
    used_ = sat_add(used_, aligned_bytes(bytes));
    peak_ = max_of(peak_, used_);
    if (!ws_) return nullptr;
    void* p = ws_->take_bytes(bytes);
    if (!p) ok_ = false;
    return p;
  }
  // Room for a nested call (its own workspace_bytes()) after the slices
  // taken so far: counted, and checked before anything runs.
  void room(std::size_t bytes) {
    peak_ = max_of(peak_, sat_add(used_, bytes));
    if (ws_ && bytes > ws_->capacity() - ws_->used()) ok_ = false;
  }
  // Phases that run one after another share memory: mark, take, rewind.
  std::size_t mark() const { return used_; }
  void rewind(std::size_t mark) {
    used_ = mark;
    if (ws_) ws_->rewind(start_ + mark);
  }

  // Every take and room so far met (always, when counting).
  bool ok() const { return ok_; }
  std::size_t bytes() const { return peak_; }
  // out_of_memory naming the call, for forward() when !ok().
  static Status too_small(const char* who) {
    return {StatusCode::out_of_memory, std::string(who) + ": workspace too small (see workspace_bytes)"};
  }

 private:
  Workspace* ws_ = nullptr;
  std::size_t start_ = 0, used_ = 0, peak_ = 0;
  bool ok_ = true;
};

}  // namespace edgeattn::detail
