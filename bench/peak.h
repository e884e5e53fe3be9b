// The machine's measured peaks, for stating each result as a fraction of
// them: FMA throughput of an ISA's widest vectors (GFLOP/s) and triad memory
// bandwidth (GB/s) for a working set size.
#pragma once

#include <cstddef>

#include "edgeattn/kernels.h"

namespace edgeattn::bench {

// Best of a few short runs of independent FMA chains on `threads` threads.
double measure_fma_peak_gflops(Isa isa, int threads);
// axpy (y += a x: 2 loads, 1 store per element) over `bytes` of total data.
double measure_triad_gbps(std::size_t bytes, int threads);
// Cached per (isa, threads): benchmarks call this for their peak fraction.
double fma_peak_gflops(Isa isa, int threads);

}  // namespace edgeattn::bench
