// Every kernel of the per-ISA table, named once (as XNNPACK names its
// micro-kernels once per family). X(name, impl, return type, (parameters),
// (arguments)): `name` is the table field and the kernels:: function,
// `impl` the implementation's name in scalar.cpp and simd/<family>.h (exp and
// tanh are vexp and vtanh there, beside std::exp and std::tanh). From these
// lists come the table's fields (table.h), the scalar and every SIMD table
// (scalar.cpp, simd_kernels.h: a kernel without an implementation does not
// compile) and the kernels:: wrappers (api.cpp). Internal.
//
// Adding a kernel: a line here, its scalar and xsimd implementations, its
// declaration (kernels.h if users call it, module_kernels.h if only modules
// do) and its test (tests/kernels/).
#pragma once

// Kernels users call (declared in include/edgeattn/kernels.h).
#define EDGEATTN_PUBLIC_KERNELS(X)                                                               \
  X(dot, dot, float, (const float* a, const float* b, std::size_t n), (a, b, n))                \
  X(axpy, axpy, void, (float alpha, const float* x, float* y, std::size_t n), (alpha, x, y, n)) \
  X(scale_rows, scale_rows, void,                                                                \
    (const float* a, const float* x, std::size_t rows, std::size_t n, float* y), (a, x, rows, n, y)) \
  X(add, add, void, (const float* a, const float* b, float* y, std::size_t n), (a, b, y, n))    \
  X(mul, mul, void, (const float* a, const float* b, float* y, std::size_t n), (a, b, y, n))    \
  X(add_scalar, add_scalar, void, (const float* a, float b, float* y, std::size_t n), (a, b, y, n)) \
  X(scale_mul, scale_mul, void, (float alpha, const float* a, const float* b, float* y, std::size_t n), \
    (alpha, a, b, y, n))                                                                         \
  X(reduce_sum, reduce_sum, float, (const float* x, std::size_t n), (x, n))                     \
  X(reduce_max, reduce_max, float, (const float* x, std::size_t n), (x, n))                     \
  X(global_pool, global_pool, void,                                                              \
    (const float* x, std::size_t rows, std::size_t n, float* mean, float* max), (x, rows, n, mean, max)) \
  X(argmax, argmax, std::size_t, (const float* x, std::size_t n), (x, n))                       \
  X(softmax, softmax, void, (const float* x, const std::uint8_t* mask, float* y, std::size_t n), \
    (x, mask, y, n))                                                                             \
  X(exp, vexp, void, (const float* x, float* y, std::size_t n), (x, y, n))                      \
  X(tanh, vtanh, void, (const float* x, float* y, std::size_t n), (x, y, n))                    \
  X(sigmoid, sigmoid, void, (const float* x, float* y, std::size_t n), (x, y, n))               \
  X(relu, relu, void, (const float* x, float* y, std::size_t n), (x, y, n))                     \
  X(silu, silu, void, (const float* x, float* y, std::size_t n), (x, y, n))                     \
  X(activate, activate, void, (Activation act, const float* x, float* y, std::size_t n),        \
    (act, x, y, n))                                                                              \
  X(gemv, gemv, void,                                                                            \
    (std::size_t m, std::size_t k, float alpha, const float* a, std::size_t lda, const float* x, \
     float beta, float* y),                                                                      \
    (m, k, alpha, a, lda, x, beta, y))                                                           \
  X(gemv_t, gemv_t, void,                                                                        \
    (std::size_t m, std::size_t k, float alpha, const float* a, std::size_t lda, const float* x, \
     float beta, float* y),                                                                      \
    (m, k, alpha, a, lda, x, beta, y))

// Fused kernels only modules call (declared in src/kernels/module_kernels.h).
#define EDGEATTN_MODULE_KERNELS(X)                                                               \
  X(exp_lanes16, exp_lanes16, void,                                                              \
    (const float* x, const std::uint8_t* mask, std::size_t n, float shift, float* e, float* lanes), \
    (x, mask, n, shift, e, lanes))                                                               \
  X(rows_mean_max, rows_mean_max, void,                                                          \
    (const float* x, std::size_t ldx, std::size_t rows, const float* scale, float* mean, float* max, \
     std::size_t n),                                                                             \
    (x, ldx, rows, scale, mean, max, n))                                                         \
  X(gru_gates, gru_gates, void,                                                                  \
    (const float* gx, const float* gh, const float* h, float* h_out, std::size_t n), (gx, gh, h, h_out, n)) \
  X(lstm_gates, lstm_gates, void,                                                                \
    (const float* gx, const float* gh, float* c, float* h_out, std::size_t n), (gx, gh, c, h_out, n)) \
  X(copy_rows, copy_rows, void,                                                                  \
    (const float* x, std::size_t ldx, std::size_t rows, std::size_t n, float* y, std::size_t ldy), \
    (x, ldx, rows, n, y, ldy))                                                                   \
  X(im2col_plane, im2col_plane, void,                                                            \
    (const float* x, std::size_t ldx, std::size_t kh, std::size_t kw, std::size_t ow, std::size_t n0, \
     std::size_t n1, float* col, std::size_t ldcol),                                             \
    (x, ldx, kh, kw, ow, n0, n1, col, ldcol))                                                    \
  X(max_pool_rows, max_pool_rows, bool,                                                          \
    (const float* x, std::size_t ldx, std::size_t kh, std::size_t kw, std::size_t sh, std::size_t sw, float* y, \
     std::size_t ldy, std::size_t rows, std::size_t n),                                          \
    (x, ldx, kh, kw, sh, sw, y, ldy, rows, n))                                                   \
  X(conv_rows, conv_rows, void,                                                                  \
    (const float* x, std::size_t ldx, const float* w, std::size_t kh, std::size_t kw, float* y,  \
     std::size_t ldy, std::size_t rows, std::size_t n),                                          \
    (x, ldx, w, kh, kw, y, ldy, rows, n))                                                        \
  X(dwconv_row, dwconv_row, void,                                                                \
    (const float* x, std::size_t ldx, const float* w, std::size_t kh, std::size_t kw,            \
     std::size_t sw, float* y, std::size_t n, Activation act),                                   \
    (x, ldx, w, kh, kw, sw, y, n, act))                                                          \
  X(conv_row_oc16, conv_row_oc16, void,                                                          \
    (const float* x, std::size_t ldx, std::size_t plane, std::size_t channels, const float* w,   \
     std::size_t kh, std::size_t kw, std::size_t sw, float* y, std::size_t n, Activation act),   \
    (x, ldx, plane, channels, w, kh, kw, sw, y, n, act))                                         \
  X(online_softmax2, online_softmax2, void,                                                      \
    (float* s, std::size_t lds, std::size_t rows, std::size_t n, float* m, float* l, float* o,   \
     std::size_t ldo, std::size_t dv),                                                           \
    (s, lds, rows, n, m, l, o, ldo, dv))                                                         \
  X(gemv_w, gemv_w, void,                                                                        \
    (std::size_t m, std::size_t k, float alpha, WeightRows a, const float* x, float beta, float* y), \
    (m, k, alpha, a, x, beta, y))                                                                \
  X(gemm_narrow, gemm_narrow, void,                                                              \
    (std::size_t m, std::size_t k, const float* a, std::size_t lda, const float* b, std::size_t n, \
     float* c, std::size_t ldc),                                                                 \
    (m, k, a, lda, b, n, c, ldc))                                                                \
  X(gemv_multi_w, gemv_multi_w, void,                                                            \
    (std::size_t m, std::size_t k, WeightRows a, const float* x, std::size_t ldx, std::size_t nx, \
     float* y, std::size_t ldy),                                                                 \
    (m, k, a, x, ldx, nx, y, ldy))                                                               \
  X(widen_w, widen_w, void, (WeightRows a, std::size_t begin, std::size_t n, float* y),          \
    (a, begin, n, y))                                                                            \
  X(additive_scores, additive_scores, void,                                                      \
    (const float* q, const float* k, std::size_t ldk, std::size_t n, std::size_t a_dim,          \
     const float* v, float* out),                                                                \
    (q, k, ldk, n, a_dim, v, out))

// Table entries whose callers wrap them by hand (api.cpp): gemv_t over
// GemvPanels' rows (m rows, n columns, a scale per column for int8).
#define EDGEATTN_TABLE_ONLY_KERNELS(X)                                                           \
  X(gemv_t_panels, gemv_t_panels, void,                                                          \
    (std::size_t m, std::size_t n, WeightRows panels, const float* scale, const float* x,        \
     const float* bias, float* y, bool backward),                                                \
    (m, n, panels, scale, x, bias, y, backward))

#define EDGEATTN_ALL_KERNELS(X) \
  EDGEATTN_PUBLIC_KERNELS(X)    \
  EDGEATTN_MODULE_KERNELS(X)    \
  EDGEATTN_TABLE_ONLY_KERNELS(X)
