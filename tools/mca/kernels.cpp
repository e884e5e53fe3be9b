// The NEON inner loops llvm-mca models (tools/mca_report.sh): compiled only
// with EDGEATTN_MCA_MARKERS for an ARM target, to assembly, never linked.
// The library's kernels carry the regions (EDGEATTN_MCA_BEGIN/END); this
// file instantiates them, and the GEMM micro-kernel at every row count the
// registers allow, for the tile choice. The exp loop is written here: in
// the library it is the body of a generic elementwise driver.
#include "kernels/simd_kernels.h"

namespace edgeattn::detail {
namespace {

#if defined(__aarch64__)
using A = xsimd::neon64;
#else
using A = xsimd::neon;
#endif

void exp_loop(const float* x, float* y, std::size_t n) {
  using F = fbatch<A>;
  for (std::size_t i = 0; i + F::size <= n; i += F::size) {
    EDGEATTN_MCA_BEGIN("exp", 1);
    exp_batch<A>(F::load_unaligned(x + i)).store_unaligned(y + i);
    EDGEATTN_MCA_END("exp", 1);
  }
}

}  // namespace
}  // namespace edgeattn::detail

// Every kernel the report models, kept alive.
void* edgeattn_mca_kernels[] = {
    reinterpret_cast<void*>(&edgeattn::detail::exp_loop),
    reinterpret_cast<void*>(&edgeattn::detail::fma_peak<edgeattn::detail::A>),
    reinterpret_cast<void*>(&edgeattn::detail::gemv<edgeattn::detail::A>),
    reinterpret_cast<void*>(&edgeattn::detail::gemv_t<edgeattn::detail::A>),
    reinterpret_cast<void*>(&edgeattn::detail::gemv_t_panels<edgeattn::detail::A>),
#define EDGEATTN_MCA_TILE(mr) reinterpret_cast<void*>(&edgeattn::detail::gemm_micro<edgeattn::detail::A, mr>),
#if defined(__aarch64__)
    EDGEATTN_MCA_TILE(4) EDGEATTN_MCA_TILE(6) EDGEATTN_MCA_TILE(8) EDGEATTN_MCA_TILE(10) EDGEATTN_MCA_TILE(12)
#else
    EDGEATTN_MCA_TILE(2) EDGEATTN_MCA_TILE(4) EDGEATTN_MCA_TILE(6)
#endif
};
