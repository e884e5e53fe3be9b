// Helpers the op families share. Internal.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "../parallel.h"
#include "graph.h"

namespace edgeattn::graph {

inline ConstView cview(const Slot& s) { return ConstView(s.f32(), s.shape); }
inline View mview(const Slot& s) { return View(s.f32(), s.shape); }

// `count` inputs (0: any number), each of type `type`.
inline Status expect_inputs(const std::vector<TensorType>& in, std::size_t count, ValueType type) {
  if (count && in.size() != count)
    return Status::invalid("takes " + std::to_string(count) + " input" + (count == 1 ? "" : "s") +
                           ", the node gives " + std::to_string(in.size()));
  for (std::size_t i = 0; i < in.size(); ++i)
    if (in[i].type != type)
      return Status::invalid("input " + std::to_string(i) + " is " + value_type_name(in[i].type) +
                             ", expected " + value_type_name(type));
  return {};
}

// An axis of a rank-`rank` tensor, counted from the end when negative.
inline Result<int> axis(std::int64_t d, int rank, const char* what = "dim") {
  const std::int64_t a = d < 0 ? d + rank : d;
  if (a < 0 || a >= rank)
    return Status::invalid(std::string(what) + " " + std::to_string(d) + " is outside a rank-" +
                           std::to_string(rank) + " tensor");
  return static_cast<int>(a);
}

// A tensor seen as [outer, n, inner] around axis a (n = the axis's size).
struct AxisSplit {
  std::size_t outer = 1, n = 1, inner = 1;
};
inline AxisSplit split_at(const Shape& s, int a) {
  AxisSplit r;
  for (int d = 0; d < a; ++d) r.outer *= s[d];
  for (int d = a + 1; d < s.rank; ++d) r.inner *= s[d];
  r.n = s[a];
  return r;
}

// The NumPy broadcast of two shapes, or an error naming both.
Result<Shape> broadcast(const Shape& a, const Shape& b);

// body(begin, end) over [0, n) in pieces of at least kMinElementsPerThread.
template <class F>
void parallel_elements(const Context& ctx, std::size_t n, F&& body) {
  const std::size_t chunk = detail::kMinElementsPerThread;
  const int t = detail::threads_for(ctx, double(n), double(chunk));
  const std::size_t pieces = (n + chunk - 1) / chunk;
  detail::parallel_for(t, pieces, [&](std::size_t p, int) {
    body(p * chunk, std::min(n, (p + 1) * chunk));
  });
}

// Row-major strides of a shape, in elements.
inline void dense_strides(const Shape& s, std::ptrdiff_t* st) {
  std::ptrdiff_t acc = 1;
  for (int d = s.rank - 1; d >= 0; --d) st[d] = acc, acc *= static_cast<std::ptrdiff_t>(s[d]);
}

}  // namespace edgeattn::graph
