#include "edgeattn/ops.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "kernels/module_kernels.h"
#include "kernels/table.h"
#include "parallel.h"
#include "scratch.h"

namespace edgeattn {

using detail::kMinElementsPerThread;
using detail::kMinFlopsPerThread;
using detail::parallel_for;
using detail::threads_for;

namespace {

std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// Per-operand strides aligned to an output of rank `rank` (NumPy broadcasting:
// missing leading axes and axes of size 1 get stride 0).
struct Strides {
  std::ptrdiff_t s[kMaxRank] = {0, 0, 0, 0};
};

template <class T>
Strides broadcast_strides(const TensorView<T>& v, const Shape& out) {
  Strides st;
  const int shift = out.rank - v.rank();
  for (int d = 0; d < v.rank(); ++d)
    st.s[d + shift] = v.dim(d) == 1 ? 0 : v.stride(d);
  return st;
}

template <class T>
bool broadcastable(const TensorView<T>& v, const Shape& out) {
  if (v.rank() > out.rank) return false;
  const int shift = out.rank - v.rank();
  for (int d = 0; d < v.rank(); ++d)
    if (v.dim(d) != 1 && v.dim(d) != out.dims[d + shift]) return false;
  return true;
}

// Offset of row `r` (a flat index over all but the last axis of `shape`).
std::ptrdiff_t row_offset(const Shape& shape, const Strides& st, std::size_t r) {
  std::ptrdiff_t off = 0;
  for (int d = shape.rank - 2; d >= 0; --d) {
    const std::size_t i = r % shape.dims[d];
    r /= shape.dims[d];
    off += static_cast<std::ptrdiff_t>(i) * st.s[d];
  }
  return off;
}

// Merges each axis into the next where every operand steps over both as
// over one (PyTorch's TensorIterator coalesces dimensions the same way), so
// x [B, C, H, W] times a gate [B, C, 1, 1] runs as rows of H W, not of W.
void coalesce(Shape& shape, Strides* const* ops, int count) {
  for (int d = shape.rank - 2; d >= 0; --d) {
    bool ok = true;
    for (int o = 0; o < count; ++o)
      ok = ok && ops[o]->s[d] == ops[o]->s[d + 1] * std::ptrdiff_t(shape.dims[d + 1]);
    if (!ok) continue;
    shape.dims[d] *= shape.dims[d + 1];
    for (int o = 0; o < count; ++o) ops[o]->s[d] = ops[o]->s[d + 1];
    for (int e = d + 1; e + 1 < shape.rank; ++e) {
      shape.dims[e] = shape.dims[e + 1];
      for (int o = 0; o < count; ++o) ops[o]->s[e] = ops[o]->s[e + 1];
    }
    --shape.rank;
  }
}

std::size_t rows_of(const Shape& s) { return s.rank == 0 ? 1 : s.numel() / s.dims[s.rank - 1]; }
std::size_t last_dim(const Shape& s) { return s.rank == 0 ? 1 : s.dims[s.rank - 1]; }

enum class Binary { add, sub, mul, div };

float apply(Binary op, float u, float v) {
  switch (op) {
    case Binary::add: return u + v;
    case Binary::sub: return u - v;
    case Binary::mul: return u * v;
    case Binary::div: return u / v;
  }
  return 0.0f;
}

void binary_row(Binary op, const float* a, std::ptrdiff_t sa, const float* b, std::ptrdiff_t sb,
                float* y, std::ptrdiff_t sy, std::size_t n) {
  if (sa == 1 && sb == 1 && sy == 1 && (op == Binary::add || op == Binary::mul)) {
    if (op == Binary::add) return kernels::add(a, b, y, n);
    return kernels::mul(a, b, y, n);
  }
  if (sy == 1 && (sa == 0 || sb == 0) && sa + sb == 1) {  // one row against a scalar
    const float* row = sa == 1 ? a : b;
    const float s = sa == 1 ? *b : *a;
    // a - s is a + (-s) exactly; s - a and divisions have no kernel.
    if (op == Binary::add || (op == Binary::sub && sa == 1))
      return kernels::add_scalar(row, op == Binary::add ? s : -s, y, n);
    if (op == Binary::mul) return kernels::scale(s, row, y, n);
  }
  for (std::size_t i = 0; i < n; ++i)  // general strides
    y[static_cast<std::ptrdiff_t>(i) * sy] =
        apply(op, a[static_cast<std::ptrdiff_t>(i) * sa], b[static_cast<std::ptrdiff_t>(i) * sb]);
}

Status binary(Binary op, const Context& ctx, ConstView a, ConstView b, View out) {
  const char* const names[] = {"add", "sub", "mul", "div"};
  const char* name = names[static_cast<int>(op)];
  const Shape& os = out.shape();
  if (a.empty() || b.empty() || out.empty())
    return Status::invalid(std::string(name) + ": a tensor has no data");
  if (!broadcastable(a, os) || !broadcastable(b, os))
    return Status::invalid(std::string(name) + ": shapes " + a.shape().to_string() + " and " +
                           b.shape().to_string() + " do not broadcast to the output shape " +
                           os.to_string());
  for (int d = 0; d < os.rank; ++d) {
    const int da = d - (os.rank - a.rank()), db = d - (os.rank - b.rank());
    const std::size_t want = (da >= 0 && a.dim(da) != 1) ? a.dim(da)
                             : (db >= 0 && b.dim(db) != 1) ? b.dim(db) : 1;
    if (os.dims[d] != want)
      return Status::invalid(std::string(name) + ": output shape " + os.to_string() +
                             " is not the broadcast of " + a.shape().to_string() + " and " +
                             b.shape().to_string());
  }
  Strides sa = broadcast_strides(a, os), sb = broadcast_strides(b, os);
  Strides sy = broadcast_strides(ConstView(out), os);
  Shape cs = os;
  Strides* const all[] = {&sa, &sb, &sy};
  coalesce(cs, all, 3);
  const std::size_t rows = rows_of(cs), n = last_dim(cs);
  const int last = cs.rank ? cs.rank - 1 : 0;
  const int t = threads_for(ctx, static_cast<double>(os.numel()), kMinElementsPerThread);
  parallel_for(t, rows, [&](std::size_t r, int) {
    binary_row(op, a.data() + row_offset(cs, sa, r), cs.rank ? sa.s[last] : 0,
               b.data() + row_offset(cs, sb, r), cs.rank ? sb.s[last] : 0,
               out.data() + row_offset(cs, sy, r), cs.rank ? sy.s[last] : 1, n);
  });
  return {};
}

}  // namespace

kernels::GemmArgs gemm_args(std::size_t m, std::size_t n, std::size_t k, const float* a,
                            const float* b, bool trans_b, float* c, float alpha, float beta) {
  kernels::GemmArgs g;
  g.m = m, g.n = n, g.k = k, g.alpha = alpha, g.beta = beta;
  g.a = a, g.lda = k, g.b = b, g.ldb = trans_b ? k : n, g.trans_b = trans_b;
  g.c = c, g.ldc = n;
  return g;
}

std::size_t matmul_workspace_bytes(const Context& ctx, std::size_t m, std::size_t n,
                                   std::size_t k) {
  return static_cast<std::size_t>(resolve_threads(ctx)) * kernels::gemm_workspace_bytes(m, n, k);
}

namespace {

// A product with one row or one column of C is a GEMV over the weights,
// unpacked: `outputs` results split in runs of kRun (whole blocks of the
// GEMV kernels), each computed alone by run(j0, j1), the same bits for any
// thread count.
template <class F>
void gemv_runs(const Context& ctx, std::size_t outputs, std::size_t k, std::size_t element_bytes, F run) {
  constexpr std::size_t kRun = 64;
  const std::size_t runs = ceil_div(outputs, kRun);
  const double weight_bytes = static_cast<double>(element_bytes) * outputs * k;
  const int t = threads_for(ctx, weight_bytes, detail::min_weight_bytes_per_thread());
  parallel_for(t, static_cast<std::size_t>(t), [&](std::size_t part, int) {
    const std::size_t j0 = runs * part / t * kRun, j1 = std::min(outputs, runs * (part + 1) / t * kRun);
    if (j0 < j1) run(j0, j1);
  });
}

}  // namespace

Status matmul(const Context& ctx, const kernels::GemmArgs& g, Workspace& ws) {
  return detail::matmul(ctx, g, ws, kMinFlopsPerThread);
}

namespace detail {

Status matmul(const Context& ctx, const kernels::GemmArgs& g, Workspace& ws, double min_flops_per_thread) {
  if (g.m == 1 && g.n > 0 && g.k > 0 && g.a_weights.empty() && (g.b || !g.b_weights.empty())) {  // one row (a decoder step)
    EDGEATTN_RETURN_IF_ERROR(detail::check_gemm(g));
    gemv_runs(ctx, g.n, g.k, g.b_weights.empty() ? sizeof(float) : weight_type_bytes(g.b_weights.type), [&](std::size_t j0, std::size_t j1) {
      if (!g.b_weights.empty())
        kernels::gemv_w(j1 - j0, g.k, g.alpha, g.b_weights.from_row(j0), g.a, g.beta, g.c + j0);
      else if (g.trans_b)
        kernels::gemv(j1 - j0, g.k, g.alpha, g.b + j0 * g.ldb, g.ldb, g.a, g.beta, g.c + j0);
      else
        kernels::gemv_t(g.k, j1 - j0, g.alpha, g.b + j0, g.ldb, g.a, g.beta, g.c + j0);
      if (g.bias) kernels::add_scalar(g.c + j0, g.bias[0], g.c + j0, j1 - j0);
      kernels::activate(g.act, g.c + j0, g.c + j0, j1 - j0);
    });
    return {};
  }
  if (g.n == 1 && g.m > 1 && g.k > 0 && g.ldc == 1 && (g.trans_b || g.ldb == 1) && g.b_weights.empty()) {
    // one column (a 1x1 conv on a 1x1 map, SE's excitation): a whole
    // register tile of columns would compute one
    EDGEATTN_RETURN_IF_ERROR(detail::check_gemm(g));
    const bool typed = !g.a_weights.empty();
    gemv_runs(ctx, g.m, g.k, typed ? weight_type_bytes(g.a_weights.type) : sizeof(float), [&](std::size_t i0, std::size_t i1) {
      if (typed) kernels::gemv_w(i1 - i0, g.k, g.alpha, g.a_weights.from_row(i0), g.b, g.beta, g.c + i0);
      else kernels::gemv(i1 - i0, g.k, g.alpha, g.a + i0 * g.lda, g.lda, g.b, g.beta, g.c + i0);
      if (g.bias) kernels::add(g.c + i0, g.bias + i0, g.c + i0, i1 - i0);
      kernels::activate(g.act, g.c + i0, g.c + i0, i1 - i0);
    });
    return {};
  }
  const std::size_t per_thread = kernels::gemm_workspace_bytes(g.m, g.n, g.k);
  const double flops = 2.0 * static_cast<double>(g.m) * g.n * g.k;
  int t = threads_for(ctx, flops, min_flops_per_thread);
  if (per_thread > 0) {
    const std::size_t fit = (ws.capacity() - ws.used()) / per_thread;
    if (fit == 0)
      return {StatusCode::out_of_memory,
              "matmul: workspace has " + std::to_string(ws.capacity() - ws.used()) +
                  " bytes free, needs " + std::to_string(per_thread) +
                  " per thread (see matmul_workspace_bytes)"};
    if (fit < static_cast<std::size_t>(t)) t = static_cast<int>(fit);
  }
  // Split the larger of m and n into pieces that start at multiples of the
  // register tile, so every element is computed as on one thread.
  // (pieces of a pre-packed B's columns must lie in one of its blocks: one
  // block of columns, or split along m)
  const bool along_n = g.n >= g.m && (!g.packed_b || g.packed_b->n() <= kernels::gemm_block_cols());
  const std::size_t len = along_n ? g.n : g.m;
  const std::size_t unit = along_n ? kernels::gemm_tile_cols() : kernels::gemm_tile_rows();
  const std::size_t units = ceil_div(len, unit);
  if (static_cast<std::size_t>(t) > units) t = static_cast<int>(units);
  const std::size_t mark = ws.used();
  if (t <= 1) {
    void* p = ws.take_bytes(per_thread);
    Status s = kernels::gemm(g, p, per_thread);
    ws.rewind(mark);
    return s;
  }
  const std::size_t chunk = ceil_div(units, static_cast<std::size_t>(t)) * unit;
  const std::size_t pieces = ceil_div(len, chunk);
  unsigned char* base = static_cast<unsigned char*>(ws.take_bytes(per_thread * pieces));
  // Validated once on the whole problem: the pieces are then valid by
  // construction and their own checks cannot fail.
  EDGEATTN_RETURN_IF_ERROR(detail::check_gemm(g));
  parallel_for(t, pieces, [&](std::size_t p, int) {
    kernels::GemmArgs s = g;
    const std::size_t begin = p * chunk;
    const std::size_t size = len - begin < chunk ? len - begin : chunk;
    if (along_n) {
      s.n = size;
      if (!g.b_weights.empty()) s.b_weights = g.b_weights.from_row(begin);
      else if (g.b) s.b = g.trans_b ? g.b + begin * g.ldb : g.b + begin;
      s.packed_b_col = g.packed_b_col + begin;
      s.c = g.c + begin;
    } else {
      s.m = size;
      if (!g.a_weights.empty()) s.a_weights = g.a_weights.from_row(begin);
      else s.a = g.a + begin * g.lda;
      if (g.bias) s.bias = g.bias + begin;
      s.c = g.c + begin * g.ldc;
    }
    (void)kernels::gemm(s, base + p * per_thread, per_thread);
  });
  ws.rewind(mark);
  return {};
}

}  // namespace detail

namespace {
// Each thread packs its own K and V: writing one shared copy costs more than
// packing twice, because every line of it must first be taken back from the
// other core's cache, where the previous call left it (L = 1024, d = 64 on
// a 2-vCPU Zen 5 VM: 43 us per packed half shared, 15 us for both halves
// private). The split of the rows then needs one parallel region, not two.
std::size_t attention_floats_per_thread(const detail::KernelTable& t, std::size_t m,
                                        std::size_t n, std::size_t d, std::size_t dv) {
  const std::size_t floats =
      detail::attend_packed_floats(t, m, n, d, dv) + detail::attend_scratch_floats(t, m, n, dv);
  return ceil_div(floats, 16) * 16;  // every thread's part on its own cache lines
}

// attention()'s scratch, one description with attention_workspace_bytes():
// each thread's packed K and V and tiles, and whether it has packed yet.
struct AttendSlices {
  float* own;
  std::uint8_t* has_packed;
};
AttendSlices attend_slices(detail::Scratch& s, const detail::KernelTable& t, int threads,
                           std::size_t m, std::size_t n, std::size_t d, std::size_t dv) {
  const std::size_t count = static_cast<std::size_t>(threads);
  AttendSlices sl;
  sl.own = s.take<float>(count, attention_floats_per_thread(t, m, n, d, dv));
  sl.has_packed = s.take<std::uint8_t>(count);
  return sl;
}

std::size_t attention_bytes(const detail::KernelTable& t, int threads, std::size_t m,
                            std::size_t n, std::size_t d, std::size_t dv) {
  detail::Scratch s;
  attend_slices(s, t, threads, m, n, d, dv);
  return s.bytes();
}
}  // namespace

std::size_t attention_workspace_bytes(const Context& ctx, std::size_t m, std::size_t n,
                                      std::size_t d, std::size_t dv) {
  static const std::vector<Isa> isas = available_isas();  // asked inside calls: no allocation
  const int threads = resolve_threads(ctx);
  std::size_t most = 0;
  for (Isa isa : isas) {
    const std::size_t b = attention_bytes(*detail::table_for(isa), threads, m, n, d, dv);
    most = b > most ? b : most;
  }
  return most;
}

Status attention(const Context& ctx, const kernels::AttendArgs& a, Workspace& ws) {
  if (a.m == 0) return {};
  if (!a.q || !a.o || (a.n && (!a.k || !a.v)) || a.ldq < a.d || a.ldo < a.dv ||
      (a.n && (a.ldk < a.d || a.ldv < a.dv)) || (a.mask && a.ldmask && a.ldmask < a.n))
    return Status::invalid("attention: a null pointer or a leading dimension below its width (m=" +
                           std::to_string(a.m) + ", n=" + std::to_string(a.n) + ", d=" +
                           std::to_string(a.d) + ", dv=" + std::to_string(a.dv) + ")");
  const detail::KernelTable& t = detail::active_table();
  const double flops = 4.0 * static_cast<double>(a.m) * a.n * a.d;
  // Every thread packs K and V, so a thread pays off only with more work
  // than a GEMM piece needs (measured: L = 128, d = 64 runs faster on one).
  int threads = threads_for(ctx, flops, 4.0 * kMinFlopsPerThread);
  const std::size_t unit = kernels::gemm_tile_rows();
  const std::size_t units = ceil_div(a.m, unit);
  if (static_cast<std::size_t>(threads) > units) threads = static_cast<int>(units);
  const std::size_t free = ws.capacity() - ws.used();
  while (threads > 1 && attention_bytes(t, threads, a.m, a.n, a.d, a.dv) > free) --threads;
  if (attention_bytes(t, threads, a.m, a.n, a.d, a.dv) > free)
    return {StatusCode::out_of_memory, "attention: workspace has " + std::to_string(free) +
                                           " bytes free, needs " +
                                           std::to_string(attention_bytes(t, 1, a.m, a.n, a.d, a.dv)) +
                                           " (see attention_workspace_bytes)"};
  const std::size_t per_thread = attention_floats_per_thread(t, a.m, a.n, a.d, a.dv);
  const std::size_t packed = detail::attend_packed_floats(t, a.m, a.n, a.d, a.dv);
  detail::Scratch s(ws);
  const AttendSlices sl = attend_slices(s, t, threads, a.m, a.n, a.d, a.dv);
  float* base = sl.own;
  std::uint8_t* has_packed = sl.has_packed;
  std::memset(has_packed, 0, static_cast<std::size_t>(threads));
  // Pieces of at most one query group (the rows that share a key block in
  // L2); with threads, at least 8 per thread so that the last ones even out
  // a core that runs slower, handed to whichever thread is free.
  const std::size_t pieces_least = threads > 1 ? 8 * static_cast<std::size_t>(threads) : 1;
  const std::size_t chunk =
      std::min(detail::attend_group_rows(t), ceil_div(units, pieces_least) * unit);
  parallel_for(threads, ceil_div(a.m, chunk), [&](std::size_t p, int thread) {
    float* own = base + static_cast<std::size_t>(thread) * per_thread;
    if (!has_packed[thread]) {
      detail::attend_pack(t, a, own);
      has_packed[thread] = 1;
    }
    const std::size_t begin = p * chunk;
    const std::size_t end = begin + chunk < a.m ? begin + chunk : a.m;
    detail::attend_rows(t, a, own, begin, end, own + packed);
  }, 1);
  return {};
}

Status softmax(const Context& ctx, ConstView x, MaskView mask, View y) {
  if (x.empty() || y.empty() || x.rank() < 1) return Status::invalid("softmax: x or y is empty");
  if (x.shape() != y.shape())
    return Status::invalid("softmax: y shape " + y.shape().to_string() + " differs from x shape " +
                           x.shape().to_string());
  const Shape& s = x.shape();
  const int last = s.rank - 1;
  const std::size_t n = s.dims[last];
  if (n > 1 && (x.stride(last) != 1 || y.stride(last) != 1))
    return Status::invalid("softmax: the last axis of x and y must be contiguous");
  if (!mask.empty()) {
    if (!broadcastable(mask, s) || mask.dim(mask.rank() - 1) != n ||
        (n > 1 && mask.stride(mask.rank() - 1) != 1))
      return Status::invalid("softmax: mask shape " + mask.shape().to_string() +
                             " does not broadcast to " + s.to_string() +
                             " with a contiguous last axis of " + std::to_string(n));
  }
  const Strides sx = broadcast_strides(x, s), sy = broadcast_strides(ConstView(y), s);
  const Strides sm = mask.empty() ? Strides{} : broadcast_strides(mask, s);
  const int t = threads_for(ctx, static_cast<double>(s.numel()), kMinElementsPerThread);
  parallel_for(t, rows_of(s), [&](std::size_t r, int) {
    const std::uint8_t* m = mask.empty() ? nullptr : mask.data() + row_offset(s, sm, r);
    kernels::softmax(x.data() + row_offset(s, sx, r), m, y.data() + row_offset(s, sy, r), n);
  });
  return {};
}

Status add(const Context& ctx, ConstView a, ConstView b, View out) {
  return binary(Binary::add, ctx, a, b, out);
}
Status sub(const Context& ctx, ConstView a, ConstView b, View out) {
  return binary(Binary::sub, ctx, a, b, out);
}
Status mul(const Context& ctx, ConstView a, ConstView b, View out) {
  return binary(Binary::mul, ctx, a, b, out);
}
Status div(const Context& ctx, ConstView a, ConstView b, View out) {
  return binary(Binary::div, ctx, a, b, out);
}

}  // namespace edgeattn
