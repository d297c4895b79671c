// Resumable training state: every trainable parameter, its optimizer moments, the step counter and
// the RNG key (the counter-based RNG's whole state is seed + step) in <dir>/state.safetensors.
#pragma once
#include <cstdint>
#include <string>

#include "engine.h"
#include "model/llama.h"

namespace loralab {

struct TrainState {
  int64_t step = 0;
  uint64_t seed = 0;
};

// Writes <dir>/state.safetensors atomically (creates dir). Tensors: "param/<name>",
// "exp_avg/<name>", "exp_avg_sq/<name>" (AdamW) or "momentum_buffer/<name>" (SGD).
void save_train_state(const std::string& dir, LlamaModel& model, const EngineOptions& options, const TrainState& state);
// Reads it back into the model's trainable parameters; E_STATE_MISMATCH names a missing tensor,
// a shape or method/optimizer difference.
TrainState load_train_state(const std::string& dir, LlamaModel& model, const EngineOptions& options);

}  // namespace loralab
