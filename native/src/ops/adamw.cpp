// AdamW update in fixed chunks (elementwise, so the split never changes a result).
#include "ops/adamw.h"

#include <cmath>

#include "threadpool.h"

namespace loralab {
void adamw_update(ThreadPool* pool, float* param, float* m, float* v, const float* grad, int64_t n, const AdamWHyper& h) {
  const float bc1 = 1.0f - static_cast<float>(std::pow(static_cast<double>(h.beta1), static_cast<double>(h.step)));
  const float bc2 = 1.0f - static_cast<float>(std::pow(static_cast<double>(h.beta2), static_cast<double>(h.step)));
  const float step_size = h.lr / bc1;
  const float bc2_sqrt = std::sqrt(bc2);
  const float decay = 1.0f - h.lr * h.weight_decay;
  constexpr int64_t kChunk = 16384;
  parallel_for(pool, (n + kChunk - 1) / kChunk, [&](int64_t task) {
    for (int64_t i = task * kChunk; i < n && i < (task + 1) * kChunk; ++i) {
      float g = grad[i] * h.grad_scale;
      param[i] *= decay;
      m[i] += (g - m[i]) * (1.0f - h.beta1);
      v[i] = v[i] * h.beta2 + (1.0f - h.beta2) * g * g;
      float denom = std::sqrt(v[i]) / bc2_sqrt + h.eps;
      param[i] -= step_size * (m[i] / denom);
    }
  });
}
}  // namespace loralab
