// Test helpers shared by the CUDA-vs-CPU ctest programs (test_engine_cuda, test_parallel_cuda,
// test_llama_cuda): relative L2 / scalar comparisons, one checkpoint loaded on both engines, the
// two padded micro-batches they train on, and n steps whose losses (1%) and grad norms (5%) agree.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine.h"
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
