// Training-step helpers: the learning-rate schedule, the global gradient norm (fixed chunks,
// reduced in index order) and the optimizer update over the trainable parameters.
#include "model/llama_optim.h"

#include <cmath>

#include "dtype.h"
#include "threadpool.h"

namespace loralab {

double schedule_lr(const EngineOptions& o, int64_t step) {
  const double peak = o.learning_rate, floor_lr = o.min_lr;
  if (o.warmup_steps > 0 && step < o.warmup_steps) return peak * static_cast<double>(step + 1) / o.warmup_steps;
  const int64_t decay_steps = std::max<int64_t>(1, static_cast<int64_t>(o.total_steps) - o.warmup_steps);
  double progress = static_cast<double>(step - o.warmup_steps) / static_cast<double>(decay_steps);
  progress = std::min(1.0, std::max(0.0, progress));
  switch (o.lr_schedule) {
    case LrSchedule::Constant: return peak;
    case LrSchedule::Linear: return peak + (floor_lr - peak) * progress;
    case LrSchedule::Cosine:
    default: return floor_lr + (peak - floor_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
  }
}

double global_grad_norm(ThreadPool* pool, const std::vector<Param*>& params) {
  constexpr int64_t kChunk = 16384;
  double total = 0.0;
  for (const Param* p : params) {
    const int64_t n = p->numel();
    const int64_t chunks = (n + kChunk - 1) / kChunk;
    std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
    const float* g = p->grad.data();
    const uint16_t* g16 = p->grad16.data();  // bf16 state
    parallel_for(pool, chunks, [&](int64_t c) {
      double s = 0.0;
      if (g16) {
        for (int64_t i = c * kChunk; i < n && i < (c + 1) * kChunk; ++i) {
          const double x = bf16_to_f32(g16[i]);
          s += x * x;
        }
      } else {
        for (int64_t i = c * kChunk; i < n && i < (c + 1) * kChunk; ++i) s += static_cast<double>(g[i]) * g[i];
      }
      partial[c] = s;
    });
    for (double s : partial) total += s;
  }
  return std::sqrt(total);
}

float clip_scale(const EngineOptions& o, double grad_norm) {
  if (o.grad_clip > 0.0f && grad_norm > o.grad_clip) return static_cast<float>(o.grad_clip / (grad_norm + 1e-6));
  return 1.0f;
}

AdamWHyper adamw_hyper(const EngineOptions& o, int64_t step, double lr, float grad_scale) {
  AdamWHyper h;
  h.lr = static_cast<float>(lr);
  h.beta1 = o.beta1, h.beta2 = o.beta2, h.eps = o.eps, h.weight_decay = o.weight_decay;
  h.step = step + 1;
  h.grad_scale = grad_scale;
  return h;
}

SgdHyper sgd_hyper(const EngineOptions& o, int64_t step, double lr, float grad_scale) {
  SgdHyper h;
  h.lr = static_cast<float>(lr);
  h.momentum = o.momentum, h.weight_decay = o.weight_decay;
  h.first_step = step == 0;
  h.grad_scale = grad_scale;
  return h;
}

void optimizer_update(ThreadPool* pool, const EngineOptions& o, const std::vector<Param*>& params, int64_t step,
                      double lr, float grad_scale) {
  const AdamWHyper adamw = adamw_hyper(o, step, lr, grad_scale);
  const SgdHyper sgd = sgd_hyper(o, step, lr, grad_scale);
  for (size_t k = 0; k < params.size(); ++k) {
    Param* p = params[k];
    const bool plain = p->dtype == DType::F32 && p->mq.empty() && p->m16.empty();
    if (plain && o.optimizer == OptimizerKind::AdamW) {
      adamw_update(pool, p->f32(), p->m.data(), p->v.data(), p->grad.data(), p->numel(), adamw);
    } else if (plain && o.optimizer == OptimizerKind::SGD) {
      sgd_update(pool, p->f32(), p->m.data(), p->grad.data(), p->numel(), sgd);
    } else {
      const RoundKey key{o.seed, static_cast<uint64_t>(step), k};
      const TrainableStore st = trainable_store(*p);
      if (is_adamw(o.optimizer))
        adamw_update_store(pool, st.param, st.m, st.v, st.grad, p->numel(), adamw, key, p->name.c_str());
      else
        sgd_update_store(pool, st.param, st.m, st.grad, p->numel(), sgd, key, p->name.c_str());
    }
  }
}

TrainableStore trainable_store(Param& p) {
  TrainableStore st;
  const bool bf16 = p.bf16_master();
  st.param = bf16 ? StoreRef{StoreFormat::BF16, p.storage.data()} : StoreRef{StoreFormat::F32, p.f32()};
  st.grad = bf16 ? StoreRef{StoreFormat::BF16, p.grad16.data()} : StoreRef{StoreFormat::F32, p.grad.data()};
  auto moment = [&](Buffer<uint8_t>& q, Buffer<float>& absmax, Buffer<uint16_t>& h, Buffer<float>& f, bool is_signed) {
    if (!q.empty()) return StoreRef{StoreFormat::Q8, q.data(), absmax.data(), is_signed};
    if (!h.empty()) return StoreRef{StoreFormat::BF16, h.data()};
    return StoreRef{StoreFormat::F32, f.data()};
  };
  st.m = moment(p.mq, p.m_absmax, p.m16, p.m, true);
  st.v = moment(p.vq, p.v_absmax, p.v16, p.v, false);
  return st;
}

}  // namespace loralab
