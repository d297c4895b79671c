// Hugging Face tensor names of each model family (Llama / Phi / Falcon), the one place the loaders,
// the merge and the state files read them from. Legend: l layer index.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"
#include "ops/gelu.h"

namespace loralab {

class CheckpointReader;

// "model.embed_tokens.weight" (Llama, Phi) | "transformer.word_embeddings.weight" (Falcon)
std::string embed_tensor_name(ModelFamily family);
// the final norm without ".weight" / ".bias": "model.norm" | "model.final_layernorm" | "transformer.ln_f"
std::string final_norm_name(ModelFamily family);
// "model.layers.{l}." | "transformer.h.{l}."
std::string block_prefix(ModelFamily family, int layer);
// A layer's norms without ".weight" / ".bias". Llama: input_layernorm, post_attention_layernorm.
// Phi: input_layernorm (shared). Falcon: input_layernorm (shared), or ln_attn + ln_mlp (parallel_norms 2).
std::string attn_norm_name(const ModelConfig& config, int layer);
std::string mlp_norm_name(const ModelConfig& config, int layer);  // "" when the attention norm is shared
const char* family_name(ModelFamily family);
// Falcon: where each head-dim block j of query_key_value's output goes (q head h -> h, k group g -> NH + g,
// v group g -> NH + NKV + g), per the layout transformers' FalconAttention._split_heads reads; the CPU
// and the CUDA engine both split and gather by it.
std::vector<int32_t> falcon_qkv_sources(const ModelConfig& config);  // "Llama" | "Phi" | "Falcon"

// The MLP's GELU form of a Phi / Falcon config: tanh (gelu_new) or exact (erf).
GeluKind gelu_kind(const ModelConfig& config);
// Phi: a checkpoint in the old remote-code layout (Wqkv / mixer tensors, no PhiForCausalLM embedding)
// is refused with E_CONFIG_UNSUPPORTED naming the tensor; both engines' loaders call it first.
void refuse_remote_code_phi(const CheckpointReader& ckpt, ModelFamily family);

}  // namespace loralab
