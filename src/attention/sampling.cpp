// Seeded categorical sampling that gives the same indices on every ISA and
// thread count: the row maximum is exact, exp_lanes16 has one operation
// sequence everywhere, and every sum runs in an order fixed by the row
// length alone: 16 partial sums, lane l adding elements i = l (mod 16) in
// order (the same for vectors of 4, 8 or 16 floats), then the 16 in order.
// A draw picks a lane by its partial sum, then an element within the lane;
// P(lane) P(element | lane) = e_i / total, the categorical distribution.
#include <cmath>
#include <limits>

#include "../parallel.h"
#include "../checks.h"
#include "../kernels/module_kernels.h"
#include "edgeattn/attention.h"
#include "edgeattn/kernels.h"

namespace edgeattn {
namespace {

constexpr std::size_t kLanes = 16;

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Unnormalised weights e (n rounded up to 16, zero padded) and the 16
// partial sums; returns their total (0 when nothing may be drawn).
float prepare_row(const float* s, const std::uint8_t* m, std::size_t n, float* e, float* part) {
  float mx = -std::numeric_limits<float>::infinity();
  if (!m) {
    mx = kernels::reduce_max(s, n);
  } else {
    for (std::size_t j = 0; j < n; ++j)
      if (m[j] && s[j] > mx) mx = s[j];
  }
  if (!(mx > -std::numeric_limits<float>::infinity())) return 0.0f;
  kernels::exp_lanes16(s, m, n, mx, e, part);  // s - mx: every ISA rounds it the same
  float total = 0.0f;
  for (std::size_t l = 0; l < kLanes; ++l) total += part[l];
  return total;
}

// The lane whose running total first exceeds u * total, then the element
// of that lane whose running sum first exceeds the rest.
std::int64_t draw(const float* e, const float* part, std::size_t padded, float total, float u) {
  float t = u * total;
  std::size_t lane = kLanes;
  for (std::size_t l = 0; l < kLanes; ++l) {
    if (part[l] > t) {
      lane = l;
      break;
    }
    t -= part[l];
  }
  for (std::size_t l = kLanes; lane == kLanes && l-- > 0;)  // rounding: the last lane used
    if (part[l] > 0.0f) lane = l;
  std::int64_t last = -1;
  float acc = 0.0f;
  for (std::size_t j = lane; j < padded; j += kLanes) {
    if (e[j] == 0.0f) continue;
    last = static_cast<std::int64_t>(j);
    acc += e[j];
    if (acc > t) break;
  }
  return last;
}

std::size_t per_thread_floats(std::size_t n) { return (n + kLanes - 1) / kLanes * kLanes + kLanes; }

}  // namespace

float uniform01(std::uint64_t seed, std::uint64_t row, std::uint64_t k) {
  const std::uint64_t x = splitmix64(seed ^ splitmix64(row ^ splitmix64(k)));
  return static_cast<float>(x >> 40) * 0x1.0p-24f;  // 24 random bits: exact in float
}

std::size_t sample_rows_workspace_bytes(std::size_t n, const Context& ctx) {
  return static_cast<std::size_t>(resolve_threads(ctx)) *
         workspace_bytes_for<float>(per_thread_floats(n));
}

Status sample_rows(const Context& ctx, ConstView scores, MaskView mask, std::uint64_t seed,
                   std::uint64_t first_row, std::size_t draws, std::int64_t* indices,
                   Workspace& ws) {
  EDGEATTN_RETURN_IF_ERROR(detail::require_dense(scores, 2, "scores"));
  const std::size_t rows = scores.dim(0), n = scores.dim(1);
  if (!mask.empty()) {
    EDGEATTN_RETURN_IF_ERROR(detail::require_dense(mask, 2, "mask"));
    if ((mask.dim(0) != rows && mask.dim(0) != 1) || mask.dim(1) != n)
      return Status::invalid("sample: mask " + mask.shape().to_string() + " does not fit scores " +
                             scores.shape().to_string());
  }
  if (!indices || draws == 0) return Status::invalid("sample: no indices buffer or draws == 0");
  const std::size_t per = workspace_bytes_for<float>(per_thread_floats(n));
  int t = detail::threads_for(ctx, static_cast<double>(rows * n), detail::kMinElementsPerThread);
  const std::size_t fit = per ? (ws.capacity() - ws.used()) / per : static_cast<std::size_t>(t);
  if (fit == 0)
    return {StatusCode::out_of_memory, "sample: workspace too small (see sample_rows_workspace_bytes)"};
  if (fit < static_cast<std::size_t>(t)) t = static_cast<int>(fit);
  const std::size_t mark = ws.used();
  unsigned char* base = static_cast<unsigned char*>(ws.take_bytes(per * static_cast<std::size_t>(t)));
  const std::size_t padded = (n + kLanes - 1) / kLanes * kLanes;
  detail::parallel_for(t, rows, [&](std::size_t r, int thread) {
    float* e = reinterpret_cast<float*>(base + per * static_cast<std::size_t>(thread));
    float* part = e + padded;
    const std::uint8_t* m = mask.empty() ? nullptr : mask.data() + (mask.dim(0) == 1 ? 0 : r * n);
    const float total = prepare_row(scores.data() + r * n, m, n, e, part);
    for (std::size_t k = 0; k < draws; ++k)
      indices[r * draws + k] =
          total > 0.0f ? draw(e, part, padded, total, uniform01(seed, first_row + r, k)) : -1;
  });
  ws.rewind(mark);
  return {};
}

}  // namespace edgeattn
