// ctest: PEFT adapter folders (load the reference fixtures' adapters, save/load round trip with
// PEFT key names and config fields, refusals of what we do not implement) and merge_adapter
// against the PyTorch reference's merged weights (fp32 and bf16, tied head untied, HF sharding).
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine.h"
#include "error.h"
#include "io/files.h"
#include "io/json.h"
#include "io/peft_adapter.h"
#include "io/safetensors.h"
#include "test_util.h"

using namespace loralab;

namespace {

const std::string kRoot = "test/reference/fixtures";
const char* kCases[] = {"llama_gqa_llama3_f32", "llama_gqa_llama3_bf16", "llama_tied_linear_f32",
                        "mistral_f32",          "qwen2_bias_f32",        "qwen2_bias_tied_bf16"};

// Distance in units in the last place between two values of the same dtype (raw bit patterns).
int64_t ulps(const TensorView& a, const TensorView& b, size_t i) {
  if (a.dtype == DType::F32) {
    int32_t x, y;
    std::memcpy(&x, a.data + 4 * i, 4);
    std::memcpy(&y, b.data + 4 * i, 4);
    if ((x < 0) != (y < 0)) return (x & 0x7fffffff) + (y & 0x7fffffff);
    return std::llabs(int64_t(x) - int64_t(y));
  }
  int16_t x, y;
  std::memcpy(&x, a.data + 2 * i, 2);
  std::memcpy(&y, b.data + 2 * i, 2);
  if ((x < 0) != (y < 0)) return (x & 0x7fff) + (y & 0x7fff);
  return std::llabs(int64_t(x) - int64_t(y));
}

void test_load_fixture_adapters() {
  for (const char* c : kCases) {
    const std::string dir = path_join(kRoot, c);
    JsonValue golden = read_json_file(path_join(dir, "golden.json"));
    PeftAdapter a = load_peft_adapter(path_join(dir, "adapter"));
    CHECK(a.config.r == 4);
    CHECK_NEAR(a.config.scale(), golden.find("scale")->as_number(), 1e-12);
    CHECK(a.pairs.size() == 2 * 7 + 1);
    CHECK(a.pairs.back().module == PeftModule::Head);
    CHECK(a.find(PeftModule::Down, 1) != nullptr && a.find(PeftModule::Down, 2) == nullptr);
    const PeftLoraPair* q = a.find(PeftModule::Q, 0);
    CHECK(q && q->A.size() == size_t(4 * q->in_features) && q->B.size() == size_t(q->out_features * 4));
  }
  ModelConfig m;  // the llama_gqa fixture's dimensions
  m.vocab_size = 80, m.hidden_size = 32, m.intermediate_size = 48, m.num_layers = 2;
  m.num_heads = 4, m.num_kv_heads = 2, m.head_dim = 16;
  PeftAdapter a = load_peft_adapter(path_join(kRoot, "llama_gqa_llama3_f32/adapter"));
  check_adapter_fits(a, m);
  m.head_dim = 8;
  std::string msg = expect_error("E_ADAPTER_MISMATCH", [&] { check_adapter_fits(a, m); });
  CHECK(msg.find("q_proj") != std::string::npos);
  m.head_dim = 16;
  m.num_layers = 1;
  expect_error("E_ADAPTER_MISMATCH", [&] { check_adapter_fits(a, m); });
}

void test_save_round_trip(const std::string& tmp) {
  PeftAdapter src = load_peft_adapter(path_join(kRoot, "qwen2_bias_f32/adapter"));
  std::vector<PeftLoraView> views;
  for (const auto& p : src.pairs) views.push_back({p.module, p.layer, p.in_features, p.out_features, p.A.data(), p.B.data()});
  const std::string out = path_join(tmp, "saved/adapter");
  src.config.base_model_name_or_path = "Qwen/tiny";
  save_peft_adapter(out, src.config, views);
  PeftAdapter back = load_peft_adapter(out);
  CHECK(back.pairs.size() == src.pairs.size());
  bool same = true;
  for (size_t i = 0; i < src.pairs.size(); ++i)
    same = same && back.pairs[i].A == src.pairs[i].A && back.pairs[i].B == src.pairs[i].B &&
           back.pairs[i].module == src.pairs[i].module && back.pairs[i].layer == src.pairs[i].layer;
  CHECK(same);
  CHECK(back.config.use_rslora && back.config.r == 4 && back.config.lora_alpha == 8);
  JsonValue cfg = read_json_file(path_join(out, "adapter_config.json"));
  CHECK(cfg.find("peft_type")->as_string() == "LORA");
  CHECK(cfg.find("task_type")->as_string() == "CAUSAL_LM");
  CHECK(cfg.find("bias")->as_string() == "none");
  CHECK(cfg.find("fan_in_fan_out")->is_bool() && !cfg.find("fan_in_fan_out")->as_bool());
  CHECK(cfg.find("use_rslora")->as_bool());
  CHECK(cfg.find("r")->dump() == "4" && cfg.find("lora_alpha")->dump() == "8");
  CHECK(cfg.find("base_model_name_or_path")->as_string() == "Qwen/tiny");
  CHECK(cfg.find("target_modules")->dump() ==
        "[\"q_proj\",\"k_proj\",\"v_proj\",\"o_proj\",\"gate_proj\",\"up_proj\",\"down_proj\",\"lm_head\"]");
  auto st = SafetensorsFile::open(path_join(out, "adapter_model.safetensors"));
  CHECK(st->metadata().at("format") == "pt");
  CHECK(st->has("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"));
  CHECK(st->has("base_model.model.lm_head.lora_A.weight"));
  CHECK(st->get("base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight").shape == std::vector<int64_t>({4, 32}));
  CHECK(st->get("base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight").shape == std::vector<int64_t>({16, 4}));
  CHECK(peft_tensor_key(PeftModule::Gate, 3, 'A') == "base_model.model.model.layers.3.mlp.gate_proj.lora_A.weight");
  // A pair whose module is not a target is refused rather than silently written.
  PeftAdapterConfig only_q = src.config;
  only_q.target_modules = {"q_proj"};
  expect_error("E_ADAPTER_CONFIG", [&] { save_peft_adapter(path_join(tmp, "bad"), only_q, views); });
}

// Writes an adapter folder with the given config text and the qwen2 fixture's tensors (optionally edited).
void write_adapter(const std::string& dir, const std::string& config_text, const std::vector<TensorToWrite>& tensors) {
  make_directories(dir);
  write_text_file_atomic(path_join(dir, "adapter_config.json"), config_text);
  write_safetensors(path_join(dir, "adapter_model.safetensors"), tensors);
}

void test_refusals(const std::string& tmp) {
  std::vector<float> a(4 * 32, 0.1f), b(32 * 4, 0.2f);
  const std::vector<TensorToWrite> good = {
      {"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", DType::F32, {4, 32}, a.data()},
      {"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", DType::F32, {32, 4}, b.data()}};
  const std::string base = "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,\"target_modules\":[\"q_proj\"]";
  const std::string dir = path_join(tmp, "refuse");
  write_adapter(dir, base + "}", good);
  CHECK(load_peft_adapter(dir).pairs.size() == 1);
  auto refused = [&](const char* code, const std::string& cfg, const std::vector<TensorToWrite>& t, const char* needle) {
    remove_tree(dir);
    write_adapter(dir, cfg, t);
    std::string msg = expect_error(code, [&] { load_peft_adapter(dir); });
    if (msg.find(needle) == std::string::npos) std::fprintf(stderr, "  message lacks '%s': %s\n", needle, msg.c_str());
    CHECK(msg.find(needle) != std::string::npos);
  };
  refused("E_ADAPTER_UNSUPPORTED", base + ",\"use_dora\":true}", good, "use_dora");
  refused("E_ADAPTER_UNSUPPORTED", base + ",\"bias\":\"all\"}", good, "bias");
  refused("E_ADAPTER_UNSUPPORTED", base + ",\"fan_in_fan_out\":true}", good, "fan_in_fan_out");
  refused("E_ADAPTER_UNSUPPORTED", base + ",\"rank_pattern\":{\"q_proj\":8}}", good, "rank_pattern");
  refused("E_ADAPTER_UNSUPPORTED", base + ",\"modules_to_save\":[\"embed_tokens\"]}", good, "modules_to_save");
  refused("E_ADAPTER_UNSUPPORTED", base + ",\"lora_bias\":true}", good, "lora_bias");
  refused("E_ADAPTER_UNSUPPORTED", base + ",\"layer_replication\":[[0,2]]}", good, "layer_replication");
  refused("E_ADAPTER_UNSUPPORTED", "{\"peft_type\":\"IA3\",\"r\":4,\"lora_alpha\":8,\"target_modules\":[]}", good, "IA3");
  refused("E_ADAPTER_UNSUPPORTED", "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,\"target_modules\":\".*q_proj\"}",
          good, "target_modules");
  refused("E_ADAPTER_CONFIG", "{\"peft_type\":\"LORA\",\"lora_alpha\":8,\"target_modules\":[\"q_proj\"]}", good, "\"r\"");
  refused("E_ADAPTER_CONFIG", "{\"peft_type\":\"LORA\",\"r\":0,\"lora_alpha\":8,\"target_modules\":[\"q_proj\"]}", good,
          "\"r\"");
  refused("E_TENSOR_MISSING", base + "}", {good[0]}, "lora_B");
  refused("E_TENSOR_SHAPE", "{\"peft_type\":\"LORA\",\"r\":8,\"lora_alpha\":8,\"target_modules\":[\"q_proj\"]}", good,
          "lora_A");
  refused("E_ADAPTER_KEY", base + "}",
          {good[0], good[1], {"base_model.model.model.embed_tokens.lora_A.weight", DType::F32, {4, 32}, a.data()}},
          "embed_tokens");
  refused("E_ADAPTER_KEY", "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,\"target_modules\":[\"v_proj\"]}", good,
          "q_proj");
  // A config as recent PEFT writes it, with init-only and bookkeeping keys, loads.
  remove_tree(dir);
  write_adapter(dir, base + ",\"lora_bias\":false,\"layer_replication\":null,\"loftq_config\":{},"
                "\"megatron_config\":null,\"exclude_modules\":null,\"eva_config\":null,\"peft_version\":\"0.17.1\","
                "\"init_lora_weights\":\"gaussian\",\"use_dora\":false}", good);
  CHECK(load_peft_adapter(dir).pairs.size() == 1);
  // "all-linear" is PEFT's shorthand for every linear but the head.
  remove_tree(dir);
  write_adapter(dir, "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,\"target_modules\":\"all-linear\"}", good);
  PeftAdapter all = load_peft_adapter(dir);
  CHECK(all.config.targets(PeftModule::Down) && !all.config.targets(PeftModule::Head));
  // A pickled adapter is never read.
  remove_tree(dir);
  make_directories(dir);
  write_text_file_atomic(path_join(dir, "adapter_config.json"), base + "}");
  write_text_file_atomic(path_join(dir, "adapter_model.bin"), "pickle");
  expect_error("E_PICKLE_CHECKPOINT", [&] { load_peft_adapter(dir); });
}

// Merges one fixture and checks every tensor against the reference's merged weights.
void check_merge(const std::string& name, const std::string& out, uint64_t max_shard) {
  const std::string dir = path_join(kRoot, name);
  merge_adapter(dir, path_join(dir, "adapter"), out, max_shard);
  auto merged = CheckpointReader::open(out);
  auto orig = CheckpointReader::open(dir);
  auto golden = SafetensorsFile::open(path_join(dir, "golden.safetensors"));
  JsonValue cfg_in = read_json_file(path_join(dir, "config.json"));
  JsonValue cfg_out = read_json_file(path_join(out, "config.json"));
  const bool was_tied = cfg_in.find("tie_word_embeddings")->as_bool();
  CHECK(!cfg_out.find("tie_word_embeddings")->as_bool());  // every fixture adapts the head
  cfg_out.set("tie_word_embeddings", *cfg_in.find("tie_word_embeddings"));
  CHECK(cfg_out.dump() == cfg_in.dump());  // nothing else changed
  CHECK(merged->has("lm_head.weight"));
  CHECK(merged->names().size() == orig->names().size() + (was_tied ? 1 : 0));
  int64_t worst = 0;
  size_t merged_count = 0, unchanged_same = 0, unchanged_count = 0;
  for (const auto& n : merged->names()) {
    const TensorView& m = merged->get(n);
    if (golden->has("merged." + n)) {
      const TensorView& g = golden->get("merged." + n);
      CHECK(g.dtype == m.dtype && g.shape == m.shape);
      for (size_t i = 0; i < static_cast<size_t>(m.numel()); ++i) worst = std::max(worst, ulps(m, g, i));
      ++merged_count;
    } else {
      const TensorView& o = orig->get(n);
      ++unchanged_count;
      if (o.dtype == m.dtype && o.shape == m.shape && o.nbytes == m.nbytes && std::memcmp(o.data, m.data, o.nbytes) == 0)
        ++unchanged_same;
    }
  }
  std::printf("merge %s: %zu merged tensors, worst %lld ulp; %zu/%zu untouched tensors identical\n", name.c_str(),
              merged_count, static_cast<long long>(worst), unchanged_same, unchanged_count);
  CHECK(merged_count == 15);
  CHECK(worst <= 1);
  CHECK(unchanged_same == unchanged_count);
}

void test_merge(const std::string& tmp) {
  for (const char* c : kCases) check_merge(c, path_join(tmp, std::string("merged-") + c), 5000000000ull);
  // Small shards: HF names, an index whose total_size and weight_map agree with the files.
  const std::string sharded = path_join(tmp, "merged-sharded");
  check_merge("llama_gqa_llama3_bf16", sharded, 12000);
  JsonValue index = read_json_file(path_join(sharded, "model.safetensors.index.json"));
  uint64_t total = 0;
  size_t files = 0;
  for (const auto& n : list_directory(sharded)) {
    if (n.find(".safetensors") == std::string::npos || n.find("index") != std::string::npos) continue;
    ++files;
    CHECK(n.compare(0, 6, "model-") == 0 && n.find("-of-") != std::string::npos);
    auto f = SafetensorsFile::open(path_join(sharded, n));
    uint64_t bytes = 0;
    for (const auto& t : f->names()) {
      bytes += f->get(t).nbytes;
      CHECK(index.find("weight_map")->find(t)->as_string() == n);
    }
    CHECK(bytes <= 12000 || f->names().size() == 1);
    total += bytes;
  }
  CHECK(files > 2);
  CHECK(!path_exists(path_join(sharded, "model.safetensors")));
  CHECK(index.find("metadata")->find("total_size")->as_int() == static_cast<int64_t>(total));
  // The in-memory variant (the engine's current adapter) writes the same bytes; a trailing slash is fine.
  const std::string from_memory = path_join(tmp, "merged-memory/");
  merge_peft_adapter(path_join(kRoot, "qwen2_bias_tied_bf16"),
                     load_peft_adapter(path_join(kRoot, "qwen2_bias_tied_bf16/adapter")), from_memory);
  CHECK(read_text_file(path_join(from_memory, "model.safetensors")) ==
        read_text_file(path_join(tmp, "merged-qwen2_bias_tied_bf16/model.safetensors")));
  CHECK(read_text_file(path_join(from_memory, "config.json")) ==
        read_text_file(path_join(tmp, "merged-qwen2_bias_tied_bf16/config.json")));
  // Refusals: an existing non-empty output, an adapter made for another model.
  expect_error("E_MERGE_OUT_EXISTS", [&] {
    merge_adapter(path_join(kRoot, "mistral_f32"), path_join(kRoot, "mistral_f32/adapter"), sharded);
  });
  std::string msg = expect_error("E_ADAPTER_MISMATCH", [&] {
    merge_adapter(path_join(kRoot, "mistral_f32"), path_join(kRoot, "llama_gqa_llama3_f32/adapter"),
                  path_join(tmp, "never"));
  });
  CHECK(msg.find("q_proj") != std::string::npos);
  CHECK(!path_exists(path_join(tmp, "never")));
  for (const auto& n : list_directory(tmp)) CHECK(n.find(".tmp-") == std::string::npos);
}

}  // namespace

int main() {
  const std::string tmp = make_temp_dir("peft");
  test_load_fixture_adapters();
  test_save_round_trip(tmp);
  test_refusals(tmp);
  test_merge(tmp);
  remove_tree(tmp);
  return test_summary("test_peft_merge");
}
