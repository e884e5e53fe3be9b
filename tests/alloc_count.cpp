#include "alloc_count.h"

#include <cstdlib>
#include <new>

namespace edgeattn::test {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
}  // namespace edgeattn::test

// new and delete are both replaced here (malloc/free), so GCC's
// mismatched-new-delete warning on inlined library code is a false alarm.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  if (edgeattn::test::g_counting) ++edgeattn::test::g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
