// Benchmark (not a test): the machine's measured FMA peak and the engine's GEMM GFLOP/s on the
// model's own shapes (stories15M- and SmolLM-135M-shaped), as a fraction of that peak.
//
// Peak: bench_peak.h, with the pool's threads and with 1 (independent FMA chains, no memory traffic,
// best of 3, wall clock and process CPU time).
// GEMM shapes: forward x.W^T (nt), input gradient dy.W (nn), weight gradient dy^T.x (tn, full
// fine-tuning only), with fp32 and bf16 weights. Each shape repeats for >= 0.15 s; best of 2.
// Output: a readable line per result and a line starting "json " for test/bench/run.mjs.
// Mode vs-openblas (1 thread): in this process, OpenBLAS sgemm (dlopen'ed after OPENBLAS_CORETYPE and
// OPENBLAS_L2_SIZE are removed from the environment, as run.mjs does for its peers) and the engine
// alternate call by call on each shape; each keeps its fastest call by thread CPU time, which on a
// shared, loaded machine is far steadier than best-of-rounds across processes.
// Usage: bench_cpu_gemm [threads] [model-filter: stories|smollm|all] [shape-filter: part of a shape's
//        name, e.g. "fwd" or "down dx"; default all] [dtype-filter: fp32|bf16|all] [vs-openblas [rounds]]
// Legend: M rows (tokens), N output features, K reduction length.
#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "bench_peak.h"
#include "bench_util.h"
#include "dtype.h"
#include "ops/matmul.h"
#include "simd_path.h"
#include "threadpool.h"

using namespace loralab;
using bench_peak::measure_peak;

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

static double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// cblas_sgemm of the system OpenBLAS, loaded unpinned and set to 1 thread (null when absent).
typedef void (*SgemmFn)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
static SgemmFn load_openblas(std::string* core) {
  unsetenv("OPENBLAS_CORETYPE");  // read when the library loads: this process only
  unsetenv("OPENBLAS_L2_SIZE");
  void* h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!h) return nullptr;
  auto threads = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"));
  auto corename = reinterpret_cast<char* (*)()>(dlsym(h, "openblas_get_corename"));
  if (threads) threads(1);
  *core = corename ? corename() : "?";
  return reinterpret_cast<SgemmFn>(dlsym(h, "cblas_sgemm"));
}

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
  const bool vs_blas = argc > 5 && std::string(argv[5]) == "vs-openblas";
  const int rounds = argc > 6 ? std::atoi(argv[6]) : 10;
  ThreadPool pool(vs_blas ? 1 : threads);
  double log_ratio = 0, worst = 1e9;
  int ratios = 0;
  const std::string path = simd_path_name(simd_path());
  std::printf("gemm path %s, %d threads\n", path.c_str(), pool.threads());
  double peak_wall = 0, peak_cpu = 0, peak1_wall = 0, peak1_cpu = 0;
  measure_peak(path, pool.threads(), &peak_wall, &peak_cpu);  // 0 on the scalar path
  measure_peak(path, 1, &peak1_wall, &peak1_cpu);
  std::printf("fma peak (%s): %.1f GFLOP/s wall with %d threads (%.1f per CPU-second); 1 thread %.1f wall (%.1f per CPU-second)\n",
              path.c_str(), peak_wall, pool.threads(), peak_cpu, peak1_wall, peak1_cpu);
  std::printf("json {\"kind\":\"peak\",\"isa\":\"%s\",\"threads\":%d,\"wall_gflops\":%.2f,\"cpu_gflops\":%.2f,"
              "\"wall_gflops_1t\":%.2f,\"cpu_gflops_1t\":%.2f}\n",
              path.c_str(), pool.threads(), peak_wall, peak_cpu, peak1_wall, peak1_cpu);
  std::string core;  // loaded after the peak: its idle threads would count in the process CPU time
  SgemmFn blas = vs_blas ? load_openblas(&core) : nullptr;
  if (vs_blas && !blas) {
    std::printf("vs-openblas: libopenblas.so.0 (cblas_sgemm) not found\n");
    return 1;
  }
  if (vs_blas) std::printf("vs-openblas: OpenBLAS kernels %s, 1 thread each, %d alternations per shape\n", core.c_str(), rounds);
  // tokens: micro-batch 4 x T (stories T 256, SmolLM T 512); head rows: one logits chunk (2^23 / V)
  const Shape shapes[] = {
      {"stories", "q/k/v/o fwd", 'f', 1024, 288, 288},   {"stories", "gate/up fwd", 'f', 1024, 768, 288},
      {"stories", "down fwd", 'f', 1024, 288, 768},      {"stories", "head fwd", 'f', 262, 32000, 288},
      {"stories", "q/o dx", 'd', 1024, 288, 288},        {"stories", "down dx", 'd', 1024, 768, 288},
      {"stories", "gate/up dx", 'd', 1024, 288, 768},    {"stories", "gate dW", 'w', 768, 288, 1024},
      {"stories", "head dx", 'd', 262, 288, 32000},
      {"smollm", "q/o fwd", 'f', 2048, 576, 576},        {"smollm", "k/v fwd", 'f', 2048, 192, 576},
      {"smollm", "gate/up fwd", 'f', 2048, 1536, 576},   {"smollm", "down fwd", 'f', 2048, 576, 1536},
      {"smollm", "head fwd", 'f', 170, 49152, 576},       {"smollm", "q/o dx", 'd', 2048, 576, 576},
      {"smollm", "down dx", 'd', 2048, 1536, 576},       {"smollm", "gate/up dx", 'd', 2048, 576, 1536},
      {"smollm", "gate dW", 'w', 1536, 576, 2048},
      {"smollm", "head dx", 'd', 170, 576, 49152},
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
      const char* dt = bf ? "bf16" : "fp32";
      if (blas) {  // vs-openblas: alternate engine / OpenBLAS calls, fastest call of each by thread CPU time
        std::vector<float> mine(C.data(), C.data() + C.size());
        auto peer = [&] {  // row-major cblas: 101; no transpose 111, transpose 112
          if (s.op == 'f') blas(101, 111, 112, s.M, s.N, s.K, 1.f, A.data(), s.K, B.data(), s.K, 0.f, C.data(), s.N);
          else if (s.op == 'd') blas(101, 111, 111, s.M, s.N, s.K, 1.f, A.data(), s.K, B.data(), s.N, 1.f, C.data(), s.N);
          else blas(101, 112, 111, s.M, s.N, s.K, 1.f, A.data(), s.M, B.data(), s.N, 1.f, C.data(), s.N);
        };
        if (s.op == 'f' && !bf) {  // a peer that computes otherwise is refused (engine: checked by the tests)
          peer();
          double d2 = 0, n2 = 0;
          for (size_t i = 0; i < C.size(); ++i) d2 += (C[i] - mine[i]) * double(C[i] - mine[i]), n2 += mine[i] * double(mine[i]);
          if (!(std::sqrt(d2 / n2) < 1e-4)) {
            std::printf("openblas refused: %s %s differs from the engine by %.2e relative\n", s.model, s.name, std::sqrt(d2 / n2));
            return 1;
          }
        }
        const double fl = 2.0 * s.M * s.N * s.K;
        double best[2] = {1e9, 1e9};
        for (int r = 0; r < 2 * rounds; ++r) {
          const int who = (r & 1) ^ ((r >> 1) & 1);  // engine, blas, blas, engine, ...
          for (double t0 = wall_seconds(); wall_seconds() - t0 < 0.02;) {
            const double c0 = thread_cpu_seconds();
            who ? peer() : call();
            best[who] = std::min(best[who], thread_cpu_seconds() - c0);
          }
        }
        std::printf("gemm %-7s %-12s %c M %5lld N %5lld K %5lld %s: engine %6.1f GFLOP/s per CPU-second (%3.0f%% of peak), "
                    "OpenBLAS fp32 %6.1f (%3.0f%%): %.3fx\n",
                    s.model, s.name, s.op, (long long)s.M, (long long)s.N, (long long)s.K, dt, fl / best[0] / 1e9,
                    100 * fl / best[0] / 1e9 / peak1_cpu, fl / best[1] / 1e9, 100 * fl / best[1] / 1e9 / peak1_cpu,
                    best[1] / best[0]);
        std::printf("json {\"kind\":\"gemm_vs_blas\",\"model\":\"%s\",\"name\":\"%s\",\"op\":\"%c\",\"dtype\":\"%s\","
                    "\"engine_gflops\":%.2f,\"openblas_gflops\":%.2f}\n",
                    s.model, s.name, s.op, dt, fl / best[0] / 1e9, fl / best[1] / 1e9);
        log_ratio += std::log(best[1] / best[0]), ++ratios;
        worst = std::min(worst, best[1] / best[0]);
        continue;
      }
      double best_wall = 0, best_cpu = 0;
      for (int round = 0; round < 2; ++round) {
        double t0 = wall_seconds(), c0 = cpu_seconds();
        int reps = 0;
        do call(), ++reps;
        while (wall_seconds() - t0 < 0.15);
        double wall = wall_seconds() - t0, cpu = cpu_seconds() - c0, fl = 2.0 * s.M * s.N * s.K * reps;
        best_wall = std::max(best_wall, fl / wall / 1e9), best_cpu = std::max(best_cpu, fl / cpu / 1e9);
      }
      std::printf("gemm %-7s %-12s %c M %5lld N %5lld K %5lld %s: %6.1f GFLOP/s wall (%3.0f%% of peak), %6.1f per CPU-second (%3.0f%%)\n",
                  s.model, s.name, s.op, (long long)s.M, (long long)s.N, (long long)s.K, dt, best_wall,
                  peak_wall > 0 ? 100 * best_wall / peak_wall : 0, best_cpu, peak1_cpu > 0 ? 100 * best_cpu / peak1_cpu : 0);
      std::printf("json {\"kind\":\"gemm\",\"model\":\"%s\",\"name\":\"%s\",\"op\":\"%c\",\"M\":%lld,\"N\":%lld,\"K\":%lld,"
                  "\"dtype\":\"%s\",\"wall_gflops\":%.2f,\"cpu_gflops\":%.2f}\n",
                  s.model, s.name, s.op, (long long)s.M, (long long)s.N, (long long)s.K, dt, best_wall, best_cpu);
    }
  }
  if (ratios)
    std::printf("engine / OpenBLAS per CPU-second over %d shapes: geometric mean %.3fx, lowest %.3fx\n", ratios,
                std::exp(log_ratio / ratios), worst);
  return 0;
}
