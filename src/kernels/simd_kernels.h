// xsimd implementations of the kernels, templated on the xsimd architecture.
// Included only by simd_table.cpp, which is compiled once per ISA with that
// ISA's flags. Everything here has internal linkage (anonymous namespace) so
// that no inline function compiled with, say, AVX-512 flags can be picked by
// the linker for code that runs on a CPU without it; for the same reason it
// avoids std::min/std::max and other shared inline templates on floats.
#pragma once

#include "simd/activations.h"
#include "simd/attention.h"
#include "simd/common.h"
#include "simd/conv.h"
#include "simd/elementwise.h"
#include "simd/gemm.h"
#include "simd/gemv.h"
#include "simd/math.h"
#include "simd/reductions.h"
#include "simd/rnn_gates.h"
#include "simd/softmax.h"
#include "simd/weights.h"

namespace edgeattn::detail {
namespace {

// pv_exp2 where its schedule fits the register tile (AVX-512's 8 x 32).
template <class A, std::size_t MR>
constexpr PvExp2Kernel pv_exp2_for() {
  if constexpr (2 * fbatch<A>::size % MR == 0) return pv_exp2<A, MR>;
  return nullptr;
}

// Register tile MR x 2 vectors (leaving registers for the two B vectors and
// the broadcast); a kc x nc block of B stays in L2, a kc x nr panel in L1.
template <class A, std::size_t MR>
KernelTable make_table(Isa isa) {
  constexpr std::size_t NR = 2 * fbatch<A>::size;
  GemmBlocking bl;
  bl.mr = MR;
  bl.nr = NR;
  bl.kc = 256;
  bl.nc = 2048;
#define EDGEATTN_SIMD_ENTRY(name, impl, ret, params, args) impl<A>,
  return KernelTable{isa,         EDGEATTN_ALL_KERNELS(EDGEATTN_SIMD_ENTRY) bl, gemm_micro<A, MR>, nullptr,
                     fma_peak<A>, softmax2_rescale<A>, pv_exp2_for<A, MR>()};
#undef EDGEATTN_SIMD_ENTRY
}

}  // namespace
}  // namespace edgeattn::detail
