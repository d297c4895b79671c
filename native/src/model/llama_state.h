// Resumable training state: every trainable parameter, its optimizer moments, the step counter and
// the RNG key (the counter-based RNG's whole state is seed + step) in <dir>/state.safetensors.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "engine.h"
#include "io/safetensors.h"
#include "model/llama.h"

namespace loralab {

struct TrainState {
  int64_t step = 0;
  uint64_t seed = 0;
};

// Writes <dir>/state.safetensors atomically (creates dir). Tensors: "param/<name>",
// "exp_avg/<name>", "exp_avg_sq/<name>" (AdamW) or "momentum_buffer/<name>" (SGD), each in its storage
// dtype (F32, BF16 under state_precision bf16, U8 codes for 8-bit moments with their F32
// "<prefix>_absmax/<name>" per 256-block); metadata records the optimizer and the state precision.
void save_train_state(const std::string& dir, LlamaModel& model, const EngineOptions& options, const TrainState& state);
// Reads it back into the model's trainable parameters; E_STATE_MISMATCH names a missing tensor,
// a shape or method/optimizer difference.
TrainState load_train_state(const std::string& dir, LlamaModel& model, const EngineOptions& options);

// <dir>/state.safetensors opened and its metadata checked against the options (method, optimizer:
// E_STATE_MISMATCH naming the file and both values); step and seed read. Used by every engine.
struct TrainStateFile {
  std::string path;
  std::unique_ptr<SafetensorsFile> file;
  TrainState state;
};
TrainStateFile open_train_state(const std::string& dir, const EngineOptions& options);
// The state file's metadata (format version, step, seed, method, optimizer; LoRA rank and scale).
std::map<std::string, std::string> train_state_metadata(const EngineOptions& options, const TrainState& state,
                                                        int lora_r, double lora_scale);
// Tensor name prefixes of the optimizer moments: "exp_avg/" and "exp_avg_sq/" (AdamW) or
// "momentum_buffer/" and "" (SGD has no second moment).
const char* first_moment_prefix(OptimizerKind k);
// "adamw" | "sgd" | "adamw8bit" | "sgd8bit" and "fp32" | "bf16": the config's names, stored in the metadata.
const char* optimizer_name(OptimizerKind k);
const char* state_precision_name(StatePrecision p);
const char* second_moment_prefix(OptimizerKind k);

}  // namespace loralab
