#include "edgeattn/context.h"

#include "parallel.h"

#include <atomic>
#include <cstdint>
#include <string>

#if defined(EDGEATTN_HAVE_OPENMP)
#include <omp.h>
#endif

namespace edgeattn {
namespace {
std::atomic<int> g_default{0};

int host_threads() {
#if defined(EDGEATTN_HAVE_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}
}  // namespace

Status set_num_threads(int n) {
  if (n < 0 || n > kMaxThreads)
    return Status::invalid("set_num_threads: " + std::to_string(n) + " is outside 0.." +
                           std::to_string(kMaxThreads) + " (0 = the host's default)");
  g_default.store(n);
  return {};
}

int default_num_threads() {
  const int n = g_default.load();
  return n > 0 ? n : host_threads();
}

int resolve_threads(const Context& ctx) {
#if defined(EDGEATTN_HAVE_OPENMP)
  static const int limit = omp_get_thread_limit() < kMaxThreads ? omp_get_thread_limit() : kMaxThreads;
  const int n = ctx.num_threads > 0 ? ctx.num_threads : default_num_threads();
  return n < 1 ? 1 : n > limit ? limit : n;
#else
  (void)ctx;
  return 1;
#endif
}

bool has_openmp() {
#if defined(EDGEATTN_HAVE_OPENMP)
  return true;
#else
  return false;
#endif
}

namespace detail {
namespace {
// Until when regions run on the calling thread alone (steady_ns in whole
// milliseconds, 32 bits: ARMv6 has no 64-bit atomics; compared by their
// difference, so the wrap every 49 days does not matter; 0 = not), and
// whether the last region waited long (two in a row are needed: a single one
// is as likely a page fault or the VM's hiccup as a busy core).
std::atomic<std::uint32_t> g_contended_until_ms{0};
std::atomic<bool> g_last_waited{false};
std::atomic<bool> g_yield_when_busy{true};
constexpr std::int64_t kMinWaitNs = 1'000'000;  // 1 ms: a time slice, not a piece's tail
constexpr std::uint32_t kBackoffMs = 100;       // then 100 ms on one thread before trying again

std::uint32_t ms_of(std::int64_t ns) { return static_cast<std::uint32_t>(ns / 1'000'000); }
}  // namespace

bool team_is_contended() {
  const std::uint32_t until = g_contended_until_ms.load(std::memory_order_relaxed);
  return until != 0 && static_cast<std::int32_t>(until - ms_of(steady_ns())) > 0;
}

void note_team_wait(std::int64_t start, std::int64_t first_done, std::int64_t end) {
  if (!g_yield_when_busy.load(std::memory_order_relaxed)) return;
  const std::int64_t wait = end - first_done, total = end - start;
  const bool waited = wait > kMinWaitNs && 4 * wait > total;
  if (waited && g_last_waited.load(std::memory_order_relaxed))
    g_contended_until_ms.store((ms_of(end) + kBackoffMs) | 1u, std::memory_order_relaxed);  // (never 0)
  g_last_waited.store(waited, std::memory_order_relaxed);
}
}  // namespace detail

void set_yield_when_busy(bool on) {  // and forget what was measured before
  detail::g_contended_until_ms.store(0, std::memory_order_relaxed);
  detail::g_last_waited.store(false, std::memory_order_relaxed);
  detail::g_yield_when_busy.store(on, std::memory_order_relaxed);
}

}  // namespace edgeattn
