// What every workload benchmark reports, and how it registers its 1- and
// 2-thread variants. Header-only (the benches link Google Benchmark).
#pragma once

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "edgeattn/context.h"

#include "peak.h"

namespace edgeattn::bench {

// GFLOPS and peak_frac: counted flops per call against the FMA peak of the
// ISA in use and the same thread count.
inline void count_flops(benchmark::State& st, double flops, int threads) {
  using benchmark::Counter;
  const double n = static_cast<double>(st.iterations());
  st.counters["GFLOPS"] = Counter(flops * n * 1e-9, Counter::kIsRate);
  st.counters["peak_frac"] =
      Counter(flops * n * 1e-9 / fma_peak_gflops(active_isa(), threads), Counter::kIsRate);
}

// name/threads:T for T = 1, 2 and every core (a 4-core Pi: 4), wall-clock
// time in microseconds; body(state, threads).
template <class F>
void register_threads(const std::string& name, F body) {
  std::vector<int> counts{1, 2};
  if (default_num_threads() > 2) counts.push_back(default_num_threads());
  for (int t : counts)
    benchmark::RegisterBenchmark((name + "/threads:" + std::to_string(t)).c_str(),
                                 [=](benchmark::State& st) { body(st, t); })
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
}

}  // namespace edgeattn::bench
