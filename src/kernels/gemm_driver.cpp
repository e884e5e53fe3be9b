// The blocked GEMM driver shared by all SIMD ISAs: it packs B into
// contiguous, zero-padded panels and feeds register tiles to the ISA's
// micro-kernel, which reads A in place. The loop order follows Goto & van de
// Geijn (2008): a kc x nc block of B, then mr x nr tiles over all rows. A is
// not packed (as in XNNPACK): at the sizes of attention and RNN layers its
// rows stream well from cache, and packing it cost a quarter of the time.
//
// Each element of C is computed by the same sequence of operations whatever
// its position (edge tiles go through the micro-kernel via a padded tile),
// and its k-loop is split only at multiples of kc, so a caller that splits C
// into pieces starting at multiples of mr / nr gets bitwise the same result.
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#endif

#include "table.h"

namespace edgeattn::detail {
namespace {

constexpr std::size_t kFloatsPerLine = 16;  // 64-byte alignment of each panel

std::size_t round_up(std::size_t v, std::size_t m) { return (v + m - 1) / m * m; }
std::size_t min_of(std::size_t a, std::size_t b) { return a < b ? a : b; }

struct Panels {
  std::size_t kc, nc;  // this problem's block sizes
};

Panels panels_for(const GemmBlocking& bl, std::size_t n, std::size_t k) {
  return {min_of(bl.kc, k), min_of(bl.nc, round_up(n, bl.nr))};
}

// d[q * nr + i] = r_i[q] for a 4 x 4 block: a register transpose where the
// baseline ISA has one (SSE2 on x86-64, NEON), else element by element.
void transpose4(const float* r0, const float* r1, const float* r2, const float* r3,
                std::size_t nr, float* d) {
#if defined(__SSE2__)
  const __m128 a = _mm_loadu_ps(r0), b = _mm_loadu_ps(r1);
  const __m128 c = _mm_loadu_ps(r2), e = _mm_loadu_ps(r3);
  const __m128 ab0 = _mm_unpacklo_ps(a, b), ab1 = _mm_unpackhi_ps(a, b);
  const __m128 ce0 = _mm_unpacklo_ps(c, e), ce1 = _mm_unpackhi_ps(c, e);
  _mm_storeu_ps(d, _mm_movelh_ps(ab0, ce0));
  _mm_storeu_ps(d + nr, _mm_movehl_ps(ce0, ab0));
  _mm_storeu_ps(d + 2 * nr, _mm_movelh_ps(ab1, ce1));
  _mm_storeu_ps(d + 3 * nr, _mm_movehl_ps(ce1, ab1));
#elif defined(__ARM_NEON)
  const float32x4x2_t ab = vzipq_f32(vld1q_f32(r0), vld1q_f32(r1));
  const float32x4x2_t ce = vzipq_f32(vld1q_f32(r2), vld1q_f32(r3));
  vst1q_f32(d, vcombine_f32(vget_low_f32(ab.val[0]), vget_low_f32(ce.val[0])));
  vst1q_f32(d + nr, vcombine_f32(vget_high_f32(ab.val[0]), vget_high_f32(ce.val[0])));
  vst1q_f32(d + 2 * nr, vcombine_f32(vget_low_f32(ab.val[1]), vget_low_f32(ce.val[1])));
  vst1q_f32(d + 3 * nr, vcombine_f32(vget_high_f32(ab.val[1]), vget_high_f32(ce.val[1])));
#else
  for (std::size_t q = 0; q < 4; ++q)
    d[q * nr] = r0[q], d[q * nr + 1] = r1[q], d[q * nr + 2] = r2[q], d[q * nr + 3] = r3[q];
#endif
}

}  // namespace

// b[j * ldb + i] = a[i * lda + j], in 4 x 4 blocks (one element per move
// cost attention's K packing an eighth of a 128-key call).
void transpose(std::size_t rows, std::size_t cols, const float* a, std::size_t lda, float* b,
               std::size_t ldb) {
  std::size_t i = 0;
  for (; i + 4 <= rows; i += 4) {
    const float* r = a + i * lda;
    std::size_t j = 0;
    for (; j + 4 <= cols; j += 4)
      transpose4(r + j, r + lda + j, r + 2 * lda + j, r + 3 * lda + j, ldb, b + j * ldb + i);
    for (; j < cols; ++j)
      for (std::size_t q = 0; q < 4; ++q) b[j * ldb + i + q] = r[q * lda + j];
  }
  for (; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) b[j * ldb + i] = a[i * lda + j];
}

// Either way round, reads run along rows of B.
void pack_b(const kernels::GemmArgs& g, std::size_t nr, std::size_t jc, std::size_t nb,
            std::size_t pc, std::size_t kb, float* pb) {
  for (std::size_t t = 0; t < nb; t += nr, pb += nr * kb) {
    const std::size_t cols = min_of(nr, nb - t);
    if (g.trans_b) {
      transpose(cols, kb, g.b + (jc + t) * g.ldb + pc, g.ldb, pb, nr);
      for (std::size_t p = 0; p < kb; ++p)
        for (std::size_t j = cols; j < nr; ++j) pb[p * nr + j] = 0.0f;
      continue;
    }
    for (std::size_t p = 0; p < kb; ++p) {
      std::memcpy(pb + p * nr, g.b + (pc + p) * g.ldb + jc + t, cols * sizeof(float));
      for (std::size_t j = cols; j < nr; ++j) pb[p * nr + j] = 0.0f;
    }
  }
}

namespace {

// Register tiles of typed A's rows widened together (8 x 8 rows x kc 256:
// 64 KiB on AVX-512).
constexpr std::size_t kTypedATiles = 8;

// pack_b for typed weights: a tile's rows of W (columns of op(B)) widened
// to floats into `rows` (nr x kb, in the typed-A block's room), then
// transposed into the panel. Whole rows at a time: a call per 64 elements
// spent more in calls than in widening (W7 bf16).
void pack_b_weights(const KernelTable& t, const kernels::GemmArgs& g, std::size_t nr, std::size_t jc,
                    std::size_t nb, std::size_t pc, std::size_t kb, float* pb, float* rows) {
  for (std::size_t tile = 0; tile < nb; tile += nr, pb += nr * kb) {
    const std::size_t cols = min_of(nr, nb - tile);
    for (std::size_t j = 0; j < cols; ++j) t.widen_w(g.b_weights.from_row(jc + tile + j), pc, kb, rows + j * kb);
    transpose(cols, kb, rows, kb, pb, nr);
    for (std::size_t p = 0; p < kb; ++p)
      for (std::size_t j = cols; j < nr; ++j) pb[p * nr + j] = 0.0f;
  }
}

// k == 0: only the epilogue's terms.
void scale_c(const KernelTable& t, const kernels::GemmArgs& g) {
  for (std::size_t i = 0; i < g.m; ++i) {
    float* row = g.c + i * g.ldc;
    for (std::size_t j = 0; j < g.n; ++j) {
      row[j] = g.beta == 0.0f ? 0.0f : g.beta * row[j];
      if (g.bias) row[j] += g.bias[i];
    }
    t.activate(g.act, row, row, g.n);
  }
}

}  // namespace

std::size_t gemm_workspace_floats(const GemmBlocking& bl, std::size_t m, std::size_t n,
                                  std::size_t k) {
  if (bl.mr == 0 || m == 0 || n == 0 || k == 0) return 0;
  const Panels p = panels_for(bl, n, k);
  // B's block, an edge tile of C, and a block of typed A's rows widened
  return round_up(p.kc * p.nc, kFloatsPerLine) + round_up(bl.mr * bl.nr, kFloatsPerLine) +
         round_up(std::max(kTypedATiles * bl.mr, bl.nr) * p.kc, kFloatsPerLine);
}

std::size_t packed_b_floats(const GemmBlocking& bl, std::size_t n, std::size_t k) {
  if (bl.nr == 0) return 0;
  std::size_t total = 0;
  for (std::size_t jc = 0; jc < n; jc += bl.nc)
    total += round_up(min_of(bl.nc, n - jc), bl.nr) * k;
  return total;
}

void pack_b_all(const KernelTable& t, const kernels::GemmArgs& g, float* out) {
  const GemmBlocking& bl = t.blocking;
  for (std::size_t jc = 0; jc < g.n; jc += bl.nc) {
    const std::size_t nb = min_of(bl.nc, g.n - jc);
    for (std::size_t pc = 0; pc < g.k; pc += bl.kc) {
      const std::size_t kb = min_of(bl.kc, g.k - pc);
      pack_b(g, bl.nr, jc, nb, pc, kb, out);
      out += round_up(nb, bl.nr) * kb;
    }
  }
}

void unpack_b_all(const GemmBlocking& bl, const float* packed, std::size_t n, std::size_t k, std::size_t j0,
                  std::size_t j1, float* w, std::size_t ldw) {
  for (std::size_t jc = 0; jc < n; jc += bl.nc)
    for (std::size_t pc = 0; pc < k; pc += bl.kc) {
      const std::size_t nb = min_of(bl.nc, n - jc), kb = min_of(bl.kc, k - pc);
      for (std::size_t t = jc; t < jc + nb; t += bl.nr, packed += bl.nr * kb) {
        const std::size_t lo = t > j0 ? t : j0, hi = min_of(min_of(t + bl.nr, jc + nb), j1);  // the panel's part of [j0, j1)
        if (lo < hi) transpose(kb, hi - lo, packed + (lo - t), bl.nr, w + (lo - j0) * ldw + pc, ldw);
      }
    }
}

void gemm_blocked(const KernelTable& t, const kernels::GemmArgs& g, float* ws) {
  if (g.m == 0 || g.n == 0) return;
  if (g.k == 0) return scale_c(t, g);
  const GemmBlocking& bl = t.blocking;
  const Panels p = panels_for(bl, g.n, g.k);
  float* scratch_b = ws;
  float* tile = scratch_b + round_up(p.kc * p.nc, kFloatsPerLine);
  float* a_tile = tile + round_up(bl.mr * bl.nr, kFloatsPerLine);
  // Blocks of a pre-packed B follow each other in this loop's order
  // (pack_b_all), (jc, pc) at jc K + (jc's block's columns, whole tiles) pc;
  // p.kc and p.nc equal the ISA's blocking whenever B has more than one
  // block in that direction. A call from column packed_b_col on starts
  // inside that column block's panels.
  const bool packed = g.packed_b && g.packed_b->bytes() && g.packed_b->isa() == t.isa;
  const auto prepacked = [&](std::size_t jc, std::size_t pc, std::size_t kb) {
    const std::size_t col = g.packed_b_col + jc, block = col / bl.nc * bl.nc;
    const std::size_t cols = round_up(min_of(bl.nc, g.packed_b->n() - block), bl.nr);
    return g.packed_b->data() + block * g.k + cols * pc + (col - block) * kb;
  };
  for (std::size_t jc = 0; jc < g.n; jc += p.nc) {
    const std::size_t nb = min_of(p.nc, g.n - jc);
    for (std::size_t pc = 0; pc < g.k; pc += p.kc) {
      const std::size_t kb = min_of(p.kc, g.k - pc);
      const float beta = pc == 0 ? g.beta : 1.0f;
      const bool last = pc + kb == g.k;  // the epilogue's block
      const Activation act = last ? g.act : Activation::none;
      const float* pb = packed ? prepacked(jc, pc, kb) : nullptr;
      if (!packed) {
        if (g.b_weights.empty()) pack_b(g, bl.nr, jc, nb, pc, kb, scratch_b);
        else pack_b_weights(t, g, bl.nr, jc, nb, pc, kb, scratch_b, a_tile);
        pb = scratch_b;
      }
      // C's register tile at (ir, jr) from A's rows at a, lda apart.
      const auto run_tile = [&](std::size_t ir, std::size_t jr, const float* a, std::size_t lda) {
        const std::size_t rows = min_of(bl.mr, g.m - ir), cols = min_of(bl.nr, nb - jr);
        const float* b_panel = pb + jr * kb;
        float* c = g.c + ir * g.ldc + jc + jr;
        const float* bias = last && g.bias ? g.bias + ir : nullptr;
        if (rows == bl.mr && cols == bl.nr) {
          t.micro_kernel(kb, a, lda, rows, b_panel, 1, 0, c, g.ldc, g.alpha, beta, bias, act);
          return;
        }
        for (std::size_t i = 0; i < rows; ++i)
          if (beta != 0.0f) std::memcpy(tile + i * bl.nr, c + i * g.ldc, cols * sizeof(float));
        t.micro_kernel(kb, a, lda, rows, b_panel, 1, 0, tile, bl.nr, g.alpha, beta, bias, act);
        for (std::size_t i = 0; i < rows; ++i) std::memcpy(c + i * g.ldc, tile + i * bl.nr, cols * sizeof(float));
      };
      if (g.a_weights.empty()) {
        for (std::size_t jr = 0; jr < nb; jr += bl.nr)
          for (std::size_t ir = 0; ir < g.m; ir += bl.mr) run_tile(ir, jr, g.a + ir * g.lda + pc, g.lda);
        continue;
      }
      // Typed A: kTypedATiles register tiles of rows widened at once (kb
      // floats apart, an L2-sized block as BLIS's mc), then the loops above
      // over them; each C tile is computed as above.
      const std::size_t mc = kTypedATiles * bl.mr;
      for (std::size_t ic = 0; ic < g.m; ic += mc) {
        const std::size_t rows = min_of(mc, g.m - ic);
        for (std::size_t i = 0; i < rows; ++i) t.widen_w(g.a_weights.from_row(ic + i), pc, kb, a_tile + i * kb);
        for (std::size_t jr = 0; jr < nb; jr += bl.nr)
          for (std::size_t ir = ic; ir < ic + rows; ir += bl.mr) run_tile(ir, jr, a_tile + (ir - ic) * kb, kb);
      }
    }
  }
}

}  // namespace edgeattn::detail
