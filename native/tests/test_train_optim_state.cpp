// ctest: training with every optimizer (adamw, sgd, adamw8bit, sgd8bit) x state precision (fp32, bf16)
// on the CPU engine: the trainable-state bytes per category, the loss falls, save at step k + load
// into a fresh engine + continue is bitwise the uninterrupted run, reruns and thread counts are
// bitwise equal, and resuming under another optimizer or precision is refused naming both.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "engine.h"
#include "error.h"
#include "quant/dynamic8.h"
#include "test_options.h"
#include "test_util.h"
#include "tiny_model.h"

using namespace loralab;

static std::string g_model;
// hidden 64, r 32 on q, v and the MLP: gate's and up's B (128 x 32) and down's A (32 x 128) reach 4096
// elements (8-bit moments); the other A and B stay under it and keep fp32 / bf16 moments
static tiny::Spec spec() {
  tiny::Spec s;
  s.vocab = 96, s.hidden = 64, s.intermediate = 128, s.layers = 2, s.heads = 4, s.kv_heads = 2;
  return s;
}

static EngineOptions options(OptimizerKind opt, StatePrecision prec, int threads) {
  EngineOptions o = test_engine_options();
  o.optimizer = opt;
  o.state_precision = prec;
  o.targets = LoraTargets{true, false, true, false, true, false};
  o.lora_r = 32, o.lora_alpha = 64;
  o.lora_dropout = 0.1f;
  const bool adam = opt == OptimizerKind::AdamW || opt == OptimizerKind::AdamW8bit;
  o.learning_rate = adam ? 5e-3f : 0.2f;
  o.warmup_steps = 2, o.total_steps = 12, o.min_lr = 1e-4f;
  o.threads = threads;
  o.seed = 5;
  return o;
}

static std::vector<Batch> batches(int step) {
  return {tiny::make_batch(2, 12, 96, 300 + step % 3, {12, 9}, 4 * (step % 3)),
          tiny::make_batch(2, 12, 96, 400 + step % 3, {7, 12}, 4 * (step % 3) + 2)};
}

static std::vector<double> run(const EngineOptions& o, int from, int to, const std::string& load = "", const std::string& save = "",
                               int save_after = -1) {
  auto e = Engine::load(g_model, o);
  if (!load.empty()) e->load_state(load);
  std::vector<double> out;
  for (int s = from; s < to; ++s) {
    StepResult r = e->step(batches(s));
    out.push_back(r.loss);
    out.push_back(r.grad_norm);
    if (s + 1 == save_after) e->save_state(save);
  }
  return out;
}

// Bytes the engine should count: masters and grads 4 (fp32) or 2 (bf16) per value; moments per tensor.
static void check_bytes(const EngineOptions& o, const char* name) {
  auto e = Engine::load(g_model, o);
  e->step(batches(0));
  const MemoryReport m = e->memory();
  const int64_t C = 64, F = 128, KD = 32, R = 32, L = 2;
  const std::vector<int64_t> tensors = {R * C, C * R, R * C, KD * R, R * C, F * R, R * C, F * R, R * F, C * R};  // q, v, gate, up, down
  const bool bf16 = o.state_precision == StatePrecision::BF16;
  const bool adam = o.optimizer == OptimizerKind::AdamW || o.optimizer == OptimizerKind::AdamW8bit;
  const bool q8 = o.optimizer == OptimizerKind::AdamW8bit || o.optimizer == OptimizerKind::SGD8bit;
  uint64_t values = 0, moments = 0;
  for (int64_t n : tensors) {
    values += L * n;
    const int64_t per = q8 && n >= kMin8bitNumel ? n + 4 * dynamic_blocks(n) : (bf16 ? 2 : 4) * n;
    moments += L * (adam ? 2 : 1) * per;
  }
  const uint64_t lora = m.current[static_cast<int>(MemCategory::LoraParams)];
  const uint64_t grads = m.current[static_cast<int>(MemCategory::Grads)];
  const uint64_t optim = m.current[static_cast<int>(MemCategory::OptimizerState)];
  std::printf("  %-16s lora_params %llu, grads %llu, optimizer_state %llu bytes (%.2f bytes per parameter)\n", name,
              static_cast<unsigned long long>(lora), static_cast<unsigned long long>(grads), static_cast<unsigned long long>(optim),
              static_cast<double>(lora + grads + optim) / values);
  CHECK(lora == (bf16 ? 2 : 4) * values);
  CHECK(grads == (bf16 ? 2 : 4) * values);
  CHECK(optim == moments);
}

int main() {
  const std::string dir = tiny::make_temp_dir("optim-state");
  g_model = tiny::write_model(dir + "/model", spec());
  const OptimizerKind kinds[] = {OptimizerKind::AdamW, OptimizerKind::SGD, OptimizerKind::AdamW8bit, OptimizerKind::SGD8bit};
  const char* kind_names[] = {"adamw", "sgd", "adamw8bit", "sgd8bit"};
  try {
    std::vector<double> fp32_adamw;
    for (int k = 0; k < 4; ++k) {
      for (StatePrecision prec : {StatePrecision::FP32, StatePrecision::BF16}) {
        const std::string name = std::string(kind_names[k]) + (prec == StatePrecision::BF16 ? " bf16" : " fp32");
        const std::string state = dir + "/state-" + std::to_string(k) + (prec == StatePrecision::BF16 ? "b" : "f");
        check_bytes(options(kinds[k], prec, 2), name.c_str());
        std::vector<double> a = run(options(kinds[k], prec, 2), 0, 8, "", state, 4);
        std::vector<double> again = run(options(kinds[k], prec, 2), 0, 8);
        std::vector<double> t3 = run(options(kinds[k], prec, 3), 0, 8);
        std::vector<double> resumed = run(options(kinds[k], prec, 1), 4, 8, state);
        const bool resume_same = std::vector<double>(a.begin() + 8, a.end()) == resumed;
        std::printf("  %-16s loss %.5f -> %.5f: rerun %s, 3 threads %s, resumed at 4 %s\n", name.c_str(), a[0], a[14],
                    a == again ? "==" : "!=", a == t3 ? "==" : "!=", resume_same ? "==" : "!=");
        CHECK(a == again);
        CHECK(a == t3);
        CHECK(resume_same);
        CHECK(std::isfinite(a[14]) && a[14] < a[0]);
        if (k == 0 && prec == StatePrecision::FP32) fp32_adamw = a;
        if (k == 2) {  // 8-bit AdamW follows fp32 AdamW closely over these steps
          const std::vector<double>& ref = fp32_adamw;
          double worst = 0;
          for (size_t i = 0; i < a.size(); i += 2) worst = std::max(worst, std::fabs(a[i] - ref[i]) / ref[i]);
          std::printf("    vs fp32 adamw: largest loss difference %.3f%%\n", 100 * worst);
          CHECK(worst < 0.02);
        }
        // another optimizer or precision on resume is refused, naming both
        const OptimizerKind other = kinds[(k + 2) % 4];
        std::string msg = expect_error("E_STATE_MISMATCH", [&] { run(options(other, prec, 1), 4, 5, state); });
        CHECK(msg.find(std::string("'") + kind_names[k] + "'") != std::string::npos &&
              msg.find(std::string("'") + kind_names[(k + 2) % 4] + "'") != std::string::npos);
        const StatePrecision flipped = prec == StatePrecision::BF16 ? StatePrecision::FP32 : StatePrecision::BF16;
        msg = expect_error("E_STATE_MISMATCH", [&] { run(options(kinds[k], flipped, 1), 4, 5, state); });
        CHECK(msg.find("state_precision 'fp32'") != std::string::npos || msg.find("state_precision 'bf16'") != std::string::npos);
        CHECK(msg.find("'bf16'") != std::string::npos && msg.find("'fp32'") != std::string::npos);
      }
    }
    // bf16 state keeps LoRA masters in bf16: full finetuning refuses it with the key's name
    EngineOptions full = options(OptimizerKind::AdamW, StatePrecision::BF16, 1);
    full.method = Method::Full;
    const std::string msg = expect_error("E_CONFIG_INVALID", [&] { Engine::load(g_model, full); });
    CHECK(msg.find("train.state_precision") != std::string::npos);
    // an adapter saved from bf16 masters loads into an fp32 engine with the same outputs
    {
      auto e = Engine::load(g_model, options(OptimizerKind::AdamW8bit, StatePrecision::BF16, 1));
      for (int s = 0; s < 3; ++s) e->step(batches(s));
      e->save_adapter(dir + "/adapter", "tiny");
      EngineOptions inf = options(OptimizerKind::AdamW, StatePrecision::FP32, 1);
      inf.training = false;
      auto f = Engine::load(g_model, inf);
      f->load_adapter(dir + "/adapter");
      const Batch b = batches(0)[0];
      CHECK(e->logprobs(b) == f->logprobs(b));
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "%s [%s] at %s\n", e.what(), e.code().c_str(), e.where().c_str());
    CHECK(false);
  }
  remove_tree(dir);
  return test_summary("test_train_optim_state");
}
