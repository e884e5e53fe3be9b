// Select-once ISA dispatch. Compiled with baseline flags: it only asks the
// CPU what it has and hands out the matching table from the per-ISA objects.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "compiled_isas.h"
#include "table.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif
#if defined(__arm__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace edgeattn {
namespace detail {
namespace {

struct IsaEntry {
  Isa isa;
  const char* name;
};
#define EDGEATTN_ISA_NAME(name) {Isa::name, #name},
constexpr IsaEntry kNames[] = {EDGEATTN_ISA_LIST(EDGEATTN_ISA_NAME)};
#undef EDGEATTN_ISA_NAME

#if defined(__x86_64__) || defined(_M_X64)
// CPUID says what the core implements; XGETBV says whether the OS saves the
// wider registers on a context switch. Both are needed before using AVX
// (XCR0 bits 1-2) or AVX-512 (bits 5-7 as well): Intel SDM vol. 1, 13.3.
struct X86Features {
  bool sse41 = false, avx2_fma = false, avx512f = false;
};
X86Features detect_x86() {
  X86Features f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  f.sse41 = (c & bit_SSE4_1) != 0;
  const bool fma = (c & bit_FMA) != 0;
  const bool osxsave = (c & bit_OSXSAVE) != 0;
  const bool avx = (c & bit_AVX) != 0;
  unsigned long long xcr0 = 0;
  if (osxsave) {
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
  }
  const bool os_avx = (xcr0 & 0x6) == 0x6;
  const bool os_avx512 = (xcr0 & 0xe6) == 0xe6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2_fma = avx && fma && os_avx && (b & bit_AVX2) != 0;
  f.avx512f = f.avx2_fma && os_avx512 && (b & bit_AVX512F) != 0;
  return f;
}

// CPUID traps to the hypervisor in a VM (tens of microseconds): ask once.
const X86Features& x86() {
  static const X86Features f = detect_x86();
  return f;
}
#endif

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::scalar:
      return true;
#if defined(__x86_64__) || defined(_M_X64)
    case Isa::sse2:
      return true;  // part of x86-64
    case Isa::sse41:
      return x86().sse41;
    case Isa::avx2:
      return x86().avx2_fma;
    case Isa::avx512:
      return x86().avx512f;
#endif
#if defined(__aarch64__)
    case Isa::neon64:
      return true;  // Advanced SIMD is mandatory in ARMv8-A
#endif
#if defined(__arm__) && defined(__linux__)
    case Isa::neon:
      return (getauxval(AT_HWCAP) & (1UL << 12)) != 0;  // HWCAP_NEON
#endif
    default:
      return false;
  }
}

// The accessor of the table compiled for an ISA, or null when this build
// does not carry it. Not called before the CPU check: a table's static
// initialiser is compiled with its ISA's flags.
using TableFn = const KernelTable& (*)();
TableFn table_fn(Isa isa) {
#define EDGEATTN_TABLE_CASE(name) \
  case Isa::name:                 \
    return name##_table;
  switch (isa) {
    case Isa::scalar:
      return scalar_table;
    EDGEATTN_COMPILED_ISAS(EDGEATTN_TABLE_CASE)
    default:
      return nullptr;
  }
#undef EDGEATTN_TABLE_CASE
}

bool available(Isa isa) { return table_fn(isa) != nullptr && cpu_supports(isa); }

Isa best_isa() {
  const std::vector<Isa> all = available_isas();
  return all.back();
}

// The table in force. Chosen on first use: EDGEATTN_ISA if set and usable
// (a warning on stderr otherwise), else the best available ISA.
std::atomic<const KernelTable*> g_active{nullptr};

const KernelTable* initial_table() {
  const char* env = std::getenv("EDGEATTN_ISA");
  if (env && *env && std::strcmp(env, "auto") != 0) {
    Result<Isa> isa = isa_from_name(env);
    if (isa.ok() && available(isa.value())) return &table_fn(isa.value())();
    std::fprintf(stderr, "edgeattn: EDGEATTN_ISA=%s is not available here; using %s\n", env,
                 isa_name(best_isa()));
  }
  return &table_fn(best_isa())();
}

}  // namespace

const KernelTable* table_for(Isa isa) { return available(isa) ? &table_fn(isa)() : nullptr; }

const KernelTable& active_table() {
  const KernelTable* t = g_active.load(std::memory_order_acquire);
  if (!t) {
    const KernelTable* chosen = initial_table();
    // Several threads may race here; all compute the same choice.
    g_active.compare_exchange_strong(t, chosen, std::memory_order_acq_rel);
    t = g_active.load(std::memory_order_acquire);
  }
  return *t;
}

}  // namespace detail

const char* isa_name(Isa isa) {
  for (const auto& e : detail::kNames)
    if (e.isa == isa) return e.name;
  return "unknown";
}

Result<Isa> isa_from_name(const char* name) {
  for (const auto& e : detail::kNames)
    if (name && std::strcmp(name, e.name) == 0) return e.isa;
  std::string known;
  for (const auto& e : detail::kNames) known += std::string(known.empty() ? "" : ", ") + e.name;
  return Status::invalid(std::string("unknown ISA name '") + (name ? name : "(null)") +
                         "' (known: " + known + ")");
}

std::vector<Isa> available_isas() {
  std::vector<Isa> out;
  for (const auto& e : detail::kNames)
    if (detail::available(e.isa)) out.push_back(e.isa);
  return out;
}

Isa active_isa() { return detail::active_table().isa; }

Status set_isa(Isa isa) {
  if (!detail::available(isa)) {
    std::string have;
    for (Isa i : available_isas()) have += std::string(have.empty() ? "" : ", ") + isa_name(i);
    return {StatusCode::unsupported, std::string("ISA '") + isa_name(isa) +
                                         "' is not available in this build on this CPU "
                                         "(available: " + have + ")"};
  }
  detail::g_active.store(&detail::table_fn(isa)(), std::memory_order_release);
  return {};
}

Status set_isa(const char* name) {
  if (name && std::strcmp(name, "auto") == 0) return set_isa(detail::best_isa());
  Result<Isa> isa = isa_from_name(name);
  if (!isa.ok()) return isa.status();
  return set_isa(isa.value());
}

}  // namespace edgeattn
