// Generation with a KV cache: prefill the prompt, then one token at a time with greedy or
// temperature / top-p sampling (seeded, counter-based), stop tokens and streaming.
// Legend: V vocabulary.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "engine.h"
#include "model/llama.h"

namespace loralab {

// Picks the next token from logits (V): argmax when temperature <= 0 (lowest id on ties), else a
// draw from softmax(logits / temperature) restricted to the top-p nucleus. `index` keys the RNG.
int32_t sample_token(const float* logits, int64_t V, const GenerateOptions& options, uint64_t index);

// Returns the generated ids (a stop token, when hit, is the last one); on_token sees each id as it
// is produced and may return false to stop.
std::vector<int32_t> generate_tokens(LlamaModel& model, const std::vector<int32_t>& prompt,
                                     const GenerateOptions& options, const std::function<bool(int32_t)>& on_token);

}  // namespace loralab
