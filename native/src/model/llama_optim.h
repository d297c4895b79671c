// Training-step helpers over the model's trainable parameters: LR schedule, global gradient norm,
// optimizer update (AdamW / SGD) with the clipping coefficient folded in.
#pragma once
#include <cstdint>
#include <vector>

#include "engine.h"
#include "model/llama.h"

namespace loralab {

// lr of 0-based optimizer step `step`: linear warmup (step+1)/warmup, then cosine / linear from
// learning_rate to min_lr over total_steps - warmup_steps, or constant.
double schedule_lr(const EngineOptions& options, int64_t step);
// sqrt(sum of squared gradients) over params, in a fixed order independent of threads.
double global_grad_norm(ThreadPool* pool, const std::vector<Param*>& params);
// One update of every param with gradient * grad_scale; `step` is the 0-based step index.
void optimizer_update(ThreadPool* pool, const EngineOptions& options, const std::vector<Param*>& params, int64_t step,
                      double lr, float grad_scale);

}  // namespace loralab
