// ctest: training through the Engine facade on a tiny random Llama: overfitting a tiny batch
// (LoRA and full, AdamW and SGD), a fresh adapter being a no-op, 1 x micro-batch 8 == 8 x 1,
// gradient checkpointing == plain, memory accounting, parameter counts, option errors.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "engine.h"
#include "error.h"
#include "io/safetensors.h"
#include "model/llama.h"
#include "test_options.h"
#include "test_util.h"
#include "tiny_model.h"

using namespace loralab;

static std::string g_model;

static EngineOptions base_options() {
  EngineOptions o = test_engine_options();
  o.precision = Precision::FP32True;
  o.targets = LoraTargets{true, true, true, true, true, true};
  o.lora_r = 8;
  o.lora_alpha = 16;
  o.warmup_steps = 0;
  o.lr_schedule = LrSchedule::Constant;
  o.weight_decay = 0.0f;
  o.grad_clip = 1.0f;
  o.threads = 2;
  return o;
}

static void overfit(const char* name, Method method, OptimizerKind opt, float lr, int steps, float clip = 1.0f) {
  EngineOptions o = base_options();
  o.grad_clip = clip;
  o.method = method;
  o.optimizer = opt;
  o.learning_rate = lr;
  o.precision = Precision::BF16True;
  auto engine = Engine::load(g_model, o);
  Batch b = tiny::make_batch(1, 12, 64, 11);
  double first = 0, last = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < steps; ++s) {
    StepResult r = engine->step({b});
    if (s == 0) first = r.loss;
    last = r.loss;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("  overfit %-11s loss %.4f -> %.4f (%.1f%% drop) in %d steps, %.0f steps/s\n", name, first, last,
              100.0 * (1.0 - last / first), steps, steps / secs);
  CHECK(last < 0.1 * first);
}

static std::vector<float> state_param(const std::string& dir, const std::string& name) {
  auto f = SafetensorsFile::open(dir + "/state.safetensors");
  const TensorView& t = f->get("param/" + name);
  std::vector<float> v(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = load_as_f32(t.data, t.dtype, i);
  return v;
}

// 1 x micro-batch 8 == 8 x micro-batch 1 (LoRA with dropout too): SGD without momentum, decay or
// clipping moves every parameter by -lr * grad, so the saved parameters expose the gradients.
static void accumulation(Method method) {
  EngineOptions o = base_options();
  o.method = method;
  o.optimizer = OptimizerKind::SGD;
  o.momentum = 0.0f;
  o.grad_clip = 0.0f;
  o.learning_rate = 1.0f;
  o.lora_dropout = method == Method::LoRA ? 0.1f : 0.0f;  // masks are keyed per example: split-invariant
  std::vector<int32_t> lengths = {10, 7, 10, 3, 9, 10, 5, 8};
  Batch big = tiny::make_batch(8, 10, 64, 21, lengths);
  std::vector<Batch> singles;
  for (int r = 0; r < 8; ++r) singles.push_back(tiny::make_batch(1, 10, 64, 21, {lengths[r]}, r));
  auto e1 = Engine::load(g_model, o), e8 = Engine::load(g_model, o);
  StepResult r1 = e1->step({big}), r8 = e8->step(singles);
  const std::string d = tiny::make_temp_dir("accum");
  e1->save_state(d + "/one");
  e8->save_state(d + "/eight");
  e1 = Engine::load(g_model, o);
  e1->save_state(d + "/start");
  const char* pname = method == Method::LoRA ? "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"
                                             : "model.layers.0.self_attn.q_proj.weight";
  auto p0 = state_param(d + "/start", pname), p1 = state_param(d + "/one", pname), p8 = state_param(d + "/eight", pname);
  double max_delta = 0, diff = 0;
  for (size_t i = 0; i < p0.size(); ++i) {
    max_delta = std::fmax(max_delta, std::fabs(p1[i] - p0[i]));
    diff = std::fmax(diff, std::fabs((p1[i] - p0[i]) - (p8[i] - p0[i])));
  }
  std::printf("  accumulation %s: loss %.9f vs %.9f, grad norm %.9f vs %.9f, grad max diff %.2e (max |grad| %.2e)\n",
              method == Method::LoRA ? "lora" : "full", r1.loss, r8.loss, r1.grad_norm, r8.grad_norm, diff, max_delta);
  CHECK(r1.tokens == r8.tokens);
  CHECK_NEAR(r1.loss, r8.loss, 1e-6 * r1.loss);
  CHECK_NEAR(r1.grad_norm, r8.grad_norm, 1e-5 * r1.grad_norm);
  CHECK(max_delta > 0);
  CHECK(diff <= 1e-5 * max_delta + 1e-9);
  remove_tree(d);
}

static void fresh_adapter_and_checkpointing() {
  EngineOptions o = base_options();
  Batch b = tiny::make_batch(2, 12, 64, 31, {12, 9});
  EngineOptions full = o;
  full.method = Method::Full;
  auto lora = Engine::load(g_model, o);
  auto base = Engine::load(g_model, full);
  CHECK(lora->logits(b) == base->logits(b));  // B = 0: bitwise the base model
  for (Method m : {Method::LoRA, Method::Full}) {
    EngineOptions a = o, c = o;
    a.method = c.method = m;
    a.lora_dropout = c.lora_dropout = 0.1f;
    c.gradient_checkpointing = true;
    auto plain = Engine::load(g_model, a), ckpt = Engine::load(g_model, c);
    bool same = true;
    for (int s = 0; s < 3; ++s) {
      StepResult r1 = plain->step({b}), r2 = ckpt->step({b});
      same = same && r1.loss == r2.loss && r1.grad_norm == r2.grad_norm;
    }
    CHECK(same);
    MemoryReport m1 = plain->memory(), m2 = ckpt->memory();
    int act = static_cast<int>(MemCategory::Activations);
    std::printf("  checkpointing %s: identical losses %s; activation peak %llu -> %llu bytes\n",
                m == Method::LoRA ? "lora" : "full", same ? "yes" : "no", (unsigned long long)m1.peak[act],
                (unsigned long long)m2.peak[act]);
    CHECK(m2.peak[act] < m1.peak[act]);
  }
}

static void memory_report() {
  EngineOptions o = base_options();
  o.precision = Precision::BF16True;
  o.targets = LoraTargets{true, false, true, false, false, false};
  auto e = Engine::load(g_model, o);
  e->step({tiny::make_batch(2, 8, 64, 41)});
  MemoryReport m = e->memory();
  ParamCounts pc = e->param_counts();
  auto cat = [&](MemCategory c) { return m.current[static_cast<int>(c)]; };
  uint64_t sum = 0;
  for (auto v : m.current) sum += v;
  CHECK(sum == m.current_total);
  CHECK(m.peak_total >= m.current_total);
  CHECK(cat(MemCategory::LoraParams) == static_cast<uint64_t>(pc.trainable) * 4);
  CHECK(cat(MemCategory::Grads) == static_cast<uint64_t>(pc.trainable) * 4);
  CHECK(cat(MemCategory::OptimizerState) == static_cast<uint64_t>(pc.trainable) * 8);
  const int64_t base = pc.total - pc.trainable, norms = 2 * 2 * 32 + 32;  // 2 layers x 2 norms x C + final norm
  CHECK(cat(MemCategory::Weights) == static_cast<uint64_t>(2 * (base - norms) + 4 * norms));  // bf16 matrices, fp32 norms
  CHECK(m.peak[static_cast<int>(MemCategory::Activations)] > 0);
  CHECK(m.peak[static_cast<int>(MemCategory::Logits)] > 0);
  std::printf("  memory: weights %llu, lora %llu, grads %llu, optimizer %llu, activations peak %llu, logits peak %llu\n",
              (unsigned long long)cat(MemCategory::Weights), (unsigned long long)cat(MemCategory::LoraParams),
              (unsigned long long)cat(MemCategory::Grads), (unsigned long long)cat(MemCategory::OptimizerState),
              (unsigned long long)m.peak[static_cast<int>(MemCategory::Activations)],
              (unsigned long long)m.peak[static_cast<int>(MemCategory::Logits)]);
}

static void param_counts_llama2_7b() {
  ModelConfig c;
  c.vocab_size = 32000, c.hidden_size = 4096, c.intermediate_size = 11008, c.num_layers = 32;
  c.num_heads = 32, c.num_kv_heads = 32, c.head_dim = 128;
  EngineOptions o = test_engine_options();  // r 8, query + value
  PeftAdapterConfig lcfg = lora_config_from_options(o);
  ParamCounts pc = count_parameters(c, &lcfg);
  CHECK(pc.trainable == 4194304);
  CHECK(pc.total == 6738415616LL + 4194304);
  CHECK(pc.trainable_by_target["q"] == 2097152 && pc.trainable_by_target["v"] == 2097152);
  ParamCounts full = count_parameters(c, nullptr);
  CHECK(full.trainable == 6738415616LL);
  // the engine reports the same formula for the tiny model
  EngineOptions t = base_options();
  auto e = Engine::load(g_model, t);
  PeftAdapterConfig tl = lora_config_from_options(t);
  CHECK(e->param_counts().trainable == count_parameters(e->config(), &tl).trainable);
}

static bool throws_code(const std::function<void()>& f, const std::string& code, const std::string& text = "") {
  try {
    f();
  } catch (const Error& e) {
    if (e.code() != code) std::fprintf(stderr, "  got %s: %s\n", e.code().c_str(), e.what());
    return e.code() == code && std::string(e.what()).find(text) != std::string::npos;
  }
  return false;
}

static void option_errors() {
  EngineOptions o = base_options();
  o.precision = Precision::FP16True;
  CHECK(throws_code([&] { Engine::load(g_model, o); }, "E_PRECISION_UNSUPPORTED"));
  o = base_options();
  o.quantize = Quantize::NF4;  // QLoRA trains LoRA adapters only (test_qlora_engine covers the rest)
  o.method = Method::Full;
  CHECK(throws_code([&] { Engine::load(g_model, o); }, "E_CONFIG_INVALID", "method 'lora'"));
  o = base_options();
  o.targets = LoraTargets{false, false, false, false, false, false};
  CHECK(throws_code([&] { Engine::load(g_model, o); }, "E_CONFIG_INVALID"));
  // EngineOptions has no defaults: unset (zero) values that cannot work are refused, naming the key
  EngineOptions unset;
  unset.targets.query = true;
  CHECK(throws_code([&] { Engine::load(g_model, unset); }, "E_CONFIG_INVALID", "lora.r"));
  unset.lora_r = 8;
  CHECK(throws_code([&] { Engine::load(g_model, unset); }, "E_CONFIG_INVALID", "lora.alpha"));
  unset.lora_alpha = 16;
  CHECK(Engine::load(g_model, unset) != nullptr);  // inference needs no optimizer or schedule values
  unset.training = true;
  CHECK(throws_code([&] { Engine::load(g_model, unset); }, "E_CONFIG_INVALID", "train.learning_rate"));
  unset.learning_rate = 1e-3f;
  CHECK(throws_code([&] { Engine::load(g_model, unset); }, "E_CONFIG_INVALID", "total steps"));
  unset.total_steps = 10;
  CHECK(throws_code([&] { Engine::load(g_model, unset); }, "E_CONFIG_INVALID", "epsilon"));
  unset.beta1 = 0.9f, unset.beta2 = 0.999f, unset.eps = 1e-8f;
  CHECK(Engine::load(g_model, unset)->step({tiny::make_batch(1, 8, 64, 3)}).step == 1);
  tiny::Spec s;
  s.bias = true;  // Qwen2 with use_sliding_window
  s.sliding_window = 8;
  std::string dir = tiny::write_model(tiny::make_temp_dir("sliding"), s);
  auto e = Engine::load(dir, base_options());
  CHECK(e->logits(tiny::make_batch(1, 8, 64, 1)).size() == 8 * 64);
  CHECK(throws_code([&] { e->logits(tiny::make_batch(1, 9, 64, 1)); }, "E_CONFIG_UNSUPPORTED", "sliding_window"));
  Batch bad = tiny::make_batch(1, 4, 64, 1);
  bad.tokens[2] = 64;
  CHECK(throws_code([&] { e->logits(bad); }, "E_TOKEN_RANGE"));
  remove_tree(dir);
}

// abort() from another thread makes the step in flight throw E_ABORTED; nothing is updated. A step
// that ends before this thread gets the CPU back (a loaded machine) is retried.
static void abort_step() {
  EngineOptions o = base_options();
  auto e = Engine::load(g_model, o);
  Batch b = tiny::make_batch(4, 32, 64, 51);
  std::string code;
  for (int attempt = 0; attempt < 20 && code.empty(); ++attempt) {
    const int before = e->steps_done();
    std::atomic<bool> done{false};
    std::thread worker([&] {
      try {
        e->step({b, b, b, b});
      } catch (const Error& err) {
        code = err.code();
      }
      done.store(true);
    });
    while (!done.load()) e->abort();  // the call clears the flag on entry, so keep asking until it ends
    worker.join();
    if (!code.empty()) CHECK(e->steps_done() == before);
  }
  std::printf("  abort during step: %s\n", code.c_str());
  CHECK(code == "E_ABORTED");
  const int before = e->steps_done();
  CHECK(e->step({b}).step == before + 1);  // usable afterwards
}

int main() {
  const std::string dir = tiny::make_temp_dir("train_engine");
  g_model = tiny::write_model(dir, tiny::Spec{});
  try {
    overfit("lora+adamw", Method::LoRA, OptimizerKind::AdamW, 2e-2f, 60);
    overfit("lora+sgd", Method::LoRA, OptimizerKind::SGD, 0.2f, 100);
    overfit("full+adamw", Method::Full, OptimizerKind::AdamW, 1e-2f, 60);
    overfit("full+sgd", Method::Full, OptimizerKind::SGD, 0.5f, 60);
    accumulation(Method::LoRA);
    accumulation(Method::Full);
    fresh_adapter_and_checkpointing();
    memory_report();
    param_counts_llama2_7b();
    option_errors();
    abort_step();
  } catch (const Error& e) {
    std::fprintf(stderr, "%s [%s] at %s\n", e.what(), e.code().c_str(), e.where().c_str());
    CHECK(false);
  }
  remove_tree(dir);
  return test_summary("test_train_engine");
}
