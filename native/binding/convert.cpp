// JS <-> engine struct conversions for the N-API binding (see convert.h). Type errors (JS TypeError,
// code E_INVALID_ARGUMENT) name the field: "Expected number for learningRate but received string";
// every field of the engine options is required ("... but received undefined").
#include "convert.h"

#include <string>

#include "error.h"
#include "js_error.h"

namespace loralab_binding {

namespace {

std::string js_type(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return "boolean";
  if (v.IsNumber()) return "number";
  if (v.IsString()) return "string";
  if (v.IsArray()) return "array";
  if (v.IsTypedArray()) return "typed array";
  return "object";
}

[[noreturn]] void type_error(const std::string& expected, const std::string& field, const Napi::Value& got) {
  throw make_js_type_error(got.Env(), "E_INVALID_ARGUMENT", "Expected " + expected + " for " + field + " but received " + js_type(got));
}

// A field of loadEngine()'s options: every one is required (EngineOptions has no defaults; the
// trainer builds them from the config schema with engineOptions()), so a missing one is a TypeError.
Napi::Value required(const Napi::Object& obj, const std::string& field, const char* key, const char* expected) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined() || v.IsNull())
    throw make_js_type_error(obj.Env(), "E_INVALID_ARGUMENT",
                             "Expected " + std::string(expected) + " for " + field + " but received " + js_type(v) +
                                 ": every engine option is required (build them with engineOptions())");
  return v;
}

double need_number(const Napi::Object& obj, const char* key, const std::string& prefix = "") {
  Napi::Value v = required(obj, prefix + key, key, "number");
  if (!v.IsNumber()) type_error("number", prefix + key, v);
  return v.As<Napi::Number>().DoubleValue();
}

bool need_bool(const Napi::Object& obj, const char* key, const std::string& prefix = "") {
  Napi::Value v = required(obj, prefix + key, key, "boolean");
  if (!v.IsBoolean()) type_error("boolean", prefix + key, v);
  return v.As<Napi::Boolean>().Value();
}

std::string need_string(const Napi::Object& obj, const char* key) {
  Napi::Value v = required(obj, key, key, "string");
  if (!v.IsString()) type_error("string", key, v);
  return v.As<Napi::String>().Utf8Value();
}

double get_number(const Napi::Object& obj, const char* key, double fallback) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) type_error("number", key, v);
  return v.As<Napi::Number>().DoubleValue();
}

template <typename Enum>
Enum need_enum(const Napi::Object& obj, const char* key, std::initializer_list<std::pair<const char*, Enum>> choices) {
  Napi::Value v = required(obj, key, key, "string");
  if (!v.IsString()) type_error("string", key, v);
  std::string s = v.As<Napi::String>().Utf8Value();
  std::string names;
  for (const auto& [name, value] : choices) {
    if (s == name) return value;
    names += names.empty() ? name : std::string(", ") + name;
  }
  LORALAB_THROW("E_INVALID_ARGUMENT", std::string("Expected one of ") + names + " for " + key + " but received '" + s + "'");
}

std::vector<int32_t> get_int32s(const Napi::Object& obj, const char* key, size_t expected) {
  Napi::Value v = obj.Get(key);
  std::vector<int32_t> out;
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    auto arr = v.As<Napi::Int32Array>();
    out.assign(arr.Data(), arr.Data() + arr.ElementLength());
  } else if (v.IsArray()) {
    auto arr = v.As<Napi::Array>();
    out.resize(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value e = arr.Get(i);
      if (!e.IsNumber()) type_error("integer", std::string(key) + "[" + std::to_string(i) + "]", e);
      out[i] = e.As<Napi::Number>().Int32Value();
    }
  } else {
    type_error("Int32Array", key, v);
  }
  if (expected != static_cast<size_t>(-1) && out.size() != expected)
    LORALAB_THROW("E_INVALID_ARGUMENT", std::string("Expected ") + std::to_string(expected) + " values for " + key +
                                            " but received " + std::to_string(out.size()));
  return out;
}

}  // namespace

loralab::EngineOptions options_from_js(const Napi::Object& o) {
  using namespace loralab;
  EngineOptions opt;
  opt.precision = need_enum<Precision>(o, "precision",
                                       {{"bf16-true", Precision::BF16True}, {"bf16-mixed", Precision::BF16Mixed},
                                        {"16-true", Precision::FP16True}, {"32-true", Precision::FP32True}});
  opt.quantize = need_enum<Quantize>(o, "quantize",
                                     {{"none", Quantize::None}, {"bnb.nf4", Quantize::NF4}, {"bnb.nf4-dq", Quantize::NF4DQ},
                                      {"bnb.fp4", Quantize::FP4}, {"bnb.fp4-dq", Quantize::FP4DQ}});
  opt.method = need_enum<Method>(o, "method", {{"lora", Method::LoRA}, {"full", Method::Full}});
  Napi::Value targets = required(o, "targets", "targets", "object");
  if (!targets.IsObject() || targets.IsArray()) type_error("object", "targets", targets);
  const auto t = targets.As<Napi::Object>();
  opt.targets.query = need_bool(t, "query", "targets.");
  opt.targets.key = need_bool(t, "key", "targets.");
  opt.targets.value = need_bool(t, "value", "targets.");
  opt.targets.projection = need_bool(t, "projection", "targets.");
  opt.targets.mlp = need_bool(t, "mlp", "targets.");
  opt.targets.head = need_bool(t, "head", "targets.");
  opt.lora_r = static_cast<int>(need_number(o, "loraR"));
  opt.lora_alpha = static_cast<float>(need_number(o, "loraAlpha"));
  opt.lora_dropout = static_cast<float>(need_number(o, "loraDropout"));
  opt.rslora = need_bool(o, "rslora");
  opt.optimizer = need_enum<OptimizerKind>(o, "optimizer", {{"adamw", OptimizerKind::AdamW}, {"sgd", OptimizerKind::SGD},
                                                             {"adamw8bit", OptimizerKind::AdamW8bit}, {"sgd8bit", OptimizerKind::SGD8bit}});
  opt.state_precision =
      need_enum<StatePrecision>(o, "statePrecision", {{"fp32", StatePrecision::FP32}, {"bf16", StatePrecision::BF16}});
  opt.learning_rate = static_cast<float>(need_number(o, "learningRate"));
  opt.weight_decay = static_cast<float>(need_number(o, "weightDecay"));
  opt.beta1 = static_cast<float>(need_number(o, "beta1"));
  opt.beta2 = static_cast<float>(need_number(o, "beta2"));
  opt.eps = static_cast<float>(need_number(o, "eps"));
  opt.momentum = static_cast<float>(need_number(o, "momentum"));
  opt.lr_schedule = need_enum<LrSchedule>(o, "lrSchedule", {{"cosine", LrSchedule::Cosine}, {"constant", LrSchedule::Constant},
                                                            {"linear", LrSchedule::Linear}});
  opt.warmup_steps = static_cast<int>(need_number(o, "warmupSteps"));
  opt.total_steps = static_cast<int>(need_number(o, "totalSteps"));
  opt.min_lr = static_cast<float>(need_number(o, "minLr"));
  opt.grad_clip = static_cast<float>(need_number(o, "gradClip"));
  opt.gradient_checkpointing = need_bool(o, "gradientCheckpointing");
  opt.seed = static_cast<uint64_t>(need_number(o, "seed"));
  opt.threads = static_cast<int>(need_number(o, "threads"));
  opt.device = need_string(o, "device");
  opt.training = need_bool(o, "training");
  return opt;
}

loralab::Batch batch_from_js(const Napi::Object& o) {
  loralab::Batch b;
  b.rows = static_cast<int>(get_number(o, "rows", -1));
  b.seq_len = static_cast<int>(get_number(o, "seqLen", -1));
  if (b.rows <= 0 || b.seq_len <= 0)
    LORALAB_THROW("E_INVALID_ARGUMENT", "Expected positive rows and seqLen for a batch");
  size_t n = static_cast<size_t>(b.rows) * static_cast<size_t>(b.seq_len);
  b.tokens = get_int32s(o, "tokens", n);
  b.targets = get_int32s(o, "targets", n);
  Napi::Value lengths = o.Get("lengths");
  if (lengths.IsUndefined()) {
    b.lengths.assign(b.rows, b.seq_len);
  } else {
    b.lengths = get_int32s(o, "lengths", static_cast<size_t>(b.rows));
  }
  Napi::Value ids = o.Get("exampleIds");
  if (ids.IsUndefined()) {
    for (int i = 0; i < b.rows; ++i) b.example_ids.push_back(i);
  } else {
    auto v = get_int32s(o, "exampleIds", static_cast<size_t>(b.rows));
    b.example_ids.assign(v.begin(), v.end());
  }
  return b;
}

std::vector<loralab::Batch> batches_from_js(const Napi::Value& value) {
  std::vector<loralab::Batch> out;
  if (value.IsArray()) {
    auto arr = value.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value item = arr.Get(i);
      if (!item.IsObject()) type_error("batch object", "microBatches[" + std::to_string(i) + "]", item);
      out.push_back(batch_from_js(item.As<Napi::Object>()));
    }
  } else if (value.IsObject()) {
    out.push_back(batch_from_js(value.As<Napi::Object>()));
  } else {
    type_error("batch or array of batches", "batches", value);
  }
  if (out.empty()) LORALAB_THROW("E_INVALID_ARGUMENT", "Expected at least one micro-batch");
  return out;
}

loralab::GenerateOptions generate_options_from_js(const Napi::Object& o) {
  loralab::GenerateOptions g;
  g.max_new_tokens = static_cast<int>(get_number(o, "maxNewTokens", g.max_new_tokens));
  g.temperature = static_cast<float>(get_number(o, "temperature", g.temperature));
  g.top_p = static_cast<float>(get_number(o, "topP", g.top_p));
  g.seed = static_cast<uint64_t>(get_number(o, "seed", 0));
  if (!o.Get("stopTokens").IsUndefined()) g.stop_tokens = get_int32s(o, "stopTokens", static_cast<size_t>(-1));
  return g;
}

Napi::Object memory_to_js(Napi::Env env, const loralab::MemoryReport& report) {
  Napi::Object current = Napi::Object::New(env), peak = Napi::Object::New(env);
  for (int c = 0; c < static_cast<int>(loralab::MemCategory::Count); ++c) {
    const char* name = loralab::mem_category_name(static_cast<loralab::MemCategory>(c));
    current.Set(name, static_cast<double>(report.current[c]));
    peak.Set(name, static_cast<double>(report.peak[c]));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("current", current);
  out.Set("peak", peak);
  out.Set("currentTotal", static_cast<double>(report.current_total));
  out.Set("peakTotal", static_cast<double>(report.peak_total));
  return out;
}

Napi::Object config_to_js(Napi::Env env, const loralab::ModelConfig& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("architecture", c.architecture);
  o.Set("modelType", c.model_type);
  o.Set("vocabSize", c.vocab_size);
  o.Set("hiddenSize", c.hidden_size);
  o.Set("intermediateSize", c.intermediate_size);
  o.Set("numLayers", c.num_layers);
  o.Set("numHeads", c.num_heads);
  o.Set("numKvHeads", c.num_kv_heads);
  o.Set("headDim", c.head_dim);
  o.Set("tieWordEmbeddings", c.tie_word_embeddings);
  o.Set("maxPositionEmbeddings", c.max_position_embeddings);
  o.Set("bosTokenId", c.bos_token_id);
  Napi::Array eos = Napi::Array::New(env, c.eos_token_ids.size());
  for (size_t i = 0; i < c.eos_token_ids.size(); ++i) eos.Set(static_cast<uint32_t>(i), c.eos_token_ids[i]);
  o.Set("eosTokenIds", eos);
  return o;
}

Napi::Object param_counts_to_js(Napi::Env env, const loralab::ParamCounts& p) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("total", static_cast<double>(p.total));
  o.Set("trainable", static_cast<double>(p.trainable));
  Napi::Object by = Napi::Object::New(env);
  for (const auto& [target, n] : p.trainable_by_target) by.Set(target, static_cast<double>(n));
  o.Set("trainableByTarget", by);
  return o;
}

Napi::Float32Array float_array(Napi::Env env, const std::vector<float>& values) {
  auto arr = Napi::Float32Array::New(env, values.size());  // JS-owned: no external buffers (Electron)
  std::copy(values.begin(), values.end(), arr.Data());
  return arr;
}

Napi::Int32Array int_array(Napi::Env env, const std::vector<int32_t>& values) {
  auto arr = Napi::Int32Array::New(env, values.size());
  std::copy(values.begin(), values.end(), arr.Data());
  return arr;
}

}  // namespace loralab_binding
