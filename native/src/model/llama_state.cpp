// Training state save/load through safetensors (the engine's own format, not meant for other tools).
#include "model/llama_state.h"

#include <cstring>

#include "error.h"
#include "io/files.h"
#include "io/safetensors.h"

namespace loralab {

namespace {
const char* method_name(Method m) { return m == Method::LoRA ? "lora" : "full"; }
const char* optimizer_name(OptimizerKind k) { return k == OptimizerKind::AdamW ? "adamw" : "sgd"; }
}  // namespace

const char* second_moment_prefix(OptimizerKind k) { return k == OptimizerKind::AdamW ? "exp_avg_sq/" : ""; }
const char* first_moment_prefix(OptimizerKind k) { return k == OptimizerKind::AdamW ? "exp_avg/" : "momentum_buffer/"; }

std::map<std::string, std::string> train_state_metadata(const EngineOptions& options, const TrainState& state,
                                                        int lora_r, double lora_scale) {
  std::map<std::string, std::string> meta = {
      {"loralab_state", "1"},
      {"step", std::to_string(state.step)},
      {"seed", std::to_string(state.seed)},
      {"method", method_name(options.method)},
      {"optimizer", optimizer_name(options.optimizer)},
  };
  if (options.method == Method::LoRA) {
    meta["lora_r"] = std::to_string(lora_r);
    meta["lora_scale"] = std::to_string(lora_scale);
  }
  return meta;
}

void save_train_state(const std::string& dir, LlamaModel& model, const EngineOptions& options, const TrainState& state) {
  make_directories(dir);
  std::vector<TensorToWrite> tensors;
  for (Param* p : model.trainable()) {
    tensors.push_back({"param/" + p->name, DType::F32, p->shape, p->f32()});
    if (!p->m.empty()) tensors.push_back({first_moment_prefix(options.optimizer) + p->name, DType::F32, p->shape, p->m.data()});
    if (!p->v.empty()) tensors.push_back({second_moment_prefix(options.optimizer) + p->name, DType::F32, p->shape, p->v.data()});
  }
  const auto meta = train_state_metadata(options, state, model.lora_config().r, model.lora_scale());
  write_safetensors(path_join(dir, "state.safetensors"), tensors, meta);
}

TrainStateFile open_train_state(const std::string& dir, const EngineOptions& options) {
  TrainStateFile st;
  st.path = path_join(dir, "state.safetensors");
  st.file = SafetensorsFile::open(st.path);
  const std::string& path = st.path;
  const auto& meta = st.file->metadata();
  auto get_meta = [&](const std::string& key) {
    auto it = meta.find(key);
    LORALAB_CHECK(it != meta.end(), "E_STATE_MISMATCH", path + ": metadata key '" + key + "' is missing");
    return it->second;
  };
  LORALAB_CHECK(get_meta("method") == method_name(options.method), "E_STATE_MISMATCH",
                path + ": saved with method '" + get_meta("method") + "', the engine uses '" + method_name(options.method) + "'");
  LORALAB_CHECK(get_meta("optimizer") == optimizer_name(options.optimizer), "E_STATE_MISMATCH",
                path + ": saved with optimizer '" + get_meta("optimizer") + "', the engine uses '" +
                    optimizer_name(options.optimizer) + "'");
  st.state.step = std::stoll(get_meta("step"));
  st.state.seed = std::stoull(get_meta("seed"));
  return st;
}

TrainState load_train_state(const std::string& dir, LlamaModel& model, const EngineOptions& options) {
  TrainStateFile st = open_train_state(dir, options);
  const std::string& path = st.path;
  SafetensorsFile* file = st.file.get();
  auto copy = [&](const std::string& name, const std::vector<int64_t>& shape, float* dst) {
    LORALAB_CHECK(file->has(name), "E_STATE_MISMATCH", path + ": tensor '" + name + "' is missing");
    const TensorView& t = file->get(name);
    LORALAB_CHECK(t.shape == shape && t.dtype == DType::F32, "E_STATE_MISMATCH",
                  path + ": tensor '" + name + "' has another shape or dtype than the model's");
    std::memcpy(dst, t.data, t.nbytes);
  };
  for (Param* p : model.trainable()) {
    copy("param/" + p->name, p->shape, p->f32());
    if (!p->m.empty()) copy(first_moment_prefix(options.optimizer) + p->name, p->shape, p->m.data());
    if (!p->v.empty()) copy(second_moment_prefix(options.optimizer) + p->name, p->shape, p->v.data());
  }
  return st.state;
}

}  // namespace loralab
