// merge_adapter: folds a PEFT LoRA adapter into a Hugging Face checkpoint, W + scale * (B @ A)
// from the checkpoint's original weights (never dequantized values), accumulated in double and
// written back in the stored dtype, sharded like Hugging Face, as a new folder that appears whole.
#include <unistd.h>

#include <cstring>
#include <map>

#include "engine.h"
#include "error.h"
#include "io/files.h"
#include "io/json.h"
#include "io/peft_adapter.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/family.h"
#include "threadpool.h"

namespace loralab {

namespace {

// The files of a checkpoint folder that a merged folder must not inherit: weights and their index.
bool is_weight_file(const std::string& name) {
  auto ends = [&](const char* s) {
    size_t k = std::strlen(s);
    return name.size() >= k && name.compare(name.size() - k, k, s) == 0;
  };
  return ends(".safetensors") || name == "model.safetensors.index.json" || ends(".bin") || ends(".pth") ||
         ends(".pt") || ends(".ckpt") || name == "pytorch_model.bin.index.json" || name.find(".tmp-") != std::string::npos;
}

std::string shape_text(const std::vector<int64_t>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

// merged (OUT, IN) in `dtype` = W (OUT, IN) + scale * B (OUT, R) @ A (R, IN); sums in double.
// Rows are split into fixed blocks over the pool (each element is computed the same way whatever
// the thread count, so the output bytes never depend on it).
std::vector<uint8_t> merge_weight(ThreadPool* pool, const TensorView& w, const PeftLoraPair& pair, int r, double scale) {
  const int64_t out_f = pair.out_features, in_f = pair.in_features;
  std::vector<uint8_t> bytes(static_cast<size_t>(out_f * in_f) * dtype_size(w.dtype));
  constexpr int64_t kRowsPerTask = 16;
  parallel_for(pool, (out_f + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t task) {
    std::vector<double> row(static_cast<size_t>(in_f));  // (IN,)
    for (int64_t o = task * kRowsPerTask; o < out_f && o < (task + 1) * kRowsPerTask; ++o) {
      std::fill(row.begin(), row.end(), 0.0);
      for (int k = 0; k < r; ++k) {
        const double b = pair.B[static_cast<size_t>(o * r + k)];
        const float* a = &pair.A[static_cast<size_t>(k * in_f)];
        for (int64_t i = 0; i < in_f; ++i) row[i] += b * a[i];
      }
      for (int64_t i = 0; i < in_f; ++i) {
        const size_t idx = static_cast<size_t>(o * in_f + i);
        const float merged = static_cast<float>(load_as_f32(w.data, w.dtype, idx) + scale * row[i]);
        if (w.dtype == DType::F32) {
          std::memcpy(&bytes[idx * 4], &merged, 4);
        } else {
          uint16_t h = w.dtype == DType::BF16 ? f32_to_bf16(merged) : f32_to_f16(merged);
          std::memcpy(&bytes[idx * 2], &h, 2);
        }
      }
    }
  });
  return bytes;
}

struct OutTensor {
  std::string name;
  const TensorView* source = nullptr;  // the checkpoint's tensor (dtype, shape, unchanged data)
  const PeftLoraPair* pair = nullptr;  // set when merged
  uint64_t nbytes = 0;
};

}  // namespace

void merge_adapter(const std::string& checkpoint_dir, const std::string& adapter_dir, const std::string& out_dir,
                   uint64_t max_shard_bytes) {
  if (is_directory(out_dir) && !list_directory(out_dir).empty())
    LORALAB_THROW("E_MERGE_OUT_EXISTS", out_dir + ": the merge output folder exists and is not empty; choose a new "
                                                  "folder or delete it first");
  merge_peft_adapter(checkpoint_dir, load_peft_adapter(adapter_dir), out_dir, max_shard_bytes, adapter_dir);
}

void merge_peft_adapter(const std::string& checkpoint_dir, const PeftAdapter& adapter, const std::string& out_dir_in,
                        uint64_t max_shard_bytes, const std::string& adapter_label) {
  const std::string& adapter_dir = adapter_label;  // names the adapter in error messages
  std::string out_dir = out_dir_in;
  while (out_dir.size() > 1 && out_dir.back() == '/') out_dir.pop_back();  // the temp folder is a sibling
  LORALAB_CHECK(!out_dir.empty(), "E_FILE_WRITE", "merge: empty output folder name");
  if (is_directory(out_dir) && !list_directory(out_dir).empty())
    LORALAB_THROW("E_MERGE_OUT_EXISTS", out_dir + ": the merge output folder exists and is not empty; choose a new "
                                                  "folder or delete it first");
  auto ckpt = CheckpointReader::open(checkpoint_dir);
  const std::string cfg_path = path_join(checkpoint_dir, "config.json");
  JsonValue config = read_json_file(cfg_path, "E_CONFIG_PARSE");
  const ModelFamily family = parse_model_config(read_text_file(cfg_path), cfg_path).family;
  const std::string embed_name = embed_tensor_name(family);
  const double scale = adapter.config.scale();
  const JsonValue* tie = config.find("tie_word_embeddings");
  const bool has_head = ckpt->has("lm_head.weight");
  const bool tied = (tie && tie->is_bool() && tie->as_bool()) || !has_head;

  // Plan the output tensors: every stored tensor, the adapted ones merged; a head adapter on a
  // tied model adds lm_head.weight (from the embedding) and unties the model.
  std::map<std::string, const PeftLoraPair*> merged_by_name;
  bool untie = false;
  for (const auto& pair : adapter.pairs) {
    std::string name = peft_module_path(pair.module, pair.layer, family) + ".weight";
    std::string source_name = name;
    if (pair.module == PeftModule::Head && tied) {
      source_name = embed_name;
      untie = true;
    }
    if (!ckpt->has(source_name))
      LORALAB_THROW("E_ADAPTER_MISMATCH", adapter_dir + ": adapts " + name + " but " + checkpoint_dir +
                                              " has no tensor '" + source_name + "' (adapter for another model?)");
    const TensorView& w = ckpt->get(source_name);
    if (w.shape != std::vector<int64_t>{pair.out_features, pair.in_features})
      LORALAB_THROW("E_ADAPTER_MISMATCH", adapter_dir + ": B @ A for " + name + " has shape " +
                                              shape_text({pair.out_features, pair.in_features}) + " but '" +
                                              source_name + "' is " + shape_text(w.shape));
    merged_by_name[name] = &pair;
  }
  std::vector<OutTensor> plan;
  for (const auto& name : ckpt->names()) {
    if (tied && untie && name == "lm_head.weight") continue;  // replaced below
    OutTensor t{name, &ckpt->get(name), nullptr, 0};
    auto it = merged_by_name.find(name);
    if (it != merged_by_name.end()) t.pair = it->second;
    t.nbytes = t.source->nbytes;
    plan.push_back(t);
  }
  if (untie) {
    const TensorView& embed = ckpt->get(embed_name);
    plan.push_back({"lm_head.weight", &embed, merged_by_name.at("lm_head.weight"), embed.nbytes});
  }

  // Shards: greedily filled up to max_shard_bytes (a larger tensor gets a shard of its own).
  std::vector<std::vector<size_t>> shards(1);
  uint64_t shard_bytes = 0, total_bytes = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    if (!shards.back().empty() && shard_bytes + plan[i].nbytes > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(i);
    shard_bytes += plan[i].nbytes;
    total_bytes += plan[i].nbytes;
  }

  ThreadPool pool(0);  // all usable cores: a 7B merge with every target at r=256 is ~TFLOPs
  const std::string tmp_dir = out_dir + ".tmp-merge-" + std::to_string(::getpid());
  remove_tree(tmp_dir);
  make_directories(tmp_dir);
  try {
    JsonValue weight_map = JsonValue::object();
    char fname[64];
    for (size_t s = 0; s < shards.size(); ++s) {
      if (shards.size() == 1) std::snprintf(fname, sizeof fname, "model.safetensors");
      else std::snprintf(fname, sizeof fname, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
      std::vector<std::vector<uint8_t>> merged_data;  // keeps this shard's merged tensors alive
      merged_data.reserve(shards[s].size());
      std::vector<TensorToWrite> tensors;
      for (size_t i : shards[s]) {
        const OutTensor& t = plan[i];
        const void* data = t.source->data;
        if (t.pair) {
          merged_data.push_back(merge_weight(&pool, *t.source, *t.pair, adapter.config.r, scale));
          data = merged_data.back().data();
        }
        tensors.push_back({t.name, t.source->dtype, t.source->shape, data});
        weight_map.set(t.name, JsonValue::string(fname));
      }
      write_safetensors(path_join(tmp_dir, fname), tensors);
    }
    if (shards.size() > 1) {
      JsonValue sorted_map = JsonValue::object();
      std::map<std::string, std::string> order;
      for (const auto& kv : weight_map.members()) order[kv.first] = kv.second.as_string();
      for (const auto& kv : order) sorted_map.set(kv.first, JsonValue::string(kv.second));
      JsonValue index = JsonValue::object();
      JsonValue meta = JsonValue::object();
      meta.set("total_size", JsonValue::integer(static_cast<int64_t>(total_bytes)));
      index.set("metadata", meta);
      index.set("weight_map", sorted_map);
      write_text_file_atomic(path_join(tmp_dir, "model.safetensors.index.json"), index.dump(2) + "\n");
    }
    if (untie) config.set("tie_word_embeddings", JsonValue::boolean(false));
    write_text_file_atomic(path_join(tmp_dir, "config.json"), config.dump(2) + "\n");
    // Tokenizer, generation config and other small files travel along unchanged.
    for (const auto& name : list_directory(checkpoint_dir)) {
      const std::string src = path_join(checkpoint_dir, name);
      if (name == "config.json" || is_weight_file(name) || is_directory(src)) continue;
      write_text_file_atomic(path_join(tmp_dir, name), read_text_file(src));
    }
    if (is_directory(out_dir)) remove_tree(out_dir);  // empty (checked above)
    if (::rename(tmp_dir.c_str(), out_dir.c_str()) != 0)
      LORALAB_THROW("E_FILE_WRITE", out_dir + ": cannot move the merged folder into place from " + tmp_dir);
  } catch (...) {
    remove_tree(tmp_dir);
    throw;
  }
}

}  // namespace loralab
