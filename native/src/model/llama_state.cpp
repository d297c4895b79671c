// Training state save/load through safetensors (the engine's own format, not meant for other tools).
#include "model/llama_state.h"

#include <cstring>

#include "error.h"
#include "io/files.h"
#include "io/safetensors.h"
#include "model/llama_optim.h"
#include "quant/dynamic8.h"

namespace loralab {

namespace {
const char* method_name(Method m) { return m == Method::LoRA ? "lora" : "full"; }

// One stored tensor of a parameter's state: its bytes, dtype and (8-bit) absmax.
struct StateTensor {
  std::string name;
  DType dtype = DType::F32;
  void* data = nullptr;
  std::vector<int64_t> shape;
  float* absmax = nullptr;  // U8 codes: "<prefix>_absmax/<name>" (F32, one per 256-block)
};

StateTensor state_tensor(const std::string& name, const StoreRef& ref, const std::vector<int64_t>& shape) {
  const DType t = ref.format == StoreFormat::F32 ? DType::F32 : ref.format == StoreFormat::BF16 ? DType::BF16 : DType::U8;
  return StateTensor{name, t, ref.data, shape, ref.absmax};
}

std::string absmax_name(const std::string& name) {
  const size_t slash = name.find('/');
  return name.substr(0, slash) + "_absmax" + name.substr(slash);
}

int64_t numel_of(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// The stored tensors of every trainable parameter (param, moments), in the model's order.
std::vector<StateTensor> state_tensors(LlamaModel& model, const EngineOptions& options) {
  std::vector<StateTensor> out;
  for (Param* p : model.trainable()) {
    const TrainableStore st = trainable_store(*p);
    out.push_back(state_tensor("param/" + p->name, st.param, p->shape));
    if (st.m.data) out.push_back(state_tensor(first_moment_prefix(options.optimizer) + p->name, st.m, p->shape));
    if (st.v.data) out.push_back(state_tensor(second_moment_prefix(options.optimizer) + p->name, st.v, p->shape));
  }
  return out;
}
}  // namespace

const char* optimizer_name(OptimizerKind k) {
  switch (k) {
    case OptimizerKind::AdamW: return "adamw";
    case OptimizerKind::SGD: return "sgd";
    case OptimizerKind::AdamW8bit: return "adamw8bit";
    case OptimizerKind::SGD8bit: return "sgd8bit";
  }
  return "?";
}
const char* state_precision_name(StatePrecision p) { return p == StatePrecision::BF16 ? "bf16" : "fp32"; }

const char* second_moment_prefix(OptimizerKind k) { return is_adamw(k) ? "exp_avg_sq/" : ""; }
const char* first_moment_prefix(OptimizerKind k) { return is_adamw(k) ? "exp_avg/" : "momentum_buffer/"; }

std::map<std::string, std::string> train_state_metadata(const EngineOptions& options, const TrainState& state,
                                                        int lora_r, double lora_scale) {
  std::map<std::string, std::string> meta = {
      {"loralab_state", "1"},
      {"step", std::to_string(state.step)},
      {"seed", std::to_string(state.seed)},
      {"method", method_name(options.method)},
      {"optimizer", optimizer_name(options.optimizer)},
      {"state_precision", state_precision_name(options.state_precision)},
  };
  if (options.method == Method::LoRA) {
    meta["lora_r"] = std::to_string(lora_r);
    meta["lora_scale"] = std::to_string(lora_scale);
  }
  return meta;
}

void save_train_state(const std::string& dir, LlamaModel& model, const EngineOptions& options, const TrainState& state) {
  make_directories(dir);
  const std::vector<StateTensor> stored = state_tensors(model, options);
  std::vector<TensorToWrite> tensors;
  for (const StateTensor& t : stored) {
    tensors.push_back({t.name, t.dtype, t.shape, t.data});
    if (t.absmax) tensors.push_back({absmax_name(t.name), DType::F32, {dynamic_blocks(numel_of(t.shape))}, t.absmax});
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
                    optimizer_name(options.optimizer) + "'; the optimizer cannot change on resume (set train.optimizer back to '" +
                    get_meta("optimizer") + "' or start a new run)");
  // files from before state_precision existed hold fp32 state
  const auto sp = meta.find("state_precision");
  const std::string saved_precision = sp == meta.end() ? "fp32" : sp->second;
  LORALAB_CHECK(saved_precision == state_precision_name(options.state_precision), "E_STATE_MISMATCH",
                path + ": saved with train.state_precision '" + saved_precision + "', the engine uses '" +
                    state_precision_name(options.state_precision) + "'; resume with the precision the run started with");
  st.state.step = std::stoll(get_meta("step"));
  st.state.seed = std::stoull(get_meta("seed"));
  return st;
}

TrainState load_train_state(const std::string& dir, LlamaModel& model, const EngineOptions& options) {
  TrainStateFile st = open_train_state(dir, options);
  const std::string& path = st.path;
  SafetensorsFile* file = st.file.get();
  auto copy = [&](const std::string& name, const std::vector<int64_t>& shape, DType dtype, void* dst) {
    LORALAB_CHECK(file->has(name), "E_STATE_MISMATCH", path + ": tensor '" + name + "' is missing");
    const TensorView& t = file->get(name);
    LORALAB_CHECK(t.shape == shape && t.dtype == dtype, "E_STATE_MISMATCH",
                  path + ": tensor '" + name + "' has another shape or dtype than the model's (" + dtype_name(t.dtype) +
                      ", expected " + dtype_name(dtype) + ")");
    std::memcpy(dst, t.data, t.nbytes);
  };
  for (const StateTensor& t : state_tensors(model, options)) {
    copy(t.name, t.shape, t.dtype, t.data);
    if (t.absmax) copy(absmax_name(t.name), {dynamic_blocks(numel_of(t.shape))}, DType::F32, t.absmax);
  }
  return st.state;
}

}  // namespace loralab
