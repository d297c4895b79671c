// The model architecture read from a Hugging Face config.json (LlamaForCausalLM,
// MistralForCausalLM, Qwen2ForCausalLM; PhiForCausalLM and FalconForCausalLM as the parallel-block
// families, see model/family.h). Fields the engine does not implement are refused with
// an error naming the key (E_CONFIG_UNSUPPORTED), never ignored.
// CONTRACT shared by the engine's I/O and model code: change only together.
#pragma once
#include <string>
#include <vector>

namespace loralab {

// The decoder-block layout. Llama: pre-norm RMSNorm, attention then SwiGLU MLP, each with its residual.
// Phi / Falcon: LayerNorm (weight + bias), attention and a 2-layer GELU MLP in parallel on the normed
// input (Falcon 40B: its own norm per branch), both added to the residual.
enum class ModelFamily { Llama, Phi, Falcon };

// Where q, k, v sit in Falcon's fused query_key_value output (per token, in units of head_dim):
// MultiQuery [q_0..q_NH-1, k, v]; Grouped per kv group g [q_g0..q_g(NH/NKV-1), k_g, v_g];
// Interleaved per head [q_h, k_h, v_h]. Separate: q_proj / k_proj / v_proj (Llama, Phi).
enum class QkvLayout { Separate, MultiQuery, Grouped, Interleaved };

// The MLP: SwiGLU (gate, up, down), or act(fc1) -> fc2 with GELU tanh ("gelu_new") or exact erf GELU.
enum class MlpKind { SwiGLU, GeluTanh, GeluErf };

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
  float rms_norm_eps = 1e-6f;    // the eps of every norm (RMSNorm, or LayerNorm's layer_norm_eps)
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling;
  int max_position_embeddings = 2048;
  bool tie_word_embeddings = false;
  bool attention_bias = false;   // q/k/v biases (Qwen2 always; Llama when attention_bias: true)
  int sliding_window = 0;        // 0 = none; positive windows shorter than the sequence are refused at run time
  ModelFamily family = ModelFamily::Llama;
  QkvLayout qkv_layout = QkvLayout::Separate;
  MlpKind mlp = MlpKind::SwiGLU;
  int rotary_dim = 0;            // rotated dims per head (phi: partial_rotary_factor * HD); 0 = all HD
  bool linear_bias = false;      // every block linear has a bias (phi; falcon with bias: true)
  bool head_bias = false;        // lm_head.bias (phi)
  int parallel_norms = 1;        // Phi / Falcon: 1 shared norm, 2 = ln_attn + ln_mlp (falcon-40b)
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
