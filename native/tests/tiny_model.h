// Test helper: writes a tiny random Llama-family checkpoint (config.json + model.safetensors) into
// a temporary folder, and builds simple batches for it. Legend: V vocab, C hidden, F intermediate.
#pragma once
#include <cstdint>
#include <string>
#include <unistd.h>
#include <vector>

#include "dtype.h"
#include "io/files.h"
#include "io/safetensors.h"
#include "engine.h"
#include "rng.h"
#include "test_util.h"

namespace tiny {

struct Spec {
  int vocab = 64, hidden = 32, intermediate = 64, layers = 2, heads = 4, kv_heads = 2;
  bool tied = false, bias = false;
  int sliding_window = 0;
  uint64_t seed = 7;
  float init_range = 0.1f;
};

inline std::string make_temp_dir(const char* tag) { return ::make_temp_dir(tag); }

inline std::string write_model(const std::string& dir, const Spec& s) {
  using namespace loralab;
  const int64_t C = s.hidden, F = s.intermediate, V = s.vocab, HD = s.hidden / s.heads;
  const int64_t QD = s.heads * HD, KD = s.kv_heads * HD;
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
  shapes.push_back({"model.embed_tokens.weight", {V, C}});
  for (int l = 0; l < s.layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    shapes.push_back({p + "input_layernorm.weight", {C}});
    shapes.push_back({p + "self_attn.q_proj.weight", {QD, C}});
    shapes.push_back({p + "self_attn.k_proj.weight", {KD, C}});
    shapes.push_back({p + "self_attn.v_proj.weight", {KD, C}});
    if (s.bias) {
      shapes.push_back({p + "self_attn.q_proj.bias", {QD}});
      shapes.push_back({p + "self_attn.k_proj.bias", {KD}});
      shapes.push_back({p + "self_attn.v_proj.bias", {KD}});
    }
    shapes.push_back({p + "self_attn.o_proj.weight", {C, QD}});
    shapes.push_back({p + "post_attention_layernorm.weight", {C}});
    shapes.push_back({p + "mlp.gate_proj.weight", {F, C}});
    shapes.push_back({p + "mlp.up_proj.weight", {F, C}});
    shapes.push_back({p + "mlp.down_proj.weight", {C, F}});
  }
  shapes.push_back({"model.norm.weight", {C}});
  if (!s.tied) shapes.push_back({"lm_head.weight", {V, C}});
  std::vector<std::vector<float>> data;
  std::vector<TensorToWrite> tensors;
  for (size_t t = 0; t < shapes.size(); ++t) {
    int64_t n = 1;
    for (auto d : shapes[t].second) n *= d;
    std::vector<float> v(n);
    bool norm = shapes[t].first.find("norm") != std::string::npos;
    for (int64_t i = 0; i < n; ++i) {
      double u = rng_uniform01_f64(rng_hash(s.seed, t, i)) * 2.0 - 1.0;
      v[i] = norm ? static_cast<float>(1.0 + 0.1 * u) : static_cast<float>(s.init_range * u);
    }
    data.push_back(std::move(v));
  }
  for (size_t t = 0; t < shapes.size(); ++t) tensors.push_back({shapes[t].first, DType::F32, shapes[t].second, data[t].data()});
  make_directories(dir);
  write_safetensors(dir + "/model.safetensors", tensors);
  std::string cfg =
      std::string("{\"architectures\": [\"") + (s.bias ? "Qwen2ForCausalLM" : "LlamaForCausalLM") + "\"], \"model_type\": \"" +
      (s.bias ? "qwen2" : "llama") + "\", \"vocab_size\": " + std::to_string(V) + ", \"hidden_size\": " + std::to_string(C) +
      ", \"intermediate_size\": " + std::to_string(F) + ", \"num_hidden_layers\": " + std::to_string(s.layers) +
      ", \"num_attention_heads\": " + std::to_string(s.heads) + ", \"num_key_value_heads\": " + std::to_string(s.kv_heads) +
      ", \"hidden_act\": \"silu\", \"max_position_embeddings\": 256, \"rms_norm_eps\": 1e-05" +
      ", \"rope_theta\": 10000.0, \"tie_word_embeddings\": " + (s.tied ? "true" : "false") + ", \"torch_dtype\": \"float32\"" +
      (s.sliding_window > 0 ? ", \"sliding_window\": " + std::to_string(s.sliding_window) + ", \"use_sliding_window\": true"
                            : std::string()) +
      "}";
  write_text_file_atomic(dir + "/config.json", cfg);
  return dir;
}

// B rows of length T with a deterministic pseudo-random token pattern; row r has length lengths[r].
inline loralab::Batch make_batch(int B, int T, int V, uint64_t seed, std::vector<int32_t> lengths = {},
                                 int64_t first_example = 0) {
  loralab::Batch b;
  b.rows = B;
  b.seq_len = T;
  if (lengths.empty()) lengths.assign(B, T);
  b.lengths = lengths;
  for (int r = 0; r < B; ++r) {
    b.example_ids.push_back(first_example + r);
    std::vector<int32_t> row(T + 1);
    for (int t = 0; t <= T; ++t) row[t] = static_cast<int32_t>(loralab::rng_hash(seed, first_example + r, t) % V);
    for (int t = 0; t < T; ++t) {
      bool valid = t < lengths[r];
      b.tokens.push_back(valid ? row[t] : 0);
      b.targets.push_back(valid && t + 1 < lengths[r] + 1 && t >= 1 ? row[t + 1] : -100);
    }
  }
  return b;
}

}  // namespace tiny
