// The engine's public facade: one loaded model (+ optional LoRA adapter), its optimizer and its
// memory accounting. Everything above the core (the N-API binding, the native tests, the
// benchmarks) uses only this header. Legend: B batch rows, T sequence length, V vocabulary.
// CONTRACT between native/src (model, ops) and native/binding: change only together.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/config.h"

namespace loralab {

enum class MemCategory : int {
  Weights = 0, QuantConstants, LoraParams, Grads, OptimizerState, Activations, Logits, Workspace, KvCache,
  Count
};
// "weights", "quant_constants", "lora_params", "grads", "optimizer_state", "activations", "logits",
// "workspace", "kv_cache" (the same names as the trainer protocol's MemoryCategory).
const char* mem_category_name(MemCategory c);

struct MemoryReport {
  std::array<uint64_t, static_cast<int>(MemCategory::Count)> current{};
  std::array<uint64_t, static_cast<int>(MemCategory::Count)> peak{};  // per-category high-water marks
  uint64_t current_total = 0;
  uint64_t peak_total = 0;  // high-water mark of the sum (not the sum of per-category peaks)
};

enum class Precision { BF16True, BF16Mixed, FP16True, FP32True };      // config model.precision
enum class Quantize { None, NF4, NF4DQ, FP4, FP4DQ };                   // config model.quantize
enum class Method { LoRA, Full };
// AdamW8bit / SGD8bit: moments as 8-bit blockwise dynamic codes (quant/dynamic8.h; tensors under 4096
// elements keep fp32 moments), the update in fp32.
enum class OptimizerKind { AdamW, SGD, AdamW8bit, SGD8bit };
// config train.state_precision: BF16 keeps LoRA masters, gradients and fp32-kind moments in bf16 (CPU, LoRA).
enum class StatePrecision { FP32, BF16 };
inline bool is_adamw(OptimizerKind k) { return k == OptimizerKind::AdamW || k == OptimizerKind::AdamW8bit; }
inline bool is_8bit(OptimizerKind k) { return k == OptimizerKind::AdamW8bit || k == OptimizerKind::SGD8bit; }
enum class LrSchedule { Cosine, Constant, Linear };

struct LoraTargets {
  bool query = false, key = false, value = false, projection = false, mlp = false, head = false;
};

// What a loaded engine computes and how it trains. No field has a default here: the config schema
// (language-server/src/config/schema.ts) is the one source of defaults, the trainer maps a config
// onto these (native/trainer/run/engine-options.ts), the N-API binding requires every field, and the
// native tests start from tests/test_options.h. Fields start zeroed (the first enum value, 0, false,
// ""); Engine::load refuses those that are invalid that way (lora_r, lora_alpha, learning_rate, ...).
struct EngineOptions {
  Precision precision{};
  Quantize quantize{};
  Method method{};
  LoraTargets targets;
  int lora_r = 0;
  float lora_alpha = 0.0f;
  float lora_dropout = 0.0f;
  bool rslora = false;                       // scale alpha/sqrt(r) instead of alpha/r
  OptimizerKind optimizer{};
  float learning_rate = 0.0f;
  float weight_decay = 0.0f;
  float beta1 = 0.0f, beta2 = 0.0f, eps = 0.0f;
  float momentum = 0.0f;                     // sgd
  StatePrecision state_precision{};          // trainable state storage (LoRA masters, grads, moments)
  LrSchedule lr_schedule{};
  int warmup_steps = 0;
  int total_steps = 0;                       // for the schedule
  float min_lr = 0.0f;
  float grad_clip = 0.0f;                    // <= 0 disables
  bool gradient_checkpointing = false;
  uint64_t seed = 0;                         // LoRA init and dropout
  int threads = 0;                           // 0 = all usable cores
  std::string device;                        // "cpu" | "cuda" | "cuda:N" ("" = cpu)
  bool training = false;                     // false: inference only (no optimizer state)
};

// Right-padded token rows. Targets use -100 for "no loss" (masked prompt, padding).
struct Batch {
  int rows = 0;                      // B
  int seq_len = 0;                   // T
  std::vector<int32_t> tokens;       // (B, T)
  std::vector<int32_t> targets;      // (B, T), already shifted: targets[b][t] is the token after tokens[b][t]
  std::vector<int32_t> lengths;      // (B,) valid prefix length of each row; positions >= length are padding
  std::vector<int64_t> example_ids;  // (B,) stable example index, keys the dropout RNG
};

struct StepResult {
  double loss = 0;        // mean over all target tokens of all micro-batches
  int64_t tokens = 0;     // target tokens in the step
  double grad_norm = 0;   // global L2 norm before clipping
  double lr = 0;          // learning rate used for this step
  int step = 0;           // optimizer steps done after this one
};

struct GenerateOptions {
  int max_new_tokens = 128;
  float temperature = 0.0f;  // 0 = greedy
  float top_p = 1.0f;
  uint64_t seed = 0;
  std::vector<int32_t> stop_tokens;
};

// One loglikelihood request (lm-eval): log p(continuation | context), teacher-forced. The context
// is never empty (an empty prompt is one prefix token, BOS or EOS, chosen by the caller).
struct ScoreRequest {
  std::vector<int32_t> context;
  std::vector<int32_t> continuation;
};

struct ScoreResult {
  double sum_logprob = 0.0;  // sum over continuation tokens of log_softmax(fp32 logits), in double
  bool is_greedy = true;     // every continuation token is the first argmax at its position
  int64_t computed = 0;      // tokens this request ran through the model (less than its input when a prefix was reused)
};

struct ScoreOptions {
  bool share_prefix = true;  // compute a prefix shared with the previous request once (KV cache)
  // Called on the engine's thread after each request: (requests done, total).
  std::function<void(int64_t, int64_t)> on_progress;
};

struct ParamCounts {
  int64_t total = 0;       // base model parameters (+ LoRA parameters in LoRA mode)
  int64_t trainable = 0;
  std::map<std::string, int64_t> trainable_by_target;  // "q","k","v","o","gate","up","down","head"
};

class Engine {
 public:
  // Loads <folder> (config.json + safetensors) with the given options. Throws Error.
  static std::unique_ptr<Engine> load(const std::string& folder, const EngineOptions& options);
  virtual ~Engine() = default;

  virtual const ModelConfig& config() const = 0;
  virtual const EngineOptions& options() const = 0;
  virtual ParamCounts param_counts() const = 0;
  virtual std::string compute_path() const = 0;  // "cpu-avx512", "cpu-avx2", "cpu-scalar", "cuda-sm90", ...
  virtual std::string device_name() const = 0;

  // Per-token log-probabilities of the targets: out[b*T + t] = log p(targets[b][t] | tokens[b][..t]),
  // 0 where the target is -100. Also usable without training state.
  virtual std::vector<float> logprobs(const Batch& batch) = 0;
  // Full logits (B, T, V) in fp32, for tests and small batches only.
  virtual std::vector<float> logits(const Batch& batch) = 0;

  // Loglikelihood of each request's continuation given its context (evaluation); results in
  // request order. abort() stops it between layers (E_ABORTED).
  virtual std::vector<ScoreResult> score(const std::vector<ScoreRequest>& requests, const ScoreOptions& options) = 0;

  // Streams generated ids through on_token; returns when a stop token, max_new_tokens, or
  // abort(). on_token returning false also stops.
  virtual std::vector<int32_t> generate(const std::vector<int32_t>& prompt, const GenerateOptions& options,
                                        const std::function<bool(int32_t)>& on_token) = 0;

  // One optimizer step over the micro-batches of one global batch (gradient accumulation).
  virtual StepResult step(const std::vector<Batch>& micro_batches) = 0;
  // Mean loss over target tokens, no gradients.
  virtual double eval_loss(const std::vector<Batch>& micro_batches) = 0;

  // PEFT layout: adapter_config.json + adapter_model.safetensors. LoRA mode only.
  virtual void save_adapter(const std::string& dir, const std::string& base_model_name_or_path) = 0;
  virtual void load_adapter(const std::string& dir) = 0;
  // Switches the adapter's contribution off (false: the outputs are the base model's, over the same
  // weights, never a second copy) or back on. LoRA mode only; step() refuses while it is off.
  virtual void set_adapter_enabled(bool enabled) = 0;
  // Trainable parameters, optimizer moments, step counter, RNG state: resume is exact.
  virtual void save_state(const std::string& dir) = 0;
  virtual void load_state(const std::string& dir) = 0;
  virtual int steps_done() const = 0;

  virtual MemoryReport memory() const = 0;
  // Asks a step / eval / generate in flight to stop at the next safe point (throws E_ABORTED there).
  virtual void abort() = 0;
};

// Merges a PEFT adapter into a checkpoint: W + scale * (B @ A) in fp32 from the original
// weights, written in the checkpoint's dtype, sharded like Hugging Face (max_shard_bytes per
// file + index), config and tokenizer files copied; an adapted head on a tied model is untied.
void merge_adapter(const std::string& checkpoint_dir, const std::string& adapter_dir, const std::string& out_dir,
                   uint64_t max_shard_bytes = 5000000000ull);

}  // namespace loralab
