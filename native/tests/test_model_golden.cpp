// ctest: the engine against the independent PyTorch reference's goldens (test/reference/fixtures):
// logits, logprobs and loss of the base model and with the PEFT adapter, greedy generation, and the
// full-finetuning and LoRA gradients of the loss. Tolerances from the fixture's golden.json.
#include <cmath>
#include <unistd.h>
#include <cstdio>
#include <string>
#include <vector>

#include "engine.h"
#include "error.h"
#include "io/files.h"
#include "io/json.h"
#include "io/peft_adapter.h"
#include "io/safetensors.h"
#include "model/llama.h"
#include "test_options.h"
#include "test_util.h"
#include "threadpool.h"

using namespace loralab;

static const char* kFixtures = "test/reference/fixtures";

struct Golden {
  Batch batch;
  double loss_base = 0, loss_lora = 0, logit_tol = 1e-4, loss_tol = 1e-5, grad_tol = 1e-3;
  int64_t target_tokens = 0;
  std::vector<int32_t> prompt, greedy, greedy_lora;
  int max_new_tokens = 0;
  std::unique_ptr<SafetensorsFile> tensors;
};

static std::vector<int32_t> ints(const JsonValue& a) {
  std::vector<int32_t> v;
  for (const auto& x : a.items()) v.push_back(static_cast<int32_t>(x.as_int()));
  return v;
}

static Golden read_golden(const std::string& dir) {
  Golden g;
  JsonValue j = read_json_file(dir + "/golden.json");
  const JsonValue& b = *j.find("batch");
  g.batch.rows = static_cast<int>(b.find("rows")->as_int());
  g.batch.seq_len = static_cast<int>(b.find("seq_len")->as_int());
  for (const auto& row : b.find("tokens")->items()) for (int32_t t : ints(row)) g.batch.tokens.push_back(t);
  for (const auto& row : b.find("targets")->items()) for (int32_t t : ints(row)) g.batch.targets.push_back(t);
  g.batch.lengths = ints(*b.find("lengths"));
  g.loss_base = j.find("loss_base")->as_number();
  g.loss_lora = j.find("loss_lora")->as_number();
  g.target_tokens = j.find("target_tokens")->as_int();
  const JsonValue& tol = *j.find("tolerances");
  g.logit_tol = tol.find("logits_max_abs_rel")->as_number();
  g.loss_tol = tol.find("loss_abs")->as_number();
  g.grad_tol = tol.find("grad_max_abs_rel")->as_number();
  const JsonValue& gen = *j.find("generate");
  g.prompt = ints(*gen.find("prompt"));
  g.max_new_tokens = static_cast<int>(gen.find("max_new_tokens")->as_int());
  g.greedy = ints(*gen.find("greedy"));
  g.greedy_lora = ints(*gen.find("greedy_lora"));
  g.tensors = SafetensorsFile::open(dir + "/golden.safetensors");
  return g;
}

static std::vector<float> golden_tensor(const Golden& g, const std::string& name) {
  const TensorView& t = g.tensors->get(name);
  std::vector<float> v(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = load_as_f32(t.data, t.dtype, i);
  return v;
}

// max |a-b| over valid (non-padding) positions of (B,T,V) logits, relative to max(1, max|b|)
static double logits_error(const Golden& g, const std::vector<float>& a, const std::vector<float>& b, int64_t V) {
  double worst = 0, scale = 1;
  for (int r = 0; r < g.batch.rows; ++r)
    for (int t = 0; t < g.batch.lengths[r]; ++t)
      for (int64_t v = 0; v < V; ++v) {
        size_t i = (static_cast<size_t>(r) * g.batch.seq_len + t) * V + v;
        worst = std::fmax(worst, std::fabs(a[i] - b[i]));
        scale = std::fmax(scale, std::fabs(b[i]));
      }
  return worst / scale;
}

static void check_forward(const std::string& name, const std::string& dir, const Golden& g, bool bf16) {
  EngineOptions o = test_engine_options();
  o.precision = bf16 ? Precision::BF16True : Precision::FP32True;
  o.targets.query = o.targets.value = true;
  o.threads = 2;
  auto engine = Engine::load(dir, o);
  const int64_t V = engine->config().vocab_size;
  // a fresh adapter (B = 0) is a no-op: these are the base model's numbers
  double e_logits = logits_error(g, engine->logits(g.batch), golden_tensor(g, "logits"), V);
  std::vector<float> lp = engine->logprobs(g.batch), lp_ref = golden_tensor(g, "logprobs");
  double e_lp = 0;
  for (size_t i = 0; i < lp.size(); ++i) e_lp = std::fmax(e_lp, std::fabs(lp[i] - lp_ref[i]));
  double loss = engine->eval_loss({g.batch});
  auto greedy = engine->generate(g.prompt, GenerateOptions{g.max_new_tokens, 0.0f, 1.0f, 0, {}}, nullptr);
  engine->load_adapter(dir + "/adapter");
  double e_lora = logits_error(g, engine->logits(g.batch), golden_tensor(g, "logits_lora"), V);
  double loss_lora = engine->eval_loss({g.batch});
  std::vector<int32_t> streamed;
  auto greedy_lora = engine->generate(g.prompt, GenerateOptions{g.max_new_tokens, 0.0f, 1.0f, 0, {}},
                                      [&](int32_t t) { streamed.push_back(t); return true; });
  std::printf("  %-22s logits rel err %.2e, lora %.2e; logprob err %.2e; loss err %.2e, lora %.2e; greedy %s, lora %s\n",
              name.c_str(), e_logits, e_lora, e_lp, std::fabs(loss - g.loss_base), std::fabs(loss_lora - g.loss_lora),
              greedy == g.greedy ? "==" : "!=", greedy_lora == g.greedy_lora ? "==" : "!=");
  CHECK(e_logits <= g.logit_tol);
  CHECK(e_lora <= g.logit_tol);
  CHECK(e_lp <= 1e-4);
  CHECK_NEAR(loss, g.loss_base, g.loss_tol);
  CHECK_NEAR(loss_lora, g.loss_lora, g.loss_tol);
  CHECK(greedy == g.greedy);
  CHECK(greedy_lora == g.greedy_lora);
  CHECK(streamed == greedy_lora);
  // base + adapter == the merged checkpoint (merge_adapter writes the stored dtype, so bf16 rounds)
  char tmpl[] = "/tmp/loralab_merged_XXXXXX";
  const std::string merged_root = mkdtemp(tmpl), merged_dir = merged_root + "/merged";
  merge_adapter(dir, dir + "/adapter", merged_dir);
  EngineOptions plain = o;
  plain.training = false;
  auto merged = Engine::load(merged_dir, plain);
  double e_merged = logits_error(g, merged->logits(g.batch), golden_tensor(g, "logits_merged"), V);
  double e_vs_lora = logits_error(g, merged->logits(g.batch), golden_tensor(g, "logits_lora"), V);
  std::printf("  %-22s merged checkpoint: logits rel err %.2e vs the reference's merged, %.2e vs base + adapter\n",
              name.c_str(), e_merged, e_vs_lora);
  CHECK(e_merged <= g.logit_tol);
  CHECK(e_vs_lora <= (bf16 ? 2e-2 : g.logit_tol));
  remove_tree(merged_root);
}

// Gradients of the mean loss through the model internals (the Engine hides them).
static void check_grads(const std::string& name, const std::string& dir, const Golden& g, bool bf16, Method method) {
  EngineOptions o = test_engine_options();
  o.precision = bf16 ? Precision::BF16True : Precision::FP32True;
  o.method = method;
  MemTracker mem;
  ThreadPool pool(2);
  std::atomic<bool> abort_flag{false};
  auto ckpt = CheckpointReader::open(dir);
  LlamaModel model(load_model_config(dir), o, *ckpt, &mem, &pool, &abort_flag);
  const char* prefix = "grad_full.";
  if (method == Method::LoRA) {
    model.install_adapter(load_peft_adapter(dir + "/adapter"));
    prefix = "grad_lora.";
  }
  for (Param* p : model.trainable()) p->grad.zero();
  std::vector<int64_t> ids = {0, 1};
  PassContext ctx;
  ctx.B = g.batch.rows, ctx.T = g.batch.seq_len, ctx.tokens = g.batch.tokens.data(), ctx.lengths = g.batch.lengths.data();
  ctx.example_ids = ids.data(), ctx.training = true;
  model.forward(ctx);
  double loss = model.head_loss(ctx, g.batch.targets.data(), 1.0f / g.target_tokens, nullptr) / g.target_tokens;
  model.backward(ctx);
  double worst = 0;
  int compared = 0;
  for (Param* p : model.trainable()) {
    std::vector<float> ref = golden_tensor(g, prefix + p->name);
    double mx = 0, err = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      mx = std::fmax(mx, std::fabs(ref[i]));
      err = std::fmax(err, std::fabs(p->grad[i] - ref[i]));
    }
    double rel = err / std::fmax(mx, 1e-12);
    if (rel > g.grad_tol) std::printf("    %s: rel err %.3e\n", p->name.c_str(), rel);
    worst = std::fmax(worst, rel);
    ++compared;
  }
  std::printf("  %-22s %s grads: %d tensors, worst rel err %.2e (loss %.6f)\n", name.c_str(),
              method == Method::LoRA ? "lora" : "full", compared, worst, loss);
  CHECK(compared > 0);
  CHECK(worst <= g.grad_tol);
}

int main() {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"llama_gqa_llama3_f32", false}, {"llama_gqa_llama3_bf16", true}, {"llama_tied_linear_f32", false},
      {"mistral_f32", false},          {"qwen2_bias_f32", false},       {"qwen2_bias_tied_bf16", true},
      {"phi_f32", false},              {"phi_bf16", true},              {"falcon_mq_f32", false},
      {"falcon_grouped_f32", false},   {"falcon_grouped_bias_bf16", true}};
  for (const auto& [name, bf16] : cases) {
    const std::string dir = std::string(kFixtures) + "/" + name;
    try {
      Golden g = read_golden(dir);
      check_forward(name, dir, g, bf16);
      check_grads(name, dir, g, bf16, Method::Full);
      check_grads(name, dir, g, bf16, Method::LoRA);
    } catch (const Error& e) {
      std::fprintf(stderr, "%s: %s [%s] at %s\n", name.c_str(), e.what(), e.code().c_str(), e.where().c_str());
      CHECK(false);
    }
  }
  return test_summary("test_model_golden");
}
