// PEFT adapter folders: key names, adapter_config.json fields (written like PEFT writes them,
// refused where we do not implement them), and the safetensors tensors, checked pair by pair.
#include "io/peft_adapter.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "error.h"
#include "io/files.h"
#include "io/json.h"
#include "io/safetensors.h"

namespace loralab {

namespace {

// Per family, by PeftModule: the Hugging Face module name ("" where the family has no such linear).
const char* const kModuleNames[3][8] = {
    {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"},  // Llama
    {"q_proj", "k_proj", "v_proj", "dense", "", "fc1", "fc2", "lm_head"},                       // Phi
    {"query_key_value", "", "", "dense", "", "dense_h_to_4h", "dense_4h_to_h", "lm_head"},      // Falcon (Q = fused qkv)
};
const char* const kKeyPrefix = "base_model.model.";

int family_index(ModelFamily f) { return static_cast<int>(f); }
bool is_attention(PeftModule m) { return static_cast<int>(m) <= static_cast<int>(PeftModule::O); }
const char* layers_prefix(ModelFamily f) { return f == ModelFamily::Falcon ? "transformer.h." : "model.layers."; }
const char* attention_part(ModelFamily f) { return f == ModelFamily::Falcon ? ".self_attention." : ".self_attn."; }

// Parses "<module path>" into (module, layer). Returns false when it is no adaptable linear.
bool parse_module_path(const std::string& path, ModelFamily family, PeftModule* module, int* layer) {
  if (path == "lm_head") {
    *module = PeftModule::Head;
    *layer = -1;
    return true;
  }
  const std::string layers = layers_prefix(family);
  if (path.compare(0, layers.size(), layers) != 0) return false;
  size_t pos = layers.size(), digits = 0;
  long n = 0;
  while (pos < path.size() && path[pos] >= '0' && path[pos] <= '9' && digits < 7) {
    n = n * 10 + (path[pos] - '0');
    ++pos;
    ++digits;
  }
  if (digits == 0) return false;
  std::string rest = path.substr(pos);
  for (int i = 0; i < static_cast<int>(PeftModule::Head); ++i) {
    PeftModule m = static_cast<PeftModule>(i);
    const char* mod = kModuleNames[family_index(family)][i];
    if (*mod && rest == std::string(is_attention(m) ? attention_part(family) : ".mlp.") + mod) {
      *module = m;
      *layer = static_cast<int>(n);
      return true;
    }
  }
  return false;
}

std::string shape_text(int64_t a, int64_t b) { return "[" + std::to_string(a) + ", " + std::to_string(b) + "]"; }

const JsonValue& require(const JsonValue& cfg, const std::string& key, const std::string& path) {
  const JsonValue* v = cfg.find(key);
  if (!v) LORALAB_THROW("E_ADAPTER_CONFIG", path + ": missing key \"" + key + "\"");
  return *v;
}

// Refuses a key whose value would change the math when it is present and not "empty".
void refuse_if_set(const JsonValue& cfg, const std::string& key, const std::string& path, const std::string& why) {
  const JsonValue* v = cfg.find(key);
  if (!v || v->is_null()) return;
  bool set = (v->is_bool() && v->as_bool()) || (v->is_array() && !v->items().empty()) ||
             (v->is_object() && !v->members().empty()) || (v->is_string() && !v->as_string().empty()) ||
             v->is_number();
  if (set) LORALAB_THROW("E_ADAPTER_UNSUPPORTED", path + ": \"" + key + "\" is set (" + v->dump() + "); " + why);
}

// The model family an adapter was made for, from its module names: Falcon's and Phi's own names
// decide; q_proj/k_proj/v_proj/lm_head alone read the same on Llama and Phi (check_adapter_fits
// accepts such an adapter on either).
ModelFamily guess_family(const std::string& cfg_path, const JsonValue& targets) {
  if (!targets.is_array()) return ModelFamily::Llama;
  bool falcon = false, phi = false, llama = false;
  for (const auto& t : targets.items()) {
    if (!t.is_string()) continue;
    const std::string& n = t.as_string();
    falcon |= n == "query_key_value" || n == "dense_h_to_4h" || n == "dense_4h_to_h";
    phi |= n == "fc1" || n == "fc2";
    llama |= n == "o_proj" || n == "gate_proj" || n == "up_proj" || n == "down_proj";
  }
  if (falcon + phi + llama > 1)
    LORALAB_THROW("E_ADAPTER_UNSUPPORTED",
                  cfg_path + ": target_modules " + targets.dump() + " mix module names of different model families");
  if (falcon) return ModelFamily::Falcon;
  if (phi) return ModelFamily::Phi;
  if (llama) return ModelFamily::Llama;
  for (const auto& t : targets.items())  // "dense" alone: Phi unless Falcon's fused qkv is named
    if (t.is_string() && t.as_string() == "dense") return ModelFamily::Phi;
  return ModelFamily::Llama;
}

}  // namespace

const char* peft_module_name(PeftModule m, ModelFamily family) {
  return kModuleNames[family_index(family)][static_cast<int>(m)];
}

bool parse_peft_module_name(const std::string& name, PeftModule* out, ModelFamily family) {
  for (int i = 0; i < static_cast<int>(PeftModule::Count); ++i)
    if (*kModuleNames[family_index(family)][i] && name == kModuleNames[family_index(family)][i]) {
      *out = static_cast<PeftModule>(i);
      return true;
    }
  return false;
}

std::string peft_module_names(ModelFamily family) {
  std::string out;
  for (int i = 0; i < static_cast<int>(PeftModule::Count); ++i)
    if (*kModuleNames[family_index(family)][i]) out += (out.empty() ? "" : ", ") + std::string(kModuleNames[family_index(family)][i]);
  return out;
}

std::string peft_module_path(PeftModule m, int layer, ModelFamily family) {
  if (m == PeftModule::Head) return "lm_head";
  return layers_prefix(family) + std::to_string(layer) + (is_attention(m) ? attention_part(family) : ".mlp.") +
         peft_module_name(m, family);
}

std::string peft_tensor_key(PeftModule m, int layer, char which, ModelFamily family) {
  return std::string(kKeyPrefix) + peft_module_path(m, layer, family) + (which == 'A' ? ".lora_A.weight" : ".lora_B.weight");
}

void peft_module_shape(const ModelConfig& c, PeftModule m, int64_t* out_features, int64_t* in_features) {
  const int64_t q = int64_t(c.num_heads) * c.head_dim, kv = int64_t(c.num_kv_heads) * c.head_dim;
  switch (m) {
    case PeftModule::Q: *out_features = c.family == ModelFamily::Falcon ? q + 2 * kv : q; *in_features = c.hidden_size; break;
    case PeftModule::K:
    case PeftModule::V: *out_features = kv; *in_features = c.hidden_size; break;
    case PeftModule::O: *out_features = c.hidden_size; *in_features = q; break;
    case PeftModule::Gate:
    case PeftModule::Up: *out_features = c.intermediate_size; *in_features = c.hidden_size; break;
    case PeftModule::Down: *out_features = c.hidden_size; *in_features = c.intermediate_size; break;
    default: *out_features = c.vocab_size; *in_features = c.hidden_size; break;
  }
}

double PeftAdapterConfig::scale() const { return use_rslora ? lora_alpha / std::sqrt(double(r)) : lora_alpha / r; }

bool PeftAdapterConfig::targets(PeftModule m) const {
  const char* name = peft_module_name(m, family);
  return *name && std::find(target_modules.begin(), target_modules.end(), name) != target_modules.end();
}

const PeftLoraPair* PeftAdapter::find(PeftModule m, int layer) const {
  for (const auto& p : pairs)
    if (p.module == m && (m == PeftModule::Head || p.layer == layer)) return &p;
  return nullptr;
}

void save_peft_adapter(const std::string& dir, const PeftAdapterConfig& config, const std::vector<PeftLoraView>& pairs) {
  LORALAB_CHECK(config.r > 0, "E_ADAPTER_CONFIG", dir + ": LoRA rank r must be positive");
  make_directories(dir);
  std::vector<PeftLoraView> sorted = pairs;
  std::stable_sort(sorted.begin(), sorted.end(), [](const PeftLoraView& a, const PeftLoraView& b) {
    int la = a.module == PeftModule::Head ? 1 << 30 : a.layer, lb = b.module == PeftModule::Head ? 1 << 30 : b.layer;
    return la != lb ? la < lb : a.module < b.module;
  });
  std::vector<TensorToWrite> tensors;
  for (const auto& p : sorted) {
    if (!config.targets(p.module))
      LORALAB_THROW("E_ADAPTER_CONFIG", dir + ": tensor for " + peft_module_path(p.module, p.layer, config.family) +
                                            " but target_modules does not list " + peft_module_name(p.module, config.family));
    tensors.push_back({peft_tensor_key(p.module, p.layer, 'A', config.family), DType::F32, {config.r, p.in_features}, p.A});
    tensors.push_back({peft_tensor_key(p.module, p.layer, 'B', config.family), DType::F32, {p.out_features, config.r}, p.B});
  }
  write_safetensors(path_join(dir, "adapter_model.safetensors"), tensors);

  JsonValue cfg = JsonValue::object();
  cfg.set("alpha_pattern", JsonValue::object());
  cfg.set("auto_mapping", JsonValue::null());
  cfg.set("base_model_name_or_path", JsonValue::string(config.base_model_name_or_path));
  cfg.set("bias", JsonValue::string("none"));
  cfg.set("fan_in_fan_out", JsonValue::boolean(false));
  cfg.set("inference_mode", JsonValue::boolean(true));
  cfg.set("init_lora_weights", JsonValue::boolean(true));
  cfg.set("layers_pattern", JsonValue::null());
  cfg.set("layers_to_transform", JsonValue::null());
  cfg.set("lora_alpha", JsonValue::number(config.lora_alpha));
  cfg.set("lora_dropout", JsonValue::number(config.lora_dropout));
  cfg.set("modules_to_save", JsonValue::null());
  cfg.set("peft_type", JsonValue::string("LORA"));
  cfg.set("r", JsonValue::integer(config.r));
  cfg.set("rank_pattern", JsonValue::object());
  cfg.set("revision", JsonValue::null());
  JsonValue targets = JsonValue::array();
  for (int i = 0; i < static_cast<int>(PeftModule::Count); ++i)  // canonical order
    if (config.targets(static_cast<PeftModule>(i)))
      targets.push(JsonValue::string(peft_module_name(static_cast<PeftModule>(i), config.family)));
  cfg.set("target_modules", targets);
  cfg.set("task_type", JsonValue::string("CAUSAL_LM"));
  cfg.set("use_dora", JsonValue::boolean(false));
  cfg.set("use_rslora", JsonValue::boolean(config.use_rslora));
  write_text_file_atomic(path_join(dir, "adapter_config.json"), cfg.dump(2) + "\n");
}

PeftAdapter load_peft_adapter(const std::string& dir) {
  const std::string cfg_path = path_join(dir, "adapter_config.json");
  if (!path_exists(cfg_path))
    LORALAB_THROW("E_FILE_NOT_FOUND", dir + ": no adapter_config.json (expected a PEFT adapter folder)");
  JsonValue cfg = read_json_file(cfg_path, "E_ADAPTER_CONFIG");
  if (!cfg.is_object()) LORALAB_THROW("E_ADAPTER_CONFIG", cfg_path + ": not a JSON object");
  PeftAdapter adapter;
  PeftAdapterConfig& c = adapter.config;

  const JsonValue& peft_type = require(cfg, "peft_type", cfg_path);
  if (!peft_type.is_string() || peft_type.as_string() != "LORA")
    LORALAB_THROW("E_ADAPTER_UNSUPPORTED", cfg_path + ": peft_type " + peft_type.dump() + " is not supported (only LORA)");
  const JsonValue& r = require(cfg, "r", cfg_path);
  if (!r.is_integer() || r.as_int() <= 0 || r.as_int() > 65536)
    LORALAB_THROW("E_ADAPTER_CONFIG", cfg_path + ": \"r\" must be a positive integer, found " + r.dump());
  c.r = static_cast<int>(r.as_int());
  const JsonValue& alpha = require(cfg, "lora_alpha", cfg_path);
  if (!alpha.is_number()) LORALAB_THROW("E_ADAPTER_CONFIG", cfg_path + ": \"lora_alpha\" must be a number");
  c.lora_alpha = alpha.as_number();
  if (const JsonValue* d = cfg.find("lora_dropout")) {
    if (!d->is_number() || d->as_number() < 0 || d->as_number() >= 1)
      LORALAB_THROW("E_ADAPTER_CONFIG", cfg_path + ": \"lora_dropout\" must be a number in [0, 1)");
    c.lora_dropout = d->as_number();
  }
  if (const JsonValue* rs = cfg.find("use_rslora")) {
    if (!rs->is_bool()) LORALAB_THROW("E_ADAPTER_CONFIG", cfg_path + ": \"use_rslora\" must be true or false");
    c.use_rslora = rs->as_bool();
  }
  if (const JsonValue* base = cfg.find("base_model_name_or_path"); base && base->is_string())
    c.base_model_name_or_path = base->as_string();
  if (const JsonValue* bias = cfg.find("bias"); bias && !(bias->is_string() && bias->as_string() == "none"))
    LORALAB_THROW("E_ADAPTER_UNSUPPORTED", cfg_path + ": \"bias\" is " + bias->dump() + "; only \"none\" is supported");
  refuse_if_set(cfg, "fan_in_fan_out", cfg_path, "only fan_in_fan_out false (nn.Linear weights) is supported");
  refuse_if_set(cfg, "use_dora", cfg_path, "DoRA adapters are not supported");
  refuse_if_set(cfg, "modules_to_save", cfg_path, "fully trained extra modules are not supported");
  refuse_if_set(cfg, "layers_to_transform", cfg_path, "adapters on a subset of layers by index are not supported");
  refuse_if_set(cfg, "rank_pattern", cfg_path, "per-module ranks are not supported");
  refuse_if_set(cfg, "alpha_pattern", cfg_path, "per-module alphas are not supported");
  // Newer PEFT fields that change the forward pass (init-only fields such as loftq_config are fine).
  refuse_if_set(cfg, "lora_bias", cfg_path, "LoRA B biases are not supported");
  refuse_if_set(cfg, "layer_replication", cfg_path, "replicated layers are not supported");
  refuse_if_set(cfg, "target_parameters", cfg_path, "LoRA on bare parameters is not supported");
  refuse_if_set(cfg, "trainable_token_indices", cfg_path, "trainable token embeddings are not supported");
  refuse_if_set(cfg, "use_qalora", cfg_path, "QA-LoRA adapters are not supported");
  refuse_if_set(cfg, "alora_invocation_tokens", cfg_path, "activated LoRA (aLoRA) is not supported");
  if (const JsonValue* tt = cfg.find("task_type"); tt && tt->is_string() && tt->as_string() != "CAUSAL_LM")
    LORALAB_THROW("E_ADAPTER_UNSUPPORTED", cfg_path + ": task_type " + tt->dump() + " (only CAUSAL_LM)");

  const JsonValue& targets = require(cfg, "target_modules", cfg_path);
  c.family = guess_family(cfg_path, targets);
  if (targets.is_string() && targets.as_string() == "all-linear") {  // PEFT: every linear but the head
    for (int i = 0; i < static_cast<int>(PeftModule::Head); ++i)
      if (*kModuleNames[family_index(c.family)][i]) c.target_modules.push_back(kModuleNames[family_index(c.family)][i]);
  } else if (targets.is_array()) {
    for (const auto& t : targets.items()) {
      PeftModule m;
      if (!t.is_string() || !parse_peft_module_name(t.as_string(), &m, c.family))
        LORALAB_THROW("E_ADAPTER_UNSUPPORTED", cfg_path + ": target module " + t.dump() + " is not one of " +
                                                   peft_module_names(c.family));
      c.target_modules.push_back(t.as_string());
    }
  } else {
    LORALAB_THROW("E_ADAPTER_UNSUPPORTED", cfg_path + ": target_modules " + targets.dump() +
                                               " must be a list of module names (regular expressions are not supported)");
  }

  const std::string st_path = path_join(dir, "adapter_model.safetensors");
  if (!path_exists(st_path)) {
    if (path_exists(path_join(dir, "adapter_model.bin")))
      LORALAB_THROW("E_PICKLE_CHECKPOINT", dir + ": holds adapter_model.bin (a pickle); save the adapter with "
                                                 "safe_serialization=True to get adapter_model.safetensors");
    LORALAB_THROW("E_FILE_NOT_FOUND", dir + ": no adapter_model.safetensors");
  }
  auto file = SafetensorsFile::open(st_path);
  // Falcon's own module names may be absent (e.g. only "dense" targeted): its keys live under transformer.h.
  for (const auto& name : file->names())
    if (c.family != ModelFamily::Falcon && name.rfind(std::string(kKeyPrefix) + "transformer.h.", 0) == 0) {
      c.family = ModelFamily::Falcon;
      for (const auto& t : c.target_modules) {
        PeftModule m;
        if (!parse_peft_module_name(t, &m, c.family))
          LORALAB_THROW("E_ADAPTER_UNSUPPORTED", cfg_path + ": target module \"" + t + "\" is not one of " +
                                                     peft_module_names(c.family) + " (the tensors are Falcon's)");
      }
    }
  std::map<std::pair<int, int>, std::pair<const TensorView*, const TensorView*>> found;  // (layer, module) -> (A, B)
  for (const auto& name : file->names()) {
    const std::string sa = ".lora_A.weight", sb = ".lora_B.weight";
    bool is_a = name.size() > sa.size() && name.compare(name.size() - sa.size(), sa.size(), sa) == 0;
    bool is_b = name.size() > sb.size() && name.compare(name.size() - sb.size(), sb.size(), sb) == 0;
    std::string prefix = kKeyPrefix;
    PeftModule m;
    int layer;
    if ((!is_a && !is_b) || name.compare(0, prefix.size(), prefix) != 0 ||
        !parse_module_path(name.substr(prefix.size(), name.size() - prefix.size() - sa.size()), c.family, &m, &layer))
      LORALAB_THROW("E_ADAPTER_KEY", st_path + ": tensor '" + name +
                                         "' is not a LoRA weight of a known module (expected e.g. " +
                                         peft_tensor_key(PeftModule::Q, 0, 'A', c.family) + ")");
    if (!c.targets(m))
      LORALAB_THROW("E_ADAPTER_KEY", st_path + ": tensor '" + name + "' adapts " + peft_module_name(m, c.family) +
                                         ", which target_modules does not list");
    auto& slot = found[{layer, static_cast<int>(m)}];
    (is_a ? slot.first : slot.second) = &file->get(name);
  }
  for (const auto& kv : found) {
    PeftModule m = static_cast<PeftModule>(kv.first.second);
    int layer = kv.first.first;
    const TensorView* a = kv.second.first;
    const TensorView* b = kv.second.second;
    if (!a || !b)
      LORALAB_THROW("E_TENSOR_MISSING", st_path + ": '" + peft_tensor_key(m, layer, a ? 'B' : 'A', c.family) +
                                            "' is missing (LoRA weights come in A/B pairs)");
    if (a->shape.size() != 2 || a->shape[0] != c.r)
      LORALAB_THROW("E_TENSOR_SHAPE", st_path + ": '" + a->name + "' must have shape [r=" + std::to_string(c.r) + ", in]");
    if (b->shape.size() != 2 || b->shape[1] != c.r)
      LORALAB_THROW("E_TENSOR_SHAPE", st_path + ": '" + b->name + "' must have shape [out, r=" + std::to_string(c.r) + "]");
    PeftLoraPair pair;
    pair.module = m;
    pair.layer = layer;
    pair.in_features = a->shape[1];
    pair.out_features = b->shape[0];
    pair.A.resize(static_cast<size_t>(a->numel()));
    pair.B.resize(static_cast<size_t>(b->numel()));
    tensor_to_f32(*a, pair.A.data());
    tensor_to_f32(*b, pair.B.data());
    adapter.pairs.push_back(std::move(pair));
  }
  std::stable_sort(adapter.pairs.begin(), adapter.pairs.end(), [](const PeftLoraPair& x, const PeftLoraPair& y) {
    int lx = x.module == PeftModule::Head ? 1 << 30 : x.layer, ly = y.module == PeftModule::Head ? 1 << 30 : y.layer;
    return lx != ly ? lx < ly : x.module < y.module;
  });
  return adapter;
}

void check_adapter_fits(const PeftAdapter& adapter, const ModelConfig& model) {
  for (const auto& t : adapter.config.target_modules) {
    PeftModule m;
    if (!parse_peft_module_name(t, &m, model.family) ||
        std::string(peft_module_name(m, adapter.config.family)) != peft_module_name(m, model.family))
      LORALAB_THROW("E_ADAPTER_MISMATCH", "adapter target module '" + t + "' is not a linear of this " + model.architecture +
                                              " model (its modules: " + peft_module_names(model.family) + ")");
  }
  for (const auto& p : adapter.pairs)
    if (peft_module_path(p.module, p.layer, adapter.config.family) != peft_module_path(p.module, p.layer, model.family))
      LORALAB_THROW("E_ADAPTER_MISMATCH", "adapter tensor '" + peft_tensor_key(p.module, p.layer, 'A', adapter.config.family) +
                                              "' is not a module of this " + model.architecture + " model");
  for (const auto& p : adapter.pairs) {
    if (p.module != PeftModule::Head && (p.layer < 0 || p.layer >= model.num_layers))
      LORALAB_THROW("E_ADAPTER_MISMATCH", "adapter tensor '" + peft_tensor_key(p.module, p.layer, 'A', model.family) +
                                              "' names layer " + std::to_string(p.layer) + " but the model has " +
                                              std::to_string(model.num_layers) + " layers (adapter for another model?)");
    int64_t out_f, in_f;
    peft_module_shape(model, p.module, &out_f, &in_f);
    if (p.in_features != in_f || p.out_features != out_f)
      LORALAB_THROW("E_ADAPTER_MISMATCH",
                    "adapter for " + peft_module_path(p.module, p.layer, model.family) + " has B @ A of shape " +
                        shape_text(p.out_features, p.in_features) + " but the model's weight is " +
                        shape_text(out_f, in_f) + " (adapter trained on another model?)");
  }
}

}  // namespace loralab
