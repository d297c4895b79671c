// ctest: whole-model gradients against central finite differences on 2-layer tiny models (Llama
// with GQA and an untied head; Qwen2 with q/k/v biases and a tied head): every trainable tensor in
// LoRA mode (all targets, dropout 0.1 with its fixed counter-based masks) and in full mode. Each
// tensor is checked along its own unit gradient direction g/|g| (the directional derivative is then
// |g|, the largest signal available above fp32 rounding of the loss) with a step of 1e-3 in norm;
// the fp32 forward leaves a noise floor of ~1e-6 / h on the difference quotient.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "engine.h"
#include "error.h"
#include "io/safetensors.h"
#include "model/llama.h"
#include "rng.h"
#include "test_options.h"
#include "test_util.h"
#include "tiny_model.h"

using namespace loralab;

static void check_model(const char* name, const std::string& dir, Method method) {
  EngineOptions o = test_engine_options();
  o.precision = Precision::FP32True;
  o.method = method;
  o.targets = LoraTargets{true, true, true, true, true, true};
  o.lora_r = 4;
  o.lora_alpha = 8;
  o.lora_dropout = method == Method::LoRA ? 0.1f : 0.0f;
  MemTracker mem;
  ThreadPool pool(2);
  std::atomic<bool> abort_flag{false};
  auto ckpt = CheckpointReader::open(dir);
  LlamaModel model(load_model_config(dir), o, *ckpt, &mem, &pool, &abort_flag);
  // B = 0 would leave the A gradients at zero: give every B random values first
  for (LoraPair* p : model.lora_pairs())
    for (int64_t i = 0; i < p->B.numel(); ++i)
      p->B.f32()[i] = static_cast<float>(1.0 * (rng_uniform01_f64(rng_hash(5, p->layer + 1, (int)p->module, i)) - 0.5));
  Batch b = tiny::make_batch(2, 9, 64, 3, {9, 6});
  int64_t tokens = 0;
  for (int32_t t : b.targets) tokens += t != -100;
  auto run = [&](bool grad) {
    PassContext ctx;
    ctx.B = b.rows, ctx.T = b.seq_len, ctx.tokens = b.tokens.data(), ctx.lengths = b.lengths.data();
    ctx.example_ids = b.example_ids.data(), ctx.training = true, ctx.step = 3;
    model.forward(ctx);
    double loss = model.head_loss(ctx, b.targets.data(), grad ? 1.0f / tokens : 0.0f, nullptr) / tokens;
    if (grad) model.backward(ctx);
    return loss;
  };
  for (Param* p : model.trainable()) p->grad.zero();
  run(true);
  double worst = 0, smallest = 1e30;
  int checked = 0;
  for (Param* p : model.trainable()) {
    const int64_t n = p->numel();
    std::vector<float> dir_sign(n);
    double norm = 0;
    for (int64_t i = 0; i < n; ++i) norm += static_cast<double>(p->grad[i]) * p->grad[i];
    norm = std::sqrt(norm);
    double analytic = 0;
    for (int64_t i = 0; i < n; ++i) {
      dir_sign[i] = static_cast<float>(p->grad[i] / norm);
      analytic += static_cast<double>(p->grad[i]) * dir_sign[i];
    }
    const float h = 1e-3f;
    std::vector<float> keep(p->f32(), p->f32() + n);
    for (int64_t i = 0; i < n; ++i) p->f32()[i] = keep[i] + h * dir_sign[i];
    double lp = run(false);
    for (int64_t i = 0; i < n; ++i) p->f32()[i] = keep[i] - h * dir_sign[i];
    double lm = run(false);
    std::copy(keep.begin(), keep.end(), p->f32());
    double fd = (lp - lm) / (2.0 * h);
    double rel = std::fabs(fd - analytic) / std::fmax(std::fabs(analytic), 1e-2);  // |g| below 1e-2: noise floor
    smallest = std::fmin(smallest, std::fabs(analytic));
    if (rel > 1e-2) std::printf("    %s: fd %.6e analytic %.6e rel %.2e\n", p->name.c_str(), fd, analytic, rel);
    worst = std::fmax(worst, rel);
    ++checked;
  }
  std::printf("  %-10s %-18s: %d tensors, worst relative error of |g| %.2e (smallest |g| %.1e)\n", name,
              method == Method::LoRA ? "lora (dropout 0.1)" : "full", checked, worst, smallest);
  CHECK(checked > 0);
  CHECK(worst < 1e-2);
}

int main() {
  const std::string root = tiny::make_temp_dir("model_fd");
  tiny::Spec llama;
  tiny::Spec qwen;
  qwen.bias = true;
  qwen.tied = true;
  qwen.seed = 8;
  const std::string a = tiny::write_model(root + "/llama", llama), b = tiny::write_model(root + "/qwen2", qwen);
  try {
    check_model("llama", a, Method::LoRA);
    check_model("llama", a, Method::Full);
    check_model("qwen2-tied", b, Method::LoRA);
    check_model("qwen2-tied", b, Method::Full);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s [%s] at %s\n", e.what(), e.code().c_str(), e.where().c_str());
    CHECK(false);
  }
  remove_tree(root);
  return test_summary("test_model_fd");
}
