// Benchmark (not a test): training step throughput of a random-weight Llama on the CPU, for the
// stories15M and SmolLM-135M shapes, LoRA (r 8 on q,v or r 16 on all linears) or full fine-tuning,
// fp32 or bf16 weight storage, micro-batch 4. Reports tokens/s by wall clock and per process
// CPU-second, achieved GFLOP/s and peak memory (the engine's tracker and the process VmHWM). One
// configuration per process so VmHWM belongs to it; test/bench/run.mjs runs the grid next to the
// PyTorch peer (test/bench/torch_peer.py, same shapes and FLOP formula).
// FLOPs per token: N = matmul parameters (7 block linears x layers + head); attention forward
// 2*T*d per layer (causal: QK^T and AV over T/2 keys on average), backward twice that. LoRA step
// = 4N + 3 attn (frozen weights: no weight gradient), full = 6N + 3 attn, checkpointing adds the
// recomputed forward 2N + attn. LoRA adapter FLOPs (r << d) are not counted.
// dtype nf4: QLoRA, the frozen block linears NF4-quantized (bitsandbytes layout), bf16 elsewhere.
// Usage: bench_cpu_step [model stories|smollm] [lora qv8|all16|full] [dtype fp32|bf16|nf4] [steps]
//                       [threads] [ckpt 0|1] [warm-up steps, default 1; 0 times the first step too]
// MFU: over the FMA peak (bench_peak.h) of the threads used, measured in this process before the
// warm-up and after the timed steps, the higher of each kept; also in the json line (fma_peak_*).
// LORALAB_OP_PROFILE=1 also prints the timed steps' wall and CPU time per op (model/op_profile.h).
// Legend: C hidden, F intermediate, V vocab, L layers, H / KVH heads, T sequence length.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "bench_peak.h"
#include "bench_util.h"
#include "../tests/tiny_model.h"
#include "engine.h"
#include "../tests/test_options.h"
#include "io/files.h"
#include "model/op_profile.h"
#include "simd_path.h"
#include "threadpool.h"

using namespace loralab;

static double vm_hwm_mib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  double kb = 0;
  while (std::fgets(line, sizeof(line), f))
    if (std::strncmp(line, "VmHWM:", 6) == 0) kb = std::atof(line + 6);
  std::fclose(f);
  return kb / 1024.0;
}

int main(int argc, char** argv) {
  const std::string model = argc > 1 ? argv[1] : "stories";
  const std::string mode = argc > 2 ? argv[2] : "qv8";
  const std::string dtype = argc > 3 ? argv[3] : "bf16";
  const int steps = argc > 4 ? std::atoi(argv[4]) : 2;
  const int threads = argc > 5 ? std::atoi(argv[5]) : 0;
  const bool ckpt = argc > 6 && std::atoi(argv[6]) != 0;
  const int warmup = argc > 7 ? std::atoi(argv[7]) : 1;
  tiny::Spec spec;
  int T = 256;
  if (model == "smollm") {
    spec.vocab = 49152, spec.hidden = 576, spec.intermediate = 1536, spec.layers = 30, spec.heads = 9, spec.kv_heads = 3;
    spec.tied = true, T = 512;
  } else {
    spec.vocab = 32000, spec.hidden = 288, spec.intermediate = 768, spec.layers = 6, spec.heads = 6, spec.kv_heads = 6;
  }
  spec.init_range = 0.05f;
  const int B = 4;
  const std::string dir = tiny::write_model(tiny::make_temp_dir("bench_cpu"), spec);
  {  // positions up to T (the helper writes 256)
    std::string cfg = read_text_file(dir + "/config.json");
    const std::string key = "\"max_position_embeddings\": 256";
    size_t at = cfg.find(key);
    if (at != std::string::npos) cfg.replace(at, key.size(), "\"max_position_embeddings\": 2048");
    write_text_file_atomic(dir + "/config.json", cfg);
  }
  EngineOptions o = test_engine_options();
  o.threads = threads;
  o.precision = dtype == "fp32" ? Precision::FP32True : Precision::BF16True;
  if (dtype == "nf4") o.quantize = Quantize::NF4;
  o.gradient_checkpointing = ckpt;
  if (mode == "full") {
    o.method = Method::Full;
  } else if (mode == "all16") {
    o.lora_r = 16, o.lora_alpha = 32;
    o.targets.query = o.targets.key = o.targets.value = o.targets.projection = o.targets.mlp = true;
  } else {
    o.lora_r = 8, o.lora_alpha = 16;
  }
  auto e = Engine::load(dir, o);
  Batch b = tiny::make_batch(B, T, spec.vocab, 1);
  const double load_hwm = vm_hwm_mib();
  // The FMA peak of the threads the steps use, in this process, before the warm-up and after the
  // timed steps (the higher of each is kept): the all-core clock and the machine's phase at the time
  // of the steps, for the MFU.
  const int used = threads > 0 ? threads : usable_cores();
  const std::string isa = simd_path_name(simd_path());
  double peak_wall = 0, peak_cpu = 0;
  auto measure = [&] {  // 0 on the scalar path (no MFU line then)
    double w, c;
    bench_peak::measure_peak(isa, used, &w, &c);
    peak_wall = std::max(peak_wall, w), peak_cpu = std::max(peak_cpu, c);
  };
  measure();
  for (int s = 0; s < warmup; ++s) e->step({b});  // allocations, first touches
  op_profile_reset();
  const double t0 = wall_seconds();
  const double c0 = cpu_seconds();
  for (int s = 0; s < steps; ++s) e->step({b});
  const double wall = wall_seconds() - t0;
  const double cpu = cpu_seconds() - c0;
  measure();
  const double C = spec.hidden, F = spec.intermediate, V = spec.vocab, L = spec.layers;
  const double HD = C / spec.heads, QD = spec.heads * HD, KD = spec.kv_heads * HD;
  const double Nmat = L * (C * QD + 2 * C * KD + QD * C + 3 * C * F) + V * C;
  const double attn = 2.0 * T * QD * L;  // forward, per token
  double per_token = mode == "full" ? 6 * Nmat + 3 * attn : 4 * Nmat + 3 * attn;
  if (ckpt) per_token += 2 * Nmat + attn;
  const double tokens = double(B) * T * steps;
  const MemoryReport mem = e->memory();
  std::printf("step %s %s %s%s (B %d x T %d, %d steps after %d warm-up): %.0f tokens/s wall, %.0f tokens per CPU-second, "
              "%.1f GFLOP/s wall (%.1f per CPU-second), engine peak %.1f MiB, VmHWM %.1f MiB (%.1f after load)\n",
              model.c_str(), mode.c_str(), dtype.c_str(), ckpt ? " ckpt" : "", B, T, steps, warmup, tokens / wall, tokens / cpu,
              per_token * tokens / wall / 1e9, per_token * tokens / cpu / 1e9, mem.peak_total / 1048576.0, vm_hwm_mib(),
              load_hwm);
  std::printf("json {\"kind\":\"step\",\"system\":\"engine\",\"model\":\"%s\",\"mode\":\"%s\",\"dtype\":\"%s\",\"ckpt\":%d,"
              "\"threads\":%d,\"steps\":%d,\"warmup\":%d,\"tokens_per_s\":%.2f,\"tokens_per_cpu_s\":%.2f,\"gflops\":%.2f,"
              "\"gflops_cpu\":%.2f,\"peak_mib\":%.1f,\"rss_peak_mib\":%.1f,\"fma_peak_wall\":%.2f,\"fma_peak_cpu\":%.2f}\n",
              model.c_str(), mode.c_str(), dtype.c_str(), ckpt ? 1 : 0, used, steps, warmup, tokens / wall, tokens / cpu,
              per_token * tokens / wall / 1e9, per_token * tokens / cpu / 1e9, mem.peak_total / 1048576.0, vm_hwm_mib(),
              peak_wall, peak_cpu);
  if (peak_wall > 0)
    std::printf("MFU %.1f%% wall, %.1f%% per CPU-second, over the FMA peak of %d threads measured around the steps "
                "(%.1f GFLOP/s wall, %.1f per CPU-second)\n",
                100 * per_token * tokens / wall / 1e9 / peak_wall, 100 * per_token * tokens / cpu / 1e9 / peak_cpu, used,
                peak_wall, peak_cpu);
  if (op_profile_enabled()) {  // LORALAB_OP_PROFILE=1: where the timed steps' CPU time went
    std::printf("timed steps: %.1f ms wall, %.1f ms CPU (the rest: grad zeroing, norm, optimizer)\n", 1e3 * wall, 1e3 * cpu);
    op_profile_report(stdout);
  }
  e.reset();
  remove_tree(dir);
  return 0;
}
