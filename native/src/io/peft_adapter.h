// LoRA adapters in the PEFT layout (adapter_config.json + adapter_model.safetensors with keys like
// base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight), so PEFT and vLLM load ours and
// we load theirs. Legend: R rank, IN input features, OUT output features of the adapted linear.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace loralab {

// The linear layers LoRA can adapt, by role; each family names them (peft_module_name):
//   Llama  q_proj k_proj v_proj o_proj gate_proj up_proj down_proj lm_head
//   Phi    q_proj k_proj v_proj dense  -         fc1     fc2       lm_head
//   Falcon query_key_value (Q: the fused q/k/v) - - dense - dense_h_to_4h dense_4h_to_h lm_head
enum class PeftModule : int { Q, K, V, O, Gate, Up, Down, Head, Count };
const char* peft_module_name(PeftModule m, ModelFamily family = ModelFamily::Llama);  // "" when the family has none
bool parse_peft_module_name(const std::string& name, PeftModule* out, ModelFamily family = ModelFamily::Llama);
std::string peft_module_names(ModelFamily family);  // "q_proj, k_proj, ..." for error messages
// "model.layers.{layer}.self_attn.q_proj", "model.layers.{layer}.mlp.up_proj", Falcon's
// "transformer.h.{layer}.self_attention.query_key_value", or "lm_head" (layer ignored).
std::string peft_module_path(PeftModule m, int layer, ModelFamily family = ModelFamily::Llama);
// "base_model.model.<module path>.lora_A.weight" (which = 'A') or ".lora_B.weight" (which = 'B').
std::string peft_tensor_key(PeftModule m, int layer, char which, ModelFamily family = ModelFamily::Llama);
// Shape of the adapted weight W (OUT, IN) for this model; used to check adapters against a model.
void peft_module_shape(const ModelConfig& config, PeftModule m, int64_t* out_features, int64_t* in_features);

// r and lora_alpha have no defaults (set from EngineOptions or read from adapter_config.json, which
// must hold them); lora_dropout 0 is PEFT's value for a file that leaves it out.
struct PeftAdapterConfig {
  int r = 0;
  double lora_alpha = 0;
  double lora_dropout = 0;
  bool use_rslora = false;
  std::vector<std::string> target_modules;  // Hugging Face names, e.g. {"q_proj", "v_proj"}
  ModelFamily family = ModelFamily::Llama;   // whose module names target_modules and the tensor keys use
  std::string base_model_name_or_path;
  double scale() const;  // alpha / r, or alpha / sqrt(r) with rsLoRA
  bool targets(PeftModule m) const;
};

// One adapted linear: A (R, IN), B (OUT, R), fp32, row-major.
struct PeftLoraPair {
  PeftModule module = PeftModule::Q;
  int layer = -1;  // -1 for lm_head
  int64_t in_features = 0, out_features = 0;
  std::vector<float> A;  // (R, IN)
  std::vector<float> B;  // (OUT, R)
};

struct PeftAdapter {
  PeftAdapterConfig config;
  std::vector<PeftLoraPair> pairs;  // sorted by (layer, module); lm_head last
  const PeftLoraPair* find(PeftModule m, int layer) const;  // nullptr when not adapted
};

// Borrowed view for saving without copies. A (R, IN), B (OUT, R).
struct PeftLoraView {
  PeftModule module = PeftModule::Q;
  int layer = -1;
  int64_t in_features = 0, out_features = 0;
  const float* A = nullptr;  // (R, IN)
  const float* B = nullptr;  // (OUT, R)
};

// Writes <dir>/adapter_model.safetensors (F32, {"format": "pt"}) and <dir>/adapter_config.json
// (peft_type LORA, task_type CAUSAL_LM, bias none, fan_in_fan_out false, ...), each atomically;
// creates dir. E_ADAPTER_CONFIG when a pair's module is not in config.target_modules.
void save_peft_adapter(const std::string& dir, const PeftAdapterConfig& config, const std::vector<PeftLoraView>& pairs);

// Reads a PEFT adapter folder (ours or PEFT's; F32/BF16/F16 tensors converted to fp32).
// Errors: E_FILE_NOT_FOUND, E_ADAPTER_CONFIG (bad or missing key, named), E_ADAPTER_UNSUPPORTED
// (DoRA, biases, fan_in_fan_out, rank/alpha patterns, modules_to_save, regex targets, ...),
// E_ADAPTER_KEY (a tensor name that is not a LoRA weight of a known module), E_TENSOR_MISSING,
// E_TENSOR_SHAPE.
PeftAdapter load_peft_adapter(const std::string& dir);

// Checks every pair's shape against the model (E_ADAPTER_MISMATCH naming the tensor, the
// expected and the found shape, and a layer index beyond the model).
void check_adapter_fits(const PeftAdapter& adapter, const ModelConfig& model);

// merge_adapter (engine.h) for an adapter already in memory (the engine's current LoRA weights):
// same output; `adapter_label` names the adapter in error messages. E_MERGE_OUT_EXISTS when
// out_dir exists and is not empty; the folder appears whole (built beside it, then renamed).
void merge_peft_adapter(const std::string& checkpoint_dir, const PeftAdapter& adapter, const std::string& out_dir,
                        uint64_t max_shard_bytes = 5000000000ull, const std::string& adapter_label = "adapter");

}  // namespace loralab
