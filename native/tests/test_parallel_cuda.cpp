// ctest (label cuda): the parallel-block families on CUDA (parallel_block_cuda.h) against the CPU engine on the
// PyTorch reference's tiny checkpoints (test/reference/fixtures): phi_f32 (partial rotary, gelu_new, biases on
// every linear and the head), falcon_mq_f32 (falcon-7b style: multi-query fused query_key_value, shared norm,
// tied head), falcon_grouped_f32 (falcon-40b style: grouped kv, ln_attn + ln_mlp) and falcon_grouped_bias_bf16
// (bias: true). Per checkpoint, with test_llama_cuda / test_engine_cuda's tolerances (frozen weights bf16 on
// both engines, activations bf16 on CUDA):
//   model level (LlamaCuda, a random adapter on every PEFT target of the family and lm_head, B != 0), bf16 and QLoRA nf4 +
//   double quant and fp4: logits at valid positions within 3% of max |logit|, the loss 1%, every LoRA gradient
//   5% relative L2 (the CPU's read back from one SGD step with lr 1), a repeated step bitwise equal;
//   engine level (Engine::load device cuda vs cpu): LoRA on every target incl. lm_head (init bitwise, logits,
//   logprobs 0.05, 2 SGD steps: losses 1%, grad norms 5%, adapters 5%), LoRA dropout 0.1 with gradient
//   checkpointing (bitwise the plain CUDA run, losses 1% of the CPU's), QLoRA nf4 steps, full finetuning
//   (AdamW and SGD: every weight, LayerNorm and linear biases, the head bias), greedy generation.
// Exits 77 without CUDA or without a device.
#include <cstdio>

#ifndef LORALAB_WITH_CUDA
int main() {
  std::printf("test_parallel_cuda: skipped: this build has no CUDA (configure with -DLORALAB_CUDA=ON and nvcc)\n");
  return 77;
}
#else
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "engine.h"
#include "io/peft_adapter.h"
#include "llama_cuda.h"
#include "rng.h"
#include "cuda_test.h"
#include "cuda_vs_cpu.h"
#include "test_options.h"
#include "test_util.h"
#include "tiny_model.h"

using namespace loralab;
using namespace loralab::cuda_vs_cpu;

namespace {
const std::string kFixtures = "test/reference/fixtures/";

void compare_adapters(Engine& cpu, Engine& gpu, double tol, bool exact) {
  const std::string dc = tiny::make_temp_dir("pc_cpu"), dg = tiny::make_temp_dir("pc_gpu");
  cpu.save_adapter(dc, "tiny");
  gpu.save_adapter(dg, "tiny");
  PeftAdapter a = load_peft_adapter(dc), b = load_peft_adapter(dg);
  CHECK(a.pairs.size() == b.pairs.size() && !a.pairs.empty());
  double worst = 0;
  for (const PeftLoraPair& p : a.pairs) {
    const PeftLoraPair* q = b.find(p.module, p.layer);
    CHECK(q != nullptr);
    if (!q) continue;
    if (exact) CHECK(p.A == q->A && p.B == q->B);
    const double eA = rel_l2(q->A, p.A),
                 eB = std::any_of(p.B.begin(), p.B.end(), [](float x) { return x != 0.0f; }) ? rel_l2(q->B, p.B) : 0.0;
    worst = std::max(worst, std::max(eA, eB));
    CHECK(eA <= tol && eB <= tol);
  }
  std::printf("  adapters: worst rel L2 %.3g (%zu pairs)\n", worst, a.pairs.size());
}

// The PEFT targets of the family's blocks (the CPU's slots): Phi q, k, v, dense, fc1, fc2; Falcon
// query_key_value (slot Q), dense, dense_h_to_4h, dense_4h_to_h.
std::vector<PeftModule> block_targets(const ModelConfig& c) {
  if (c.family == ModelFamily::Falcon) return {PeftModule::Q, PeftModule::O, PeftModule::Up, PeftModule::Down};
  return {PeftModule::Q, PeftModule::K, PeftModule::V, PeftModule::O, PeftModule::Up, PeftModule::Down};
}

// A PEFT adapter folder with random A and B (B != 0, so every gradient is informative) on every block target
// and lm_head.
std::string random_adapter(const std::string& model_dir) {
  const ModelConfig mcfg = load_model_config(model_dir);
  PeftAdapterConfig lcfg;
  lcfg.r = 4, lcfg.lora_alpha = 8, lcfg.family = mcfg.family;
  for (PeftModule m : block_targets(mcfg)) lcfg.target_modules.push_back(peft_module_name(m, mcfg.family));
  lcfg.target_modules.push_back("lm_head");
  std::vector<PeftLoraPair> pairs;
  uint64_t stream_id = 0;
  for (int l = -1; l < mcfg.num_layers; ++l)  // -1: lm_head
    for (PeftModule m : l < 0 ? std::vector<PeftModule>{PeftModule::Head} : block_targets(mcfg)) {
      PeftLoraPair p;
      p.module = m, p.layer = l;
      peft_module_shape(mcfg, m, &p.out_features, &p.in_features);
      p.A.resize(lcfg.r * p.in_features), p.B.resize(p.out_features * lcfg.r);
      for (size_t i = 0; i < p.A.size(); ++i) p.A[i] = float(rng_uniform01_f64(rng_hash(9, stream_id, i)) - 0.5) * 0.4f;
      ++stream_id;
      for (size_t i = 0; i < p.B.size(); ++i) p.B[i] = float(rng_uniform01_f64(rng_hash(9, stream_id, i)) - 0.5) * 0.4f;
      ++stream_id;
      pairs.push_back(std::move(p));
    }
  std::vector<PeftLoraView> views;
  for (auto& p : pairs) views.push_back(PeftLoraView{p.module, p.layer, p.in_features, p.out_features, p.A.data(), p.B.data()});
  const std::string dir = tiny::make_temp_dir("pc_adapter");
  save_peft_adapter(dir, lcfg, views);
  return dir;
}

// LlamaCuda directly: logits, loss, every LoRA gradient vs the CPU engine (its SGD lr-1 step), determinism
void model_level(const std::string& dir, int V, Quantize quantize, const char* label) {
  std::printf("== %s: model level, %s\n", dir.c_str(), label);
  const std::string adapter_dir = random_adapter(dir);
  const PeftAdapter start = load_peft_adapter(adapter_dir);
  const int B = 2, T = 20;
  Batch batch = tiny::make_batch(B, T, V, 3, {T, 13});
  EngineOptions o = test_engine_options();
  o.quantize = quantize;
  o.optimizer = OptimizerKind::SGD, o.momentum = 0.0f, o.learning_rate = 1.0f, o.weight_decay = 0.0f;
  o.grad_clip = 0.0f, o.lr_schedule = LrSchedule::Constant, o.warmup_steps = 0, o.threads = 2;
  auto cpu = Engine::load(dir, o);
  cpu->load_adapter(adapter_dir);
  std::vector<float> cpu_logits = cpu->logits(batch);
  StepResult r = cpu->step({batch});
  const std::string after_dir = tiny::make_temp_dir("pc_after");
  cpu->save_adapter(after_dir, "tiny");
  PeftAdapter after = load_peft_adapter(after_dir);

  MemTracker tracker;
  cuda::LlamaCuda gpu(dir, &tracker, 0, quantize);
  gpu.install_adapter(load_peft_adapter(adapter_dir));
  const double loss = gpu.forward_loss(batch.tokens, batch.targets, B, T, batch.lengths);
  compare_logits(cpu_logits, gpu.logits(), batch, V, label);
  check_rel(loss, r.loss, 0.01, "loss");
  gpu.zero_grads();
  gpu.backward(B, T);
  PeftAdapter grads = gpu.adapter(true);
  CHECK(grads.pairs.size() == start.pairs.size());
  double worst = 0;
  for (size_t i = 0; i < grads.pairs.size(); ++i) {
    const PeftLoraPair* before = start.find(grads.pairs[i].module, grads.pairs[i].layer);
    const PeftLoraPair* cpu_after = after.find(grads.pairs[i].module, grads.pairs[i].layer);
    CHECK(before != nullptr && cpu_after != nullptr);
    if (!before || !cpu_after) continue;
    std::vector<float> gA(before->A.size()), gB(before->B.size());
    for (size_t j = 0; j < gA.size(); ++j) gA[j] = before->A[j] - cpu_after->A[j];
    for (size_t j = 0; j < gB.size(); ++j) gB[j] = before->B[j] - cpu_after->B[j];
    const double eA = rel_l2(grads.pairs[i].A, gA), eB = rel_l2(grads.pairs[i].B, gB);
    std::printf("  layer %d %-16s dA rel err %.3g, dB rel err %.3g\n", grads.pairs[i].layer,
                peft_module_name(grads.pairs[i].module, gpu.config().family), eA, eB);
    CHECK(eA <= 0.05 && eB <= 0.05);
    worst = std::max(worst, std::max(eA, eB));
  }
  std::printf("  worst LoRA gradient rel L2 error vs CPU: %.3g\n", worst);
  repeat_is_bitwise(gpu, batch, B, T, grads, "  ");
}

EngineOptions base_options() {
  EngineOptions o = test_engine_options();
  o.threads = 2;
  o.lr_schedule = LrSchedule::Constant, o.warmup_steps = 0, o.grad_clip = 0.0f;
  o.targets = LoraTargets{true, true, true, true, true, true};  // every target, lm_head included
  o.lora_r = 4;
  o.optimizer = OptimizerKind::SGD, o.learning_rate = 0.5f;
  return o;
}

// LoRA (every target incl. lm_head), or QLoRA: init, logits, logprobs, 2 SGD steps, adapters
void engine_lora(const std::string& dir, int V, Quantize quantize, const char* label) {
  std::printf("== %s: engine, %s\n", dir.c_str(), label);
  EngineOptions o = base_options();
  o.quantize = quantize;
  Pair p = load_both(dir, o);
  compare_adapters(*p.cpu, *p.gpu, 0.0, true);    // the same seed: bitwise the same init
  const std::string start = random_adapter(dir);  // B != 0 on every target
  p.cpu->load_adapter(start);
  p.gpu->load_adapter(start);
  Batch b = tiny::make_batch(2, 16, V, 3, {16, 10});
  compare_logits(p.cpu->logits(b), p.gpu->logits(b), b, V, label);
  std::vector<float> lc = p.cpu->logprobs(b), lg = p.gpu->logprobs(b);
  double worst = 0;
  for (size_t i = 0; i < lc.size() && i < lg.size(); ++i) worst = std::max(worst, double(std::fabs(lc[i] - lg[i])));
  std::printf("  logprobs: max|diff| %.4g\n", worst);
  CHECK(lc.size() == lg.size() && worst <= 0.05);
  steps_agree(p, 2, two_micro_batches(V), label);
  compare_logits(p.cpu->logits(b), p.gpu->logits(b), b, V, "after 2 steps");
  compare_adapters(*p.cpu, *p.gpu, 0.05, false);
}

// gradient checkpointing with LoRA dropout 0.1: bitwise the plain CUDA run, within 1% of the CPU
void engine_checkpointing(const std::string& dir, int V) {
  std::printf("== %s: gradient checkpointing + dropout 0.1\n", dir.c_str());
  EngineOptions o = base_options();
  o.lora_dropout = 0.1f;
  o.device = "cuda";
  auto plain = Engine::load(dir, o);
  o.gradient_checkpointing = true;
  Pair p = load_both(dir, o);
  const std::vector<Batch> mbs = two_micro_batches(V);
  for (int s = 0; s < 2; ++s) {
    StepResult a = plain->step(mbs), b = p.gpu->step(mbs), c = p.cpu->step(mbs);
    std::printf("  step %d: loss %.9g vs %.9g (checkpointed), grad norm %.9g vs %.9g\n", s + 1, a.loss, b.loss, a.grad_norm, b.grad_norm);
    CHECK(a.loss == b.loss && a.grad_norm == b.grad_norm);
    check_rel(b.loss, c.loss, 0.01, "loss vs the CPU (dropout + checkpointing)");
    check_rel(b.grad_norm, c.grad_norm, 0.05, "grad norm vs the CPU");
  }
  compare_adapters(*plain, *p.gpu, 0.0, true);
}

// full finetuning: every weight (LayerNorm weights and biases, linear and head biases)
void engine_full(const std::string& dir, int V) {
  const Batch b = tiny::make_batch(2, 16, V, 3, {16, 11});
  for (OptimizerKind k : {OptimizerKind::AdamW, OptimizerKind::SGD}) {
    const char* label = k == OptimizerKind::AdamW ? "full adamw" : "full sgd";
    std::printf("== %s: %s\n", dir.c_str(), label);
    EngineOptions o = base_options();
    o.method = Method::Full;
    o.optimizer = k;
    o.learning_rate = k == OptimizerKind::AdamW ? 1e-4f : 0.1f;
    Pair p = load_both(dir, o);
    ParamCounts pc = p.cpu->param_counts(), pg = p.gpu->param_counts();
    CHECK(pc.total == pg.total && pc.trainable == pg.trainable);
    steps_agree(p, 2, two_micro_batches(V), label);
    compare_logits(p.cpu->logits(b), p.gpu->logits(b), b, V, label);
    // the CUDA state resumes on the CPU (same tensor names and order)
    const std::string st = tiny::make_temp_dir("pc_full_state");
    p.gpu->save_state(st);
    StepResult third = p.gpu->step(two_micro_batches(V));
    o.device = "cpu";
    auto c = Engine::load(dir, o);
    c->load_state(st);
    check_rel(third.loss, c->step(two_micro_batches(V)).loss, 0.01, "step 3 resumed on CPU from the CUDA full state");
  }
}

// greedy generation: equal tokens while the CPU's top-1 / top-2 margin is clear (4% of max |logit|)
void engine_generate(const std::string& dir, int V) {
  std::printf("== %s: greedy generate\n", dir.c_str());
  Pair p = load_both(dir, base_options());
  auto clear_argmax = [&](const std::vector<int32_t>& seq) { return cuda_vs_cpu::clear_argmax(*p.cpu, seq, V); };
  std::vector<int32_t> prompt;
  for (uint64_t s = 0; s < 64 && prompt.empty(); ++s) {
    std::vector<int32_t> cand = tiny::make_batch(1, 5, V, 100 + s).tokens;
    if (clear_argmax(cand) >= 0) prompt = cand;
  }
  CHECK(!prompt.empty());
  if (prompt.empty()) return;
  GenerateOptions g;
  g.max_new_tokens = 6;
  std::vector<int32_t> cpu = p.cpu->generate(prompt, g, nullptr), gpu = p.gpu->generate(prompt, g, nullptr);
  CHECK(cpu.size() == 6 && gpu.size() == 6);
  std::vector<int32_t> seq = prompt;
  size_t stable = 0;
  for (; stable < cpu.size() && clear_argmax(seq) >= 0; ++stable) seq.push_back(cpu[stable]);
  std::printf("  cpu/cuda greedy tokens (agreeing on the first %zu, those with a clear argmax):", stable);
  for (size_t i = 0; i < cpu.size(); ++i) std::printf(" %d/%d", cpu[i], i < gpu.size() ? gpu[i] : -1);
  std::printf("\n");
  CHECK(stable >= 1);
  for (size_t i = 0; i < stable && i < gpu.size(); ++i) CHECK(cpu[i] == gpu[i]);
}
}  // namespace

int main() {
  if (!cuda_test::have_device("test_parallel_cuda")) return 77;
  try {
    for (const char* name : {"phi_f32", "falcon_mq_f32", "falcon_grouped_f32", "falcon_grouped_bias_bf16"}) {
      const std::string dir = kFixtures + name;
      const int V = load_model_config(dir).vocab_size;
      model_level(dir, V, Quantize::None, "bf16");
      model_level(dir, V, Quantize::NF4DQ, "qlora nf4 + double quant");
      model_level(dir, V, Quantize::FP4, "qlora fp4");
      engine_lora(dir, V, Quantize::None, "lora bf16");
      engine_lora(dir, V, Quantize::NF4, "qlora nf4");
      engine_checkpointing(dir, V);
      engine_full(dir, V);
      engine_generate(dir, V);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "test_parallel_cuda: %s: %s (%s)\n", e.code().c_str(), e.what(), e.where().c_str());
    return 1;
  }
  return test_summary("test_parallel_cuda");
}
#endif
