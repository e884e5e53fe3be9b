// The blocked GEMM driver shared by all SIMD ISAs: it packs A and B into
// contiguous, zero-padded panels and feeds register tiles to the ISA's
// micro-kernel. The loop order is the five-loop scheme of Goto & van de Geijn
// (2008): a kc x nc block of B, an mc x kc block of A, then mr x nr tiles.
//
// Each element of C is computed by the same sequence of operations whatever
// its position (edge tiles go through the micro-kernel via a padded tile),
// and its k-loop is split only at multiples of kc, so a caller that splits C
// into pieces starting at multiples of mr / nr gets bitwise the same result.
#include <cstring>

#include "table.h"

namespace edgeattn::detail {
namespace {

constexpr std::size_t kFloatsPerLine = 16;  // 64-byte alignment of each panel

std::size_t round_up(std::size_t v, std::size_t m) { return (v + m - 1) / m * m; }
std::size_t min_of(std::size_t a, std::size_t b) { return a < b ? a : b; }

struct Panels {
  std::size_t kc, mc, nc;  // this problem's block sizes
};

Panels panels_for(const GemmBlocking& bl, std::size_t m, std::size_t n, std::size_t k) {
  return {min_of(bl.kc, k), min_of(bl.mc, round_up(m, bl.mr)), min_of(bl.nc, round_up(n, bl.nr))};
}

// pa[(tile * kb + p) * mr + i] = A[ic + tile*mr + i][pc + p], zero past m.
void pack_a(const kernels::GemmArgs& g, std::size_t mr, std::size_t ic, std::size_t mb,
            std::size_t pc, std::size_t kb, float* pa) {
  for (std::size_t t = 0; t < mb; t += mr) {
    const std::size_t rows = min_of(mr, mb - t);
    for (std::size_t p = 0; p < kb; ++p) {
      const float* src = g.a + (ic + t) * g.lda + pc + p;
      std::size_t i = 0;
      for (; i < rows; ++i) pa[i] = src[i * g.lda];
      for (; i < mr; ++i) pa[i] = 0.0f;
      pa += mr;
    }
  }
}

// pb[(tile * kb + p) * nr + j] = op(B)[pc + p][jc + tile*nr + j], zero past n.
void pack_b(const kernels::GemmArgs& g, std::size_t nr, std::size_t jc, std::size_t nb,
            std::size_t pc, std::size_t kb, float* pb) {
  for (std::size_t t = 0; t < nb; t += nr) {
    const std::size_t cols = min_of(nr, nb - t);
    for (std::size_t p = 0; p < kb; ++p) {
      std::size_t j = 0;
      if (g.trans_b) {
        const float* src = g.b + (jc + t) * g.ldb + pc + p;
        for (; j < cols; ++j) pb[j] = src[j * g.ldb];
      } else {
        const float* src = g.b + (pc + p) * g.ldb + jc + t;
        std::memcpy(pb, src, cols * sizeof(float));
        j = cols;
      }
      for (; j < nr; ++j) pb[j] = 0.0f;
      pb += nr;
    }
  }
}

void scale_c(const kernels::GemmArgs& g) {
  for (std::size_t i = 0; i < g.m; ++i)
    for (std::size_t j = 0; j < g.n; ++j) {
      float& c = g.c[i * g.ldc + j];
      c = g.beta == 0.0f ? 0.0f : g.beta * c;
    }
}

}  // namespace

std::size_t gemm_workspace_floats(const GemmBlocking& bl, std::size_t m, std::size_t n,
                                  std::size_t k) {
  if (bl.mr == 0 || m == 0 || n == 0 || k == 0) return 0;
  const Panels p = panels_for(bl, m, n, k);
  return round_up(p.kc * p.nc, kFloatsPerLine) + round_up(p.mc * p.kc, kFloatsPerLine) +
         round_up(bl.mr * bl.nr, kFloatsPerLine);
}

void gemm_blocked(const KernelTable& t, const kernels::GemmArgs& g, float* ws) {
  if (g.m == 0 || g.n == 0) return;
  if (g.k == 0) return scale_c(g);
  const GemmBlocking& bl = t.blocking;
  const Panels p = panels_for(bl, g.m, g.n, g.k);
  float* pb = ws;
  float* pa = pb + round_up(p.kc * p.nc, kFloatsPerLine);
  float* tile = pa + round_up(p.mc * p.kc, kFloatsPerLine);
  for (std::size_t jc = 0; jc < g.n; jc += p.nc) {
    const std::size_t nb = min_of(p.nc, g.n - jc);
    for (std::size_t pc = 0; pc < g.k; pc += p.kc) {
      const std::size_t kb = min_of(p.kc, g.k - pc);
      const float beta = pc == 0 ? g.beta : 1.0f;
      pack_b(g, bl.nr, jc, nb, pc, kb, pb);
      for (std::size_t ic = 0; ic < g.m; ic += p.mc) {
        const std::size_t mb = min_of(p.mc, g.m - ic);
        pack_a(g, bl.mr, ic, mb, pc, kb, pa);
        for (std::size_t jr = 0; jr < nb; jr += bl.nr) {
          const std::size_t cols = min_of(bl.nr, nb - jr);
          for (std::size_t ir = 0; ir < mb; ir += bl.mr) {
            const std::size_t rows = min_of(bl.mr, mb - ir);
            float* c = g.c + (ic + ir) * g.ldc + jc + jr;
            const float* a_panel = pa + ir * kb;
            const float* b_panel = pb + jr * kb;
            if (rows == bl.mr && cols == bl.nr) {
              t.micro_kernel(kb, a_panel, b_panel, c, g.ldc, g.alpha, beta);
              continue;
            }
            for (std::size_t i = 0; i < rows; ++i)
              if (beta != 0.0f) std::memcpy(tile + i * bl.nr, c + i * g.ldc, cols * sizeof(float));
            t.micro_kernel(kb, a_panel, b_panel, tile, bl.nr, g.alpha, beta);
            for (std::size_t i = 0; i < rows; ++i)
              std::memcpy(c + i * g.ldc, tile + i * bl.nr, cols * sizeof(float));
          }
        }
      }
    }
  }
}

}  // namespace edgeattn::detail
