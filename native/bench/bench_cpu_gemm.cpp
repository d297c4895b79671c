// Benchmark (not a test): the machine's measured FMA peak and the engine's GEMM GFLOP/s on the
// model's own shapes (stories15M- and SmolLM-135M-shaped), as a fraction of that peak.
//
// Peak: every thread of the pool runs a loop of independent FMA chains (24 zmm accumulators on
// AVX-512, 12 ymm on AVX2 — more chains than FMA latency x ports, so the loop is throughput bound),
// no loads or stores; FLOPs = iterations x chains x lanes x 2; the best of 3 runs is kept, wall
// clock and process CPU time. Functions get their ISA through target attributes (no -march).
// GEMM shapes: forward x.W^T (nt), input gradient dy.W (nn), weight gradient dy^T.x (tn, full
// fine-tuning only), with fp32 and bf16 weights. Each shape repeats for >= 0.15 s; best of 2.
// Output: a readable line per result and a line starting "json " for test/bench/run.mjs.
// Usage: bench_cpu_gemm [threads] [model-filter: stories|smollm|all] [shape-filter: part of a shape's
//        name, e.g. "fwd" or "down dx"; default all] [dtype-filter: fp32|bf16|all]
// Legend: M rows (tokens), N output features, K reduction length.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "dtype.h"
#include "ops/matmul.h"
#include "simd_path.h"
#include "threadpool.h"

using namespace loralab;

static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));

__attribute__((target("avx512f"), noinline)) static float fma_loop_avx512(int64_t iters) {
  v16 acc[24];
#pragma GCC unroll 24
  for (int i = 0; i < 24; ++i) acc[i] = v16{} + 1.0f + i * 1e-3f;
  const v16 a = v16{} + 0.999999f, b = v16{} + 1e-7f;
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) acc[i] = acc[i] * a + b;  // contracted to vfmadd (gnu++17 default)
  }
  float s = 0;
  for (int i = 0; i < 24; ++i) s += acc[i][0];
  return s;
}
__attribute__((target("avx2,fma"), noinline)) static float fma_loop_avx2(int64_t iters) {
  v8 acc[12];
#pragma GCC unroll 12
  for (int i = 0; i < 12; ++i) acc[i] = v8{} + 1.0f + i * 1e-3f;
  const v8 a = v8{} + 0.999999f, b = v8{} + 1e-7f;
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = acc[i] * a + b;
  }
  float s = 0;
  for (int i = 0; i < 12; ++i) s += acc[i][0];
  return s;
}

// FLOP/s of `threads` concurrent FMA loops (wall clock and per CPU-second).
static void measure_peak(const std::string& isa, int threads, double* wall_gf, double* cpu_gf) {
  const bool z = isa == "avx512";
  const int64_t iters = 4000000;
  const double flops = double(iters) * (z ? 24 * 16 : 12 * 8) * 2 * threads;
  *wall_gf = *cpu_gf = 0;
  for (int rep = 0; rep < 3; ++rep) {
    double t0 = now(), c0 = cpu_seconds();
    std::vector<std::thread> ts;
    volatile float sink = 0;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&] { float s = z ? fma_loop_avx512(iters) : fma_loop_avx2(iters); sink = sink + s; });
    for (auto& t : ts) t.join();
    double wall = now() - t0, cpu = cpu_seconds() - c0;
    *wall_gf = std::max(*wall_gf, flops / wall / 1e9);
    *cpu_gf = std::max(*cpu_gf, flops / cpu / 1e9);
  }
}

// 64-byte aligned storage, as the engine's Buffer<T> allocates every tensor (memory.h): a 16-byte
// offset (plain std::vector) splits vector stores across cache lines and costs up to ~15% on the
// long-K shapes, which the engine never sees.
template <typename T>
struct Aligned {
  explicit Aligned(size_t n) : n(n), p(static_cast<T*>(std::aligned_alloc(64, (n * sizeof(T) + 63) / 64 * 64))) {}
  ~Aligned() { std::free(p); }
  Aligned(const Aligned&) = delete;
  Aligned& operator=(const Aligned&) = delete;
  size_t size() const { return n; }
  T* data() { return p; }
  T& operator[](size_t i) { return p[i]; }
  size_t n;
  T* p;
};

struct Shape {
  const char* model;
  const char* name;
  char op;  // 'f' nt forward, 'd' nn input gradient, 'w' tn weight gradient
  int64_t M, N, K;
};

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 0;
  const std::string which = argc > 2 ? argv[2] : "all";
  const std::string shape_filter = argc > 3 ? argv[3] : "";
  const std::string dtype_filter = argc > 4 ? argv[4] : "all";
  ThreadPool pool(threads);
  const std::string path = simd_path_name(simd_path());
  std::printf("gemm path %s, %d threads\n", path.c_str(), pool.threads());
  double peak_wall = 0, peak_cpu = 0, peak1_wall = 0, peak1_cpu = 0;
  if (path != "scalar") {
    measure_peak(path, pool.threads(), &peak_wall, &peak_cpu);
    measure_peak(path, 1, &peak1_wall, &peak1_cpu);
  }
  std::printf("fma peak (%s): %.1f GFLOP/s wall with %d threads (%.1f per CPU-second); 1 thread %.1f wall (%.1f per CPU-second)\n",
              path.c_str(), peak_wall, pool.threads(), peak_cpu, peak1_wall, peak1_cpu);
  std::printf("json {\"kind\":\"peak\",\"isa\":\"%s\",\"threads\":%d,\"wall_gflops\":%.2f,\"cpu_gflops\":%.2f,"
              "\"wall_gflops_1t\":%.2f,\"cpu_gflops_1t\":%.2f}\n",
              path.c_str(), pool.threads(), peak_wall, peak_cpu, peak1_wall, peak1_cpu);
  // tokens: micro-batch 4 x T (stories T 256, SmolLM T 512); head rows: one logits chunk (2^22 / V)
  const Shape shapes[] = {
      {"stories", "q/k/v/o fwd", 'f', 1024, 288, 288},   {"stories", "gate/up fwd", 'f', 1024, 768, 288},
      {"stories", "down fwd", 'f', 1024, 288, 768},      {"stories", "head fwd", 'f', 131, 32000, 288},
      {"stories", "q/o dx", 'd', 1024, 288, 288},        {"stories", "down dx", 'd', 1024, 768, 288},
      {"stories", "gate/up dx", 'd', 1024, 288, 768},    {"stories", "gate dW", 'w', 768, 288, 1024},
      {"stories", "head dx", 'd', 131, 288, 32000},
      {"smollm", "q/o fwd", 'f', 2048, 576, 576},        {"smollm", "k/v fwd", 'f', 2048, 192, 576},
      {"smollm", "gate/up fwd", 'f', 2048, 1536, 576},   {"smollm", "down fwd", 'f', 2048, 576, 1536},
      {"smollm", "head fwd", 'f', 85, 49152, 576},       {"smollm", "q/o dx", 'd', 2048, 576, 576},
      {"smollm", "down dx", 'd', 2048, 1536, 576},       {"smollm", "gate/up dx", 'd', 2048, 576, 1536},
      {"smollm", "gate dW", 'w', 1536, 576, 2048},
      {"smollm", "head dx", 'd', 85, 576, 49152},
  };
  for (const Shape& s : shapes) {
    if (which != "all" && which != s.model) continue;
    if (std::string(s.name).find(shape_filter) == std::string::npos) continue;
    Aligned<float> A(s.M * s.K), B(s.N * s.K), C(s.M * s.N);
    for (size_t i = 0; i < A.size(); ++i) A[i] = float((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    for (size_t i = 0; i < B.size(); ++i) B[i] = float((i * 40503u) % 1000) * 1e-3f - 0.5f;
    Aligned<uint16_t> B16(B.size());
    for (size_t i = 0; i < B.size(); ++i) B16[i] = f32_to_bf16(B[i]);
    for (int bf = 0; bf < (s.op == 'w' ? 1 : 2); ++bf) {
      if (dtype_filter != "all" && dtype_filter != (bf ? "bf16" : "fp32")) continue;
      WeightView w = bf ? WeightView{B16.data(), DType::BF16} : f32_view(B.data());
      auto call = [&] {
        if (s.op == 'f') matmul_nt(&pool, C.data(), A.data(), w, s.M, s.N, s.K, false);
        else if (s.op == 'd') matmul_nn(&pool, C.data(), A.data(), w, s.M, s.N, s.K, true);
        else matmul_tn(&pool, C.data(), A.data(), B.data(), s.M, s.N, s.K, true);
      };
      call();
      double best_wall = 0, best_cpu = 0;
      for (int round = 0; round < 2; ++round) {
        double t0 = now(), c0 = cpu_seconds();
        int reps = 0;
        do call(), ++reps;
        while (now() - t0 < 0.15);
        double wall = now() - t0, cpu = cpu_seconds() - c0, fl = 2.0 * s.M * s.N * s.K * reps;
        best_wall = std::max(best_wall, fl / wall / 1e9), best_cpu = std::max(best_cpu, fl / cpu / 1e9);
      }
      const char* dt = bf ? "bf16" : "fp32";
      std::printf("gemm %-7s %-12s %c M %5lld N %5lld K %5lld %s: %6.1f GFLOP/s wall (%3.0f%% of peak), %6.1f per CPU-second (%3.0f%%)\n",
                  s.model, s.name, s.op, (long long)s.M, (long long)s.N, (long long)s.K, dt, best_wall,
                  peak_wall > 0 ? 100 * best_wall / peak_wall : 0, best_cpu, peak1_cpu > 0 ? 100 * best_cpu / peak1_cpu : 0);
      std::printf("json {\"kind\":\"gemm\",\"model\":\"%s\",\"name\":\"%s\",\"op\":\"%c\",\"M\":%lld,\"N\":%lld,\"K\":%lld,"
                  "\"dtype\":\"%s\",\"wall_gflops\":%.2f,\"cpu_gflops\":%.2f}\n",
                  s.model, s.name, s.op, (long long)s.M, (long long)s.N, (long long)s.K, dt, best_wall, best_cpu);
    }
  }
  return 0;
}
