#include "edgeattn/context.h"

#include <atomic>
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

}  // namespace edgeattn
