// ctest: the Phi and Falcon families beyond the goldens: the real phi-1_5 / falcon-7b / falcon-40b
// config.json (test/fixtures/model-configs) and their parameter totals, every refusal naming its key
// (ALiBi, RWForCausalLM, the Wqkv Phi layout, qk_layernorm, ...), device: cuda taking both families, LoRA
// target names per family, adapters of another family, and gradient checkpointing (with LoRA dropout)
// reproducing the plain backward exactly.
#include <atomic>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "engine.h"
#include "error.h"
#include "io/files.h"
#include "io/json.h"
#include "io/peft_adapter.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/llama.h"
#include "test_options.h"
#include "test_util.h"
#include "threadpool.h"

using namespace loralab;

namespace {

const std::string kConfigs = "test/fixtures/model-configs/";
const std::string kFixtures = "test/reference/fixtures/";

std::string with(const std::string& base, const std::string& key, const std::string& value_json) {
  JsonValue v = parse_json(base, "base");
  v.set(key, parse_json(value_json, "value"));
  return v.dump();
}

void test_real_configs() {
  ModelConfig phi = parse_model_config(read_text_file(kConfigs + "phi-1_5.json"), "phi-1_5");
  CHECK(phi.family == ModelFamily::Phi && phi.head_dim == 64 && phi.rotary_dim == 32 && phi.num_kv_heads == 32);
  CHECK(phi.mlp == MlpKind::GeluTanh && phi.linear_bias && phi.head_bias && !phi.tie_word_embeddings);
  CHECK(count_parameters(phi, nullptr).total == 1418270720);
  ModelConfig f7 = parse_model_config(read_text_file(kConfigs + "falcon-7b.json"), "falcon-7b");
  CHECK(f7.family == ModelFamily::Falcon && f7.qkv_layout == QkvLayout::MultiQuery && f7.num_kv_heads == 1);
  CHECK(f7.head_dim == 64 && f7.intermediate_size == 4 * 4544 && f7.tie_word_embeddings && !f7.linear_bias);
  CHECK(f7.parallel_norms == 1 && f7.mlp == MlpKind::GeluErf && f7.eos_token_ids == std::vector<int>{11});
  CHECK(count_parameters(f7, nullptr).total == 6921720704LL);
  ModelConfig f40 = parse_model_config(read_text_file(kConfigs + "falcon-40b.json"), "falcon-40b");
  CHECK(f40.qkv_layout == QkvLayout::Grouped && f40.num_kv_heads == 8 && f40.parallel_norms == 2);
  CHECK(count_parameters(f40, nullptr).total == 41303293952LL);
  const std::string f40_text = read_text_file(kConfigs + "falcon-40b.json");
  CHECK(parse_model_config(with(f40_text, "num_ln_in_parallel_attn", "1"), "x").parallel_norms == 1);
}

// Falcon configs written before transformers' FalconConfig name the shape n_layer / n_head / n_embed
// (transformers' attribute map) and n_head_kv; they read as the current keys.
std::string renamed(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find("\"" + from + "\"");
  CHECK(at != std::string::npos);
  if (at != std::string::npos) text.replace(at, from.size() + 2, "\"" + to + "\"");
  return text;
}

void test_falcon_old_key_names() {
  std::string f40 = read_text_file(kConfigs + "falcon-40b.json");
  f40 = renamed(renamed(renamed(renamed(f40, "num_hidden_layers", "n_layer"), "num_attention_heads", "n_head"), "hidden_size", "n_embed"),
                "num_kv_heads", "n_head_kv");
  const ModelConfig c = parse_model_config(f40, "falcon-40b (old keys)");
  CHECK(c.num_layers == 60 && c.num_heads == 128 && c.hidden_size == 8192 && c.num_kv_heads == 8);
  CHECK(count_parameters(c, nullptr).total == 41303293952LL);
  const std::string phi = renamed(read_text_file(kConfigs + "phi-1_5.json"), "num_attention_heads", "n_head");
  const std::string msg = expect_error("E_CONFIG_PARSE", [&] { parse_model_config(phi, "phi"); });
  CHECK(msg.find("num_attention_heads") != std::string::npos);  // the aliases are Falcon's only
}

void test_refusals() {
  const std::string phi = read_text_file(kConfigs + "phi-1_5.json");
  const std::string falcon = read_text_file(kConfigs + "falcon-7b.json");
  struct Case {
    std::string text, code, needle;
  } cases[] = {
      {with(falcon, "alibi", "true"), "E_CONFIG_UNSUPPORTED", "alibi"},
      {with(falcon, "parallel_attn", "false"), "E_CONFIG_UNSUPPORTED", "parallel_attn"},
      {with(falcon, "apply_residual_connection_post_layernorm", "true"), "E_CONFIG_UNSUPPORTED", "post_layernorm"},
      {with(falcon, "activation", "\"relu\""), "E_CONFIG_UNSUPPORTED", "activation"},
      {with(falcon, "attention_dropout", "0.1"), "E_CONFIG_UNSUPPORTED", "attention_dropout"},
      {with(with(falcon, "architectures", "[\"RWForCausalLM\"]"), "model_type", "\"RefinedWeb\""), "E_CONFIG_UNSUPPORTED", "RWForCausalLM"},
      {with(falcon, "model_type", "\"RefinedWebModel\""), "E_CONFIG_UNSUPPORTED", "remote-code Falcon"},
      {with(phi, "qk_layernorm", "true"), "E_CONFIG_UNSUPPORTED", "qk_layernorm"},
      {with(phi, "hidden_act", "\"gelu\""), "E_CONFIG_UNSUPPORTED", "hidden_act"},
      {with(phi, "resid_pdrop", "0.1"), "E_CONFIG_UNSUPPORTED", "resid_pdrop"},
      {with(phi, "tie_word_embeddings", "true"), "E_CONFIG_UNSUPPORTED", "tie_word_embeddings"},
      {with(with(phi, "architectures", "null"), "model_type", "\"phi-msft\""), "E_CONFIG_UNSUPPORTED", "Wqkv"},
      {with(phi, "model_type", "\"falcon\""), "E_CONFIG_UNSUPPORTED", "model_type"},
  };
  for (const Case& c : cases) {
    const std::string msg = expect_error(c.code.c_str(), [&] { parse_model_config(c.text, "config.json"); });
    if (msg.find(c.needle) == std::string::npos) std::fprintf(stderr, "  '%s' lacks '%s'\n", msg.c_str(), c.needle.c_str());
    CHECK(msg.find(c.needle) != std::string::npos);
  }
}

// A PhiForCausalLM config.json over the old remote-code tensors (transformer.h.0.mixer.Wqkv.weight).
void test_wqkv_checkpoint() {
  const std::string dir = make_temp_dir("wqkv");
  write_text_file_atomic(path_join(dir, "config.json"), read_text_file(kFixtures + "phi_f32/config.json"));
  std::vector<float> w(96 * 32, 0.0f);
  write_safetensors(path_join(dir, "model.safetensors"), {{"transformer.h.0.mixer.Wqkv.weight", DType::F32, {96, 32}, w.data()}});
  EngineOptions o = test_engine_options();
  o.precision = Precision::FP32True;
  const std::string msg = expect_error("E_CONFIG_UNSUPPORTED", [&] { Engine::load(dir, o); });
  CHECK(msg.find("Wqkv") != std::string::npos && msg.find("PhiForCausalLM revision") != std::string::npos);
  remove_tree(dir);
}

// device: cuda takes Phi and Falcon (parallel_block_cuda.h): the family is no longer refused; without a
// CUDA build or device the load fails for that reason alone (E_NO_CUDA), with one it loads the family.
void test_cuda_accepts_families() {
  for (const char* name : {"phi_f32", "falcon_mq_f32", "falcon_grouped_bias_bf16"}) {
    EngineOptions o = test_engine_options();
    o.device = "cuda";
    std::string code = "none";
    try {
      auto e = Engine::load(kFixtures + name, o);
      CHECK(e->config().family == (name[0] == 'p' ? ModelFamily::Phi : ModelFamily::Falcon));
    } catch (const Error& e) {
      code = e.code();
      std::printf("  %s on cuda: %s: %s\n", name, e.code().c_str(), e.what());
    }
    CHECK(code == "none" || code == "E_NO_CUDA");
  }
}

void test_lora_targets() {
  EngineOptions o = test_engine_options();
  o.targets = LoraTargets{false, true, false, true, true, true};  // key, projection, mlp, head
  auto names = [](const PeftAdapterConfig& c) {
    std::string s;
    for (const auto& t : c.target_modules) s += (s.empty() ? "" : ",") + t;
    return s;
  };
  CHECK(names(lora_config_from_options(o, ModelFamily::Falcon)) == "query_key_value,dense,dense_h_to_4h,dense_4h_to_h,lm_head");
  CHECK(names(lora_config_from_options(o, ModelFamily::Phi)) == "k_proj,dense,fc1,fc2,lm_head");
  CHECK(names(lora_config_from_options(o, ModelFamily::Llama)) == "k_proj,o_proj,gate_proj,up_proj,down_proj,lm_head");
  CHECK(peft_module_path(PeftModule::Q, 3, ModelFamily::Falcon) == "transformer.h.3.self_attention.query_key_value");
  // a Llama adapter (o_proj, gate_proj, ...) on a Phi model, a Phi adapter on Falcon: refused by module
  EngineOptions p = test_engine_options();
  p.precision = Precision::FP32True;
  auto phi = Engine::load(kFixtures + "phi_f32", p);
  std::string msg = expect_error("E_ADAPTER_MISMATCH", [&] { phi->load_adapter(kFixtures + "llama_gqa_llama3_f32/adapter"); });
  CHECK(msg.find("PhiForCausalLM") != std::string::npos);
  auto falcon = Engine::load(kFixtures + "falcon_mq_f32", p);
  expect_error("E_ADAPTER_MISMATCH", [&] { falcon->load_adapter(kFixtures + "phi_f32/adapter"); });
  // the adapter a Falcon engine saves is its own family's (PEFT keys under transformer.h)
  const std::string dir = make_temp_dir("falcon-adapter");
  falcon->save_adapter(path_join(dir, "a"), "tiiuae/falcon-7b");
  PeftAdapter a = load_peft_adapter(path_join(dir, "a"));
  CHECK(a.config.family == ModelFamily::Falcon && a.config.target_modules == std::vector<std::string>{"query_key_value"});
  falcon->load_adapter(path_join(dir, "a"));
  // only "dense" targeted (a name Phi has too): the tensor keys under transformer.h say Falcon
  EngineOptions dense_only = p;
  dense_only.targets = LoraTargets{false, false, false, true, false, false};
  auto falcon_dense = Engine::load(kFixtures + "falcon_mq_f32", dense_only);
  falcon_dense->save_adapter(path_join(dir, "d"), "tiiuae/falcon-7b");
  PeftAdapter d = load_peft_adapter(path_join(dir, "d"));
  CHECK(d.config.family == ModelFamily::Falcon && d.pairs.size() == 2);
  falcon_dense->load_adapter(path_join(dir, "d"));
  remove_tree(dir);
}

// LoRA (dropout 0.1) and full gradients with gradient checkpointing equal those without, bit for bit.
void test_checkpointing(const std::string& name, Method method) {
  std::vector<std::vector<float>> grads[2];
  const std::string dir = kFixtures + name;
  JsonValue g = read_json_file(dir + "/golden.json");
  const JsonValue& b = *g.find("batch");
  std::vector<int32_t> tokens, targets, lengths;
  for (const auto& row : b.find("tokens")->items())
    for (const auto& t : row.items()) tokens.push_back(int32_t(t.as_int()));
  for (const auto& row : b.find("targets")->items())
    for (const auto& t : row.items()) targets.push_back(int32_t(t.as_int()));
  for (const auto& l : b.find("lengths")->items()) lengths.push_back(int32_t(l.as_int()));
  for (int ckpt = 0; ckpt < 2; ++ckpt) {
    EngineOptions o = test_engine_options();
    o.precision = Precision::FP32True;
    o.method = method;
    o.targets = LoraTargets{true, true, true, true, true, true};
    o.lora_dropout = 0.1f;
    o.gradient_checkpointing = ckpt == 1;
    MemTracker mem;
    ThreadPool pool(2);
    std::atomic<bool> abort_flag{false};
    auto reader = CheckpointReader::open(dir);
    LlamaModel model(load_model_config(dir), o, *reader, &mem, &pool, &abort_flag);
    for (Param* p : model.trainable()) p->grad.zero();
    if (method == Method::LoRA)
      for (LoraPair* p : model.lora_pairs())  // B random so every adapter path carries gradient
        for (int64_t i = 0; i < p->B.numel(); ++i) p->B.f32()[i] = 0.01f * float((i * 7919) % 13 - 6);
    std::vector<int64_t> ids = {0, 1};
    PassContext ctx;
    ctx.B = 2, ctx.T = 8, ctx.tokens = tokens.data(), ctx.lengths = lengths.data(), ctx.example_ids = ids.data();
    ctx.training = true, ctx.step = 3;
    model.forward(ctx);
    model.head_loss(ctx, targets.data(), 0.1f, nullptr);
    model.backward(ctx);
    for (Param* p : model.trainable()) grads[ckpt].emplace_back(p->grad.data(), p->grad.data() + p->numel());
  }
  CHECK(grads[0].size() == grads[1].size() && !grads[0].empty());
  size_t differing = 0;
  double norm = 0;
  for (size_t i = 0; i < grads[0].size(); ++i) {
    differing += grads[0][i] != grads[1][i];
    for (float v : grads[0][i]) norm += double(v) * v;
  }
  std::printf("  %-22s %s: gradient checkpointing, %zu of %zu gradients differ (norm %.4f)\n", name.c_str(),
              method == Method::LoRA ? "lora, dropout 0.1" : "full", differing, grads[0].size(), std::sqrt(norm));
  CHECK(differing == 0 && norm > 0);
}

}  // namespace

int main() {
  try {
    test_real_configs();
    test_falcon_old_key_names();
    test_refusals();
    test_wqkv_checkpoint();
    test_cuda_accepts_families();
    test_lora_targets();
    for (const char* name : {"phi_f32", "falcon_mq_f32", "falcon_grouped_f32"}) {
      test_checkpointing(name, Method::LoRA);
      test_checkpointing(name, Method::Full);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "%s [%s] at %s\n", e.what(), e.code().c_str(), e.where().c_str());
    CHECK(false);
  }
  return test_summary("test_family_config");
}
