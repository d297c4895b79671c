// Training-step helpers over the model's trainable parameters: LR schedule, global gradient norm,
// optimizer update (AdamW / SGD, fp32 / bf16 / 8-bit state) with the clipping coefficient folded in.
#pragma once
#include <cstdint>
#include <vector>

#include "engine.h"
#include "model/llama.h"
#include "ops/adamw.h"
#include "ops/optim_store.h"
#include "ops/sgd.h"

namespace loralab {

// lr of 0-based optimizer step `step`: linear warmup (step+1)/warmup, then cosine / linear from
// learning_rate to min_lr over total_steps - warmup_steps, or constant.
double schedule_lr(const EngineOptions& options, int64_t step);
// sqrt(sum of squared gradients) over params, in a fixed order independent of threads.
double global_grad_norm(ThreadPool* pool, const std::vector<Param*>& params);
// Gradient multiplier of global-norm clipping: grad_clip / (norm + 1e-6) when grad_clip > 0 and the
// norm exceeds it, else 1. Both engines apply it on the fly in the optimizer update.
float clip_scale(const EngineOptions& options, double grad_norm);
// The update hyperparameters of 0-based optimizer step `step` at learning rate `lr` (shared with
// the CUDA engine, so both devices run the same formulas).
AdamWHyper adamw_hyper(const EngineOptions& options, int64_t step, double lr, float grad_scale);
SgdHyper sgd_hyper(const EngineOptions& options, int64_t step, double lr, float grad_scale);
// Where a trainable parameter's master, gradient and moments live (fp32, bf16 or 8-bit).
struct TrainableStore {
  StoreRef param, grad, m, v;
};
TrainableStore trainable_store(Param& p);
// One update of every param with gradient * grad_scale; `step` is the 0-based step index.
void optimizer_update(ThreadPool* pool, const EngineOptions& options, const std::vector<Param*>& params, int64_t step,
                      double lr, float grad_scale);

}  // namespace loralab
