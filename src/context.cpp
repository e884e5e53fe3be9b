#include "edgeattn/context.h"

#include <atomic>

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

void set_num_threads(int n) { g_default.store(n > 0 ? n : 0); }

int default_num_threads() {
  const int n = g_default.load();
  return n > 0 ? n : host_threads();
}

int resolve_threads(const Context& ctx) {
#if defined(EDGEATTN_HAVE_OPENMP)
  const int n = ctx.num_threads > 0 ? ctx.num_threads : default_num_threads();
  return n > 0 ? n : 1;
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
