// Benchmark (not a test): GEMM GFLOP/s of the chosen kernel path and training steps/s of a small
// random Llama (C 256, L 4, V 2048, T 128) in LoRA and full mode, by wall clock and by process CPU
// time (meaningful on a shared, loaded machine). Usage: bench_step [threads].
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
#include "ops/matmul.h"
#include "simd_path.h"
#include "threadpool.h"

using namespace loralab;


int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 0;
  ThreadPool pool(threads);
  const int64_t M = 256, N = 1024, K = 1024;
  std::vector<float> A(M * K, 0.5f), B(N * K, 0.25f), C(M * N);
  std::vector<uint16_t> B16(N * K, f32_to_bf16(0.25f));
  for (int bf = 0; bf < 2; ++bf) {
    WeightView w = bf ? WeightView{B16.data(), DType::BF16} : f32_view(B.data());
    // one untimed call: the first faults in C and the GEMM's packing scratch (it made fp32, timed
    // first, read 103 instead of ~160 GFLOP/s per CPU-second)
    matmul_nt(&pool, C.data(), A.data(), w, M, N, K, false);
    auto t0 = std::chrono::steady_clock::now();
    double c0 = cpu_seconds();
    const int reps = 10;
    for (int r = 0; r < reps; ++r) matmul_nt(&pool, C.data(), A.data(), w, M, N, K, false);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), cpu = cpu_seconds() - c0;
    std::printf("gemm %s %s (%lldx%lldx%lld): %.1f GFLOP/s wall with %d threads, %.1f GFLOP/s per CPU-second\n",
                simd_path_name(simd_path()), bf ? "bf16" : "f32", (long long)M, (long long)N, (long long)K,
                2.0 * M * N * K * reps / s / 1e9, pool.threads(), 2.0 * M * N * K * reps / cpu / 1e9);
  }
  tiny::Spec spec;
  spec.vocab = 2048, spec.hidden = 256, spec.intermediate = 688, spec.layers = 4, spec.heads = 8, spec.kv_heads = 4;
  const std::string dir = tiny::write_model(tiny::make_temp_dir("bench"), spec);
  for (Method m : {Method::LoRA, Method::Full}) {
    EngineOptions o = test_engine_options();
    o.method = m;
    o.threads = threads;
    o.precision = Precision::BF16True;
    auto e = Engine::load(dir, o);
    Batch b = tiny::make_batch(4, 128, spec.vocab, 1);
    e->step({b});
    const int steps = 5;
    auto t0 = std::chrono::steady_clock::now();
    double c0 = cpu_seconds();
    for (int s = 0; s < steps; ++s) e->step({b});
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), cpu = cpu_seconds() - c0;
    std::printf("step %s (B 4 x T 128): %.2f steps/s wall, %.2f steps per CPU-second (%.0f tokens), peak %.1f MiB\n",
                m == Method::LoRA ? "lora" : "full", steps / s, steps / cpu, steps * 512 / cpu,
                e->memory().peak_total / 1048576.0);
  }
  remove_tree(dir);
  return 0;
}
