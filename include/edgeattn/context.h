// Threads. Kernels are single-threaded; operators and modules parallelise
// with OpenMP across independent pieces of their output, so their results
// are bitwise identical for any thread count. The thread count is a per-call
// setting carried by a Context: an application that runs its own threads
// passes num_threads = 1 to each and is never oversubscribed.
#pragma once

#include "edgeattn/status.h"

namespace edgeattn {

struct Context {
  // Threads an operator may use; 0 means the process default (below).
  int num_threads = 0;
  // Scales the least work an operator gives each thread before it splits
  // (as PyTorch's grain size): 1 keeps the defaults, sized so that a
  // thread's share outweighs starting it; 0 splits whatever the size (the
  // tests use it so that every split they check really happens).
  float min_work_scale = 1.0f;
};

// The most threads any call uses: more than any board has cores, and far
// below what makes OpenMP's thread stacks or the per-thread workspace a
// hazard. A Context or host asking for more gets this many.
constexpr int kMaxThreads = 256;

// The process default for Context::num_threads == 0. Initially what the host
// asks for: OMP_NUM_THREADS if set, else the number of cores OpenMP sees.
// set_num_threads(0) restores that; n outside 0..kMaxThreads is refused
// (invalid_argument, the default unchanged). A build without OpenMP always
// uses 1.
Status set_num_threads(int n);
int default_num_threads();
// The threads a call with this context uses (1..kMaxThreads).
int resolve_threads(const Context& ctx);
// Whether this build was compiled with OpenMP.
bool has_openmp();

// Threads on a busy machine. When other programs keep the cores busy (a
// camera pipeline, a web server, a second model on the board), a thread of
// a team can be descheduled for a whole time slice while the rest wait for
// it at the end of every parallel step. The library notices (two steps in a
// row whose first finished thread waited over a millisecond for the last)
// and runs its steps on the calling thread alone for the next 100 ms, then
// tries the team again. Results are the same either way. On by default;
// off, every step uses the threads the context asks for (as the tests that
// compare thread counts need).
void set_yield_when_busy(bool on);

}  // namespace edgeattn
