// Hugging Face tensor names per model family (declared in model/family.h).
#include "model/family.h"

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

}  // namespace loralab
