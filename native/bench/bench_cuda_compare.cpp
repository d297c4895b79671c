// Verification driver for test/device/compare_torch.py: runs a Hugging Face Llama checkpoint with a
// PEFT LoRA adapter on CUDA (llama_cuda.h) and writes what PyTorch + peft is compared against:
//   logits.f32 (B,T,V) and the mean loss of the forward, grads/ (the LoRA gradients as a PEFT-keyed
//   adapter folder), adapter_step1/ (the adapter after one AdamW step, for PeftModel.from_pretrained),
//   logits_step1.f32 (the logits after that step), result.json (losses, determinism of a repeated step).
// Usage: bench_cuda_compare MODEL_DIR ADAPTER_DIR TOKENS.i32 B T OUT_DIR [LR]
// Targets are the tokens shifted by one, the last position of each row ignored (-100).
// Throughput mode: bench_cuda_compare --bench MODEL_DIR B T STEPS [nf4|nf4-dq|fp4]: LoRA r=8 on q/v
// (QLoRA base weights when a scheme is given; PEFT init: A
// random, B zero), random tokens, one warm-up step then STEPS timed AdamW steps (forward, backward,
// update, with the loss + grad-norm readout, as CudaEngine::step); prints one JSON line with tokens/s and the peak device memory.
#include <cstdio>

#ifndef LORALAB_WITH_CUDA
int main() {
  std::printf("bench_cuda_compare: this build has no CUDA\n");
  return 77;
}
#else
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "io/peft_adapter.h"
#include "llama_cuda.h"

using namespace loralab;

namespace {
void write_f32(const std::string& path, const std::vector<float>& v) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(4 * v.size()));
  LORALAB_CHECK(f.good(), "E_FILE_WRITE", "could not write " + path);
}
void save(const std::string& dir, const PeftAdapter& a) {
  std::vector<PeftLoraView> views;
  for (const auto& p : a.pairs) views.push_back(PeftLoraView{p.module, p.layer, p.in_features, p.out_features, p.A.data(), p.B.data()});
  save_peft_adapter(dir, a.config, views);
}
int bench(const std::string& model_dir, int B, int T, int steps, const std::string& scheme) {
  Quantize quantize = Quantize::None;
  if (scheme == "nf4") quantize = Quantize::NF4;
  else if (scheme == "nf4-dq") quantize = Quantize::NF4DQ;
  else if (scheme == "fp4") quantize = Quantize::FP4;
  else LORALAB_CHECK(scheme.empty() || scheme == "bf16", "E_ARGUMENT", "unknown quantization '" + scheme + "'");
  MemTracker tracker;
  cuda::LlamaCuda model(model_dir, &tracker, 0, quantize);
  const ModelConfig& cfg = model.config();
  PeftAdapter a;
  a.config.r = 8, a.config.lora_alpha = 16, a.config.target_modules = {"q_proj", "v_proj"};
  uint64_t state = 12345;
  auto next = [&state]() {  // xorshift64*, uniform in [-1, 1)
    state ^= state >> 12, state ^= state << 25, state ^= state >> 27;
    return static_cast<float>((state * 2685821657736338717ull) >> 40) / static_cast<float>(1 << 23) - 1.0f;
  };
  for (int l = 0; l < cfg.num_layers; ++l)
    for (PeftModule m : {PeftModule::Q, PeftModule::V}) {
      PeftLoraPair p;
      p.module = m, p.layer = l;
      peft_module_shape(cfg, m, &p.out_features, &p.in_features);
      p.A.resize(8 * p.in_features), p.B.assign(p.out_features * 8, 0.0f);
      for (auto& x : p.A) x = next() / std::sqrt(static_cast<float>(p.in_features));
      a.pairs.push_back(std::move(p));
    }
  model.install_adapter(a);
  std::vector<int32_t> tokens(static_cast<size_t>(B) * T), targets(tokens.size());
  for (auto& t : tokens) t = static_cast<int32_t>((next() + 1.0f) * 0.5f * (cfg.vocab_size - 1));
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) targets[b * T + t] = t + 1 < T ? tokens[b * T + t + 1] : -100;
  AdamWHyper h;
  h.lr = 1e-4f;
  double loss = 0;
  const int64_t count = std::count_if(targets.begin(), targets.end(), [](int32_t t) { return t != -100; });
  cuda::PassInput in;
  in.B = B, in.T = T, in.tokens = tokens.data(), in.targets = targets.data(), in.training = true;
  auto run_step = [&](int64_t step) {  // what CudaEngine::step does for one micro-batch
    model.begin_call();
    model.zero_grads();
    model.zero_stats();
    in.step = static_cast<uint64_t>(step - 1);
    model.forward(in);
    model.head_loss(1.0f / static_cast<float>(count));
    model.backward();
    model.grad_sumsq();
    double sum = 0, sumsq = 0;
    model.read_stats(&sum, &sumsq);
    loss = sum / static_cast<double>(count);
    h.step = step;
    model.adamw_step(h);
    LORALAB_CUDA_CHECK(cudaStreamSynchronize(model.stream()));
  };
  run_step(1);
  auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < steps; ++s) run_step(2 + s);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  size_t free_b = 0, total_b = 0;
  cudaMemGetInfo(&free_b, &total_b);
  std::printf("{\"B\": %d, \"T\": %d, \"steps\": %d, \"seconds\": %.4f, \"tokens_per_second\": %.1f, "
              "\"peak_allocator_bytes\": %llu, \"device_used_bytes\": %llu, \"last_loss\": %.5f}\n",
              B, T, steps, secs, double(B) * T * steps / secs, (unsigned long long)tracker.report().peak_total,
              (unsigned long long)(total_b - free_b), loss);
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  if ((argc == 6 || argc == 7) && std::strcmp(argv[1], "--bench") == 0) {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) return 77;
    try {
      return bench(argv[2], std::atoi(argv[3]), std::atoi(argv[4]), std::atoi(argv[5]), argc == 7 ? argv[6] : "");
    } catch (const Error& e) {
      std::fprintf(stderr, "bench_cuda_compare: %s: %s (%s)\n", e.code().c_str(), e.what(), e.where().c_str());
      return 1;
    }
  }
  if (argc < 7) {
    std::fprintf(stderr, "usage: bench_cuda_compare MODEL_DIR ADAPTER_DIR TOKENS.i32 B T OUT_DIR [LR]\n");
    return 2;
  }
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    std::printf("bench_cuda_compare: no CUDA device\n");
    return 77;
  }
  const std::string model_dir = argv[1], adapter_dir = argv[2], tokens_path = argv[3], out = argv[6];
  const int B = std::atoi(argv[4]), T = std::atoi(argv[5]);
  const float lr = argc > 7 ? static_cast<float>(std::atof(argv[7])) : 1e-3f;
  try {
    std::vector<int32_t> tokens(static_cast<size_t>(B) * T);
    std::ifstream f(tokens_path, std::ios::binary);
    f.read(reinterpret_cast<char*>(tokens.data()), static_cast<std::streamsize>(4 * tokens.size()));
    LORALAB_CHECK(f.good(), "E_FILE_READ", "could not read " + std::to_string(tokens.size()) + " int32 from " + tokens_path);
    std::vector<int32_t> targets(tokens.size());
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < T; ++t) targets[b * T + t] = t + 1 < T ? tokens[b * T + t + 1] : -100;

    MemTracker tracker;
    cuda::LlamaCuda model(model_dir, &tracker);
    model.install_adapter(load_peft_adapter(adapter_dir));
    const double loss0 = model.forward_loss(tokens, targets, B, T);
    write_f32(out + "/logits.f32", model.logits());
    model.zero_grads();
    model.backward(B, T);
    PeftAdapter grads = model.adapter(true);
    save(out + "/grads", grads);
    // determinism: the same forward + backward again gives bitwise the same gradients
    model.forward_loss(tokens, targets, B, T);
    model.zero_grads();
    model.backward(B, T);
    PeftAdapter grads2 = model.adapter(true);
    bool deterministic = true;
    for (size_t i = 0; i < grads.pairs.size(); ++i)
      deterministic = deterministic && grads.pairs[i].A == grads2.pairs[i].A && grads.pairs[i].B == grads2.pairs[i].B;
    AdamWHyper h;
    h.lr = lr;
    h.step = 1;
    model.adamw_step(h);
    save(out + "/adapter_step1", model.adapter(false));
    const double loss1 = model.forward_loss(tokens, targets, B, T);
    write_f32(out + "/logits_step1.f32", model.logits());
    const MemoryReport r = tracker.report();
    std::ofstream j(out + "/result.json");
    j << "{\"loss\": " << loss0 << ", \"loss_step1\": " << loss1 << ", \"deterministic_grads\": "
      << (deterministic ? "true" : "false") << ", \"peak_device_bytes\": " << r.peak_total << "}\n";
    std::printf("loss %.6f, after one AdamW step (lr %g) %.6f, repeated step bitwise equal: %s\n", loss0, lr, loss1,
                deterministic ? "yes" : "NO");
    return deterministic ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_cuda_compare: %s: %s (%s)\n", e.code().c_str(), e.what(), e.where().c_str());
    return 1;
  }
}
#endif
