// ctest: config.json parsing for Llama / Mistral / Qwen2 (the reference fixtures, real-world
// shapes of Llama 2, Llama 3.1 and Qwen2 configs) and refusal, naming the key, of everything the
// engine does not implement.
#include <string>

#include "error.h"
#include "io/json.h"
#include "model/config.h"
#include "test_util.h"

using namespace loralab;

namespace {

const std::string kLlama2 = R"({"architectures":["LlamaForCausalLM"],"bos_token_id":1,"eos_token_id":2,
  "hidden_act":"silu","hidden_size":4096,"initializer_range":0.02,"intermediate_size":11008,
  "max_position_embeddings":4096,"model_type":"llama","num_attention_heads":32,"num_hidden_layers":32,
  "num_key_value_heads":32,"pretraining_tp":1,"rms_norm_eps":1e-05,"rope_scaling":null,
  "tie_word_embeddings":false,"torch_dtype":"float16","transformers_version":"4.31.0.dev0","use_cache":true,
  "vocab_size":32000})";

// Replaces or adds one top-level key of a config text.
std::string with(const std::string& base, const std::string& key, const std::string& value_json) {
  JsonValue v = parse_json(base, "base");
  v.set(key, parse_json(value_json, "value"));
  return v.dump();
}

void test_fixtures() {
  ModelConfig a = load_model_config("test/reference/fixtures/llama_gqa_llama3_f32");
  CHECK(a.architecture == "LlamaForCausalLM" && a.model_type == "llama");
  CHECK(a.vocab_size == 80 && a.hidden_size == 32 && a.intermediate_size == 48 && a.num_layers == 2);
  CHECK(a.num_heads == 4 && a.num_kv_heads == 2 && a.head_dim == 16);
  CHECK(a.rope_scaling.type == RopeScalingType::Llama3 && a.rope_scaling.factor == 8.0f);
  CHECK(a.rope_scaling.original_max_position_embeddings == 8192 && a.rope_scaling.high_freq_factor == 4.0f);
  CHECK(!a.tie_word_embeddings && !a.attention_bias && a.sliding_window == 0);
  CHECK(a.rms_norm_eps == 1e-5f && a.rope_theta == 10000.0f && a.torch_dtype == "float32");
  CHECK(a.bos_token_id == 1 && a.eos_token_ids.size() == 1 && a.eos_token_ids[0] == 2);
  ModelConfig t = load_model_config("test/reference/fixtures/llama_tied_linear_f32");
  CHECK(t.tie_word_embeddings && t.head_dim == 8 && t.rope_scaling.type == RopeScalingType::Linear &&
        t.rope_scaling.factor == 2.0f);
  ModelConfig m = load_model_config("test/reference/fixtures/mistral_f32");
  CHECK(m.model_type == "mistral" && m.num_kv_heads == 1 && m.sliding_window == 4096 && m.rope_theta == 1e6f);
  ModelConfig q = load_model_config("test/reference/fixtures/qwen2_bias_tied_bf16");
  CHECK(q.model_type == "qwen2" && q.attention_bias && q.tie_word_embeddings && q.sliding_window == 0);
  CHECK(q.torch_dtype == "bfloat16");
  expect_error("E_CONFIG_MISSING", [] { load_model_config("test/reference"); });
  CHECK(layer_tensor_name(3, "mlp.up_proj.weight") == "model.layers.3.mlp.up_proj.weight");
}

void test_real_world_shapes() {
  ModelConfig l2 = parse_model_config(kLlama2, "llama2/config.json");
  CHECK(l2.head_dim == 128 && l2.num_kv_heads == 32 && l2.rope_scaling.type == RopeScalingType::None);
  // Llama 3.1: llama3 rope scaling, eos list; Llama 3.2: tied with explicit head_dim.
  std::string l31 = with(with(kLlama2, "rope_scaling",
                              R"({"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
                                  "original_max_position_embeddings":8192,"rope_type":"llama3"})"),
                         "eos_token_id", "[128001,128008,128009]");
  l31 = with(with(l31, "num_key_value_heads", "8"), "rope_theta", "500000.0");
  ModelConfig c31 = parse_model_config(l31, "llama31");
  CHECK(c31.rope_scaling.type == RopeScalingType::Llama3 && c31.eos_token_ids.size() == 3 && c31.num_kv_heads == 8);
  CHECK(c31.rope_theta == 500000.0f);
  // transformers 5 style: theta and type inside rope_parameters.
  ModelConfig v5 = parse_model_config(
      with(kLlama2, "rope_parameters", R"({"rope_type":"linear","factor":4.0,"rope_theta":20000.0})"), "v5");
  CHECK(v5.rope_scaling.type == RopeScalingType::Linear && v5.rope_scaling.factor == 4.0f && v5.rope_theta == 20000.0f);
  // Qwen2 with a configured but disabled sliding window (as Qwen2-0.5B ships).
  std::string qwen = R"({"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","hidden_size":896,
    "intermediate_size":4864,"num_hidden_layers":24,"num_attention_heads":14,"num_key_value_heads":2,
    "vocab_size":151936,"use_sliding_window":false,"sliding_window":131072,"max_window_layers":24,
    "rope_theta":1000000.0,"tie_word_embeddings":true,"hidden_act":"silu","rms_norm_eps":1e-06,
    "attention_dropout":0.0,"bos_token_id":151643,"eos_token_id":151643,"torch_dtype":"bfloat16"})";
  ModelConfig cq = parse_model_config(qwen, "qwen2");
  CHECK(cq.head_dim == 64 && cq.sliding_window == 0 && cq.attention_bias);
  ModelConfig cqw = parse_model_config(with(qwen, "use_sliding_window", "true"), "qwen2-window");
  CHECK(cqw.sliding_window == 131072);
  std::string msg = expect_error("E_CONFIG_UNSUPPORTED", [&] {
    parse_model_config(with(with(qwen, "use_sliding_window", "true"), "max_window_layers", "12"), "q");
  });
  CHECK(msg.find("max_window_layers") != std::string::npos);
  // Mistral v0.2+: sliding_window null means no window.
  std::string mistral = with(with(with(kLlama2, "architectures", R"(["MistralForCausalLM"])"), "model_type",
                                  "\"mistral\""), "sliding_window", "null");
  CHECK(parse_model_config(mistral, "mistral").sliding_window == 0);
}

void test_refusals() {
  struct Case {
    const char* key;
    const char* value;
    const char* code;
  } cases[] = {
      {"hidden_act", "\"gelu\"", "E_CONFIG_UNSUPPORTED"},
      {"rope_scaling", R"({"type":"dynamic","factor":2.0})", "E_CONFIG_UNSUPPORTED"},
      {"rope_scaling", R"({"rope_type":"yarn","factor":4.0})", "E_CONFIG_UNSUPPORTED"},
      {"rope_scaling", R"({"rope_type":"llama3","factor":8.0})", "E_CONFIG_PARSE"},
      {"attention_dropout", "0.1", "E_CONFIG_UNSUPPORTED"},
      {"mlp_bias", "true", "E_CONFIG_UNSUPPORTED"},
      {"attention_bias", "true", "E_CONFIG_UNSUPPORTED"},
      {"quantization_config", R"({"quant_method":"gptq"})", "E_CONFIG_UNSUPPORTED"},
      {"partial_rotary_factor", "0.5", "E_CONFIG_UNSUPPORTED"},
      {"architectures", R"(["GPT2LMHeadModel"])", "E_CONFIG_UNSUPPORTED"},
      {"model_type", "\"gemma\"", "E_CONFIG_UNSUPPORTED"},
      {"hidden_size", "\"4096\"", "E_CONFIG_PARSE"},
      {"num_key_value_heads", "5", "E_CONFIG_PARSE"},
      {"head_dim", "7", "E_CONFIG_PARSE"},
      {"vocab_size", "-3", "E_CONFIG_PARSE"},
      {"tie_word_embeddings", "1", "E_CONFIG_PARSE"},
      {"eos_token_id", "\"</s>\"", "E_CONFIG_PARSE"},
  };
  for (const auto& c : cases) {
    std::string msg = expect_error(c.code, [&] { parse_model_config(with(kLlama2, c.key, c.value), "x/config.json"); });
    if (msg.find(c.key) == std::string::npos) std::fprintf(stderr, "  message lacks key %s: %s\n", c.key, msg.c_str());
    CHECK(msg.find(c.key) != std::string::npos && msg.find("x/config.json") != std::string::npos);
  }
  JsonValue no_hidden = parse_json(kLlama2, "b");
  no_hidden.erase("hidden_size");
  std::string msg = expect_error("E_CONFIG_PARSE", [&] { parse_model_config(no_hidden.dump(), "c"); });
  CHECK(msg.find("hidden_size") != std::string::npos);
  expect_error("E_CONFIG_PARSE", [] { parse_model_config("{\"hidden_size\": ", "broken"); });
}

}  // namespace

int main() {
  test_fixtures();
  test_real_world_shapes();
  test_refusals();
  return test_summary("test_model_config");
}
