// SGD with momentum, torch.optim.SGD semantics (dampening 0, no Nesterov): g += wd * param;
// buf = g on the first step, else momentum * buf + g; param -= lr * buf. Legend: n parameters.
#pragma once
#include <cstdint>

namespace loralab {
class ThreadPool;
struct SgdHyper {
  float lr = 0, momentum = 0.9f, weight_decay = 0;
  bool first_step = true;
  float grad_scale = 1.0f;  // gradient clipping coefficient
};
// param, buf (n) updated (buf unused when momentum == 0); grad (n) read
void sgd_update(ThreadPool* pool, float* param, float* buf, const float* grad, int64_t n, const SgdHyper& h);
}  // namespace loralab
