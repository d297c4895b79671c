// Test helpers shared by the CUDA-vs-CPU ctest programs (test_engine_cuda, test_parallel_cuda,
// test_llama_cuda): relative L2 / scalar / logits comparisons, one checkpoint loaded on both engines,
// the two padded micro-batches they train on, n steps whose losses (1%) and grad norms (5%) agree,
// the CPU's greedy token where bf16 noise cannot swap it, and LlamaCuda's repeated backward bitwise.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine.h"
#include "io/peft_adapter.h"
#include "llama_cuda.h"
#include "test_util.h"
#include "tiny_model.h"

namespace loralab {
namespace cuda_vs_cpu {

inline double rel_l2(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size() && i < got.size(); ++i)
    num += (got[i] - want[i]) * double(got[i] - want[i]), den += want[i] * double(want[i]);
  return std::sqrt(num / std::max(den, 1e-30));
}

inline void check_rel(double got, double want, double tol, const char* what) {
  std::printf("  %s: cpu %.6g cuda %.6g\n", what, want, got);
  CHECK(std::fabs(got - want) <= tol * std::fabs(want) + 1e-9);
}

// max |cuda - cpu| over valid positions, against 3% of max |cpu|
inline void compare_logits(const std::vector<float>& cpu, const std::vector<float>& gpu, const Batch& b, int V, const char* label) {
  double maxabs = 0, maxdiff = 0;
  CHECK(cpu.size() == gpu.size());
  for (int r = 0; r < b.rows; ++r)
    for (int t = 0; t < (b.lengths.empty() ? b.seq_len : b.lengths[r]); ++t)
      for (int v = 0; v < V; ++v) {
        const size_t i = (size_t(r) * b.seq_len + t) * V + v;
        if (i >= cpu.size() || i >= gpu.size()) continue;
        maxabs = std::max(maxabs, double(std::fabs(cpu[i])));
        maxdiff = std::max(maxdiff, double(std::fabs(gpu[i] - cpu[i])));
      }
  std::printf("  %s logits: max|cpu| %.4g max|diff| %.4g\n", label, maxabs, maxdiff);
  CHECK(maxabs > 0);
  CHECK(maxdiff <= 0.03 * maxabs);
}

// The CPU engine's greedy token after seq, or -1 when its top-1 / top-2 logit margin is within 4% of
// max |logit| (bf16 noise could swap them).
inline int32_t clear_argmax(Engine& cpu, const std::vector<int32_t>& seq, int V) {
  Batch b;
  b.rows = 1, b.seq_len = static_cast<int>(seq.size()), b.tokens = seq;
  std::vector<float> lg = cpu.logits(b);
  const float* last = lg.data() + (seq.size() - 1) * V;
  const int32_t best = static_cast<int32_t>(std::max_element(last, last + V) - last);
  std::vector<float> row(last, last + V);
  std::sort(row.begin(), row.end(), std::greater<float>());
  const float maxabs = std::max(std::fabs(row.front()), std::fabs(row.back()));
  return row[0] - row[1] > 0.04f * maxabs ? best : -1;
}

// LlamaCuda's forward + backward on batch again: every LoRA gradient bitwise `grads` (its first run).
inline void repeat_is_bitwise(cuda::LlamaCuda& gpu, const Batch& batch, int B, int T, const PeftAdapter& grads, const char* indent) {
  gpu.forward_loss(batch.tokens, batch.targets, B, T, batch.lengths);
  gpu.zero_grads();
  gpu.backward(B, T);
  PeftAdapter again = gpu.adapter(true);
  bool same = again.pairs.size() == grads.pairs.size();
  for (size_t i = 0; same && i < again.pairs.size(); ++i)
    same = again.pairs[i].A == grads.pairs[i].A && again.pairs[i].B == grads.pairs[i].B;
  std::printf("%srepeated forward+backward bitwise equal: %s\n", indent, same ? "yes" : "NO");
  CHECK(same);
}

struct Pair {
  std::unique_ptr<Engine> cpu, gpu;
};

inline Pair load_both(const std::string& dir, EngineOptions o) {
  Pair p;
  o.device = "cpu";
  p.cpu = Engine::load(dir, o);
  o.device = "cuda";
  p.gpu = Engine::load(dir, o);
  return p;
}

inline std::vector<Batch> two_micro_batches(int V) {
  return {tiny::make_batch(2, 16, V, 11, {16, 12}, 0), tiny::make_batch(2, 12, V, 11, {12, 9}, 2)};
}

// n steps on both engines: losses 1%, grad norms 5%, the same tokens, step and learning rate
inline void steps_agree(Pair& p, int n, const std::vector<Batch>& mbs, const char* label) {
  for (int s = 0; s < n; ++s) {
    StepResult a = p.cpu->step(mbs), b = p.gpu->step(mbs);
    std::printf("  %s step %d: loss cpu %.6f cuda %.6f, grad norm cpu %.6g cuda %.6g, lr %.3g/%.3g\n", label, s + 1, a.loss, b.loss,
                a.grad_norm, b.grad_norm, a.lr, b.lr);
    CHECK(std::fabs(a.loss - b.loss) <= 0.01 * a.loss);
    CHECK(std::fabs(a.grad_norm - b.grad_norm) <= 0.05 * a.grad_norm + 1e-9);
    CHECK(a.tokens == b.tokens && a.step == b.step && a.lr == b.lr);
  }
}

}  // namespace cuda_vs_cpu
}  // namespace loralab
