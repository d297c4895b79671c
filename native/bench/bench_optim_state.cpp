// Benchmark (not a test): trainable-state memory and step time per optimizer x state precision on the
// SmolLM-135M shape (random weights, CPU), LoRA r 16 on every block linear. Per setting: the engine's
// bytes of LoRA masters, gradients and optimizer state, the optimizer update alone over tensors of
// those shapes (process CPU ms), and a training step at micro-batch 1 x 128 tokens (s, wall and CPU).
// Usage: bench_optim_state [steps, default 2; 0 = the update alone, no engine] [threads, default 0 = all]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../tests/test_options.h"
#include "../tests/tiny_model.h"
#include "bench_util.h"
#include "engine.h"
#include "io/files.h"
#include "ops/optim_store.h"
#include "quant/dynamic8.h"
#include "threadpool.h"

using namespace loralab;

namespace {
struct Setting {
  const char* name;
  OptimizerKind optimizer;
  StatePrecision precision;
};

// The update alone over `tensors` (numel each) in the setting's storage, `reps` times; milliseconds per update.
double update_ms(ThreadPool* pool, const Setting& s, const std::vector<int64_t>& tensors, int reps) {
  const bool bf16 = s.precision == StatePrecision::BF16, q8 = is_8bit(s.optimizer), adam = is_adamw(s.optimizer);
  struct Store {
    std::vector<float> p, g, m, v, am, av;
    std::vector<uint16_t> p16, g16, m16, v16;
    std::vector<uint8_t> mq, vq;
  };
  std::vector<Store> st(tensors.size());
  for (size_t k = 0; k < tensors.size(); ++k) {
    const int64_t n = tensors[k];
    Store& t = st[k];
    if (bf16)
      t.p16.assign(n, 0x3c00), t.g16.assign(n, 0x3a00);
    else
      t.p.assign(n, 0.01f), t.g.assign(n, 0.001f);
    if (q8 && n >= kMin8bitNumel)
      t.mq.assign(n, 127), t.vq.assign(n, 0), t.am.assign(dynamic_blocks(n), 0), t.av.assign(dynamic_blocks(n), 0);
    else if (bf16)
      t.m16.assign(n, 0), t.v16.assign(n, 0);
    else
      t.m.assign(n, 0), t.v.assign(n, 0);
  }
  auto ref = [](auto& f32, auto& h16) {
    return h16.empty() ? StoreRef{StoreFormat::F32, f32.data()} : StoreRef{StoreFormat::BF16, h16.data()};
  };
  const double c0 = cpu_seconds();
  for (int r = 0; r < reps; ++r)
    for (size_t k = 0; k < tensors.size(); ++k) {
      Store& t = st[k];
      StoreRef m = t.mq.empty() ? ref(t.m, t.m16) : StoreRef{StoreFormat::Q8, t.mq.data(), t.am.data(), true};
      StoreRef v = t.vq.empty() ? ref(t.v, t.v16) : StoreRef{StoreFormat::Q8, t.vq.data(), t.av.data(), false};
      const RoundKey key{1, static_cast<uint64_t>(r), k};
      if (adam) {
        AdamWHyper h;
        h.lr = 1e-4f, h.step = r + 1;
        adamw_update_store(pool, ref(t.p, t.p16), m, v, ref(t.g, t.g16), tensors[k], h, key, "bench");
      } else {
        SgdHyper h;
        h.lr = 1e-2f, h.first_step = r == 0;
        sgd_update_store(pool, ref(t.p, t.p16), m, ref(t.g, t.g16), tensors[k], h, key, "bench");
      }
    }
  return (cpu_seconds() - c0) * 1e3 / reps;  // CPU time of every thread: wall clock is noise on a shared machine
}
}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 2;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 0;
  tiny::Spec spec;
  spec.vocab = 49152, spec.hidden = 576, spec.intermediate = 1536, spec.layers = 30, spec.heads = 9, spec.kv_heads = 3;
  spec.tied = true, spec.init_range = 0.05f;
  const int T = 128, R = 16;
  const std::string dir = steps > 0 ? tiny::write_model(tiny::make_temp_dir("bench_optim"), spec) : "";
  // LoRA tensors of r 16 on q, k, v, o, gate, up, down: A (R, in) and B (out, R) per layer
  const int64_t C = spec.hidden, F = spec.intermediate, KD = spec.kv_heads * (spec.hidden / spec.heads);
  std::vector<int64_t> tensors;
  for (int l = 0; l < spec.layers; ++l)
    for (auto io : std::vector<std::pair<int64_t, int64_t>>{{C, C}, {C, KD}, {C, KD}, {C, C}, {C, F}, {C, F}, {F, C}})
      tensors.push_back(R * io.first), tensors.push_back(io.second * R);
  const Setting settings[] = {
      {"adamw fp32", OptimizerKind::AdamW, StatePrecision::FP32}, {"adamw8bit fp32", OptimizerKind::AdamW8bit, StatePrecision::FP32},
      {"adamw bf16", OptimizerKind::AdamW, StatePrecision::BF16}, {"adamw8bit bf16", OptimizerKind::AdamW8bit, StatePrecision::BF16},
      {"sgd fp32", OptimizerKind::SGD, StatePrecision::FP32},     {"sgd8bit fp32", OptimizerKind::SGD8bit, StatePrecision::FP32}};
  ThreadPool pool(threads);
  std::printf("SmolLM-135M shape, LoRA r %d on every block linear, micro-batch 1 x %d tokens, %d threads\n", R, T, pool.threads());
  std::printf("  %-15s %11s %11s %11s %8s %13s %10s %10s\n", "setting", "lora MiB", "grads MiB", "optim MiB", "B/param", "update CPU ms",
              "step s", "step CPU s");
  for (const Setting& s : settings) {
    if (steps == 0) {
      std::printf("  %-15s update CPU ms %.2f\n", s.name, update_ms(&pool, s, tensors, 5));
      continue;
    }
    EngineOptions o = test_engine_options();
    o.threads = threads;
    o.lora_r = R, o.lora_alpha = 2.0f * R;
    o.targets.query = o.targets.key = o.targets.value = o.targets.projection = o.targets.mlp = true;
    o.optimizer = s.optimizer;
    o.state_precision = s.precision;
    o.learning_rate = is_adamw(s.optimizer) ? 1e-4f : 1e-2f;
    auto e = Engine::load(dir, o);
    const Batch b = tiny::make_batch(1, T, spec.vocab, 1);
    e->step({b});  // warm-up: allocations, first touches
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    for (int i = 0; i < steps; ++i) e->step({b});
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
    const double cpu = (cpu_seconds() - c0) / steps;
    const MemoryReport mem = e->memory();
    const auto at = [&](MemCategory c) { return static_cast<double>(mem.peak[static_cast<int>(c)]); };
    const double trainable = static_cast<double>(e->param_counts().trainable);
    const double state = at(MemCategory::LoraParams) + at(MemCategory::Grads) + at(MemCategory::OptimizerState);
    e.reset();
    const double ms = update_ms(&pool, s, tensors, 5);
    std::printf("  %-15s %11.2f %11.2f %11.2f %8.2f %13.2f %10.3f %10.3f\n", s.name, at(MemCategory::LoraParams) / 1048576.0,
                at(MemCategory::Grads) / 1048576.0, at(MemCategory::OptimizerState) / 1048576.0, state / trainable, ms, wall, cpu);
    std::printf(
        "json {\"kind\":\"optim-state\",\"setting\":\"%s\",\"trainable\":%.0f,\"lora_params_bytes\":%.0f,\"grads_bytes\":%.0f,"
        "\"optimizer_state_bytes\":%.0f,\"bytes_per_param\":%.4f,\"update_ms\":%.3f,\"step_s\":%.4f,\"step_cpu_s\":%.4f}\n",
        s.name, trainable, at(MemCategory::LoraParams), at(MemCategory::Grads), at(MemCategory::OptimizerState), state / trainable, ms,
        wall, cpu);
  }
  if (!dir.empty()) remove_tree(dir);
  return 0;
}
