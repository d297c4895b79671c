// Checks every engine (CPU, CUDA) makes the same way, with the same codes and messages: options
// that no device supports, a batch's shape, and the target-token count of a global batch.
#pragma once
#include <cstdint>
#include <vector>

#include "engine.h"
#include "model/config.h"

namespace loralab {

// Option values and combinations refused on every device (method + quantize, LoRA with no target,
// unset ranks, rates and schedule lengths: EngineOptions has no defaults).
void check_common_options(const EngineOptions& options);
// The families the CUDA engine implements (Llama, Mistral, Qwen2, Phi, Falcon): E_DEVICE_UNSUPPORTED naming
// the architecture for any other (use device: cpu).
void check_cuda_supports(const ModelConfig& config);
// The batch's shapes and row lengths (E_BATCH naming the batch); step() batches need targets.
void check_batch(const Batch& batch, bool training);
// Target tokens (not -100) over all micro-batches.
int64_t count_target_tokens(const std::vector<Batch>& micro_batches);

}  // namespace loralab
