// Every operator new of a test program that links alloc_count.cpp is counted
// while g_counting is set: a planned module run must not allocate (its
// scratch comes from the workspace), which catches strings, vectors and
// closures in hot paths.
#pragma once

#include <atomic>

namespace edgeattn::test {
extern std::atomic<bool> g_counting;
extern std::atomic<long> g_allocations;
}  // namespace edgeattn::test
