// Benchmark (not a test): QLoRA rows next to bf16 for the same LoRA step on a small random Llama
// (C 256, F 688, L 4, V 2048, B 4 x T 128, LoRA r 8 on q/v): bytes of the quantized block linears
// (codes + constants) vs their bf16 bytes, load time (quantization included), and step time by wall
// clock and by process CPU time, as a ratio to bf16. Usage: bench_qlora [threads] [steps].
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "bench_util.h"
#include "../tests/tiny_model.h"
#include "engine.h"
#include "../tests/test_options.h"
#include "io/files.h"
#include "quant/quant.h"

using namespace loralab;


int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 0;
  const int steps = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
  tiny::Spec spec;
  spec.vocab = 2048, spec.hidden = 256, spec.intermediate = 688, spec.layers = 4, spec.heads = 8, spec.kv_heads = 4;
  const std::string dir = tiny::write_model(tiny::make_temp_dir("bench_qlora"), spec);
  const int64_t C = spec.hidden, F = spec.intermediate, KD = spec.kv_heads * (C / spec.heads);
  const int64_t linear_elems = spec.layers * (2 * C * C + 2 * KD * C + 3 * F * C);  // q, o, k, v, gate, up, down
  const uint64_t bf16_layer_bytes = 2 * static_cast<uint64_t>(linear_elems);
  const int W = static_cast<int>(MemCategory::Weights), QC = static_cast<int>(MemCategory::QuantConstants);
  const Batch b = tiny::make_batch(4, 128, spec.vocab, 1);
  uint64_t bf16_other = 0;  // weights that are never quantized (embeddings, norms, head)
  double bf16_wall = 0, bf16_cpu = 0;
  std::printf(
      "%-8s | %-22s | layer bytes | vs bf16 | quant_constants | load ms | step ms wall | vs bf16 | step CPU-s | vs bf16 | peak MiB | "
      "loss\n",
      "quantize", "compute path");
  const std::pair<const char*, Quantize> rows[] = {
      {"none", Quantize::None}, {"nf4", Quantize::NF4}, {"nf4-dq", Quantize::NF4DQ}, {"fp4", Quantize::FP4}};
  for (const auto& [name, q] : rows) {
    EngineOptions o = test_engine_options();
    o.threads = threads;
    o.precision = Precision::BF16True;
    o.quantize = q;
    auto l0 = std::chrono::steady_clock::now();
    auto e = Engine::load(dir, o);
    const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - l0).count();
    e->step({b});  // warm-up (buffers sized)
    auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    double loss = 0;
    for (int s = 0; s < steps; ++s) loss = e->step({b}).loss;
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
    const double cpu = (cpu_seconds() - c0) / steps;
    const MemoryReport r = e->memory();
    if (q == Quantize::None) bf16_other = r.current[W] - bf16_layer_bytes, bf16_wall = wall, bf16_cpu = cpu;
    const uint64_t layer_bytes = r.current[W] - bf16_other + r.current[QC];  // bf16 row: 2 bytes per element
    std::printf("%-8s | %-22s | %11llu | %6.3fx | %15llu | %7.0f | %12.1f | %6.2fx | %10.3f | %6.2fx | %8.1f | %.4f\n", name,
                e->compute_path().c_str(), (unsigned long long)layer_bytes,
                static_cast<double>(layer_bytes) / bf16_layer_bytes, (unsigned long long)r.current[QC], load_ms,
                1e3 * wall, wall / bf16_wall, cpu, cpu / bf16_cpu, r.peak_total / 1048576.0, loss);
  }
  std::printf("(%d steps of B 4 x T 128 per row after one warm-up; wall-clock ratios also depend on the machine's load)\n",
              steps);
  remove_tree(dir);
  return 0;
}
