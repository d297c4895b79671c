// Conversions between JS values and the engine's plain structs (EngineOptions, Batch, results).
// All reads happen on the JS thread; the engine only ever sees the copied structs.
#pragma once
#include <napi.h>

#include <vector>

#include "engine.h"

namespace loralab_binding {

loralab::EngineOptions options_from_js(const Napi::Object& obj);
loralab::Batch batch_from_js(const Napi::Object& obj);
std::vector<loralab::Batch> batches_from_js(const Napi::Value& value);
loralab::GenerateOptions generate_options_from_js(const Napi::Object& obj);
Napi::Object memory_to_js(Napi::Env env, const loralab::MemoryReport& report);
Napi::Object config_to_js(Napi::Env env, const loralab::ModelConfig& config);
Napi::Object param_counts_to_js(Napi::Env env, const loralab::ParamCounts& counts);
Napi::Float32Array float_array(Napi::Env env, const std::vector<float>& values);
Napi::Int32Array int_array(Napi::Env env, const std::vector<int32_t>& values);

}  // namespace loralab_binding
