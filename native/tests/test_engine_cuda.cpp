// ctest (label cuda): the CUDA Engine (Engine::load with device "cuda") against the CPU engine on
// tiny random checkpoints. Tolerances (both engines keep frozen weights in bf16; CUDA also stores
// activations in bf16): logits within 3% of max |logit| at valid positions, logprobs within 0.05,
// losses 1% relative, grad norms 5% relative, SGD adapters 5% relative L2. Covered: the device
// dropout mask (bitwise ops/dropout's) and fp64 reductions, LoRA init (bitwise the CPU's A), logits,
// logprobs, eval_loss, 3 AdamW steps over 2 micro-batches, SGD with clipping, LoRA dropout 0.1,
// Qwen2 q/k/v biases, the lm_head adapter (untied and tied), QLoRA nf4, gradient checkpointing
// (bitwise the plain CUDA run), full finetuning (AdamW / SGD; biases; tied), adapter CUDA -> CPU,
// state save/resume (bitwise on CUDA, CUDA <-> CPU within tolerance), greedy generate and stop
// tokens, abort, E_BUSY, refused options, memory report. Exits 77 without CUDA or without a device.
#include <cstdio>

#ifndef LORALAB_WITH_CUDA
int main() {
  std::printf("test_engine_cuda: skipped: this build has no CUDA (configure with -DLORALAB_CUDA=ON and nvcc)\n");
  return 77;
}
#else
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cuda_ops.h"
#include "engine.h"
#include "io/peft_adapter.h"
#include "ops/dropout.h"
#include "rng.h"
#include "cuda_test.h"
#include "cuda_vs_cpu.h"
#include "test_options.h"
#include "test_util.h"
#include "tiny_model.h"

using namespace loralab;
using namespace loralab::cuda_vs_cpu;

namespace {

EngineOptions base_options(const std::string& device) {
  EngineOptions o = test_engine_options();
  o.device = device;
  o.threads = 2;
  o.learning_rate = 1e-2f;
  o.lr_schedule = LrSchedule::Constant;
  o.warmup_steps = 0;
  o.grad_clip = 0.0f;
  o.targets.query = o.targets.value = o.targets.mlp = true;
  o.lora_r = 4;
  return o;
}

// every adapter tensor of `dir_gpu` against `dir_cpu` (rel L2), or A bitwise when exact
void compare_adapters(const std::string& dir_cpu, const std::string& dir_gpu, double tol, bool exact_A) {
  PeftAdapter a = load_peft_adapter(dir_cpu), b = load_peft_adapter(dir_gpu);
  CHECK(a.pairs.size() == b.pairs.size());
  double worst = 0;
  for (const PeftLoraPair& p : a.pairs) {
    const PeftLoraPair* q = b.find(p.module, p.layer);
    CHECK(q != nullptr);
    if (!q) continue;
    if (exact_A) CHECK(p.A == q->A);
    const double eA = rel_l2(q->A, p.A), eB = rel_l2(q->B, p.B);
    worst = std::max(worst, std::max(eA, p.B.empty() ? 0.0 : eB));
    CHECK(eA <= tol);
    if (std::any_of(p.B.begin(), p.B.end(), [](float x) { return x != 0.0f; })) CHECK(eB <= tol);
  }
  std::printf("  adapters: worst rel L2 %.3g (%zu pairs)\n", worst, a.pairs.size());
}

void test_dropout_mask() {
  std::printf("== dropout mask: device == ops/dropout (CPU)\n");
  const int64_t N = 37, C = 300;
  const float p = 0.1f;
  std::vector<int64_t> ex(N);
  std::vector<int32_t> pos(N);
  for (int64_t n = 0; n < N; ++n) ex[n] = 1000 + n / 5, pos[n] = static_cast<int32_t>(n % 5);
  std::vector<float> ones(N * C, 1.0f), cpu(N * C);
  DropoutKey key{1337, 4, 2 * 16 + 3, ex.data(), pos.data()};
  dropout_forward(nullptr, cpu.data(), ones.data(), key, p, N, C);
  cuda::bf16 *d_in = nullptr, *d_out = nullptr;
  int64_t* d_ex = nullptr;
  int32_t* d_pos = nullptr;
  cudaMalloc(&d_in, 2 * N * C), cudaMalloc(&d_out, 2 * N * C), cudaMalloc(&d_ex, 8 * N), cudaMalloc(&d_pos, 4 * N);
  std::vector<uint16_t> one_bits(N * C, 0x3f80);  // bf16 1.0
  cudaMemcpy(d_in, one_bits.data(), 2 * N * C, cudaMemcpyHostToDevice);
  cudaMemcpy(d_ex, ex.data(), 8 * N, cudaMemcpyHostToDevice);
  cudaMemcpy(d_pos, pos.data(), 4 * N, cudaMemcpyHostToDevice);
  cuda::DropoutKeyCuda dk;
  dk.seed = key.seed, dk.step = key.step, dk.site = key.site, dk.row_examples = d_ex, dk.row_positions = d_pos;
  cuda::dropout_forward(d_out, d_in, dk, p, N, C, nullptr);
  std::vector<uint16_t> out(N * C);
  CHECK(cudaMemcpy(out.data(), d_out, 2 * N * C, cudaMemcpyDeviceToHost) == cudaSuccess);
  int64_t mismatches = 0, dropped = 0;
  for (int64_t i = 0; i < N * C; ++i) {
    mismatches += (out[i] == 0) != (cpu[i] == 0.0f);
    dropped += cpu[i] == 0.0f;
  }
  std::printf("  %lld of %lld dropped on CPU, %lld mask mismatches\n", (long long)dropped, (long long)(N * C), (long long)mismatches);
  CHECK(mismatches == 0);
  CHECK(dropped > 0);
  cudaFree(d_in), cudaFree(d_out), cudaFree(d_ex), cudaFree(d_pos);
}

void test_reductions() {
  std::printf("== sum_of_squares / accumulate_sum vs fp64 host sums\n");
  const std::vector<int64_t> sizes = {1, 255, 256, 257, 100000, 3, 8191};
  std::vector<float*> dev;
  double want = 0.0;
  for (size_t t = 0; t < sizes.size(); ++t) {
    std::vector<float> h(sizes[t]);
    for (int64_t i = 0; i < sizes[t]; ++i) {
      h[i] = static_cast<float>(rng_uniform01_f64(rng_hash(21, t, i)) - 0.5);
      want += static_cast<double>(h[i]) * h[i];
    }
    float* d = nullptr;
    cudaMalloc(&d, 4 * sizes[t]);
    cudaMemcpy(d, h.data(), 4 * sizes[t], cudaMemcpyHostToDevice);
    dev.push_back(d);
  }
  const int count = static_cast<int>(sizes.size());
  const float** d_ptrs = nullptr;
  int64_t* d_sizes = nullptr;
  double *d_partial = nullptr, *d_out = nullptr;
  cudaMalloc(&d_ptrs, sizeof(float*) * count), cudaMalloc(&d_sizes, 8 * count);
  cudaMalloc(&d_partial, 8 * cuda::sumsq_partial_count(count)), cudaMalloc(&d_out, 8);
  cudaMemcpy(d_ptrs, dev.data(), sizeof(float*) * count, cudaMemcpyHostToDevice);
  cudaMemcpy(d_sizes, sizes.data(), 8 * count, cudaMemcpyHostToDevice);
  cuda::sum_of_squares(d_out, d_partial, d_ptrs, d_sizes, count, nullptr);
  double got = 0.0;
  CHECK(cudaMemcpy(&got, d_out, 8, cudaMemcpyDeviceToHost) == cudaSuccess);
  std::printf("  sum of squares: host %.17g device %.17g\n", want, got);
  CHECK(std::fabs(got - want) <= 1e-12 * want);
  // accumulate_sum adds onto what is there
  const double start = 2.5;
  cudaMemcpy(d_out, &start, 8, cudaMemcpyHostToDevice);
  cuda::accumulate_sum(d_out, dev[4], sizes[4], nullptr);
  std::vector<float> h4(sizes[4]);
  cudaMemcpy(h4.data(), dev[4], 4 * sizes[4], cudaMemcpyDeviceToHost);
  double want_sum = start;
  for (float x : h4) want_sum += x;
  CHECK(cudaMemcpy(&got, d_out, 8, cudaMemcpyDeviceToHost) == cudaSuccess);
  std::printf("  accumulate_sum: host %.17g device %.17g\n", want_sum, got);
  CHECK(std::fabs(got - want_sum) <= 1e-9);
  for (float* d : dev) cudaFree(d);
  cudaFree(d_ptrs), cudaFree(d_sizes), cudaFree(d_partial), cudaFree(d_out);
}

void test_basics(const std::string& dir, int V) {
  std::printf("== init, logits, logprobs, eval_loss, param counts, memory\n");
  Pair p = load_both(dir, base_options("cuda"));
  const std::string a_cpu = tiny::make_temp_dir("ec_init_cpu"), a_gpu = tiny::make_temp_dir("ec_init_gpu");
  p.cpu->save_adapter(a_cpu, "tiny");
  p.gpu->save_adapter(a_gpu, "tiny");
  compare_adapters(a_cpu, a_gpu, 0.0, true);  // same seed: bitwise the same A, B = 0
  Batch b = tiny::make_batch(2, 16, V, 3, {16, 11});
  compare_logits(p.cpu->logits(b), p.gpu->logits(b), b, V, "bf16");
  std::vector<float> lc = p.cpu->logprobs(b), lg = p.gpu->logprobs(b);
  double worst = 0;
  bool zeros = lc.size() == lg.size();
  for (size_t i = 0; i < lc.size() && i < lg.size(); ++i) {
    worst = std::max(worst, double(std::fabs(lc[i] - lg[i])));
    if (b.targets[i] == -100) zeros = zeros && lg[i] == 0.0f;
  }
  std::printf("  logprobs: max|diff| %.4g\n", worst);
  CHECK(worst <= 0.05);
  CHECK(zeros);
  check_rel(p.gpu->eval_loss(two_micro_batches(V)), p.cpu->eval_loss(two_micro_batches(V)), 0.01, "eval_loss");
  ParamCounts pc = p.cpu->param_counts(), pg = p.gpu->param_counts();
  CHECK(pc.total == pg.total && pc.trainable == pg.trainable && pc.trainable_by_target == pg.trainable_by_target);
  std::printf("  compute_path %s, device %s\n", p.gpu->compute_path().c_str(), p.gpu->device_name().c_str());
  CHECK(p.gpu->compute_path().rfind("cuda-sm", 0) == 0);
  CHECK(!p.gpu->device_name().empty());
  MemoryReport m = p.gpu->memory();
  CHECK(m.current[static_cast<int>(MemCategory::Weights)] > 0);
  CHECK(m.current[static_cast<int>(MemCategory::LoraParams)] > 0);
  CHECK(m.current[static_cast<int>(MemCategory::OptimizerState)] > 0);
  CHECK(m.peak_total >= m.current_total && m.current_total > 0);
}

// A PEFT adapter folder on q, v and the MLP with random A and B (B != 0: AdamW's first step moves
// every element by about lr whatever its gradient's size, so from B = 0 the sign of near-zero
// gradients, i.e. bf16 noise, would decide a visible part of B; from a random B that part is tiny).
std::string random_adapter(const std::string& model_dir) {
  PeftAdapterConfig lcfg;
  lcfg.r = 4, lcfg.lora_alpha = 8;
  lcfg.target_modules = {"q_proj", "v_proj", "gate_proj", "up_proj", "down_proj"};
  const ModelConfig mcfg = load_model_config(model_dir);
  std::vector<PeftLoraPair> pairs;
  uint64_t stream_id = 0;
  for (int l = 0; l < mcfg.num_layers; ++l)
    for (PeftModule m : {PeftModule::Q, PeftModule::V, PeftModule::Gate, PeftModule::Up, PeftModule::Down}) {
      PeftLoraPair p;
      p.module = m, p.layer = l;
      peft_module_shape(mcfg, m, &p.out_features, &p.in_features);
      p.A.resize(lcfg.r * p.in_features), p.B.resize(p.out_features * lcfg.r);
      for (size_t i = 0; i < p.A.size(); ++i) p.A[i] = float(rng_uniform01_f64(rng_hash(5, stream_id, i)) - 0.5) * 0.4f;
      ++stream_id;
      for (size_t i = 0; i < p.B.size(); ++i) p.B[i] = float(rng_uniform01_f64(rng_hash(5, stream_id, i)) - 0.5) * 0.4f;
      ++stream_id;
      pairs.push_back(std::move(p));
    }
  std::vector<PeftLoraView> views;
  for (auto& p : pairs) views.push_back(PeftLoraView{p.module, p.layer, p.in_features, p.out_features, p.A.data(), p.B.data()});
  const std::string dir = tiny::make_temp_dir("ec_random_adapter");
  save_peft_adapter(dir, lcfg, views);
  return dir;
}

void test_adamw(const std::string& dir, int V) {
  std::printf("== AdamW from a random adapter (lr 1e-3), 3 steps of 2 micro-batches; adapter CUDA -> CPU\n");
  EngineOptions o = base_options("cuda");
  o.learning_rate = 1e-3f;
  Pair p = load_both(dir, o);
  const std::string start = random_adapter(dir);
  p.cpu->load_adapter(start);
  p.gpu->load_adapter(start);
  steps_agree(p, 3, two_micro_batches(V), "adamw");
  CHECK(p.gpu->steps_done() == 3);
  const std::string ad = tiny::make_temp_dir("ec_adamw");
  p.gpu->save_adapter(ad, "tiny");
  o.device = "cpu";
  auto cpu2 = Engine::load(dir, o);
  cpu2->load_adapter(ad);
  Batch b = tiny::make_batch(2, 16, V, 5, {16, 13});
  compare_logits(cpu2->logits(b), p.gpu->logits(b), b, V, "adapter saved on CUDA, loaded on CPU");
}

void test_sgd(const std::string& dir, int V, float dropout, const char* label) {
  std::printf("== SGD (momentum, weight decay, grad clip 1e-4)%s\n", label);
  EngineOptions o = base_options("cuda");
  o.optimizer = OptimizerKind::SGD;
  o.learning_rate = 20.0f;
  o.weight_decay = 0.01f;
  o.grad_clip = 1e-4f;
  o.lora_dropout = dropout;
  Pair p = load_both(dir, o);
  const std::vector<Batch> mbs = two_micro_batches(V);
  StepResult first = p.cpu->step(mbs), firstg = p.gpu->step(mbs);
  CHECK(first.grad_norm > o.grad_clip);  // clipping is active
  check_rel(firstg.loss, first.loss, 0.01, "step 1 loss");
  steps_agree(p, 2, mbs, label);
  const std::string ac = tiny::make_temp_dir("ec_sgd_cpu"), ag = tiny::make_temp_dir("ec_sgd_gpu");
  p.cpu->save_adapter(ac, "tiny");
  p.gpu->save_adapter(ag, "tiny");
  compare_adapters(ac, ag, 0.05, false);
}

void test_variant(const std::string& dir, int V, EngineOptions o, const char* label) {
  std::printf("== %s\n", label);
  o.optimizer = OptimizerKind::SGD;
  o.learning_rate = 0.5f;
  Pair p = load_both(dir, o);
  Batch b = tiny::make_batch(2, 16, V, 3, {16, 10});
  compare_logits(p.cpu->logits(b), p.gpu->logits(b), b, V, label);
  steps_agree(p, 2, two_micro_batches(V), label);
  compare_logits(p.cpu->logits(b), p.gpu->logits(b), b, V, "after 2 steps");
  const std::string ac = tiny::make_temp_dir("ec_var_cpu"), ag = tiny::make_temp_dir("ec_var_gpu");
  p.cpu->save_adapter(ac, "tiny");
  p.gpu->save_adapter(ag, "tiny");
  compare_adapters(ac, ag, 0.05, false);
}

// gradient checkpointing recomputes each layer bitwise: the same losses, norms and adapter as
// keeping every activation (with dropout, whose mask the recompute must reproduce), and the CPU's
void test_checkpointing(const std::string& dir, int V) {
  std::printf("== gradient checkpointing (+ dropout 0.1)\n");
  EngineOptions o = base_options("cuda");
  o.lora_dropout = 0.1f;
  o.targets.projection = o.targets.key = true;
  auto plain = Engine::load(dir, o);
  o.gradient_checkpointing = true;
  Pair p = load_both(dir, o);
  const std::vector<Batch> mbs = two_micro_batches(V);
  for (int s = 0; s < 2; ++s) {
    StepResult a = plain->step(mbs), b = p.gpu->step(mbs);
    std::printf("  step %d: loss %.9g vs %.9g (checkpointed), grad norm %.9g vs %.9g\n", s + 1, a.loss, b.loss, a.grad_norm, b.grad_norm);
    CHECK(a.loss == b.loss && a.grad_norm == b.grad_norm);
    StepResult c = p.cpu->step(mbs);
    check_rel(b.loss, c.loss, 0.01, "loss vs the CPU with checkpointing");
  }
  const std::string a1 = tiny::make_temp_dir("ec_ckpt_plain"), a2 = tiny::make_temp_dir("ec_ckpt");
  plain->save_adapter(a1, "tiny");
  p.gpu->save_adapter(a2, "tiny");
  PeftAdapter x = load_peft_adapter(a1), y = load_peft_adapter(a2);
  bool same = x.pairs.size() == y.pairs.size();
  for (size_t i = 0; same && i < x.pairs.size(); ++i) same = x.pairs[i].A == y.pairs[i].A && x.pairs[i].B == y.pairs[i].B;
  CHECK(same);
  Batch b = tiny::make_batch(2, 16, V, 3, {16, 11});
  compare_logits(p.cpu->logits(b), p.gpu->logits(b), b, V, "after 2 checkpointed steps");
}

// full finetuning: every weight trains (fp32 masters on CUDA); CPU <-> CUDA agreement, a bitwise
// resume on CUDA, the CUDA state resumed on the CPU, no adapter
void test_full(const std::string& dir, int V) {
  std::printf("== full finetuning\n");
  const std::vector<Batch> mbs = two_micro_batches(V);
  Batch b = tiny::make_batch(2, 16, V, 3, {16, 11});
  for (OptimizerKind k : {OptimizerKind::AdamW, OptimizerKind::SGD}) {
    EngineOptions o = base_options("cuda");
    o.method = Method::Full;
    o.optimizer = k;
    o.learning_rate = k == OptimizerKind::AdamW ? 1e-4f : 0.1f;
    Pair p = load_both(dir, o);
    ParamCounts pc = p.cpu->param_counts(), pg = p.gpu->param_counts();
    CHECK(pc.total == pg.total && pc.trainable == pg.trainable && pc.trainable_by_target == pg.trainable_by_target);
    const char* label = k == OptimizerKind::AdamW ? "full adamw" : "full sgd";
    steps_agree(p, 2, mbs, label);
    compare_logits(p.cpu->logits(b), p.gpu->logits(b), b, V, label);
    CHECK(p.gpu->memory().current[static_cast<int>(MemCategory::Grads)] > 0);
    expect_error("E_METHOD", [&] { p.gpu->save_adapter(tiny::make_temp_dir("ec_full_adapter"), "tiny"); });
    const std::string st = tiny::make_temp_dir("ec_full_state");
    p.gpu->save_state(st);
    StepResult third = p.gpu->step(mbs);
    auto g2 = Engine::load(dir, o);
    g2->load_state(st);
    StepResult again = g2->step(mbs);
    std::printf("  %s resumed step 3 on CUDA: %.9g vs %.9g\n", label, third.loss, again.loss);
    CHECK(third.loss == again.loss && third.grad_norm == again.grad_norm);
    o.device = "cpu";
    auto c = Engine::load(dir, o);
    c->load_state(st);
    check_rel(third.loss, c->step(mbs).loss, 0.01, "step 3 resumed on CPU from the CUDA full state");
  }
}

void test_state(const std::string& dir, int V) {
  std::printf("== save_state / load_state\n");
  const std::vector<Batch> mbs = two_micro_batches(V);
  EngineOptions o = base_options("cuda");
  o.lora_dropout = 0.1f;
  auto g1 = Engine::load(dir, o);
  g1->step(mbs);
  g1->step(mbs);
  const std::string st = tiny::make_temp_dir("ec_state");
  g1->save_state(st);
  StepResult third = g1->step(mbs);
  auto g2 = Engine::load(dir, o);
  g2->load_state(st);
  CHECK(g2->steps_done() == 2);
  StepResult again = g2->step(mbs);
  std::printf("  resumed step 3 on CUDA: %.9g vs %.9g (grad norm %.9g vs %.9g)\n", third.loss, again.loss, third.grad_norm,
              again.grad_norm);
  CHECK(third.loss == again.loss && third.grad_norm == again.grad_norm && again.step == 3);
  o.device = "cpu";
  auto c = Engine::load(dir, o);
  c->load_state(st);
  StepResult on_cpu = c->step(mbs);
  check_rel(third.loss, on_cpu.loss, 0.01, "step 3 resumed on CPU from the CUDA state");
  // and back: a CPU state resumes on CUDA
  const std::string st_cpu = tiny::make_temp_dir("ec_state_cpu");
  c->save_state(st_cpu);
  o.device = "cuda";
  auto g3 = Engine::load(dir, o);
  g3->load_state(st_cpu);
  CHECK(g3->steps_done() == 3);
  check_rel(g3->step(mbs).loss, c->step(mbs).loss, 0.01, "step 4 resumed on CUDA from the CPU state");
  EngineOptions sgd = o;
  sgd.optimizer = OptimizerKind::SGD;
  auto g4 = Engine::load(dir, sgd);
  std::string msg = expect_error("E_STATE_MISMATCH", [&] { g4->load_state(st); });
  CHECK(msg.find("optimizer") != std::string::npos);
}

void test_generate(const std::string& dir, int V) {
  std::printf("== generate\n");
  Pair p = load_both(dir, base_options("cuda"));
  auto clear_argmax = [&](const std::vector<int32_t>& seq) { return cuda_vs_cpu::clear_argmax(*p.cpu, seq, V); };
  auto clear_run = [&](std::vector<int32_t> seq) {  // greedy tokens with a clear argmax, at most 3
    size_t n = 0;
    for (int32_t tok; n < 3 && (tok = clear_argmax(seq)) >= 0; ++n) seq.push_back(tok);
    return n;
  };
  std::vector<int32_t> prompt;  // the seeded prompt with the longest clear greedy run (3 ends the search)
  size_t best_run = 0;
  for (uint64_t s = 0; s < 64 && best_run < 3; ++s) {
    std::vector<int32_t> cand = tiny::make_batch(1, 5, V, 100 + s).tokens;
    const size_t run = clear_run(cand);
    if (run > best_run) best_run = run, prompt = cand;
  }
  std::printf("  prompt with %zu clear greedy tokens\n", best_run);
  CHECK(best_run >= 2);
  if (prompt.empty()) return;
  GenerateOptions g;
  g.max_new_tokens = 8;
  std::vector<int32_t> cpu = p.cpu->generate(prompt, g, nullptr), gpu = p.gpu->generate(prompt, g, nullptr);
  CHECK(cpu.size() == 8 && gpu.size() == 8);
  // compare up to the first token whose CPU margin is within the tolerance
  std::vector<int32_t> seq = prompt;
  size_t stable = 0;
  for (; stable < cpu.size() && clear_argmax(seq) >= 0; ++stable) seq.push_back(cpu[stable]);
  std::printf("  cpu/cuda greedy tokens agree on the %zu with a clear argmax:", stable);
  for (size_t i = 0; i < cpu.size(); ++i) std::printf(" %d/%d", cpu[i], i < gpu.size() ? gpu[i] : -1);
  std::printf("\n");
  CHECK(stable >= 1);
  for (size_t i = 0; i < stable && i < gpu.size(); ++i) CHECK(cpu[i] == gpu[i]);
  if (stable >= 2) {
    GenerateOptions s = g;
    s.stop_tokens = {cpu[1]};
    std::vector<int32_t> stopped = p.gpu->generate(prompt, s, nullptr);
    CHECK(stopped.size() == 2 && stopped.back() == cpu[1]);
  }
  GenerateOptions t = g;
  t.temperature = 0.8f, t.top_p = 0.9f, t.seed = 9;
  CHECK(p.gpu->generate(prompt, t, nullptr) == p.gpu->generate(prompt, t, nullptr));
  // on_token returning false stops; abort() stops with E_ABORTED; a second call is E_BUSY
  int seen = 0;
  CHECK(p.gpu->generate(prompt, g, [&](int32_t) { return ++seen < 3; }).size() == 3);
  Batch b = tiny::make_batch(1, 8, V, 2);
  std::string busy;
  p.gpu->generate(prompt, GenerateOptions{2}, [&](int32_t) {
    busy = expect_error("E_BUSY", [&] { p.gpu->logits(b); });
    return true;
  });
  CHECK(busy.find("busy") != std::string::npos);
  expect_error("E_ABORTED", [&] {
    p.gpu->generate(prompt, g, [&](int32_t) {
      p.gpu->abort();
      return true;
    });
  });
  CHECK(p.gpu->logits(b).size() == size_t(8) * V);  // usable after the abort
  expect_error("E_BATCH", [&] { p.gpu->generate({}, g, nullptr); });
  expect_error("E_TOKEN_RANGE", [&] { p.gpu->generate({V + 1}, g, nullptr); });
}

void test_refusals(const std::string& dir) {
  std::printf("== refused options\n");
  auto refused = [&](EngineOptions o, const char* code, const char* key) {
    std::string msg = expect_error(code, [&] { Engine::load(dir, o); });
    std::printf("  %s: %s\n", key, msg.c_str());
    CHECK(msg.find(key) != std::string::npos && msg.find("device: cpu") != std::string::npos);
  };
  EngineOptions o = base_options("cuda");
  o.method = Method::Full;
  o.quantize = Quantize::NF4;
  expect_error("E_CONFIG_INVALID", [&] { Engine::load(dir, o); });
  o = base_options("cuda");
  o.precision = Precision::FP32True;
  refused(o, "E_PRECISION_UNSUPPORTED", "model.precision");
  o = base_options("cuda:0");
  o.precision = Precision::BF16Mixed;
  CHECK(Engine::load(dir, o)->compute_path().rfind("cuda-sm", 0) == 0);
  o.training = false;
  auto inf = Engine::load(dir, o);
  expect_error("E_NOT_TRAINING", [&] { inf->step(two_micro_batches(64)); });
}

}  // namespace

int main() {
  if (!cuda_test::have_device("test_engine_cuda")) return 77;
  try {
    tiny::Spec spec;  // vocab 64, hidden 32, 2 layers, 4 heads / 2 kv heads
    const int V = spec.vocab;
    const std::string dir = tiny::write_model(tiny::make_temp_dir("ec_llama"), spec);
    test_dropout_mask();
    test_reductions();
    test_basics(dir, V);
    test_adamw(dir, V);
    test_sgd(dir, V, 0.0f, "");
    test_sgd(dir, V, 0.1f, " + lora dropout 0.1");
    tiny::Spec qwen = spec;
    qwen.bias = true;
    test_variant(tiny::write_model(tiny::make_temp_dir("ec_qwen"), qwen), V, base_options("cuda"), "Qwen2 q/k/v biases");
    EngineOptions head = base_options("cuda");
    head.targets.head = true, head.targets.projection = true, head.targets.key = true;
    test_variant(dir, V, head, "every target + lm_head adapter");
    tiny::Spec tied = spec;
    tied.tied = true;
    test_variant(tiny::write_model(tiny::make_temp_dir("ec_tied"), tied), V, head, "tied embeddings + lm_head adapter");
    EngineOptions nf4 = base_options("cuda");
    nf4.quantize = Quantize::NF4;
    test_variant(dir, V, nf4, "QLoRA nf4");
    test_checkpointing(dir, V);
    test_full(tiny::write_model(tiny::make_temp_dir("ec_full_qwen"), qwen), V);
    test_full(tiny::write_model(tiny::make_temp_dir("ec_full_tied"), tied), V);
    test_state(dir, V);
    tiny::Spec peaky = spec;  // larger weights: larger logit margins, so greedy decoding is robust to bf16
    peaky.init_range = 0.4f;
    test_generate(tiny::write_model(tiny::make_temp_dir("ec_peaky"), peaky), V);
    test_refusals(dir);
  } catch (const Error& e) {
    std::fprintf(stderr, "test_engine_cuda: %s: %s (%s)\n", e.code().c_str(), e.what(), e.where().c_str());
    return 1;
  }
  return test_summary("test_engine_cuda");
}
#endif
