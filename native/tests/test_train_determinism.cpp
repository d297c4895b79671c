// ctest: determinism by construction. Same seed + data -> bitwise identical losses; 1, 2 and 3
// threads -> bitwise identical; save state at step k, load into a fresh engine, continue ->
// bitwise the uninterrupted run (dropout masks included); another seed -> other losses. QLoRA with
// 256-token micro-batches (the 4-bit linears on the dense GEMM's panels): 1, 2, 3 threads bitwise.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "engine.h"
#include "error.h"
#include "test_options.h"
#include "test_util.h"
#include "tiny_model.h"

using namespace loralab;

static std::string g_model;

static EngineOptions options(Method method, OptimizerKind opt, int threads) {
  EngineOptions o = test_engine_options();
  o.method = method;
  o.optimizer = opt;
  o.precision = Precision::BF16True;
  o.targets = LoraTargets{true, true, true, true, true, true};
  o.lora_dropout = method == Method::LoRA ? 0.1f : 0.0f;
  o.learning_rate = opt == OptimizerKind::AdamW ? 5e-3f : 0.1f;
  o.warmup_steps = 2;
  o.total_steps = 8;
  o.lr_schedule = LrSchedule::Cosine;
  o.min_lr = 1e-4f;
  o.threads = threads;
  o.seed = 99;
  return o;
}

static std::vector<Batch> step_batches(int step) {  // 2 micro-batches of 2 rows, new data each step
  return {tiny::make_batch(2, 10, 64, 100 + step, {10, 7}, 4 * step),
          tiny::make_batch(2, 10, 64, 200 + step, {5, 10}, 4 * step + 2)};
}

static std::vector<double> run(const EngineOptions& o, int from, int to, const std::string& load_dir = "",
                               const std::string& save_dir = "", int save_after = -1) {
  auto e = Engine::load(g_model, o);
  if (!load_dir.empty()) e->load_state(load_dir);
  std::vector<double> losses;
  for (int s = from; s < to; ++s) {
    StepResult r = e->step(step_batches(s));
    losses.push_back(r.loss);
    losses.push_back(r.grad_norm);
    if (s + 1 == save_after) e->save_state(save_dir);
  }
  return losses;
}

int main() {
  const std::string dir = tiny::make_temp_dir("determinism");
  g_model = tiny::write_model(dir + "/model", tiny::Spec{});
  try {
    for (Method m : {Method::LoRA, Method::Full}) {
      for (OptimizerKind opt : {OptimizerKind::AdamW, OptimizerKind::SGD}) {
        const char* name = m == Method::LoRA ? (opt == OptimizerKind::AdamW ? "lora+adamw" : "lora+sgd")
                                             : (opt == OptimizerKind::AdamW ? "full+adamw" : "full+sgd");
        const std::string state = dir + "/state-" + name;
        std::vector<double> a = run(options(m, opt, 2), 0, 6, "", state, 3);
        std::vector<double> b = run(options(m, opt, 2), 0, 6);
        std::vector<double> t1 = run(options(m, opt, 1), 0, 6);
        std::vector<double> t3 = run(options(m, opt, 3), 0, 6);
        std::vector<double> resumed = run(options(m, opt, 2), 3, 6, state);
        EngineOptions other = options(m, opt, 2);
        other.seed = 100;
        std::vector<double> c = run(other, 0, 6);
        bool resume_same = std::vector<double>(a.begin() + 6, a.end()) == resumed;
        std::printf("  %-10s losses %.6f .. %.6f: rerun %s, 1 thread %s, 3 threads %s, resumed at 3 %s, seed+1 %s\n", name,
                    a[0], a[10], a == b ? "==" : "!=", a == t1 ? "==" : "!=", a == t3 ? "==" : "!=",
                    resume_same ? "==" : "!=", a == c ? "==" : "!=");
        CHECK(a == b);
        CHECK(a == t1);
        CHECK(a == t3);
        CHECK(resume_same);
        if (m == Method::LoRA) CHECK(a != c);  // the seed drives LoRA init and dropout
        CHECK(std::isfinite(a[10]) && a[10] > 0);
      }
    }
    {
      auto qlora = [&](int threads) {
        EngineOptions o = options(Method::LoRA, OptimizerKind::AdamW, threads);
        o.quantize = Quantize::NF4DQ;
        auto e = Engine::load(g_model, o);
        std::vector<double> losses;
        for (int s = 0; s < 3; ++s) {
          StepResult r = e->step({tiny::make_batch(2, 128, 64, 300 + s, {128, 97}, 2 * s)});
          losses.push_back(r.loss), losses.push_back(r.grad_norm);
        }
        return losses;
      };
      std::vector<double> q2 = qlora(2), q1 = qlora(1), q3 = qlora(3);
      std::printf("  %-10s losses %.6f .. %.6f: 1 thread %s, 3 threads %s\n", "qlora nf4", q2[0], q2[4],
                  q2 == q1 ? "==" : "!=", q2 == q3 ? "==" : "!=");
      CHECK(q2 == q1);
      CHECK(q2 == q3);
      CHECK(std::isfinite(q2[4]) && q2[4] > 0);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "%s [%s] at %s\n", e.what(), e.code().c_str(), e.where().c_str());
    CHECK(false);
  }
  remove_tree(dir);
  return test_summary("test_train_determinism");
}
