// Operators: kernels applied to tensor views, with shape checks and OpenMP
// threads. Each splits its output into pieces that are computed exactly as
// they would be on one thread, so results are bitwise identical for any
// thread count. Scratch memory comes from a caller-owned Workspace sized with
// the matching *_workspace_bytes(); no operator allocates.
#pragma once

#include <cstddef>
#include <cstdint>

#include "edgeattn/context.h"
#include "edgeattn/kernels.h"
#include "edgeattn/status.h"
#include "edgeattn/tensor.h"

namespace edgeattn {

// C = alpha * A op(B) + beta * C (see kernels::GemmArgs) on up to
// resolve_threads(ctx) threads. The workspace must hold
// matmul_workspace_bytes() for the same context; a workspace sized for fewer
// threads makes the call use fewer threads (same result, only slower). A
// problem of one row (m == 1) runs as a GEMV.
std::size_t matmul_workspace_bytes(const Context& ctx, std::size_t m, std::size_t n,
                                   std::size_t k);
Status matmul(const Context& ctx, const kernels::GemmArgs& args, Workspace& ws);

// GemmArgs for dense row-major operands: C[m x n] = alpha A[m x k] op(B) +
// beta C, with B [k x n], or [n x k] when trans_b. Adjust lda/ldb/ldc after
// for strided slices.
kernels::GemmArgs gemm_args(std::size_t m, std::size_t n, std::size_t k, const float* a,
                            const float* b, bool trans_b, float* c, float alpha = 1.0f,
                            float beta = 0.0f);

// Streaming attention (kernels::AttendArgs) on up to resolve_threads(ctx)
// threads: each thread packs K and V once (a shared copy costs more to write
// than a second one to pack), query rows are split in register-tile
// multiples. Workspace O(threads * n * (d + dv)), never O(m * n).
std::size_t attention_workspace_bytes(const Context& ctx, std::size_t m, std::size_t n,
                                      std::size_t d, std::size_t dv);
Status attention(const Context& ctx, const kernels::AttendArgs& args, Workspace& ws);

// y = softmax(x) over the last axis (see kernels::softmax for the masked and
// empty-row rules). x and y: same shape, rank 1..4, last axis contiguous; y
// may be x. mask: empty, or uint8 broadcastable to x's shape (axes of size 1
// repeat, e.g. [B, 1, Lk] for scores [B, Lq, Lk]) with the same contiguous
// last axis.
Status softmax(const Context& ctx, ConstView x, MaskView mask, View y);

// out = a + b, a - b, a * b and a / b with NumPy broadcasting; out must
// have the broadcast shape. out may be a or b when it has that input's shape.
Status add(const Context& ctx, ConstView a, ConstView b, View out);
Status sub(const Context& ctx, ConstView a, ConstView b, View out);
Status mul(const Context& ctx, ConstView a, ConstView b, View out);
Status div(const Context& ctx, ConstView a, ConstView b, View out);

}  // namespace edgeattn
