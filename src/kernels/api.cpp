// The kernels:: entry points: one wrapper per kernel of kernel_list.h that
// calls the active ISA's table, and by hand the ones with argument checks or
// a derived form.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "module_kernels.h"
#include "table.h"

namespace edgeattn {

namespace {
constexpr Activation kActivations[] = {Activation::none,    Activation::relu,        Activation::relu6,
                                       Activation::sigmoid, Activation::silu,        Activation::hardsigmoid,
                                       Activation::hardswish};
}  // namespace

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::none: return "none";
    case Activation::relu: return "relu";
    case Activation::relu6: return "relu6";
    case Activation::sigmoid: return "sigmoid";
    case Activation::silu: return "silu";
    case Activation::hardsigmoid: return "hardsigmoid";
    case Activation::hardswish: return "hardswish";
  }
  return "?";
}

Result<Activation> activation_from_name(const std::string& name) {
  std::string known;
  for (Activation a : kActivations) {
    if (name == activation_name(a)) return a;
    known += (known.empty() ? "" : ", ") + std::string(activation_name(a));
  }
  return Status::invalid("unknown activation '" + name + "' (known: " + known + ")");
}

}  // namespace edgeattn

namespace edgeattn::kernels {

using detail::active_table;

#define EDGEATTN_WRAPPER(name, impl, ret, params, args) \
  ret name params { return active_table().name args; }
EDGEATTN_PUBLIC_KERNELS(EDGEATTN_WRAPPER)
EDGEATTN_MODULE_KERNELS(EDGEATTN_WRAPPER)
#undef EDGEATTN_WRAPPER

// The public kernels derived from a table entry.
void scale(float alpha, const float* x, float* y, std::size_t n) {
  active_table().scale_rows(&alpha, x, 1, n, y);
}
float reduce_mean(const float* x, std::size_t n) {
  float mean;
  active_table().global_pool(x, 1, n, &mean, nullptr);
  return mean;
}
void transpose(std::size_t rows, std::size_t cols, const float* a, std::size_t lda, float* b,
               std::size_t ldb) {
  detail::transpose(rows, cols, a, lda, b, ldb);
}

Result<GemvPanels> GemvPanels::pack(const Weights& w) {
  constexpr std::size_t P = kPanel;
  const std::size_t n = w.rows(), m = w.cols(), panels = (n + P - 1) / P;
  const WeightRows src = w.view();
  GemvPanels p;
  p.m_ = m, p.n_ = n;
  // panel q's row i holds outputs q P + c of input i (zero past n)
  EDGEATTN_ASSIGN_OR_RETURN(pw, Weights::from_bits(w.type(), panels * m, P, [&](std::size_t r, std::size_t c) {
    const std::size_t j = r / m * P + c;
    return j < n ? src.bits(j, r % m) : 0u;
  }));
  p.panels_ = std::move(pw);
  if (src.scale) {
    EDGEATTN_ASSIGN_OR_RETURN(sc, AlignedBuffer::allocate(n * sizeof(float)));
    std::memcpy(sc.floats(), src.scale, n * sizeof(float));
    p.scale_ = std::move(sc);
  }
  return p;
}

void gemv_t_panels(const GemvPanels& a, const float* x, const float* bias, float* y, bool backward,
                   std::size_t part, std::size_t parts) {
  constexpr std::size_t P = GemvPanels::kPanel;
  const std::size_t panels = (a.n() + P - 1) / P;
  const std::size_t first = panels * part / parts, last = panels * (part + 1) / parts;
  if (first >= last) return;
  const std::size_t j0 = first * P, cols = std::min(a.n(), last * P) - j0;
  active_table().gemv_t_panels(a.m(), cols, a.rows().from_row(first * a.m()), a.scale() ? a.scale() + j0 : nullptr,
                               x, bias ? bias + j0 : nullptr, y + j0, backward);
}

namespace {
std::size_t table_workspace_bytes(const detail::KernelTable& t, std::size_t m, std::size_t n,
                                  std::size_t k) {
  const std::size_t floats = detail::gemm_workspace_floats(t.blocking, m, n, k);
  return floats == 0 ? 0 : floats * sizeof(float) + kAlignment;  // + slack to align
}

}  // namespace
}  // namespace edgeattn::kernels

namespace edgeattn::detail {
// Strings are built only for a failure: a valid call allocates nothing.
Status check_gemm(const kernels::GemmArgs& g) {
  const auto bad = [&g](const std::string& what) {
    return Status::invalid("gemm: " + what + " (m=" + std::to_string(g.m) + ", n=" + std::to_string(g.n) +
                           ", k=" + std::to_string(g.k) + ")");
  };
  if (g.m == 0 || g.n == 0) return {};
  if (!g.c) return bad("C is null");
  if (g.ldc < g.n) return bad("ldc " + std::to_string(g.ldc) + " < n");
  if (g.k == 0) return {};
  const bool typed = !g.b_weights.empty(), typed_a = !g.a_weights.empty();
  const bool packed_here = g.packed_b && g.packed_b->bytes() && g.packed_b->isa() == active_table().isa;
  if ((!g.a && !typed_a) || (!g.b && !typed && !packed_here))
    return bad(std::string(g.a || typed_a ? "B" : "A") + " is null");
  if (typed_a && g.a_weights.ld < weight_row_bytes(g.a_weights.type, g.k))
    return bad("typed A's rows are " + std::to_string(g.a_weights.ld) + " bytes, k needs " +
               std::to_string(weight_row_bytes(g.a_weights.type, g.k)));
  if (!typed_a && g.lda < g.k) return bad("lda " + std::to_string(g.lda) + " < k");
  if (typed) {
    if (g.packed_b) return bad("typed B cannot also be packed");
    if (g.b_weights.ld < weight_row_bytes(g.b_weights.type, g.k))
      return bad("typed B's rows are " + std::to_string(g.b_weights.ld) + " bytes, k needs " +
                 std::to_string(weight_row_bytes(g.b_weights.type, g.k)));
    return {};
  }
  if (g.packed_b && (g.packed_b->k() != g.k || g.packed_b_col + g.n > g.packed_b->n()))
    return bad("packed B is " + std::to_string(g.packed_b->k()) + " x " + std::to_string(g.packed_b->n()) +
               ", op(B) is k x n from its column " + std::to_string(g.packed_b_col));
  if (packed_here && g.n != g.packed_b->n()) {  // a part of its columns: whole tiles inside one block
    const GemmBlocking& bl = active_table().blocking;
    if (g.packed_b_col % bl.nr || g.packed_b_col % bl.nc + g.n > bl.nc)
      return bad("packed B's columns from " + std::to_string(g.packed_b_col) +
                 " are not whole tiles inside one block");
  }
  if (!g.b) return {};
  const std::size_t min_ldb = g.trans_b ? g.k : g.n;
  if (g.ldb < min_ldb) return bad("ldb " + std::to_string(g.ldb) + " < " + (g.trans_b ? "k" : "n"));
  return {};
}
}  // namespace edgeattn::detail

namespace edgeattn::kernels {

std::size_t gemm_workspace_bytes(std::size_t m, std::size_t n, std::size_t k) {
  static const std::vector<Isa> isas = available_isas();  // matmul asks on every call: no allocation
  std::size_t most = 0;
  for (Isa isa : isas) {
    const std::size_t b = table_workspace_bytes(*detail::table_for(isa), m, n, k);
    most = b > most ? b : most;
  }
  return most;
}

Status gemm(const GemmArgs& args, void* workspace, std::size_t workspace_bytes) {
  EDGEATTN_RETURN_IF_ERROR(detail::check_gemm(args));
  const detail::KernelTable& t = active_table();
  if (!t.micro_kernel) {
    t.gemm_reference(args);
    return {};
  }
  const std::size_t need = table_workspace_bytes(t, args.m, args.n, args.k);
  if (need > 0 && (!workspace || workspace_bytes < need))
    return {StatusCode::out_of_memory, "gemm: workspace of " + std::to_string(workspace_bytes) +
                                           " bytes, needs " + std::to_string(need) +
                                           " (see gemm_workspace_bytes)"};
  const auto addr = reinterpret_cast<std::uintptr_t>(workspace);
  float* aligned = reinterpret_cast<float*>((addr + kAlignment - 1) / kAlignment * kAlignment);
  detail::gemm_blocked(t, args, aligned);
  return {};
}

Result<PackedB> PackedB::pack(const float* b, std::size_t ldb, bool trans_b, std::size_t k,
                              std::size_t n) {
  if (!b || ldb < (trans_b ? k : n))
    return Status::invalid("PackedB: B is null or ldb " + std::to_string(ldb) + " is too small");
  const detail::KernelTable& t = active_table();
  PackedB p;
  p.isa_ = t.isa, p.k_ = k, p.n_ = n;
  Result<AlignedBuffer> buf =
      AlignedBuffer::allocate(detail::packed_b_floats(t.blocking, n, k) * sizeof(float));
  if (!buf.ok()) return buf.status();
  p.buf_ = std::move(buf).value();
  GemmArgs g;
  g.n = n, g.k = k, g.b = b, g.ldb = ldb, g.trans_b = trans_b;
  if (p.buf_.floats()) detail::pack_b_all(t, g, p.buf_.floats());
  return p;
}

Result<PackedB> PackedB::pack(const Weights& w) {
  if (w.type() != WeightType::f32) return PackedB();
  const WeightRows v = w.view();
  return pack(static_cast<const float*>(v.data), v.ld / sizeof(float), true, w.cols(), w.rows());
}

void PackedB::to_rows(std::size_t j0, std::size_t j1, float* w, std::size_t ldw) const {
  if (buf_.floats() && j0 < j1 && j1 <= n_)
    detail::unpack_b_all(detail::table_for(isa_)->blocking, buf_.floats(), n_, k_, j0, j1, w, ldw);
}

void set_weights_b(GemmArgs& g, const WeightRows& w, const PackedB* packed) {
  if (w.type != WeightType::f32) {
    g.b = nullptr, g.b_weights = w;
    return;
  }
  g.b = static_cast<const float*>(w.data), g.ldb = w.ld / sizeof(float), g.trans_b = true;
  g.packed_b = packed && packed->n() == g.n && packed->k() == g.k && packed->bytes() ? packed : nullptr;
}

std::size_t gemm_tile_rows() {
  const std::size_t mr = active_table().blocking.mr;
  return mr ? mr : 1;
}
std::size_t gemm_tile_cols() {
  const std::size_t nr = active_table().blocking.nr;
  return nr ? nr : 1;
}
std::size_t gemm_block_cols() {
  const std::size_t nc = active_table().blocking.nc;
  return nc ? nc : 1;
}

}  // namespace edgeattn::kernels
