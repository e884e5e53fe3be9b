// The per-ISA kernel table: a field per kernel of kernel_list.h, then the
// GEMM and attention pieces that are not plain kernels. One instance per ISA
// compiled into the binary (scalar.cpp, and simd_table.cpp compiled once per
// ISA with its flags); dispatch.cpp picks one at start-up. Internal.
#pragma once

#include <cstddef>
#include <cstdint>

#include "edgeattn/kernels.h"
#include "kernel_list.h"
#include "edgeattn/tensor.h"
#include "edgeattn/weights.h"

namespace edgeattn::detail {

// GEMM register tile (mr x nr) and cache blocking (a kc x nc block of B),
// after Goto & van de Geijn, "Anatomy of High-Performance Matrix
// Multiplication" (2008). Zero for the scalar reference, which does not block.
struct GemmBlocking {
  std::size_t mr = 0, nr = 0, kc = 0, nc = 0;
};

// For q < panels: C[mr x nr] at c + q nr = act(alpha * A[rows x kc] (packed
// B panel at pb + q ldpb) + beta * C + bias[i]); A read in place with row
// stride lda (rows <= mr valid rows); beta == 0: C not read; bias null: none. Consecutive panels share
// one set-up of the row streams (attention's score tiles take 8 at k = 64).
using MicroKernel = void (*)(std::size_t kc, const float* a, std::size_t lda, std::size_t rows,
                             const float* pb, std::size_t panels, std::size_t ldpb, float* c,
                             std::size_t ldc, float alpha, float beta, const float* bias,
                             Activation act);

// C += A B as MicroKernel(kc, a, lda, rows, pb, panels, ldpb, c, ldc, 1, 1)
// with, woven in, MR rows of scores e (row stride lde, kc each) turned into
// 2^(e - shift[r]) in place and sums[r] = their sum, the bits of the second
// half of online_softmax2. kc a multiple of 2 vectors.
using PvExp2Kernel = void (*)(std::size_t kc, const float* a, std::size_t lda, std::size_t rows,
                              const float* pb, std::size_t panels, std::size_t ldpb, float* c,
                              std::size_t ldc, float* e, std::size_t lde, const float* shift,
                              float* sums);

struct KernelTable {
  Isa isa;
#define EDGEATTN_TABLE_FIELD(name, impl, ret, params, args) ret(*name) params;
  EDGEATTN_ALL_KERNELS(EDGEATTN_TABLE_FIELD)
#undef EDGEATTN_TABLE_FIELD
  // Blocked GEMM when micro_kernel is set; otherwise the plain reference.
  GemmBlocking blocking;
  MicroKernel micro_kernel;
  void (*gemm_reference)(const kernels::GemmArgs&);
  // Runs `iters` rounds of independent FMA chains; returns the flop count.
  // Used by the peak benchmark to measure the machine, not by operators.
  double (*fma_peak)(std::size_t iters, float* sink);
  // The attention driver's pipeline (null on the scalar path): the first
  // half of online_softmax2 (new maxima, O and l rescaled, the shift of each
  // row's exponentials), and the next tile's second half inside this tile's
  // P V product where the register tile allows (null elsewhere).
  void (*softmax2_rescale)(const float* s, std::size_t lds, std::size_t rows, std::size_t n,
                           float* m, float* l, float* o, std::size_t ldo, std::size_t dv,
                           float* shift);
  PvExp2Kernel pv_exp2;
};

// Every ISA's table, <name>_table() for each name of EDGEATTN_ISA_LIST
// (isa.h): scalar.cpp defines the scalar one, simd_table.cpp the others the
// build compiles.
#define EDGEATTN_DECLARE_TABLE(name) const KernelTable& name##_table();
EDGEATTN_ISA_LIST(EDGEATTN_DECLARE_TABLE)
#undef EDGEATTN_DECLARE_TABLE

// The table of an available ISA (see available_isas()); null otherwise.
const KernelTable* table_for(Isa isa);
// The table in force now.
const KernelTable& active_table();

// B panels as the micro-kernel reads them: pb[(tile * kb + p) * nr + j] =
// op(B)[pc + p][jc + tile * nr + j], zero past nb columns (gemm_driver.cpp).
// kernels::transpose (gemm_driver.cpp: the same on every ISA).
void transpose(std::size_t rows, std::size_t cols, const float* a, std::size_t lda, float* b,
               std::size_t ldb);
void pack_b(const kernels::GemmArgs& g, std::size_t nr, std::size_t jc, std::size_t nb,
            std::size_t pc, std::size_t kb, float* pb);

// Streaming attention (attention_driver.cpp): K and V packed once per
// thread (attend_packed_floats, multiple of 16), then any range of query
// rows, independently.
// Query rows that share each key block (a group of register tiles); row
// ranges that start at multiples of it keep the blocking of one thread.
std::size_t attend_group_rows(const KernelTable& t);
std::size_t attend_packed_floats(const KernelTable& t, std::size_t m, std::size_t n,
                                 std::size_t d, std::size_t dv);
std::size_t attend_scratch_floats(const KernelTable& t, std::size_t m, std::size_t n,
                                  std::size_t dv);
void attend_pack(const KernelTable& t, const kernels::AttendArgs& a, float* packed);
void attend_rows(const KernelTable& t, const kernels::AttendArgs& a, const float* packed,
                 std::size_t row_begin, std::size_t row_end, float* scratch);

// Argument checks of kernels::gemm (sizes, leading dimensions, pointers).
Status check_gemm(const kernels::GemmArgs& g);

// Blocked GEMM driver shared by every SIMD ISA (gemm_driver.cpp).
std::size_t gemm_workspace_floats(const GemmBlocking& bl, std::size_t m, std::size_t n,
                                  std::size_t k);
void gemm_blocked(const KernelTable& t, const kernels::GemmArgs& g, float* workspace);
// All of op(B) packed block by block in the order gemm_blocked visits them.
std::size_t packed_b_floats(const GemmBlocking& bl, std::size_t n, std::size_t k);
void pack_b_all(const KernelTable& t, const kernels::GemmArgs& g, float* out);
// Its inverse: rows [j0, j1) of op(B)^T (n x k; row j at w + (j - j0) ldw)
// from `packed` as pack_b_all laid it out.
void unpack_b_all(const GemmBlocking& bl, const float* packed, std::size_t n, std::size_t k, std::size_t j0,
                  std::size_t j1, float* w, std::size_t ldw);

}  // namespace edgeattn::detail
