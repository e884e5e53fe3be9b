// The scalar reference path: the plainest correct loops, one element at a
// time. Every SIMD kernel is tested against these (and these against double
// precision). Also the only path on cores without SIMD (ARMv6).
#include <cmath>
#include <limits>

#include <cstring>

#include "exp_core.h"
#include "module_kernels.h"
#include "table.h"

namespace edgeattn::detail {
namespace {

float dot(const float* a, const float* b, std::size_t n) {
  float s = 0.0f;
  for (std::size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}
void axpy(float alpha, const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}
void scale_rows(const float* a, const float* x, std::size_t rows, std::size_t n, float* y) {
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t i = 0; i < n; ++i) y[r * n + i] = a[r] * x[r * n + i];
}
void add(const float* a, const float* b, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}
void mul(const float* a, const float* b, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}
void add_scalar(const float* a, float b, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = a[i] + b;
}
void scale_mul(float alpha, const float* a, const float* b, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = (alpha * a[i]) * b[i];
}
float reduce_sum(const float* x, std::size_t n) {
  float s = 0.0f;
  for (std::size_t i = 0; i < n; ++i) s += x[i];
  return s;
}
float reduce_max(const float* x, std::size_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}
void global_pool(const float* x, std::size_t rows, std::size_t n, float* mean, float* max) {
  for (std::size_t r = 0; r < rows; ++r) {
    mean[r] = n ? reduce_sum(x + r * n, n) / static_cast<float>(n) : 0.0f;
    if (max) max[r] = reduce_max(x + r * n, n);
  }
}
std::size_t argmax(const float* x, std::size_t n) {  // a NaN is the maximum, as torch.argmax
  std::size_t best = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) return i;
    if (x[i] > x[best]) best = i;
  }
  return best;
}
void softmax(const float* x, const std::uint8_t* mask, float* y, std::size_t n) {
  float m = -std::numeric_limits<float>::infinity();
  bool any = false;
  for (std::size_t i = 0; i < n; ++i) {
    if (mask && !mask[i]) continue;
    any = true;
    m = x[i] > m ? x[i] : m;
  }
  float s = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    const float e = (!any || (mask && !mask[i])) ? 0.0f : std::exp(x[i] - m);
    y[i] = e;
    s += e;
  }
  if (!any) return;
  const float inv = 1.0f / s;
  for (std::size_t i = 0; i < n; ++i) y[i] *= inv;
}
void vexp(const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}
// exp_core's primitives for one float.
struct FloatOps {
  using F = float;
  using I = std::int32_t;
  static F splat(float v) { return v; }
  static I splat_int(std::int32_t v) { return v; }
  static F min(F a, F b) { return b < a ? b : a; }
  static F max(F a, F b) { return b > a ? b : a; }
  static F fma(F a, F b, F c) { return std::fma(a, b, c); }
  static F fnma(F a, F b, F c) { return std::fma(-a, b, c); }
  static I bits(F v) {
    I i;
    std::memcpy(&i, &v, 4);
    return i;
  }
  static F from_bits(I i) {
    F v;
    std::memcpy(&v, &i, 4);
    return v;
  }
  static I shift_right(I v, int n) { return v >> n; }  // arithmetic (C++20, and GCC)
  static I shift_left(I v, int n) {
    return static_cast<I>(static_cast<std::uint32_t>(v) << n);
  }
  static F keep_nan(F x, F y) { return x != x ? x : y; }
  static F select_lt(F a, F b, F y, F z) { return a < b ? y : z; }
};

void exp_lanes16(const float* x, const std::uint8_t* mask, std::size_t n, float shift, float* e,
                 float* lanes) {
  for (std::size_t l = 0; l < 16; ++l) lanes[l] = 0.0f;
  for (std::size_t c = 0; c < n; c += 16)
    for (std::size_t l = 0; l < 16; ++l) {
      const std::size_t i = c + l;
      e[i] = i < n && (!mask || mask[i]) ? exp_nonpositive_core<FloatOps, false>(x[i] - shift) : 0.0f;
      lanes[l] += e[i];
    }
}

void vtanh(const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}
// PyTorch's formulas (activation.h); clamps keep a NaN as hardtanh does.
float clamp_keep_nan(float v, float lo, float hi) {
  return std::isnan(v) ? v : std::fmin(std::fmax(v, lo), hi);
}
float activation(Activation act, float v) {
  switch (act) {
    case Activation::none: return v;
    case Activation::relu: return v > 0.0f ? v : 0.0f;
    case Activation::relu6: return clamp_keep_nan(v, 0.0f, 6.0f);
    case Activation::sigmoid: return 1.0f / (1.0f + std::exp(-v));
    case Activation::silu: return v / (1.0f + std::exp(-v));
    case Activation::hardsigmoid: return clamp_keep_nan(v + 3.0f, 0.0f, 6.0f) / 6.0f;
    case Activation::hardswish: return v * clamp_keep_nan(v + 3.0f, 0.0f, 6.0f) / 6.0f;
  }
  return v;
}
void activate(Activation act, const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = activation(act, x[i]);
}
void sigmoid(const float* x, float* y, std::size_t n) { activate(Activation::sigmoid, x, y, n); }
void relu(const float* x, float* y, std::size_t n) { activate(Activation::relu, x, y, n); }
void silu(const float* x, float* y, std::size_t n) { activate(Activation::silu, x, y, n); }
void rows_mean_max(const float* x, std::size_t ldx, std::size_t rows, const float* scale,
                   float* mean, float* max, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    float s = 0.0f, m = -std::numeric_limits<float>::infinity();
    for (std::size_t r = 0; r < rows; ++r) {
      const float t = scale ? scale[r] * x[r * ldx + i] : x[r * ldx + i];
      s += t;
      m = t > m ? t : m;
    }
    mean[i] = s / static_cast<float>(rows);
    max[i] = m;
  }
}
float sigmoid1(float x) { return 1.0f / (1.0f + std::exp(-x)); }
void gru_gates(const float* gx, const float* gh, const float* h, float* h_out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const float r = sigmoid1(gx[i] + gh[i]);
    const float z = sigmoid1(gx[n + i] + gh[n + i]);
    const float m = std::tanh(gx[2 * n + i] + r * gh[2 * n + i]);
    h_out[i] = (1.0f - z) * m + z * h[i];
  }
}
void lstm_gates(const float* gx, const float* gh, float* c, float* h_out, std::size_t n) {
  for (std::size_t k = 0; k < n; ++k) {
    const float i = sigmoid1(gx[k] + gh[k]);
    const float f = sigmoid1(gx[n + k] + gh[n + k]);
    const float g = std::tanh(gx[2 * n + k] + gh[2 * n + k]);
    const float o = sigmoid1(gx[3 * n + k] + gh[3 * n + k]);
    c[k] = f * c[k] + i * g;
    h_out[k] = o * std::tanh(c[k]);
  }
}
void copy_rows(const float* x, std::size_t ldx, std::size_t rows, std::size_t n, float* y, std::size_t ldy) {
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < n; ++c) y[r * ldy + c] = x[r * ldx + c];
}
void im2col_plane(const float* x, std::size_t ldx, std::size_t kh, std::size_t kw, std::size_t ow, std::size_t n0,
                  std::size_t n1, float* col, std::size_t ldcol) {
  for (std::size_t i = 0; i < kh; ++i)
    for (std::size_t j = 0; j < kw; ++j)
      for (std::size_t p = n0; p < n1; ++p) col[(i * kw + j) * ldcol + p] = x[(p / ow + i) * ldx + p % ow + j];
}
bool max_pool_rows(const float* x, std::size_t ldx, std::size_t kh, std::size_t kw, std::size_t sh, std::size_t sw,
                   float* y, std::size_t ldy, std::size_t rows, std::size_t n) {
  bool nan = false;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < n; ++c) {
      float m = -std::numeric_limits<float>::infinity();
      for (std::size_t i = 0; i < kh; ++i)
        for (std::size_t j = 0; j < kw; ++j) {
          const float v = x[(r * sh + i) * ldx + c * sw + j];
          m = v > m ? v : m;
          nan |= v != v;
        }
      y[r * ldy + c] = m;
    }
  return !nan;
}
void conv_rows(const float* x, std::size_t ldx, const float* w, std::size_t kh, std::size_t kw,
               float* y, std::size_t ldy, std::size_t rows, std::size_t n) {
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < n; ++c) {
      float s = y[r * ldy + c];
      for (std::size_t i = 0; i < kh; ++i)
        for (std::size_t j = 0; j < kw; ++j) s += w[i * kw + j] * x[(r + i) * ldx + c + j];
      y[r * ldy + c] = s;
    }
}
void dwconv_row(const float* x, std::size_t ldx, const float* w, std::size_t kh, std::size_t kw,
                std::size_t sw, float* y, std::size_t n, Activation act) {
  constexpr std::size_t L = kernels::kDwLanes;
  for (std::size_t c = 0; c < n; ++c)
    for (std::size_t l = 0; l < L; ++l) {
      float s = w[kh * kw * L + l];
      for (std::size_t i = 0; i < kh; ++i)
        for (std::size_t j = 0; j < kw; ++j) s += w[(i * kw + j) * L + l] * x[i * ldx + (c * sw + j) * L + l];
      y[c * L + l] = activation(act, s);
    }
}
void conv_row_oc16(const float* x, std::size_t ldx, std::size_t plane, std::size_t channels,
                   const float* w, std::size_t kh, std::size_t kw, std::size_t sw, float* y,
                   std::size_t n, Activation act) {
  constexpr std::size_t L = kernels::kDwLanes;
  const std::size_t k = channels * kh * kw;
  for (std::size_t c = 0; c < n; ++c)
    for (std::size_t l = 0; l < L; ++l) {
      float s = w[k * L + l];
      for (std::size_t ch = 0; ch < channels; ++ch)
        for (std::size_t i = 0; i < kh; ++i)
          for (std::size_t j = 0; j < kw; ++j)
            s += w[((ch * kh + i) * kw + j) * L + l] * x[ch * plane + i * ldx + c * sw + j];
      y[c * L + l] = activation(act, s);
    }
}
void online_softmax2(float* s, std::size_t lds, std::size_t rows, std::size_t n, float* m,
                     float* l, float* o, std::size_t ldo, std::size_t dv) {
  const float ninf = -std::numeric_limits<float>::infinity();
  for (std::size_t r = 0; r < rows; ++r) {
    float* sr = s + r * lds;
    float mn = m[r], sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i) mn = sr[i] > mn ? sr[i] : mn;
    for (std::size_t i = 0; i < n; ++i) sum += sr[i] = mn == ninf ? 0.0f : std::exp2(sr[i] - mn);
    if (mn == ninf) continue;
    const float alpha = m[r] == ninf ? 0.0f : std::exp2(m[r] - mn);
    for (std::size_t j = 0; j < dv; ++j) o[r * ldo + j] *= alpha;
    l[r] = l[r] * alpha + sum;
    m[r] = mn;
  }
}
void additive_scores(const float* q, const float* k, std::size_t ldk, std::size_t n,
                     std::size_t a_dim, const float* v, float* out) {
  for (std::size_t j = 0; j < n; ++j) {
    float s = 0.0f;
    for (std::size_t a = 0; a < a_dim; ++a) s += v[a] * std::tanh(q[a] + k[j * ldk + a]);
    out[j] = s;
  }
}
void gemv(std::size_t m, std::size_t k, float alpha, const float* a, std::size_t lda,
          const float* x, float beta, float* y) {
  for (std::size_t i = 0; i < m; ++i) {
    const float s = alpha * dot(a + i * lda, x, k);
    y[i] = beta == 0.0f ? s : s + beta * y[i];
  }
}
void gemv_t(std::size_t m, std::size_t k, float alpha, const float* a, std::size_t lda,
            const float* x, float beta, float* y) {
  for (std::size_t j = 0; j < k; ++j) {
    float s = 0.0f;
    for (std::size_t i = 0; i < m; ++i) s += a[i * lda + j] * x[i];
    y[j] = beta == 0.0f ? alpha * s : alpha * s + beta * y[j];
  }
}
void gemv_t_panels(std::size_t m, std::size_t n, WeightRows pa, const float* scale, const float* x,
                   const float* bias, float* y, bool backward) {
  constexpr std::size_t P = kernels::GemvPanels::kPanel;
  const std::size_t panels = (n + P - 1) / P;
  for (std::size_t q = 0; q < panels; ++q) {
    const std::size_t p = backward ? panels - 1 - q : q;
    for (std::size_t j = p * P; j < n && j < (p + 1) * P; ++j) {
      float s = 0.0f;
      for (std::size_t i = 0; i < m; ++i) s += pa.at(p * m + i, j - p * P) * x[i];
      if (scale) s *= scale[j];
      y[j] = bias ? s + bias[j] : s;
    }
  }
}
void gemv_w(std::size_t m, std::size_t k, float alpha, WeightRows a, const float* x, float beta,
            float* y) {
  const float* scale = a.scale;
  a.scale = nullptr;
  for (std::size_t i = 0; i < m; ++i) {
    float s = 0.0f;
    for (std::size_t c = 0; c < k; ++c) s += a.at(i, c) * x[c];
    if (scale) s *= scale[i];
    y[i] = beta == 0.0f ? alpha * s : alpha * s + beta * y[i];
  }
}
void gemm_narrow(std::size_t m, std::size_t k, const float* a, std::size_t lda, const float* b, std::size_t n,
                 float* c, std::size_t ldc) {
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      float s = 0.0f;
      for (std::size_t p = 0; p < k; ++p) s += a[i * lda + p] * b[p * kernels::kNarrowCols + j];
      c[i * ldc + j] = s;
    }
}
void gemv_multi_w(std::size_t m, std::size_t k, WeightRows a, const float* x, std::size_t ldx,
                  std::size_t nx, float* y, std::size_t ldy) {
  for (std::size_t j = 0; j < nx; ++j) {
    WeightRows rows = a;
    for (std::size_t i = 0; i < m; ++i, rows = rows.from_row(1))
      gemv_w(1, k, 1.0f, rows, x + j * ldx, 0.0f, y + i * ldy + j);
  }
}
void widen_w(WeightRows a, std::size_t begin, std::size_t n, float* y) {
  for (std::size_t i = 0; i < n; ++i) y[i] = a.at(0, begin + i);
}
void gemm(const kernels::GemmArgs& g) {
  for (std::size_t i = 0; i < g.m; ++i) {
    for (std::size_t j = 0; j < g.n; ++j) {
      float s = 0.0f;
      for (std::size_t p = 0; p < g.k; ++p) {
        const float b = !g.b_weights.empty() ? g.b_weights.at(j, p)
                        : g.trans_b           ? g.b[j * g.ldb + p]
                                              : g.b[p * g.ldb + j];
        s += (g.a_weights.empty() ? g.a[i * g.lda + p] : g.a_weights.at(i, p)) * b;
      }
      float& c = g.c[i * g.ldc + j];
      c = g.beta == 0.0f ? g.alpha * s : g.alpha * s + g.beta * c;
      if (g.bias) c += g.bias[i];
      c = activation(g.act, c);
    }
  }
}
double fma_peak(std::size_t iters, float* sink) {
  float acc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const float a = 0.999f, b = 1e-3f;
  for (std::size_t i = 0; i < iters; ++i)
    for (float& v : acc) v = v * a + b;
  *sink = acc[0] + acc[7];
  return 2.0 * 8.0 * static_cast<double>(iters);
}

}  // namespace

const KernelTable& scalar_table() {
#define EDGEATTN_SCALAR_ENTRY(name, impl, ret, params, args) impl,
  static const KernelTable t = {Isa::scalar, EDGEATTN_ALL_KERNELS(EDGEATTN_SCALAR_ENTRY) GemmBlocking{},
                                nullptr,     gemm,                                      fma_peak,
                                nullptr,     nullptr};
#undef EDGEATTN_SCALAR_ENTRY
  return t;
}

}  // namespace edgeattn::detail
