// Operator-level threading shared by ops and modules. Internal.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstddef>

#include <unistd.h>

#include "edgeattn/context.h"
#include "edgeattn/kernels.h"
#include "edgeattn/tensor.h"

#if defined(EDGEATTN_HAVE_OPENMP)
#include <omp.h>
#endif

namespace edgeattn::detail {

// Nanoseconds of a monotonic clock.
inline std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
// Whether a recent region found the cores busy (parallel_for runs on the
// calling thread alone then), and the measurement that decides it: a
// region's start, when its first thread ran out of pieces, and its end.
bool team_is_contended();
void note_team_wait(std::int64_t start, std::int64_t first_done, std::int64_t end);

// Below this much work per thread, starting a thread costs more than it
// saves. A parallel region costs 3.5 us with the team spinning and 27 us
// with it asleep on a 2-vCPU Zen 5 VM (a cache line takes 0.5-2 us there and
// back between its cores), so a thread needs about 10 us of work: 2^21
// flops at 100-200 GFLOP/s, or 2^17 floats (512 KB) of a memory-bound pass.
constexpr double kMinFlopsPerThread = 1 << 21;
constexpr std::size_t kMinElementsPerThread = 1 << 17;
// A network's convolutions run back to back, so the team is spinning when
// the next one starts and a quarter of that pays (mobilenet_v3_small on 2
// threads: 1.69 -> 1.53 ms; efficientnet_b0 and resnet18 unchanged).
constexpr double kMinLayerFlopsPerThread = kMinFlopsPerThread / 4;
// ops.h's matmul with its own least work per thread.
Status matmul(const Context& ctx, const kernels::GemmArgs& g, Workspace& ws, double min_flops_per_thread);
// A one-row product (a decoder step's GEMV) reads all its weights for a
// little arithmetic, so it is split over threads only when they outgrow one
// core's L2: then each core keeps its share in its own. Below that the
// fork/join of every step costs more than it saves. Measured with W7's 768 KB
// decoder W_hh on 2 threads: a 512 KiB-L2 Zen 3 core gained by splitting
// (1073 -> 774 us), a 1 MiB-L2 Zen 5 core lost (639 -> 768 us). Returns half
// of one core's L2 as the least per thread (256 KB where it is unknown).
inline double min_weight_bytes_per_thread() {
  static const double bytes = [] {
    long l2 = 0;
#if defined(_SC_LEVEL2_CACHE_SIZE)
    l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    return (l2 > 0 ? static_cast<double>(l2) : 512.0 * 1024) / 2;
  }();
  return bytes;
}

// Threads for `work` units when each thread should get at least
// `min_per_thread` of them (>= 1, <= the context's count).
inline int threads_for(const Context& ctx, double work, double min_per_thread) {
  int t = resolve_threads(ctx);
  const double least = min_per_thread * ctx.min_work_scale;
  if (!(least > 0.0)) return t;
  const double most = work / least;
  if (most < t) t = most < 1.0 ? 1 : static_cast<int>(most);
  return t;
}

// body(piece, thread) for piece in [0, pieces) on up to `threads` threads;
// thread < threads indexes per-thread scratch. Pieces are independent, so the
// result does not depend on how they are spread. They are handed out in
// runs of `grain` (default: one run per thread) to whichever thread is free
// first, so a core that a VM's neighbours slow down takes fewer.
//
// On a busy machine (other programs on the cores) a thread of the team can
// be descheduled for a whole time slice while the others wait for it at the
// region's end, spinning away their own share of the cores: every region
// pays milliseconds. So each region measures how long its first thread to
// run out of pieces waited for the last; two regions in a row that waited a
// millisecond and a quarter of the region mark the cores as busy, and the
// regions of the next 100 ms run on the calling thread alone
// (team_is_contended in context.cpp). Quiet, the wait is the last piece's tail, far below that.
// The result is the same for any thread count.
template <class F>
void parallel_for(int threads, std::size_t pieces, F body, std::size_t grain = 0) {
#if defined(EDGEATTN_HAVE_OPENMP)
  if (threads > 1 && pieces > 1 && !team_is_contended()) {
    const std::size_t t = static_cast<std::size_t>(threads);
    const int run = static_cast<int>(grain ? grain : (pieces + t - 1) / t);
    const std::int64_t start = steady_ns();
    std::int64_t done[kMaxThreads];  // each thread's own (no 64-bit atomics: ARMv6 has none)
    int team = 1;                     // the threads OpenMP gave
#pragma omp parallel num_threads(threads < kMaxThreads ? threads : kMaxThreads)
    {
#pragma omp for schedule(dynamic, run) nowait
      for (std::ptrdiff_t p = 0; p < static_cast<std::ptrdiff_t>(pieces); ++p)
        body(static_cast<std::size_t>(p), omp_get_thread_num());
      done[omp_get_thread_num()] = steady_ns();
      if (omp_get_thread_num() == 0) team = omp_get_num_threads();
    }
    std::int64_t first_done = done[0];
    for (int i = 1; i < team; ++i) first_done = done[i] < first_done ? done[i] : first_done;
    note_team_wait(start, first_done, steady_ns());
    return;
  }
#else
  (void)threads, (void)grain;
#endif
  for (std::size_t p = 0; p < pieces; ++p) body(p, 0);
}

// body(begin, end) over one contiguous range of [0, n) per thread, for
// kernels that take many rows per call.
template <class F>
void parallel_ranges(int threads, std::size_t n, F body) {
  const std::size_t t = threads > 1 && n > 1 ? (static_cast<std::size_t>(threads) < n ? threads : n) : 1;
  parallel_for(static_cast<int>(t), t, [&](std::size_t p, int) { body(n * p / t, n * (p + 1) / t); });
}

// A batch split over threads (layers whose images are each too small to
// split): body(b, part) for every image b, handed out one at a time to
// whichever thread is free; thread i works in its own `per` bytes at
// parts + i * per, given as the Workspace `part`. Each image is computed as
// on one thread, so the bits do not depend on the split. False if any body
// returned false.
template <class F>
bool parallel_images(int threads, std::size_t batch, unsigned char* parts, std::size_t per, F body) {
  std::atomic<bool> failed{false};
  parallel_for(threads, batch, [&](std::size_t b, int thread) {
    Workspace part;
    part.attach(parts + static_cast<std::size_t>(thread) * per, per);
    if (!body(b, part)) failed = true;
  }, 1);
  return !failed;
}

}  // namespace edgeattn::detail
