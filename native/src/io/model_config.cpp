// config.json -> ModelConfig for Llama, Mistral and Qwen2 (declared in model/config.h). Every
// field that would change the math is either implemented or refused with E_CONFIG_UNSUPPORTED
// naming the key and the value; nothing is silently ignored.
#include <cmath>

#include "error.h"
#include "io/files.h"
#include "io/json.h"
#include "model/config.h"

namespace loralab {

namespace {

struct Reader {
  const JsonValue& root;
  const std::string& source;

  [[noreturn]] void bad(const std::string& key, const std::string& what) const {
    LORALAB_THROW("E_CONFIG_PARSE", source + ": " + key + " " + what);
  }
  [[noreturn]] void unsupported(const std::string& key, const JsonValue& v, const std::string& why) const {
    LORALAB_THROW("E_CONFIG_UNSUPPORTED", source + ": " + key + " " + v.dump() + " is not supported (" + why + ")");
  }
  const JsonValue* get(const std::string& key) const {
    const JsonValue* v = root.find(key);
    return v && !v->is_null() ? v : nullptr;
  }
  int positive_int(const std::string& key, int fallback, bool required) const {
    const JsonValue* v = get(key);
    if (!v) {
      if (required) LORALAB_THROW("E_CONFIG_PARSE", source + ": missing required key \"" + key + "\"");
      return fallback;
    }
    if (!v->is_integer() || v->as_int() <= 0 || v->as_int() > (int64_t(1) << 30))
      bad(key, "must be a positive integer, found " + v->dump());
    return static_cast<int>(v->as_int());
  }
  double number(const std::string& key, double fallback) const {
    const JsonValue* v = get(key);
    if (!v) return fallback;
    if (!v->is_number()) bad(key, "must be a number, found " + v->dump());
    return v->as_number();
  }
  bool boolean(const std::string& key, bool fallback) const {
    const JsonValue* v = get(key);
    if (!v) return fallback;
    if (!v->is_bool()) bad(key, "must be true or false, found " + v->dump());
    return v->as_bool();
  }
};

double scaling_number(const Reader& r, const JsonValue& scaling, const std::string& key) {
  const JsonValue* v = scaling.find(key);
  if (!v || !v->is_number()) r.bad("rope_scaling." + key, "must be a number for this rope type");
  return v->as_number();
}

void parse_rope(const Reader& r, ModelConfig& c) {
  // transformers >= 5 keeps theta and scaling together in "rope_parameters".
  const JsonValue* params = r.get("rope_parameters");
  const JsonValue* scaling = params ? params : r.get("rope_scaling");
  const std::string key = params ? "rope_parameters" : "rope_scaling";
  if (params) {
    if (const JsonValue* theta = params->find("rope_theta")) c.rope_theta = static_cast<float>(theta->as_number());
  }
  if (!scaling) return;
  if (!scaling->is_object()) r.bad(key, "must be an object or null");
  const JsonValue* type = scaling->find("rope_type");
  if (!type) type = scaling->find("type");
  const std::string name = type && type->is_string() ? type->as_string() : "default";
  if (const JsonValue* prf = scaling->find("partial_rotary_factor"); prf && prf->as_number() != 1.0)
    r.unsupported(key + ".partial_rotary_factor", *prf, "rotary on every head dimension only");
  if (name == "default") {
    c.rope_scaling.type = RopeScalingType::None;
  } else if (name == "linear") {
    c.rope_scaling.type = RopeScalingType::Linear;
    c.rope_scaling.factor = static_cast<float>(scaling_number(r, *scaling, "factor"));
  } else if (name == "llama3") {
    c.rope_scaling.type = RopeScalingType::Llama3;
    c.rope_scaling.factor = static_cast<float>(scaling_number(r, *scaling, "factor"));
    c.rope_scaling.low_freq_factor = static_cast<float>(scaling_number(r, *scaling, "low_freq_factor"));
    c.rope_scaling.high_freq_factor = static_cast<float>(scaling_number(r, *scaling, "high_freq_factor"));
    c.rope_scaling.original_max_position_embeddings =
        static_cast<int>(scaling_number(r, *scaling, "original_max_position_embeddings"));
    if (c.rope_scaling.high_freq_factor <= c.rope_scaling.low_freq_factor)
      r.bad(key + ".high_freq_factor", "must be larger than low_freq_factor");
  } else {
    r.unsupported(key + ".rope_type", JsonValue::string(name), "only default, linear and llama3 rope scaling");
  }
  if (c.rope_scaling.type != RopeScalingType::None && !(c.rope_scaling.factor > 0))
    r.bad(key + ".factor", "must be positive");
  if (const JsonValue* af = scaling->find("attention_factor"); af && !af->is_null() && af->as_number() != 1.0)
    r.unsupported(key + ".attention_factor", *af, "no attention scaling factor is implemented");
}

// torch_dtype, bos_token_id and eos_token_id (every family).
void parse_common_tail(const Reader& r, ModelConfig& c) {
  if (const JsonValue* dt = r.get("torch_dtype") ? r.get("torch_dtype") : r.get("dtype")) {
    if (!dt->is_string()) r.bad("torch_dtype", "must be a string");
    c.torch_dtype = dt->as_string();
  }
  if (const JsonValue* bos = r.get("bos_token_id")) {
    if (!bos->is_integer()) r.bad("bos_token_id", "must be an integer");
    c.bos_token_id = static_cast<int>(bos->as_int());
  }
  if (const JsonValue* eos = r.get("eos_token_id")) {
    if (eos->is_integer()) {
      c.eos_token_ids.push_back(static_cast<int>(eos->as_int()));
    } else if (eos->is_array()) {
      for (const auto& e : eos->items()) {
        if (!e.is_integer()) r.bad("eos_token_id", "must be an integer or a list of integers");
        c.eos_token_ids.push_back(static_cast<int>(e.as_int()));
      }
    } else {
      r.bad("eos_token_id", "must be an integer or a list of integers");
    }
  }
}

void refuse_dropout(const Reader& r, const char* key) {
  if (r.number(key, 0.0) != 0.0) r.unsupported(key, *r.get(key), "training-time dropout inside the model is not implemented");
}

// `key`, or the older name transformers still reads for it (`old`) when only that one is present.
const char* key_or_alias(const Reader& r, const char* key, const char* old) { return !r.get(key) && old && r.get(old) ? old : key; }

// The names of the shape keys: Falcon configs written before transformers' FalconConfig say n_layer,
// n_head, n_embed and n_head_kv (transformers maps the first three; n_head_kv is the RW layout's).
struct ShapeKeys {
  const char* kv;
  const char* old_layers = nullptr;
  const char* old_heads = nullptr;
  const char* old_hidden = nullptr;
  const char* old_kv = nullptr;
};

// The attention shape shared by Phi and Falcon: heads, kv heads, head_dim = hidden / heads.
void parse_heads(const Reader& r, ModelConfig& c, const ShapeKeys& keys) {
  c.vocab_size = r.positive_int("vocab_size", 0, true);
  c.hidden_size = r.positive_int(key_or_alias(r, "hidden_size", keys.old_hidden), 0, true);
  c.num_layers = r.positive_int(key_or_alias(r, "num_hidden_layers", keys.old_layers), 0, true);
  c.num_heads = r.positive_int(key_or_alias(r, "num_attention_heads", keys.old_heads), 0, true);
  const char* kv_key = key_or_alias(r, keys.kv, keys.old_kv);
  c.num_kv_heads = r.positive_int(kv_key, c.num_heads, false);
  if (c.num_heads % c.num_kv_heads != 0)
    r.bad(kv_key, std::to_string(c.num_kv_heads) + " must divide num_attention_heads " + std::to_string(c.num_heads));
  if (c.hidden_size % c.num_heads != 0) r.bad("hidden_size", "must be a multiple of num_attention_heads");
  c.head_dim = c.hidden_size / c.num_heads;
  c.max_position_embeddings = r.positive_int("max_position_embeddings", 2048, false);
  c.rope_theta = static_cast<float>(r.number("rope_theta", 10000.0));
  parse_rope(r, c);
  if (!(c.rope_theta > 0)) r.bad("rope_theta", "must be positive");
  if (const JsonValue* q = r.get("quantization_config"))
    r.unsupported("quantization_config", *q, "pre-quantized checkpoints cannot be loaded; use the original weights");
}

// PhiForCausalLM (phi-1, phi-1.5, phi-2): LayerNorm, parallel attention + fc1/fc2 MLP, partial rotary,
// biases everywhere, untied head with bias.
void parse_phi(const Reader& r, ModelConfig& c) {
  c.family = ModelFamily::Phi;
  parse_heads(r, c, {"num_key_value_heads"});
  c.intermediate_size = r.positive_int("intermediate_size", 0, true);
  c.rms_norm_eps = static_cast<float>(r.number("layer_norm_eps", 1e-5));
  if (!(c.rms_norm_eps > 0)) r.bad("layer_norm_eps", "must be positive");
  const double prf = r.number("partial_rotary_factor", 0.5);
  if (!(prf > 0 && prf <= 1)) r.bad("partial_rotary_factor", "must be in (0, 1]");
  c.rotary_dim = static_cast<int>(prf * c.head_dim);  // int(partial_rotary_factor * head_dim), as transformers
  if (c.rotary_dim <= 0 || c.rotary_dim % 2 != 0)
    r.bad("partial_rotary_factor", "gives " + std::to_string(c.rotary_dim) + " rotary dims per head; must be a positive even number");
  const JsonValue* act = r.get("hidden_act");
  if (act && !(act->is_string() && act->as_string() == "gelu_new"))
    r.unsupported("hidden_act", *act, "Phi is implemented with gelu_new (the tanh GELU)");
  c.mlp = MlpKind::GeluTanh;
  if (r.boolean("qk_layernorm", false))
    r.unsupported("qk_layernorm", *r.get("qk_layernorm"), "the q/k LayerNorms of Phi are not implemented");
  for (const char* key : {"resid_pdrop", "embd_pdrop", "attention_dropout"}) refuse_dropout(r, key);
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
  if (c.tie_word_embeddings)
    r.unsupported("tie_word_embeddings", *r.get("tie_word_embeddings"), "Phi's head has a bias and is never tied");
  c.linear_bias = true;
  c.head_bias = true;
  c.attention_bias = true;
  c.parallel_norms = 1;
}

// FalconForCausalLM: fused query_key_value (multi-query 7B, grouped new_decoder_architecture 40B, or
// per-head interleaved), LayerNorm, parallel attention + exact GELU MLP, rotary, tied head.
void parse_falcon(const Reader& r, ModelConfig& c) {
  c.family = ModelFamily::Falcon;
  if (r.boolean("alibi", false))
    r.unsupported("alibi", *r.get("alibi"), "ALiBi position biases are not implemented (rotary Falcon models only)");
  if (!r.boolean("parallel_attn", true))
    r.unsupported("parallel_attn", *r.get("parallel_attn"), "only Falcon's parallel attention + MLP block is implemented");
  if (r.boolean("apply_residual_connection_post_layernorm", false))
    r.unsupported("apply_residual_connection_post_layernorm", *r.get("apply_residual_connection_post_layernorm"),
                  "the residual is the block's input (pre-norm) only");
  const bool new_arch = r.boolean("new_decoder_architecture", false);
  const bool multi_query = r.boolean("multi_query", true);
  parse_heads(r, c, {"num_kv_heads", "n_layer", "n_head", "n_embed", "n_head_kv"});
  if (new_arch) {
    c.qkv_layout = QkvLayout::Grouped;
    const int nln = r.positive_int("num_ln_in_parallel_attn", 2, false);
    if (nln != 1 && nln != 2) r.bad("num_ln_in_parallel_attn", "must be 1 or 2");
    c.parallel_norms = nln;
  } else if (multi_query) {
    c.qkv_layout = QkvLayout::MultiQuery;
    c.num_kv_heads = 1;
    c.parallel_norms = 1;
  } else {
    c.qkv_layout = QkvLayout::Interleaved;
    if (c.num_kv_heads != c.num_heads)
      r.bad("num_kv_heads", "must equal num_attention_heads without multi_query or new_decoder_architecture");
    c.parallel_norms = 1;
  }
  c.intermediate_size = r.positive_int("ffn_hidden_size", 4 * c.hidden_size, false);
  c.rms_norm_eps = static_cast<float>(r.number("layer_norm_epsilon", 1e-5));
  if (!(c.rms_norm_eps > 0)) r.bad("layer_norm_epsilon", "must be positive");
  const JsonValue* act = r.get("activation");
  if (act && !(act->is_string() && act->as_string() == "gelu"))
    r.unsupported("activation", *act, "Falcon is implemented with the exact (erf) gelu");
  c.mlp = MlpKind::GeluErf;
  for (const char* key : {"hidden_dropout", "attention_dropout"}) refuse_dropout(r, key);
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", true);
  c.linear_bias = r.boolean("bias", false);
  c.attention_bias = c.linear_bias;
  c.head_bias = false;
}

}  // namespace

std::string layer_tensor_name(int layer, const std::string& suffix) {
  return "model.layers." + std::to_string(layer) + "." + suffix;
}

ModelConfig parse_model_config(const std::string& json_text, const std::string& source_name) {
  JsonValue root = parse_json(json_text, source_name, "E_CONFIG_PARSE");
  if (!root.is_object()) LORALAB_THROW("E_CONFIG_PARSE", source_name + ": not a JSON object");
  Reader r{root, source_name};
  ModelConfig c;

  const JsonValue* archs = r.get("architectures");
  const JsonValue* model_type = r.get("model_type");
  if (archs) {
    if (!archs->is_array() || archs->items().size() != 1 || !archs->items()[0].is_string())
      r.bad("architectures", "must be a list with one class name");
    c.architecture = archs->items()[0].as_string();
  }
  if (model_type) {
    if (!model_type->is_string()) r.bad("model_type", "must be a string");
    c.model_type = model_type->as_string();
  }
  if (c.architecture.empty()) {
    if (c.model_type == "llama") c.architecture = "LlamaForCausalLM";
    else if (c.model_type == "mistral") c.architecture = "MistralForCausalLM";
    else if (c.model_type == "qwen2") c.architecture = "Qwen2ForCausalLM";
    else if (c.model_type == "phi") c.architecture = "PhiForCausalLM";
    else if (c.model_type == "falcon") c.architecture = "FalconForCausalLM";
  }
  if (c.architecture == "RWForCausalLM" || c.model_type == "RefinedWeb" || c.model_type == "RefinedWebModel")
    r.unsupported(archs ? "architectures" : "model_type", archs ? *archs : *model_type,
                  "the old remote-code Falcon layout (trust_remote_code); use the checkpoint's FalconForCausalLM "
                  "revision, which transformers >= 4.33 loads natively");
  if (c.model_type == "phi-msft" || c.model_type == "mixformer-sequential")
    r.unsupported("model_type", *model_type,
                  "the old remote-code Phi layout (Wqkv / mixer keys); use the checkpoint's PhiForCausalLM revision "
                  "(transformers >= 4.37)");
  if (c.architecture == "PhiForCausalLM" || c.architecture == "FalconForCausalLM") {
    const std::string expected = c.architecture == "PhiForCausalLM" ? "phi" : "falcon";
    if (c.model_type.empty()) c.model_type = expected;
    if (c.model_type != expected)
      r.unsupported("model_type", *model_type, "expected \"" + expected + "\" for " + c.architecture);
    if (expected == "phi") parse_phi(r, c);
    else parse_falcon(r, c);
    parse_common_tail(r, c);
    return c;
  }
  if (c.architecture == "LlamaForCausalLM") c.model_type = c.model_type.empty() ? "llama" : c.model_type;
  else if (c.architecture == "MistralForCausalLM") c.model_type = c.model_type.empty() ? "mistral" : c.model_type;
  else if (c.architecture == "Qwen2ForCausalLM") c.model_type = c.model_type.empty() ? "qwen2" : c.model_type;
  else
    r.unsupported("architectures", archs ? *archs : (model_type ? *model_type : JsonValue::null()),
                  "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, PhiForCausalLM and FalconForCausalLM are");
  const std::string expected = c.architecture == "LlamaForCausalLM" ? "llama"
                               : c.architecture == "MistralForCausalLM" ? "mistral" : "qwen2";
  if (c.model_type != expected) r.unsupported("model_type", *model_type, "expected \"" + expected + "\" for " + c.architecture);

  c.vocab_size = r.positive_int("vocab_size", 0, true);
  c.hidden_size = r.positive_int("hidden_size", 0, true);
  c.intermediate_size = r.positive_int("intermediate_size", 0, true);
  c.num_layers = r.positive_int("num_hidden_layers", 0, true);
  c.num_heads = r.positive_int("num_attention_heads", 0, true);
  c.num_kv_heads = r.positive_int("num_key_value_heads", c.num_heads, false);
  if (c.num_heads % c.num_kv_heads != 0)
    r.bad("num_key_value_heads", std::to_string(c.num_kv_heads) + " must divide num_attention_heads " + std::to_string(c.num_heads));
  if (!r.get("head_dim") && c.hidden_size % c.num_heads != 0)
    r.bad("hidden_size", "must be a multiple of num_attention_heads when head_dim is not given");
  c.head_dim = r.positive_int("head_dim", c.hidden_size / c.num_heads, false);
  if (c.head_dim % 2 != 0) r.bad("head_dim", "must be even for rotary embeddings");
  c.max_position_embeddings = r.positive_int("max_position_embeddings", 2048, false);
  c.rms_norm_eps = static_cast<float>(r.number("rms_norm_eps", 1e-6));
  if (!(c.rms_norm_eps > 0)) r.bad("rms_norm_eps", "must be positive");
  c.rope_theta = static_cast<float>(r.number("rope_theta", 10000.0));
  parse_rope(r, c);
  if (!(c.rope_theta > 0)) r.bad("rope_theta", "must be positive");
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);

  if (const JsonValue* act = r.get("hidden_act"); act && !(act->is_string() && act->as_string() == "silu"))
    r.unsupported("hidden_act", *act, "only silu");
  if (const JsonValue* q = r.get("quantization_config"))
    r.unsupported("quantization_config", *q, "pre-quantized checkpoints cannot be loaded; use the original weights");
  if (const JsonValue* prf = r.get("partial_rotary_factor"); prf && prf->as_number() != 1.0)
    r.unsupported("partial_rotary_factor", *prf, "rotary on every head dimension only");
  if (r.number("attention_dropout", 0.0) != 0.0)
    r.unsupported("attention_dropout", *r.get("attention_dropout"), "attention dropout is not implemented");
  if (r.boolean("mlp_bias", false)) r.unsupported("mlp_bias", *r.get("mlp_bias"), "MLP biases are not implemented");
  if (c.model_type == "qwen2") {
    c.attention_bias = true;  // Qwen2 always has q/k/v biases and no o_proj bias
    if (r.boolean("use_sliding_window", false)) {
      c.sliding_window = r.positive_int("sliding_window", 0, true);
      if (r.get("max_window_layers") && r.positive_int("max_window_layers", 0, false) < c.num_layers)
        r.unsupported("max_window_layers", *r.get("max_window_layers"),
                      "sliding windows on only some layers are not implemented");
    }
    if (const JsonValue* lt = r.get("layer_types")) {
      for (const auto& t : lt->items())
        if (!t.is_string() || (t.as_string() != "full_attention" && !(c.sliding_window && t.as_string() == "sliding_attention")))
          r.unsupported("layer_types", t, "per-layer attention types are not implemented");
    }
  } else if (c.model_type == "mistral") {
    c.sliding_window = r.get("sliding_window") ? r.positive_int("sliding_window", 0, false) : 0;
  } else if (r.boolean("attention_bias", false)) {
    r.unsupported("attention_bias", *r.get("attention_bias"), "Llama attention biases (q/k/v/o) are not implemented");
  }
  parse_common_tail(r, c);
  return c;
}

ModelConfig load_model_config(const std::string& folder) {
  const std::string path = path_join(folder, "config.json");
  if (!path_exists(path))
    LORALAB_THROW("E_CONFIG_MISSING", folder + ": no config.json (expected a Hugging Face model folder)");
  return parse_model_config(read_text_file(path), path);
}

}  // namespace loralab
