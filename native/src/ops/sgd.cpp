// SGD-with-momentum update in fixed chunks.
#include "ops/sgd.h"

#include "threadpool.h"

namespace loralab {
void sgd_update(ThreadPool* pool, float* param, float* buf, const float* grad, int64_t n, const SgdHyper& h) {
  constexpr int64_t kChunk = 16384;
  parallel_for(pool, (n + kChunk - 1) / kChunk, [&](int64_t task) {
    for (int64_t i = task * kChunk; i < n && i < (task + 1) * kChunk; ++i) {
      float g = grad[i] * h.grad_scale;
      if (h.weight_decay != 0.0f) g += h.weight_decay * param[i];
      if (h.momentum != 0.0f) {
        buf[i] = h.first_step ? g : h.momentum * buf[i] + g;
        g = buf[i];
      }
      param[i] -= h.lr * g;
    }
  });
}
}  // namespace loralab
