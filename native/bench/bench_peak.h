// The machine's FMA peak for the benchmark programs: `threads` concurrent loops of independent FMA
// chains (24 zmm accumulators on AVX-512, 12 ymm on AVX2: more chains than FMA latency x ports, so
// each loop is throughput bound), no loads or stores; FLOPs = iterations x chains x lanes x 2, best
// of 3 runs, by wall clock and by process CPU time. The ISA comes from target attributes (no -march).
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"

namespace bench_peak {

typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));

// N independent chains acc = acc * a + b of vector type V for iters rounds (contracted to FMAs,
// gnu++17 default); inlined into each ISA's target function below, whose instructions it then uses.
template <typename V, int N>
__attribute__((always_inline)) inline float fma_chains(int64_t iters) {
  V acc[N];
  for (int i = 0; i < N; ++i) acc[i] = V{} + 1.0f + i * 1e-3f;
  const V a = V{} + 0.999999f, b = V{} + 1e-7f;
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 32
    for (int i = 0; i < N; ++i) acc[i] = acc[i] * a + b;
  }
  float s = 0;
  for (int i = 0; i < N; ++i) s += acc[i][0];
  return s;
}
__attribute__((target("avx512f"), noinline)) inline float fma_loop_avx512(int64_t iters) { return fma_chains<v16, 24>(iters); }
__attribute__((target("avx2,fma"), noinline)) inline float fma_loop_avx2(int64_t iters) { return fma_chains<v8, 12>(iters); }

// GFLOP/s of `threads` concurrent FMA loops (wall clock and per CPU-second) for isa "avx512" or
// "avx2" (simd_path_name); about 50 ms per call on a 200 GFLOP/s core. Any other isa ("scalar"):
// 0 and 0, no measurement.
inline void measure_peak(const std::string& isa, int threads, double* wall_gf, double* cpu_gf) {
  *wall_gf = *cpu_gf = 0;
  const bool z = isa == "avx512";
  if (!z && isa != "avx2") return;
  const int64_t iters = 4000000;
  const double flops = double(iters) * (z ? 24 * 16 : 12 * 8) * 2 * threads;
  for (int rep = 0; rep < 3; ++rep) {
    double t0 = wall_seconds(), c0 = cpu_seconds();
    std::vector<std::thread> ts;
    volatile float sink = 0;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&] { float s = z ? fma_loop_avx512(iters) : fma_loop_avx2(iters); sink = sink + s; });
    for (auto& t : ts) t.join();
    double wall = wall_seconds() - t0, cpu = cpu_seconds() - c0;
    *wall_gf = std::max(*wall_gf, flops / wall / 1e9);
    *cpu_gf = std::max(*cpu_gf, flops / cpu / 1e9);
  }
}

}  // namespace bench_peak
