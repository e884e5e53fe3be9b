// A decoder query attends over five encoder states with scaled dot-product
// attention (Vaswani et al. 2017): weights = softmax(q K^T / sqrt(d)) over the
// keys a mask allows, context = weights V. Built from edgeattn's operators
// to show them; SoftAttention (attention.h) runs the same steps as a module.
#include <cmath>
#include <cstdio>
#include <cstdint>

#include <edgeattn/edgeattn.h>

using namespace edgeattn;

namespace {
int fail(const Status& s) {
  std::fprintf(stderr, "soft_attention_demo: %s\n", s.to_string().c_str());
  return 1;
}
}  // namespace

int main() {
  constexpr std::size_t kKeys = 5, kDim = 4;
  // Five encoder states (keys = values); the last one is padding.
  const float keys[kKeys][kDim] = {{1.0f, 0.0f, 0.5f, 0.0f},
                                   {0.0f, 1.0f, 0.0f, 0.5f},
                                   {0.9f, 0.1f, 0.4f, 0.1f},
                                   {-1.0f, 0.0f, -0.5f, 0.0f},
                                   {7.0f, 7.0f, 7.0f, 7.0f}};
  const std::uint8_t mask[kKeys] = {1, 1, 1, 1, 0};
  const float query[kDim] = {2.0f, 0.0f, 1.0f, 0.0f};
  float weights[kKeys], context[kDim];

  const Context ctx{1};
  Workspace ws;
  const std::size_t need = matmul_workspace_bytes(ctx, 1, kKeys, kDim) +
                           matmul_workspace_bytes(ctx, 1, kDim, kKeys);
  if (Status s = ws.reserve(need); !s.ok()) return fail(s);  // the one allocation

  kernels::GemmArgs scores;  // weights = q K^T / sqrt(d)
  scores.m = 1, scores.n = kKeys, scores.k = kDim, scores.alpha = 1.0f / std::sqrt(float(kDim));
  scores.a = query, scores.lda = kDim, scores.b = &keys[0][0], scores.ldb = kDim;
  scores.trans_b = true, scores.c = weights, scores.ldc = kKeys;
  if (Status s = matmul(ctx, scores, ws); !s.ok()) return fail(s);

  const View w(weights, Shape{1, kKeys});
  if (Status s = softmax(ctx, w, MaskView(mask, Shape{1, kKeys}), w); !s.ok()) return fail(s);

  kernels::GemmArgs mix;  // context = weights V
  mix.m = 1, mix.n = kDim, mix.k = kKeys, mix.a = weights, mix.lda = kKeys;
  mix.b = &keys[0][0], mix.ldb = kDim, mix.c = context, mix.ldc = kDim;
  if (Status s = matmul(ctx, mix, ws); !s.ok()) return fail(s);

  std::printf("edgeattn %s, kernels: %s\n", EDGEATTN_VERSION_STRING, isa_name(active_isa()));
  std::printf("scaled-dot attention of one query over %zu keys (key 4 masked as padding)\n",
              kKeys);
  std::printf("weights:");
  for (float v : weights) std::printf(" %.4f", v);
  std::printf("\ncontext:");
  for (float v : context) std::printf(" %.4f", v);
  std::printf("\n");
  return 0;
}
