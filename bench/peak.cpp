#include "peak.h"

#include <chrono>
#include <cstdlib>
#include <map>
#include <utility>
#include <vector>

#include "kernels/table.h"
#if defined(EDGEATTN_BENCH_OPENMP)
#include <omp.h>
#endif

namespace edgeattn::bench {
namespace {

template <class F>
double best_seconds(int runs, F body) {
  double best = 1e30;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = s < best ? s : best;
  }
  return best;
}

// Runs body(thread) on `threads` threads at once.
template <class F>
void on_threads(int threads, F body) {
#if defined(EDGEATTN_BENCH_OPENMP)
#pragma omp parallel num_threads(threads)
  body(omp_get_thread_num());
#else
  (void)threads;
  body(0);
#endif
}

// EDGEATTN_BENCH_QUICK_PEAK=1 (the smoke runs under qemu): the probes run
// a thousandth of their work once, so a smoke run takes seconds; the
// peaks and fractions they give are then meaningless.
bool quick() {
  static const bool q = [] {
    const char* v = std::getenv("EDGEATTN_BENCH_QUICK_PEAK");
    return v && *v && *v != '0';
  }();
  return q;
}

}  // namespace

double measure_fma_peak_gflops(Isa isa, int threads) {
  const detail::KernelTable* t = detail::table_for(isa);
  if (!t) return 0.0;
  const std::size_t iters = quick() ? 20'000 : 20'000'000;
  std::vector<float> sink(64 * threads);
  double flops = 0;
  const double s = best_seconds(quick() ? 1 : 5, [&] {
    on_threads(threads, [&](int i) {
      const double f = t->fma_peak(iters, &sink[64 * i]);
      if (i == 0) flops = f * threads;
    });
  });
  return flops / s * 1e-9;
}

double measure_triad_gbps(std::size_t bytes, int threads) {
  const std::size_t n = bytes / (2 * sizeof(float) * threads);  // x and y per thread
  std::vector<std::vector<float>> x(threads, std::vector<float>(n, 1.0f));
  std::vector<std::vector<float>> y(threads, std::vector<float>(n, 2.0f));
  const int reps = quick() ? 1 : static_cast<int>(2e8 / (bytes + 1)) + 1;
  const double s = best_seconds(quick() ? 1 : 5, [&] {
    on_threads(threads, [&](int i) {
      for (int r = 0; r < reps; ++r) kernels::axpy(1e-7f, x[i].data(), y[i].data(), n);
    });
  });
  return 3.0 * n * sizeof(float) * threads * reps / s * 1e-9;
}

double fma_peak_gflops(Isa isa, int threads) {
  static std::map<std::pair<Isa, int>, double> cache;
  auto key = std::make_pair(isa, threads);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, measure_fma_peak_gflops(isa, threads)).first;
  return it->second;
}

}  // namespace edgeattn::bench
