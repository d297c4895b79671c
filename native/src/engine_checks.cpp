// Option and batch checks shared by the CPU and CUDA engines (see engine_checks.h).
#include "engine_checks.h"

#include <string>

#include "error.h"
#include "model/family.h"
#include "ops/cross_entropy.h"

namespace loralab {

void check_common_options(const EngineOptions& opt) {
  if (opt.method == Method::Full && opt.quantize != Quantize::None)
    LORALAB_THROW("E_CONFIG_INVALID", "model.quantize needs train.method 'lora' (quantized weights cannot be fully finetuned)");
  if (opt.method == Method::LoRA) {
    const LoraTargets& t = opt.targets;
    LORALAB_CHECK(t.query || t.key || t.value || t.projection || t.mlp || t.head, "E_CONFIG_INVALID",
                  "lora: every target (query, key, value, projection, mlp, head) is false; nothing to train");
    LORALAB_CHECK(opt.lora_r > 0, "E_CONFIG_INVALID", "lora.r must be positive (got " + std::to_string(opt.lora_r) + ")");
    LORALAB_CHECK(opt.lora_alpha > 0, "E_CONFIG_INVALID",
                  "lora.alpha must be positive (got " + std::to_string(opt.lora_alpha) + ")");
  }
  LORALAB_CHECK(opt.threads >= 0, "E_CONFIG_INVALID", "threads must be >= 0 (0 = every usable core), got " + std::to_string(opt.threads));
  if (!opt.training) return;
  // EngineOptions has no defaults (engine.h): a caller that left these unset gets an error, not a value.
  LORALAB_CHECK(opt.learning_rate > 0, "E_CONFIG_INVALID",
                "train.learning_rate must be positive (got " + std::to_string(opt.learning_rate) + ")");
  LORALAB_CHECK(opt.total_steps > 0 && opt.warmup_steps >= 0, "E_CONFIG_INVALID",
                "the schedule needs total steps > 0 and train.warmup_steps >= 0 (got " + std::to_string(opt.total_steps) +
                    " and " + std::to_string(opt.warmup_steps) + ")");
  if (opt.state_precision == StatePrecision::BF16)
    LORALAB_CHECK(opt.method == Method::LoRA, "E_CONFIG_INVALID",
                  "train.state_precision 'bf16' keeps LoRA masters in bf16 and needs train.method 'lora' (full finetuning keeps "
                  "fp32 masters); set train.state_precision: fp32");
  if (is_adamw(opt.optimizer))
    LORALAB_CHECK(opt.beta1 >= 0 && opt.beta1 < 1 && opt.beta2 >= 0 && opt.beta2 < 1 && opt.eps > 0, "E_CONFIG_INVALID",
                  "train.betas must be in [0, 1) and the AdamW epsilon positive (got betas " + std::to_string(opt.beta1) +
                      ", " + std::to_string(opt.beta2) + ", eps " + std::to_string(opt.eps) + ")");
}

void check_batch(const Batch& b, bool training) {
  const std::string where = "batch (rows " + std::to_string(b.rows) + ", seq_len " + std::to_string(b.seq_len) + ")";
  LORALAB_CHECK(b.rows > 0 && b.seq_len > 0, "E_BATCH", where + ": empty");
  const size_t N = static_cast<size_t>(b.rows) * b.seq_len;
  LORALAB_CHECK(b.tokens.size() == N, "E_BATCH", where + ": tokens has " + std::to_string(b.tokens.size()) + " ids, expected rows*seq_len");
  LORALAB_CHECK(b.targets.empty() || b.targets.size() == N, "E_BATCH", where + ": targets must have rows*seq_len entries");
  LORALAB_CHECK(b.lengths.empty() || b.lengths.size() == static_cast<size_t>(b.rows), "E_BATCH",
                where + ": lengths must have one entry per row");
  LORALAB_CHECK(b.example_ids.empty() || b.example_ids.size() == static_cast<size_t>(b.rows), "E_BATCH",
                where + ": example_ids must have one entry per row");
  for (int32_t len : b.lengths)
    LORALAB_CHECK(len >= 1 && len <= b.seq_len, "E_BATCH", where + ": a row length " + std::to_string(len) + " is outside [1, seq_len]");
  LORALAB_CHECK(!training || !b.targets.empty(), "E_BATCH", where + ": step() needs targets");
}

int64_t count_target_tokens(const std::vector<Batch>& mbs) {
  int64_t n = 0;
  for (const Batch& b : mbs)
    for (int32_t t : b.targets) n += t != kIgnoreIndex;
  return n;
}

void check_cuda_supports(const ModelConfig& c) {
  // Llama / Mistral / Qwen2 (llama_cuda.h) and the parallel-block Phi / Falcon (parallel_block_cuda.h); what
  // neither engine implements (ALiBi, qk_layernorm, sequential Falcon blocks, ...) is refused by config.json's key
  if (c.family == ModelFamily::Llama || c.family == ModelFamily::Phi || c.family == ModelFamily::Falcon) return;
  LORALAB_THROW("E_DEVICE_UNSUPPORTED", "config.json: architectures [\"" + c.architecture + "\"] (the " +
                                            family_name(c.family) +
                                            " family) is not implemented on the CUDA engine (it runs Llama, Mistral, "
                                            "Qwen2, Phi and Falcon); use device: cpu for this model");
}

}  // namespace loralab
