// ctest (label cuda): the whole CUDA Llama (native/cuda/llama_cuda.h) against the CPU engine, in
// bf16 and as QLoRA (nf4 with double quantization, fp4), on a tiny random checkpoint with a random LoRA adapter on q/k/v/o/gate/up/down (B
// != 0, so every gradient is informative) and a right-padded batch: logits at valid positions (max |diff| within 3% of max |logit|), the
// loss (1% relative) and every LoRA gradient (relative L2 error 5%; the CPU gradients are read back from one plain SGD step with lr 1: g =
// before - after), then repeated CUDA steps give bitwise equal gradients. Exits 77 without CUDA or without a device.
#include <cstdio>

#ifndef LORALAB_WITH_CUDA
int main() {
  std::printf("test_llama_cuda: skipped: this build has no CUDA (configure with -DLORALAB_CUDA=ON and nvcc)\n");
  return 77;
}
#else
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine.h"
#include "io/peft_adapter.h"
#include "llama_cuda.h"
#include "rng.h"
#include "test_options.h"
#include "test_util.h"
#include "tiny_model.h"
#include "cuda_test.h"
#include "cuda_vs_cpu.h"

using namespace loralab;
using namespace loralab::cuda_vs_cpu;

namespace {

void run_case(const std::string& model_dir, const std::string& adapter_dir, const std::vector<PeftLoraPair>& pairs,
              int V, Quantize quantize, const char* label) {
  std::printf("== %s\n", label);
  const int B = 2, T = 24;
  Batch batch = tiny::make_batch(B, T, V, 3, {T, 17});

  // CPU: logits, then one SGD step with lr 1 (no clipping, no decay, no momentum)
  EngineOptions o = test_engine_options();
  o.quantize = quantize;
  o.optimizer = OptimizerKind::SGD, o.momentum = 0.0f, o.learning_rate = 1.0f, o.weight_decay = 0.0f;
  o.grad_clip = 0.0f, o.lr_schedule = LrSchedule::Constant, o.warmup_steps = 0, o.threads = 2;
  auto cpu = Engine::load(model_dir, o);
  cpu->load_adapter(adapter_dir);
  std::vector<float> cpu_logits = cpu->logits(batch);
  StepResult r = cpu->step({batch});
  const std::string after_dir = tiny::make_temp_dir("cuda_after");
  cpu->save_adapter(after_dir, "tiny");
  PeftAdapter after = load_peft_adapter(after_dir);

  MemTracker tracker;
  cuda::LlamaCuda gpu(model_dir, &tracker, 0, quantize);
  gpu.install_adapter(load_peft_adapter(adapter_dir));
  const double loss = gpu.forward_loss(batch.tokens, batch.targets, B, T, batch.lengths);
  std::vector<float> gpu_logits = gpu.logits();
  double maxabs = 0, maxdiff = 0;
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < batch.lengths[b]; ++t)
      for (int v = 0; v < V; ++v) {
        const size_t i = (size_t(b) * T + t) * V + v;
        maxabs = std::max(maxabs, double(std::fabs(cpu_logits[i])));
        maxdiff = std::max(maxdiff, double(std::fabs(gpu_logits[i] - cpu_logits[i])));
      }
  std::printf("logits: max|cpu| %.4g, max|diff| %.4g\n", maxabs, maxdiff);
  CHECK(maxdiff <= 0.03 * maxabs);
  std::printf("loss: cpu %.6f cuda %.6f\n", r.loss, loss);
  CHECK(std::fabs(loss - r.loss) <= 0.01 * r.loss);
  gpu.zero_grads();
  gpu.backward(B, T);
  PeftAdapter grads = gpu.adapter(true);
  CHECK(grads.pairs.size() == pairs.size());
  double worst = 0;
  for (size_t i = 0; i < grads.pairs.size() && i < pairs.size(); ++i) {
    const PeftLoraPair* before = &pairs[i];
    const PeftLoraPair* cpu_after = after.find(grads.pairs[i].module, grads.pairs[i].layer);
    CHECK(cpu_after != nullptr);
    if (!cpu_after) continue;
    std::vector<float> gA(before->A.size()), gB(before->B.size());
    for (size_t j = 0; j < gA.size(); ++j) gA[j] = before->A[j] - cpu_after->A[j];
    for (size_t j = 0; j < gB.size(); ++j) gB[j] = before->B[j] - cpu_after->B[j];
    const double eA = rel_l2(grads.pairs[i].A, gA), eB = rel_l2(grads.pairs[i].B, gB);
    std::printf("  layer %d %-9s dA rel err %.3g, dB rel err %.3g\n", grads.pairs[i].layer,
                peft_module_name(grads.pairs[i].module), eA, eB);
    CHECK(eA <= 0.05);
    CHECK(eB <= 0.05);
    worst = std::max(worst, std::max(eA, eB));
  }
  std::printf("worst LoRA gradient rel L2 error vs CPU: %.3g\n", worst);
  repeat_is_bitwise(gpu, batch, B, T, grads, "");  // determinism of a repeated step on the device
}
}  // namespace

int main() {
  if (!cuda_test::have_device("test_llama_cuda")) return 77;
  try {
    tiny::Spec spec;
    spec.vocab = 96, spec.hidden = 64, spec.intermediate = 128, spec.heads = 4, spec.kv_heads = 2;
    const std::string model_dir = tiny::write_model(tiny::make_temp_dir("cuda_model"), spec);
    // a random adapter on every block linear
    PeftAdapterConfig lcfg;
    lcfg.r = 4, lcfg.lora_alpha = 8;
    lcfg.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
    ModelConfig mcfg = load_model_config(model_dir);
    std::vector<PeftLoraPair> pairs;
    uint64_t stream_id = 0;
    for (int l = 0; l < mcfg.num_layers; ++l)
      for (int m = 0; m < 7; ++m) {
        PeftLoraPair p;
        p.module = static_cast<PeftModule>(m), p.layer = l;
        peft_module_shape(mcfg, p.module, &p.out_features, &p.in_features);
        p.A.resize(lcfg.r * p.in_features), p.B.resize(p.out_features * lcfg.r);
        for (size_t i = 0; i < p.A.size(); ++i) p.A[i] = float(rng_uniform01_f64(rng_hash(5, stream_id, i)) - 0.5) * 0.4f;
        ++stream_id;
        for (size_t i = 0; i < p.B.size(); ++i) p.B[i] = float(rng_uniform01_f64(rng_hash(5, stream_id, i)) - 0.5) * 0.4f;
        ++stream_id;
        pairs.push_back(std::move(p));
      }
    std::vector<PeftLoraView> views;
    for (auto& p : pairs) views.push_back(PeftLoraView{p.module, p.layer, p.in_features, p.out_features, p.A.data(), p.B.data()});
    const std::string adapter_dir = tiny::make_temp_dir("cuda_adapter");
    save_peft_adapter(adapter_dir, lcfg, views);
    for (auto [q, label] : {std::pair<Quantize, const char*>{Quantize::None, "bf16"},
                             {Quantize::NF4DQ, "qlora nf4 + double quant"}, {Quantize::FP4, "qlora fp4"}})
      run_case(model_dir, adapter_dir, pairs, spec.vocab, q, label);
  } catch (const Error& e) {
    std::fprintf(stderr, "test_llama_cuda: %s: %s (%s)\n", e.code().c_str(), e.what(), e.where().c_str());
    return 1;
  }
  return test_summary("test_llama_cuda");
}
#endif
