// Seeded categorical sampling that gives the same indices on every ISA and
// thread count: the row maximum is exact, exp_exact has one operation
// sequence everywhere, and every sum runs in an order fixed by the row
// length alone (16-element chunks summed as a tree, chunks in sequence).
#include <cmath>
#include <limits>

#include "../parallel.h"
#include "common.h"
#include "edgeattn/attention.h"
#include "edgeattn/kernels.h"

namespace edgeattn {
namespace {

constexpr std::size_t kChunk = 16;

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

float tree16(const float* e) {
  float t[kChunk];
  for (std::size_t i = 0; i < kChunk; ++i) t[i] = e[i];
  for (std::size_t w = kChunk / 2; w > 0; w /= 2)
    for (std::size_t i = 0; i < w; ++i) t[i] += t[i + w];
  return t[0];
}

// Unnormalised weights e (n rounded up to a chunk, zero padded) and the
// chunk sums; returns their total (0 when nothing may be drawn).
float prepare_row(const float* s, const std::uint8_t* m, std::size_t n, float* e, float* chunk) {
  float mx = -std::numeric_limits<float>::infinity();
  for (std::size_t j = 0; j < n; ++j)
    if ((!m || m[j]) && s[j] > mx) mx = s[j];
  const std::size_t padded = (n + kChunk - 1) / kChunk * kChunk;
  if (mx == -std::numeric_limits<float>::infinity()) return 0.0f;
  for (std::size_t j = 0; j < n; ++j) e[j] = s[j] - mx;
  kernels::exp_exact(e, e, n);
  for (std::size_t j = 0; j < padded; ++j)
    if (j >= n || (m && !m[j])) e[j] = 0.0f;
  float total = 0.0f;
  for (std::size_t c = 0; c < padded / kChunk; ++c) total += chunk[c] = tree16(e + c * kChunk);
  return total;
}

// The index at which the running sum first exceeds u * total.
std::int64_t draw(const float* e, const float* chunk, std::size_t chunks, float total, float u) {
  const float t = u * total;
  float acc = 0.0f;
  for (std::size_t c = 0; c < chunks; ++c) {
    if (!(acc + chunk[c] > t)) {
      acc += chunk[c];
      continue;
    }
    std::int64_t last = -1;
    for (std::size_t j = c * kChunk; j < (c + 1) * kChunk; ++j) {
      if (e[j] == 0.0f) continue;
      last = static_cast<std::int64_t>(j);
      acc += e[j];
      if (acc > t) return last;
    }
    return last;  // rounding: the element sum fell short of the tree sum
  }
  for (std::size_t j = chunks * kChunk; j-- > 0;)  // t >= total cannot happen; be safe
    if (e[j] != 0.0f) return static_cast<std::int64_t>(j);
  return -1;
}

std::size_t per_thread_floats(std::size_t n) {
  const std::size_t padded = (n + kChunk - 1) / kChunk * kChunk;
  return padded + padded / kChunk;
}

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
  const std::size_t padded = (n + kChunk - 1) / kChunk * kChunk;
  detail::parallel_for(t, rows, [&](std::size_t r, int thread) {
    float* e = reinterpret_cast<float*>(base + per * static_cast<std::size_t>(thread));
    float* chunk = e + padded;
    const std::uint8_t* m = mask.empty() ? nullptr : mask.data() + (mask.dim(0) == 1 ? 0 : r * n);
    const float total = prepare_row(scores.data() + r * n, m, n, e, chunk);
    for (std::size_t k = 0; k < draws; ++k)
      indices[r * draws + k] =
          total > 0.0f ? draw(e, chunk, padded / kChunk, total, uniform01(seed, first_row + r, k)) : -1;
  });
  ws.rewind(mark);
  return {};
}

}  // namespace edgeattn
