// Streaming attention: scores never leave an L1-sized tile. For each group
// of query tiles, each block of kBlock keys, and each tile of mr rows:
//   S = scale Q K_blk^T               (micro-kernel over packed K panels)
//   per row: m' = max(m, rowmax S), P = exp(S - m'), l = l e^(m - m') + sum P,
//            O = O e^(m - m')          (online softmax, Milakov & Gimelshein 2018)
//            in base 2: S carries log2 e, so 2^ replaces e^ (exp2_nonpositive_core)
//   O += P V_blk                      (micro-kernel over packed V panels)
// and finally O / l, as FlashAttention (Dao et al. 2022) does on GPUs. The
// tiles run one behind: a tile's P V product carries the next tile's
// exponentials (see attend_block). K and V are packed once per call (and
// thread) for all its row ranges. Each row's result depends only on its own
// data, so any split of rows gives the same bits.
#include <cstring>
#include <limits>

#include "table.h"

namespace edgeattn::detail {
namespace {

constexpr std::size_t kBlock = 256;  // keys per block: S tile mr x 256 floats
// Query tiles that share each key block while its packed K and V (2 x 64 KB
// at d = 64) stay in L2: without groups every tile of mr rows re-streams all
// of K and V, from L3 once they outgrow L2 (L = 4096: 2 MB).
constexpr std::size_t kGroupTiles = 16;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kLog2e = 1.44269504088896341f;

std::size_t round_up(std::size_t v, std::size_t m) { return (v + m - 1) / m * m; }
std::size_t min_of(std::size_t a, std::size_t b) { return a < b ? a : b; }

const std::uint8_t* mask_row(const kernels::AttendArgs& a, std::size_t row) {
  return a.mask ? a.mask + row * a.ldmask : nullptr;
}

// Masked scores become -inf, so the softmax step gives them weight 0.
void apply_mask(float* s, const std::uint8_t* m, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j)
    if (!m[j]) s[j] = kNegInf;
}

// Whether the call runs tile by tile (packed K and V) or row by row: a
// decoder step (fewer queries than a register tile) does not pay for packing,
// and the scalar path has no micro-kernel.
bool tiled(const KernelTable& t, std::size_t m) {
  return t.micro_kernel != nullptr && m >= t.blocking.mr;
}

// One query at a time: its scores by GEMV, the masked softmax, then the
// weighted sum of value rows (transposed GEMV).
void attend_rows_direct(const KernelTable& t, const kernels::AttendArgs& a, std::size_t begin,
                        std::size_t end, float* s) {
  for (std::size_t i = begin; i < end; ++i) {
    t.gemv(a.n, a.d, a.scale, a.k, a.ldk, a.q + i * a.ldq, 0.0f, s);
    t.softmax(s, mask_row(a, i), s, a.n);
    t.gemv_t(a.n, a.dv, 1.0f, a.v, a.ldv, s, 0.0f, a.o + i * a.ldo);
  }
}

// The scores of one tile of `rows` (<= mr) query rows against keys [k0,
// k0 + kc), in base 2, masked ones -inf.
void score_tile(const KernelTable& t, const kernels::AttendArgs& a, const float* pk,
                std::size_t r0, std::size_t rows, std::size_t k0, std::size_t kc, float* s) {
  const std::size_t nr = t.blocking.nr;
  const float scale2 = a.scale * kLog2e;  // scores in base 2, as the softmax step takes them
  t.micro_kernel(a.d, a.q + r0 * a.ldq, a.ldq, rows, pk + k0 * a.d, round_up(kc, nr) / nr,
                 nr * a.d, s, kBlock, scale2, 0.0f, nullptr, Activation::none);
  for (std::size_t i = 0; a.mask && i < rows; ++i)
    apply_mask(s + i * kBlock, mask_row(a, r0 + i) + k0, kc);
}

// Where the group's tiles, their running softmax state and the two score
// tiles in flight live.
struct Tiles {
  std::size_t g0, g_end, dv_pad;
  float *o, *m, *l, *shift, *sums;
  float* s[2];
};

// One key block for the query tiles of a group, one tile behind: the scores
// of tile i and the first half of their softmax step, then tile i - 1's
// O += P V with tile i's exponentials inside it (the product's FMAs and the
// exp's other operations overlap). That needs pv_exp2 in the table, both
// tiles whole and the block whole register panels, as a short last block
// of a multiple of nr keys (or L = 128's only block) is; otherwise the two
// run in turn. Each tile's arithmetic is the same either way, so the bits
// are too.
void attend_block(const KernelTable& t, const kernels::AttendArgs& a, const float* pk,
                  const float* pv, std::size_t k0, std::size_t kc, const Tiles& g) {
  const std::size_t mr = t.blocking.mr, nr = t.blocking.nr;
  const auto pv_product = [&](std::size_t r0, const float* s) {
    t.micro_kernel(kc, s, kBlock, mr, pv + k0 * nr, g.dv_pad / nr, nr * a.n, g.o + (r0 - g.g0) * g.dv_pad,
                   g.dv_pad, 1.0f, 1.0f, nullptr, Activation::none);
  };
  const float* prev = nullptr;
  std::size_t prev_r0 = 0;
  for (std::size_t r0 = g.g0; r0 < g.g_end; r0 += mr) {
    const std::size_t rows = min_of(mr, g.g_end - r0), i = r0 - g.g0;
    float* s = prev == g.s[0] ? g.s[1] : g.s[0];
    score_tile(t, a, pk, r0, rows, k0, kc, s);
    if (prev && t.pv_exp2 && rows == mr && kc % nr == 0) {
      t.softmax2_rescale(s, kBlock, rows, kc, g.m + i, g.l + i, g.o + i * g.dv_pad, g.dv_pad,
                         g.dv_pad, g.shift);
      t.pv_exp2(kc, prev, kBlock, mr, pv + k0 * nr, g.dv_pad / nr, nr * a.n,
                g.o + (prev_r0 - g.g0) * g.dv_pad, g.dv_pad, s, kBlock, g.shift, g.sums);
      for (std::size_t r = 0; r < rows; ++r) g.l[i + r] += g.sums[r];
    } else {
      t.online_softmax2(s, kBlock, rows, kc, g.m + i, g.l + i, g.o + i * g.dv_pad, g.dv_pad, g.dv_pad);
      for (std::size_t r = rows; r < mr; ++r)  // rows past the end: keep them finite
        std::memset(s + r * kBlock, 0, kc * sizeof(float));
      if (prev) pv_product(prev_r0, prev);
    }
    prev = s, prev_r0 = r0;
  }
  pv_product(prev_r0, prev);
}

}  // namespace

std::size_t attend_group_rows(const KernelTable& t) {
  return kGroupTiles * (t.blocking.mr ? t.blocking.mr : 1);  // the scalar path goes row by row
}

std::size_t attend_packed_floats(const KernelTable& t, std::size_t m, std::size_t n,
                                 std::size_t d, std::size_t dv) {
  if (!tiled(t, m)) return 0;
  const std::size_t nr = t.blocking.nr;
  return round_up(round_up(round_up(n, nr) * d, 16) + round_up(dv, nr) * n, 16);
}

std::size_t attend_scratch_floats(const KernelTable& t, std::size_t m, std::size_t n,
                                  std::size_t dv) {
  if (!tiled(t, m)) return n;
  const std::size_t mr = t.blocking.mr, nr = t.blocking.nr, rows = kGroupTiles * mr;
  return 2 * mr * kBlock + rows * round_up(dv, nr) + 2 * rows + 2 * round_up(mr, 16) + 5 * 16;
}

void attend_pack(const KernelTable& t, const kernels::AttendArgs& a, float* packed) {
  if (!tiled(t, a.m)) return;
  const std::size_t nr = t.blocking.nr;
  kernels::GemmArgs k, v;
  k.b = a.k, k.ldb = a.ldk, k.trans_b = true;  // K as the B of S = Q K^T
  pack_b(k, nr, 0, a.n, 0, a.d, packed);
  v.b = a.v, v.ldb = a.ldv;  // V as the B of O = P V
  pack_b(v, nr, 0, a.dv, 0, a.n, packed + round_up(round_up(a.n, nr) * a.d, 16));
}

void attend_rows(const KernelTable& t, const kernels::AttendArgs& a, const float* packed,
                 std::size_t begin, std::size_t end, float* scratch) {
  if (!tiled(t, a.m)) return attend_rows_direct(t, a, begin, end, scratch);
  const std::size_t mr = t.blocking.mr, nr = t.blocking.nr;
  const std::size_t dv_pad = round_up(a.dv, nr);
  const float* pk = packed;
  const float* pv = packed + round_up(round_up(a.n, nr) * a.d, 16);
  const std::size_t group = kGroupTiles * mr;
  Tiles g;
  g.dv_pad = dv_pad;
  g.s[0] = scratch;                                     // 2 x [mr x kBlock]
  g.s[1] = scratch + mr * kBlock;
  g.o = scratch + 2 * mr * kBlock;                      // [group x dv_pad]
  g.m = g.o + round_up(group * dv_pad, 16);             // [group]
  g.l = g.m + round_up(group, 16);                      // [group]
  g.shift = g.l + round_up(group, 16);                  // [mr]
  g.sums = g.shift + round_up(mr, 16);                  // [mr]
  for (std::size_t g0 = begin; g0 < end; g0 += group) {
    const std::size_t g_end = min_of(end, g0 + group);
    g.g0 = g0, g.g_end = g_end;
    std::memset(g.o, 0, group * dv_pad * sizeof(float));
    for (std::size_t i = 0; i < group; ++i) g.m[i] = kNegInf, g.l[i] = 0.0f;
    for (std::size_t k0 = 0; k0 < a.n; k0 += kBlock)
      attend_block(t, a, pk, pv, k0, min_of(kBlock, a.n - k0), g);
    for (std::size_t r = g0; r < g_end; ++r) {
      const std::size_t i = r - g0;
      const float inv = g.l[i] > 0.0f ? 1.0f / g.l[i] : 0.0f;
      t.scale_rows(&inv, g.o + i * dv_pad, 1, a.dv, a.o + r * a.ldo);
    }
  }
}

}  // namespace edgeattn::detail
