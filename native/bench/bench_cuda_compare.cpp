// Verification driver for test/device/compare_torch.py: runs a Hugging Face Llama checkpoint with a
// PEFT LoRA adapter on CUDA (llama_cuda.h) and writes what PyTorch + peft is compared against:
//   logits.f32 (B,T,V) and the mean loss of the forward, grads/ (the LoRA gradients as a PEFT-keyed
//   adapter folder), adapter_step1/ (the adapter after one AdamW step, for PeftModel.from_pretrained),
//   logits_step1.f32 (the logits after that step), result.json (losses, determinism of a repeated step).
// Usage: bench_cuda_compare MODEL_DIR ADAPTER_DIR TOKENS.i32 B T OUT_DIR [LR]
// Targets are the tokens shifted by one, the last position of each row ignored (-100).
#include <cstdio>

#ifndef LORALAB_WITH_CUDA
int main() {
  std::printf("bench_cuda_compare: this build has no CUDA\n");
  return 77;
}
#else
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
}  // namespace

int main(int argc, char** argv) {
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
