// AdamW with decoupled weight decay and bias correction, torch.optim.AdamW semantics
// (param *= 1 - lr*wd; m = lerp(m, g, 1-b1); v = b2 v + (1-b2) g^2; param -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)).
// Legend: n parameters.
#pragma once
#include <cstdint>

namespace loralab {
class ThreadPool;
struct AdamWHyper {
  float lr = 0, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0;
  int64_t step = 1;        // 1-based step number for bias correction
  float grad_scale = 1.0f;  // gradient clipping coefficient applied to grad on the fly
};
// param, m, v (n) updated; grad (n) read
void adamw_update(ThreadPool* pool, float* param, float* m, float* v, const float* grad, int64_t n, const AdamWHyper& h);
}  // namespace loralab
