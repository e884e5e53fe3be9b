// GRU and LSTM layers and cells as torch.nn.GRU / LSTM / GRUCell / LSTMCell
// compute them (Cho et al. 2014; Hochreiter & Schmidhuber 1997; PyTorch's
// gate order and its n = tanh(W_in x + b_in + r * (W_hn h + b_hn))).
#include <cstring>
#include <string>

#include "../checks.h"
#include "../kernels/module_kernels.h"
#include "../scratch.h"
#include "../parallel.h"
#include "edgeattn/ops.h"
#include "edgeattn/rnn.h"

namespace edgeattn {

using detail::kMinFlopsPerThread;
using detail::max_of;
using detail::threads_for;

const char* rnn_type_name(RnnType t) { return t == RnnType::gru ? "gru" : "lstm"; }

using detail::sat_mul;
using detail::Scratch;

namespace {

Status expect_shape(const Tensor& t, const Shape& s, const std::string& what) {
  if (t.numel() == 0 || t.shape() != s)
    return Status::invalid(what + " must be " + s.to_string() + ", found " +
                           (t.numel() ? t.shape().to_string() : "none"));
  return {};
}

}  // namespace

// ---- RnnCell ----

Result<RnnCell> RnnCell::make(RnnType type, RnnWeights w, bool keep_input, WeightType weights) {
  const std::size_t g = type == RnnType::gru ? 3 : 4;
  const std::string name = rnn_type_name(type);
  if (w.weight_hh.numel() == 0 || w.weight_hh.shape().rank != 2 ||
      w.weight_hh.shape()[0] != g * w.weight_hh.shape()[1])
    return Status::invalid(name + ": weight_hh must be [" + std::to_string(g) +
                           " H, H], found " + w.weight_hh.shape().to_string());
  const std::size_t h = w.weight_hh.shape()[1], gh = g * h;
  if (w.weight_ih.numel() == 0 || w.weight_ih.shape().rank != 2 || w.weight_ih.shape()[0] != gh)
    return Status::invalid(name + ": weight_ih must be [" + std::to_string(gh) +
                           ", I], found " + w.weight_ih.shape().to_string());
  EDGEATTN_RETURN_IF_ERROR(expect_shape(w.bias_ih, Shape{gh}, name + ": bias_ih"));
  EDGEATTN_RETURN_IF_ERROR(expect_shape(w.bias_hh, Shape{gh}, name + ": bias_hh"));
  RnnCell c;
  c.type_ = type;
  c.hidden_ = h;
  c.input_ = w.weight_ih.shape()[1];
  // W_hh in panels: a one-row step is then a sum of W_hh^T's rows (gemv_t,
  // vectorised along the G H outputs) instead of G H short dot products.
  EDGEATTN_ASSIGN_OR_RETURN(whh, Weights::of(w.weight_hh, weights, name + ": weight_hh"));
  EDGEATTN_ASSIGN_OR_RETURN(phh, kernels::PackedB::pack(whh));
  EDGEATTN_ASSIGN_OR_RETURN(panels, kernels::GemvPanels::pack(whh));
  c.packed_hh_ = std::move(phh);
  c.panels_hh_ = std::make_unique<kernels::GemvPanels>(std::move(panels));
  c.weight_hh_ = std::move(whh);
  if (keep_input) {
    EDGEATTN_ASSIGN_OR_RETURN(wih, Weights::of(w.weight_ih, weights, name + ": weight_ih"));
    EDGEATTN_ASSIGN_OR_RETURN(pih, kernels::PackedB::pack(wih));
    c.packed_ih_ = std::move(pih);
    c.weight_ih_ = std::move(wih);
    c.bias_ih_ = std::move(w.bias_ih);
  }
  c.bias_hh_ = std::move(w.bias_hh);
  return c;
}

RnnCell::RnnCell() = default;
RnnCell::~RnnCell() = default;
RnnCell::RnnCell(RnnCell&&) noexcept = default;
RnnCell& RnnCell::operator=(RnnCell&&) noexcept = default;

Result<RnnCell> RnnCell::create(RnnType type, RnnWeights w, WeightType weights) {
  return make(type, std::move(w), true, weights);
}

std::size_t RnnCell::weight_bytes() const {
  return weight_ih_.bytes() + weight_hh_.bytes() + (bias_ih_.numel() + bias_hh_.numel()) * sizeof(float) +
         packed_ih_.bytes() + packed_hh_.bytes() + panels_hh_->bytes();
}


// A step's scratch, one description for workspace_bytes() and the steps:
// the input projection gx [B, G H] (when the step makes it), the rows'
// pointers and gh [B, G H], then room for the GEMMs.
struct RnnCell::Impl {
  struct Slices {
    float* gx = nullptr;
    const float** rows = nullptr;
    float* gh = nullptr;
  };
  static Slices slices(const RnnCell& c, Scratch& s, std::size_t batch, bool project,
                       const Context& ctx) {
    const std::size_t gh = c.gates() * c.hidden_;
    Slices sl;
    if (project) sl.gx = s.take<float>(batch, gh);
    sl.rows = s.take<const float*>(batch);
    sl.gh = s.take<float>(batch, gh);
    s.room(max_of(project ? matmul_workspace_bytes(ctx, batch, gh, c.input_) : 0,
                  matmul_workspace_bytes(ctx, batch, gh, c.hidden_)));
    return sl;
  }
};

std::size_t RnnCell::workspace_bytes(std::size_t batch, const Context& ctx) const {
  Scratch s;
  Impl::slices(*this, s, batch, true, ctx);
  return s.bytes();
}

Status RnnCell::step_rows(const Context& ctx, const float* const* gx, std::size_t rows,
                          const float* h, float* c, float* h_out, float* gh, Workspace& ws,
                          bool odd) const {
  const std::size_t n = hidden_, g = gates() * n;
  if (rows == 1) {  // gh = W_hh h + b_hh
    // A W_hh larger than one core's L2 is split by panels over the threads,
    // the same panels to the same thread every step, so that each core
    // reads its share from its own L2. Each output is computed alone, so any
    // split gives the same bits.
    const int t = threads_for(ctx, static_cast<double>(panels_hh_->bytes()), detail::min_weight_bytes_per_thread());
    detail::parallel_for(t, static_cast<std::size_t>(t), [&](std::size_t part, int) {
      kernels::gemv_t_panels(*panels_hh_, h, bias_hh_.data(), gh, odd, part, static_cast<std::size_t>(t));
    });
  } else {
    for (std::size_t r = 0; r < rows; ++r) std::memcpy(gh + r * g, bias_hh_.data(), g * sizeof(float));
    kernels::GemmArgs a = gemm_args(rows, g, n, h, nullptr, true, gh, 1.0f, 1.0f);
    kernels::set_weights_b(a, weight_hh_, &packed_hh_);
    EDGEATTN_RETURN_IF_ERROR(matmul(ctx, a, ws));
  }
  for (std::size_t r = 0; r < rows; ++r) {
    if (type_ == RnnType::gru) kernels::gru_gates(gx[r], gh + r * g, h + r * n, h_out + r * n, n);
    else kernels::lstm_gates(gx[r], gh + r * g, c + r * n, h_out + r * n, n);
  }
  return {};
}

Status RnnCell::check_state(ConstView h, View c, View h_out, std::size_t batch) const {
  const Shape s{batch, hidden_};
  EDGEATTN_RETURN_IF_ERROR(detail::require_shape(h, s, "h"));
  EDGEATTN_RETURN_IF_ERROR(detail::require_shape(h_out, s, "h_out"));
  if (type_ == RnnType::lstm) return detail::require_shape(c, s, "c");
  if (!c.empty()) return Status::invalid("c: a GRU cell has no cell state; pass an empty view");
  return {};
}

Status RnnCell::step_projected(const Context& ctx, ConstView gx, ConstView h, View c, View h_out,
                               Workspace& ws) const {
  if (gx.empty() || gx.rank() != 2)
    return Status::invalid("gx must be [B, " + std::to_string(gates() * hidden_) + "]");
  const std::size_t bsz = gx.dim(0), g = gates() * hidden_;
  EDGEATTN_RETURN_IF_ERROR(detail::require_shape(gx, Shape{bsz, g}, "gx"));
  EDGEATTN_RETURN_IF_ERROR(check_state(h, c, h_out, bsz));
  Scratch s(ws);
  const Impl::Slices sl = Impl::slices(*this, s, bsz, false, ctx);
  if (!s.ok()) return Scratch::too_small(rnn_type_name(type_));
  for (std::size_t r = 0; r < bsz; ++r) sl.rows[r] = gx.data() + r * g;
  return step_rows(ctx, sl.rows, bsz, h.data(), c.empty() ? nullptr : c.data(), h_out.data(), sl.gh, ws);
}

Status RnnCell::step(const Context& ctx, ConstView x, ConstView h, View c, View h_out,
                     Workspace& ws) const {
  if (weight_ih_.rows() == 0)
    return Status::invalid(std::string(rnn_type_name(type_)) + ": this cell has no input weights");
  if (x.empty() || x.rank() != 2 || x.dim(1) != input_ || !x.is_contiguous())
    return Status::invalid("x must be a contiguous [B, " + std::to_string(input_) + "] tensor, found " +
                           (x.empty() ? std::string("none") : x.shape().to_string()));
  const std::size_t bsz = x.dim(0), g = gates() * hidden_;
  EDGEATTN_RETURN_IF_ERROR(check_state(h, c, h_out, bsz));
  Scratch s(ws);
  const Impl::Slices sl = Impl::slices(*this, s, bsz, true, ctx);
  if (!s.ok()) return Scratch::too_small(rnn_type_name(type_));
  kernels::GemmArgs a = gemm_args(bsz, g, input_, x.data(), nullptr, true, sl.gx);
  kernels::set_weights_b(a, weight_ih_, &packed_ih_);
  EDGEATTN_RETURN_IF_ERROR(matmul(ctx, a, ws));
  for (std::size_t r = 0; r < bsz; ++r) {
    kernels::add(sl.gx + r * g, bias_ih_.data(), sl.gx + r * g, g);
    sl.rows[r] = sl.gx + r * g;
  }
  return step_rows(ctx, sl.rows, bsz, h.data(), c.empty() ? nullptr : c.data(), h_out.data(), sl.gh, ws);
}

// ---- Rnn ----

Result<Rnn> Rnn::create(RnnType type, std::size_t input_size, std::size_t hidden_size,
                        std::size_t num_layers, bool bidirectional, std::vector<RnnWeights> w,
                        WeightType weight_type) {
  const std::size_t dirs = bidirectional ? 2 : 1, g = type == RnnType::gru ? 3 : 4;
  const std::size_t gh = g * hidden_size;
  const char* name = rnn_type_name(type);
  if (input_size == 0 || hidden_size == 0 || num_layers == 0)
    return Status::invalid(std::string(name) + ": input_size, hidden_size and num_layers must be positive");
  if (w.size() != num_layers * dirs)
    return Status::invalid(std::string(name) + ": expected " + std::to_string(num_layers * dirs) +
                           " weight sets (layers x directions), found " + std::to_string(w.size()));
  Rnn r;
  r.type_ = type, r.input_ = input_size, r.hidden_ = hidden_size, r.layers_ = num_layers, r.dirs_ = dirs;
  for (std::size_t l = 0; l < num_layers; ++l) {
    const std::size_t in = l == 0 ? input_size : dirs * hidden_size;
    EDGEATTN_ASSIGN_OR_RETURN(bl, Tensor::zeros(Shape{dirs * gh}));
    std::vector<const Tensor*> w_ih;
    for (std::size_t d = 0; d < dirs; ++d) {
      const RnnWeights& x = w[l * dirs + d];
      const std::string where = std::string(name) + " layer " + std::to_string(l) + (d ? " reverse" : "");
      EDGEATTN_RETURN_IF_ERROR(expect_shape(x.weight_ih, Shape{gh, in}, where + ": weight_ih"));
      EDGEATTN_RETURN_IF_ERROR(expect_shape(x.weight_hh, Shape{gh, hidden_size}, where + ": weight_hh"));
      EDGEATTN_RETURN_IF_ERROR(expect_shape(x.bias_ih, Shape{gh}, where + ": bias_ih"));
      std::memcpy(bl.data() + d * gh, x.bias_ih.data(), gh * sizeof(float));
      w_ih.push_back(&x.weight_ih);
    }
    // both directions' W_ih stacked; with one input feature the column, a
    // vector, stays float32 (laid out as one row) for the axpy
    EDGEATTN_ASSIGN_OR_RETURN(stacked, Weights::of(w_ih, in == 1 ? WeightType::f32 : weight_type,
                                                   std::string(name) + " layer " + std::to_string(l) + ": weight_ih"));
    Weights wq = std::move(stacked);
    if (in == 1) {
      std::vector<float> column(dirs * gh);
      wq.dequantize(column.data());
      EDGEATTN_ASSIGN_OR_RETURN(row, Weights::quantize(ConstView(column.data(), Shape{1, dirs * gh}), WeightType::f32,
                                                       std::string(name) + ": weight_ih"));
      wq = std::move(row);
    }
    for (std::size_t d = 0; d < dirs; ++d) {
      const std::string where = std::string(name) + " layer " + std::to_string(l) + (d ? " reverse" : "");
      Result<RnnCell> cell = RnnCell::make(type, std::move(w[l * dirs + d]), false, weight_type);
      if (!cell.ok()) return Status::invalid(where + " " + cell.status().message());
      r.cells_.push_back(std::move(cell).value());
    }
    EDGEATTN_ASSIGN_OR_RETURN(packed, kernels::PackedB::pack(wq));
    r.w_ih_.push_back(std::move(wq));
    r.b_ih_.push_back(std::move(bl));
    r.packed_ih_.push_back(std::move(packed));
  }
  return r;
}

std::size_t Rnn::weight_bytes() const {
  std::size_t b = 0;
  for (const RnnCell& c : cells_) b += c.weight_bytes();
  for (std::size_t l = 0; l < layers_; ++l)
    b += w_ih_[l].bytes() + b_ih_[l].numel() * sizeof(float) + packed_ih_[l].bytes();
  return b;
}

struct Rnn::Impl {
  // forward()'s scratch: the input projections of all steps [B T, D G H]
  // and, with layers > 1, two [B T, D H] buffers between layers, then room
  // for the GEMM or the directions (both at once when they run in parallel).
  struct Slices {
    float* gx = nullptr;
    float* io[2] = {nullptr, nullptr};
  };
  static Slices slices(const Rnn& r, Scratch& s, std::size_t bsz, std::size_t steps,
                       const Context& ctx) {
    const std::size_t gh = r.cells_[0].gates() * r.hidden_, dh = r.dirs_ * r.hidden_;
    const std::size_t rows = sat_mul(bsz, steps);
    Slices sl;
    sl.gx = s.take<float>(rows, r.dirs_ * gh);
    if (r.layers_ > 1) sl.io[0] = s.take<float>(rows, dh), sl.io[1] = s.take<float>(rows, dh);
    std::size_t per_dir = r.direction_bytes(bsz, ctx);
    if (r.dirs_ == 2 && resolve_threads(ctx) > 1)
      per_dir = max_of(per_dir, sat_mul(2, r.direction_bytes(bsz, Context{1})));
    s.room(max_of(matmul_workspace_bytes(ctx, rows, r.dirs_ * gh, max_of(r.input_, dh)), per_dir));
    return sl;
  }

  // run_direction()'s scratch: the states, the running rows' copies and the
  // step's gates, then room for the step's GEMM.
  struct DirectionSlices {
    float *h, *c, *h_act, *c_act, *h_new, *gh;
    const float** rows;
    std::size_t *which, *when;
  };
  static DirectionSlices direction_slices(const Rnn& r, Scratch& s, std::size_t bsz,
                                          const Context& ctx) {
    const std::size_t h = r.hidden_, gh = r.cells_[0].gates() * h;
    DirectionSlices sl;
    sl.h = s.take<float>(bsz, h);
    sl.c = s.take<float>(bsz, h);
    sl.h_act = s.take<float>(bsz, h);
    sl.c_act = s.take<float>(bsz, h);
    sl.h_new = s.take<float>(bsz, h);
    sl.gh = s.take<float>(bsz, gh);
    sl.rows = s.take<const float*>(bsz);
    sl.which = s.take<std::size_t>(bsz);
    sl.when = s.take<std::size_t>(bsz);
    s.room(matmul_workspace_bytes(ctx, bsz, gh, h));
    return sl;
  }
};

std::size_t Rnn::workspace_bytes(std::size_t bsz, std::size_t steps, const Context& ctx) const {
  Scratch s;
  Impl::slices(*this, s, bsz, steps, ctx);
  return s.bytes();
}


std::size_t Rnn::direction_bytes(std::size_t bsz, const Context& ctx) const {
  Scratch s;
  Impl::direction_slices(*this, s, bsz, ctx);
  return s.bytes();
}

Status Rnn::check(ConstView x, ConstView h0, ConstView c0, const std::int64_t* lengths,
                  View output, View h_n, View c_n) const {
  const char* name = rnn_type_name(type_);
  if (x.empty() || x.rank() != 3 || !x.is_contiguous() || x.dim(2) != input_ || x.dim(0) == 0 ||
      x.dim(1) == 0)
    return Status::invalid(std::string(name) + ": x must be a contiguous [B, T, " +
                           std::to_string(input_) + "] tensor with B, T >= 1, found " +
                           (x.empty() ? std::string("none") : x.shape().to_string()));
  const std::size_t bsz = x.dim(0), steps = x.dim(1);
  const Shape state{layers_ * dirs_, bsz, hidden_};
  if (!h0.empty()) EDGEATTN_RETURN_IF_ERROR(detail::require_shape(h0, state, "h0"));
  if (!h_n.empty()) EDGEATTN_RETURN_IF_ERROR(detail::require_shape(h_n, state, "h_n"));
  if (type_ == RnnType::lstm) {
    if (!c0.empty()) EDGEATTN_RETURN_IF_ERROR(detail::require_shape(c0, state, "c0"));
    if (!c_n.empty()) EDGEATTN_RETURN_IF_ERROR(detail::require_shape(c_n, state, "c_n"));
  } else if (!c0.empty() || !c_n.empty()) {
    return Status::invalid("gru: c0 and c_n are LSTM states; pass empty views");
  }
  EDGEATTN_RETURN_IF_ERROR(detail::require_shape(output, Shape{bsz, steps, dirs_ * hidden_}, "output"));
  for (std::size_t b = 0; lengths && b < bsz; ++b)
    if (lengths[b] < 1 || lengths[b] > static_cast<std::int64_t>(steps))
      return Status::invalid(std::string(name) + ": lengths[" + std::to_string(b) + "] = " +
                             std::to_string(lengths[b]) + " is outside [1, " +
                             std::to_string(steps) + "]");
  return {};
}

Status Rnn::run_direction(const Context& ctx, std::size_t layer, std::size_t dir, const float* gx,
                          std::size_t bsz, std::size_t steps, const std::int64_t* lengths,
                          ConstView h0, ConstView c0, float* out, View h_n, View c_n,
                          Workspace& ws) const {
  const RnnCell& cell = cells_[layer * dirs_ + dir];
  const std::size_t n = hidden_, g = cell.gates() * n, ldgx = dirs_ * g, dh = dirs_ * n;
  const bool lstm = type_ == RnnType::lstm;
  const std::size_t state = (layer * dirs_ + dir) * bsz * n;  // offset in h0/h_n
  Scratch scratch(ws);
  const Impl::DirectionSlices sl = Impl::direction_slices(*this, scratch, bsz, ctx);
  if (!scratch.ok()) return Scratch::too_small(rnn_type_name(type_));
  float *h = sl.h, *c = sl.c, *h_act = sl.h_act, *c_act = sl.c_act, *h_new = sl.h_new, *gh = sl.gh;
  const float** rows = sl.rows;
  std::size_t *which = sl.which, *when = sl.when;
  const auto init = [&](float* dst, ConstView src) {
    if (src.empty()) std::memset(dst, 0, bsz * n * sizeof(float));
    else std::memcpy(dst, src.data() + state, bsz * n * sizeof(float));
  };
  init(h, h0);
  if (lstm) init(c, c0);
  const std::size_t row_bytes = n * sizeof(float);
  for (std::size_t s = 0; s < steps; ++s) {
    // The sequences still running at step s, each at its own time index
    // (the reverse direction starts at its own last element).
    std::size_t active = 0;
    for (std::size_t b = 0; b < bsz; ++b) {
      const std::size_t len = lengths ? static_cast<std::size_t>(lengths[b]) : steps;
      if (s >= len) continue;
      const std::size_t t = dir == 0 ? s : len - 1 - s;
      which[active] = b, when[active] = t;
      rows[active] = gx + (b * steps + t) * ldgx + dir * g;
      std::memcpy(h_act + active * n, h + b * n, row_bytes);
      if (lstm) std::memcpy(c_act + active * n, c + b * n, row_bytes);
      ++active;
    }
    EDGEATTN_RETURN_IF_ERROR(
        cell.step_rows(ctx, rows, active, h_act, lstm ? c_act : nullptr, h_new, gh, ws, s % 2 == 1));
    for (std::size_t a = 0; a < active; ++a) {
      const std::size_t b = which[a];
      std::memcpy(h + b * n, h_new + a * n, row_bytes);
      if (lstm) std::memcpy(c + b * n, c_act + a * n, row_bytes);
      std::memcpy(out + (b * steps + when[a]) * dh + dir * n, h_new + a * n, row_bytes);
    }
  }
  if (!h_n.empty()) std::memcpy(h_n.data() + state, h, bsz * row_bytes);
  if (lstm && !c_n.empty()) std::memcpy(c_n.data() + state, c, bsz * row_bytes);
  return {};
}

Status Rnn::forward(const Context& ctx, ConstView x, ConstView h0, ConstView c0,
                    const std::int64_t* lengths, View output, View h_n, View c_n,
                    Workspace& ws) const {
  EDGEATTN_RETURN_IF_ERROR(check(x, h0, c0, lengths, output, h_n, c_n));
  const std::size_t bsz = x.dim(0), steps = x.dim(1), rows = bsz * steps;
  const std::size_t g = cells_[0].gates() * hidden_, dg = dirs_ * g, dh = dirs_ * hidden_;
  Scratch s(ws);
  const Impl::Slices sl = Impl::slices(*this, s, bsz, steps, ctx);
  if (!s.ok()) return Scratch::too_small(rnn_type_name(type_));
  float* gx = sl.gx;
  float* const* io = sl.io;
  Status st;
  for (std::size_t l = 0; l < layers_ && st.ok(); ++l) {
    const float* in = l == 0 ? x.data() : io[(l - 1) % 2];
    float* out = l + 1 == layers_ ? output.data() : io[l % 2];
    // Every time step's input projection, both directions: one GEMM; with
    // one input feature (a univariate series) one axpy per step instead of
    // a GEMM of depth 1, which is all tile edges.
    const std::size_t in_dim = l == 0 ? input_ : dh;
    if (in_dim == 1) {
      for (std::size_t r = 0; r < rows; ++r) {
        std::memcpy(gx + r * dg, b_ih_[l].data(), dg * sizeof(float));
        kernels::axpy(in[r], static_cast<const float*>(w_ih_[l].view().data), gx + r * dg, dg);
      }
    } else {
      kernels::GemmArgs a = gemm_args(rows, dg, in_dim, in, nullptr, true, gx);
      kernels::set_weights_b(a, w_ih_[l], &packed_ih_[l]);
      st = matmul(ctx, a, ws);
      for (std::size_t r = 0; st.ok() && r < rows; ++r) kernels::add(gx + r * dg, b_ih_[l].data(), gx + r * dg, dg);
    }
    if (lengths) std::memset(out, 0, rows * dh * sizeof(float));  // outputs past a length are 0
    // The two directions are independent: with two threads and enough
    // steps each runs whole on its own, one thread team for the layer.
    const std::size_t sub = direction_bytes(bsz, Context{1});
    const double recurrent_flops = 2.0 * static_cast<double>(rows) * g * hidden_;
    if (st.ok() && dirs_ == 2 && threads_for(ctx, 2 * recurrent_flops, kMinFlopsPerThread) > 1 &&
        ws.capacity() - ws.used() >= 2 * sub) {
      const std::size_t dmark = ws.used();
      Workspace part[2];
      for (Workspace& p : part) p.attach(ws.take_bytes(sub), sub);
      Status sd[2];
      detail::parallel_for(2, 2, [&](std::size_t d, int) {
        sd[d] = run_direction(Context{1}, l, d, gx, bsz, steps, lengths, h0, c0, out, h_n, c_n, part[d]);
      });
      ws.rewind(dmark);
      st = sd[0].ok() ? sd[1] : sd[0];
    } else {
      for (std::size_t d = 0; d < dirs_ && st.ok(); ++d)
        st = run_direction(ctx, l, d, gx, bsz, steps, lengths, h0, c0, out, h_n, c_n, ws);
    }
  }
  return st;
}

}  // namespace edgeattn
