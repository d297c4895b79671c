// Hugging Face tensor names per model family (declared in model/family.h).
#include "model/family.h"

#include <vector>

#include "error.h"
#include "io/safetensors.h"

namespace loralab {

std::string embed_tensor_name(ModelFamily f) {
  return f == ModelFamily::Falcon ? "transformer.word_embeddings.weight" : "model.embed_tokens.weight";
}

std::string final_norm_name(ModelFamily f) {
  switch (f) {
    case ModelFamily::Phi:
      return "model.final_layernorm";
    case ModelFamily::Falcon:
      return "transformer.ln_f";
    default:
      return "model.norm";
  }
}

std::string block_prefix(ModelFamily f, int layer) {
  return (f == ModelFamily::Falcon ? "transformer.h." : "model.layers.") + std::to_string(layer) + ".";
}

std::string attn_norm_name(const ModelConfig& c, int layer) {
  const bool two = c.family == ModelFamily::Falcon && c.parallel_norms == 2;
  return block_prefix(c.family, layer) + (two ? "ln_attn" : "input_layernorm");
}

std::string mlp_norm_name(const ModelConfig& c, int layer) {
  if (c.family == ModelFamily::Llama) return block_prefix(c.family, layer) + "post_attention_layernorm";
  if (c.family == ModelFamily::Falcon && c.parallel_norms == 2) return block_prefix(c.family, layer) + "ln_mlp";
  return "";
}

std::vector<int32_t> falcon_qkv_sources(const ModelConfig& c) {
  const int NH = c.num_heads, NKV = c.num_kv_heads;
  std::vector<int32_t> src;
  if (c.qkv_layout == QkvLayout::MultiQuery) {
    for (int h = 0; h < NH; ++h) src.push_back(h);
    src.push_back(NH);
    src.push_back(NH + 1);
  } else if (c.qkv_layout == QkvLayout::Grouped) {
    const int G = NH / NKV;
    for (int g = 0; g < NKV; ++g) {
      for (int w = 0; w < G; ++w) src.push_back(g * G + w);
      src.push_back(NH + g);
      src.push_back(NH + NKV + g);
    }
  } else {  // Interleaved: (NH, 3, HD)
    for (int h = 0; h < NH; ++h) {
      src.push_back(h);
      src.push_back(NH + h);
      src.push_back(NH + NKV + h);
    }
  }
  return src;
}

const char* family_name(ModelFamily f) {
  switch (f) {
    case ModelFamily::Phi:
      return "Phi";
    case ModelFamily::Falcon:
      return "Falcon";
    default:
      return "Llama";
  }
}

GeluKind gelu_kind(const ModelConfig& c) { return c.mlp == MlpKind::GeluTanh ? GeluKind::Tanh : GeluKind::Erf; }

void refuse_remote_code_phi(const CheckpointReader& ckpt, ModelFamily family) {
  if (family != ModelFamily::Phi || ckpt.has(embed_tensor_name(family))) return;
  for (const auto& n : ckpt.names())
    if (n.find("Wqkv") != std::string::npos || n.find(".mixer.") != std::string::npos)
      LORALAB_THROW("E_CONFIG_UNSUPPORTED", ckpt.folder() + ": tensor '" + n +
                                                "' is from the old remote-code Phi layout (Wqkv / mixer); use the "
                                                "checkpoint's PhiForCausalLM revision (transformers >= 4.37)");
}

}  // namespace loralab
