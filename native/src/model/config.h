// The model architecture read from a Hugging Face config.json (LlamaForCausalLM,
// MistralForCausalLM, Qwen2ForCausalLM). Fields the engine does not implement are refused with
// an error naming the key (E_CONFIG_UNSUPPORTED), never ignored.
// CONTRACT shared by the engine's I/O and model code: change only together.
#pragma once
#include <string>
#include <vector>

namespace loralab {

enum class RopeScalingType { None, Linear, Llama3 };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::None;
  float factor = 1.0f;
  float low_freq_factor = 1.0f;                  // llama3
  float high_freq_factor = 4.0f;                 // llama3
  int original_max_position_embeddings = 8192;   // llama3
};

struct ModelConfig {
  std::string architecture;      // "LlamaForCausalLM" | "MistralForCausalLM" | "Qwen2ForCausalLM"
  std::string model_type;        // "llama" | "mistral" | "qwen2"
  int vocab_size = 0;
  int hidden_size = 0;           // C
  int intermediate_size = 0;     // F
  int num_layers = 0;            // L
  int num_heads = 0;             // NH (query heads)
  int num_kv_heads = 0;          // NKV (grouped-query attention; == NH for MHA)
  int head_dim = 0;              // HD, from config when given, else C / NH
  float rms_norm_eps = 1e-6f;
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling;
  int max_position_embeddings = 2048;
  bool tie_word_embeddings = false;
  bool attention_bias = false;   // q/k/v biases (Qwen2 always; Llama when attention_bias: true)
  int sliding_window = 0;        // 0 = none; positive windows shorter than the sequence are refused at run time
  std::string torch_dtype;       // "bfloat16", "float32", "float16" or ""
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;
};

// Reads <folder>/config.json. Throws Error: E_CONFIG_MISSING, E_CONFIG_PARSE, E_CONFIG_UNSUPPORTED
// (message names the key and the value, e.g. "config.json: hidden_act 'gelu' is not supported (only silu)").
ModelConfig load_model_config(const std::string& folder);
ModelConfig parse_model_config(const std::string& json_text, const std::string& source_name);

// Hugging Face tensor names for layer l: "model.layers.{l}.self_attn.q_proj.weight", ...
std::string layer_tensor_name(int layer, const std::string& suffix);

}  // namespace loralab
