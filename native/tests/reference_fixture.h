// Test helper: the PyTorch reference's fixtures (test/reference/fixtures/<case>, see the README
// there) as C++ values: the golden batch as an Engine Batch, golden tensors as fp32 vectors, and
// check_tensor, which prints the first values and the worst difference like llm.c's test does.
#pragma once
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine.h"
#include "io/files.h"
#include "io/json.h"
#include "io/safetensors.h"

namespace reference {

// The six cases, in the order of the README's table.
inline const std::vector<std::string>& case_names() {
  static const std::vector<std::string> names = {"llama_gqa_llama3_f32", "llama_gqa_llama3_bf16",
                                                 "llama_tied_linear_f32", "mistral_f32",
                                                 "qwen2_bias_f32",       "qwen2_bias_tied_bf16",
                                                 "phi_f32",              "phi_bf16",
                                                 "falcon_mq_f32",        "falcon_grouped_f32",
                                                 "falcon_grouped_bias_bf16"};
  return names;
}
// Cases that also hold train_golden.{json,safetensors}.
inline const std::vector<std::string>& training_case_names() {
  static const std::vector<std::string> names = {"llama_gqa_llama3_f32", "qwen2_bias_tied_bf16", "phi_f32",
                                                 "falcon_grouped_bias_bf16"};
  return names;
}

struct Fixture {
  std::string name;
  std::string dir;          // checkpoint folder (config.json + weights): pass to Engine::load / merge
  std::string adapter_dir;  // PEFT adapter folder
  loralab::JsonValue golden;                           // golden.json
  std::unique_ptr<loralab::SafetensorsFile> tensors;   // golden.safetensors

  // The golden batch: rows 2, seq_len 8, right-padded, targets already shifted (-100 = no loss).
  loralab::Batch batch() const {
    const loralab::JsonValue& b = *golden.find("batch");
    loralab::Batch out;
    out.rows = static_cast<int>(b.find("rows")->as_int());
    out.seq_len = static_cast<int>(b.find("seq_len")->as_int());
    for (int r = 0; r < out.rows; ++r) {
      for (int t = 0; t < out.seq_len; ++t) {
        out.tokens.push_back(static_cast<int32_t>(b.find("tokens")->items()[r].items()[t].as_int()));
        out.targets.push_back(static_cast<int32_t>(b.find("targets")->items()[r].items()[t].as_int()));
      }
      out.lengths.push_back(static_cast<int32_t>(b.find("lengths")->items()[r].as_int()));
      out.example_ids.push_back(r);
    }
    return out;
  }
  // A golden tensor as fp32 (names in the README: "logits", "grad_lora.<peft key>", ...).
  std::vector<float> tensor(const std::string& name) const {
    const loralab::TensorView& v = tensors->get(name);
    std::vector<float> out(static_cast<size_t>(v.numel()));
    loralab::tensor_to_f32(v, out.data());
    return out;
  }
  double number(const std::string& key) const { return golden.find(key)->as_number(); }
  std::vector<int32_t> ids(const std::string& key) const {  // "prompt", "greedy", "greedy_lora"
    std::vector<int32_t> out;
    for (const auto& v : golden.find("generate")->find(key)->items()) out.push_back(static_cast<int32_t>(v.as_int()));
    return out;
  }
};

inline Fixture load_fixture(const std::string& name, const std::string& root = "test/reference/fixtures") {
  Fixture f;
  f.name = name;
  f.dir = loralab::path_join(root, name);
  f.adapter_dir = loralab::path_join(f.dir, "adapter");
  f.golden = loralab::read_json_file(loralab::path_join(f.dir, "golden.json"));
  f.tensors = loralab::SafetensorsFile::open(loralab::path_join(f.dir, "golden.safetensors"));
  return f;
}

// Compares n values; `valid` (optional, n entries) limits the comparison. Passes when
// max |got - want| <= tol. Prints the first values and the worst element either way.
inline bool check_tensor(const char* label, const float* got, const float* want, size_t n, double tol,
                         const std::vector<bool>* valid = nullptr) {
  double worst = 0;
  size_t worst_at = 0;
  for (size_t i = 0; i < n; ++i) {
    if (valid && !(*valid)[i]) continue;
    double d = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (!(d <= worst)) {  // NaN counts as worst
      worst = std::isnan(d) ? INFINITY : d;
      worst_at = i;
    }
  }
  std::printf("%s: got %.6g %.6g %.6g want %.6g %.6g %.6g; max |diff| %.3g at %zu (tol %.3g) %s\n", label,
              n > 0 ? got[0] : 0.f, n > 1 ? got[1] : 0.f, n > 2 ? got[2] : 0.f, n > 0 ? want[0] : 0.f,
              n > 1 ? want[1] : 0.f, n > 2 ? want[2] : 0.f, worst, worst_at, tol, worst <= tol ? "ok" : "FAIL");
  return worst <= tol;
}

// Mask of (B, T, V) logits rows at valid positions (t < length): padding rows are not normative.
inline std::vector<bool> valid_logit_mask(const loralab::Batch& b, size_t vocab) {
  std::vector<bool> mask(static_cast<size_t>(b.rows) * b.seq_len * vocab, false);
  for (int r = 0; r < b.rows; ++r)
    for (int t = 0; t < b.lengths[r]; ++t)
      for (size_t v = 0; v < vocab; ++v) mask[(static_cast<size_t>(r) * b.seq_len + t) * vocab + v] = true;
  return mask;
}

}  // namespace reference
