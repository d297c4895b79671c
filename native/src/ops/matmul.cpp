// Matmul dispatch (instruction set chosen once at run time), fixed task grids for the thread pool,
// and the linear layer forward/backward in fp32 (fast) and fp64 (reference).
#include "ops/matmul.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "simd_path.h"
#include "threadpool.h"

namespace loralab {

namespace {
const GemmKernels& kernels() {
  static const GemmKernels k = simd_kernels(gemm_kernels_generic, gemm_kernels_avx2, gemm_kernels_avx512);
  return k;
}

// Task grid, independent of the thread count: a multiple of every register tile (4 or 6 rows;
// 8, 16 or 64 columns). Results do not depend on it either (see matmul_kernels.inc).
constexpr int64_t kBlockM = 96, kBlockN = 64;
// Weights up to this many elements are transposed (nt) or widened (bf16 nn) once per call into a
// shared fp32 copy that all row blocks read in place; larger ones (the vocabulary head) are packed
// panel by panel per task. Scratch: thread-local, up to 16 MiB per calling thread, not tracked.
constexpr int64_t kTransposeLimit = int64_t(1) << 22;

// Tasks of block_m rows x kBlockN columns (block_m depends on the shape only).
template <typename F>
void run_grid(ThreadPool* pool, int64_t M, int64_t N, int64_t block_m, const F& body) {
  int64_t bm = (M + block_m - 1) / block_m, bn = (N + kBlockN - 1) / kBlockN;
  auto task = [&](int64_t t) {
    int64_t i = t / bn, j = t % bn;
    int64_t m0 = i * block_m, n0 = j * kBlockN;
    body(m0, m0 + block_m < M ? m0 + block_m : M, n0, n0 + kBlockN < N ? n0 + kBlockN : N);
  };
  if (pool) pool->run(bm * bn, task);
  else for (int64_t t = 0; t < bm * bn; ++t) task(t);
}

}  // namespace

namespace {

// dst (K,N) = src (N,K)^T widened to fp32, in 64-column tasks of 16x16 tiles.
void transpose_to_f32(ThreadPool* pool, float* dst, WeightView src, int64_t N, int64_t K) {
  const bool bf = src.dtype == DType::BF16;
  const float* f = static_cast<const float*>(src.data);
  const uint16_t* h = static_cast<const uint16_t*>(src.data);
  parallel_for(pool, (N + 63) / 64, [&](int64_t t) {
    const int64_t n0 = t * 64, n1 = n0 + 64 < N ? n0 + 64 : N;
    for (int64_t k0 = 0; k0 < K; k0 += 16) {
      const int64_t k1 = k0 + 16 < K ? k0 + 16 : K;
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t k = k0; k < k1; ++k) dst[k * N + n] = bf ? bf16_to_f32(h[n * K + k]) : f[n * K + k];
    }
  });
}
}  // namespace

void matmul_nt(ThreadPool* pool, float* C, const float* A, WeightView B, int64_t M, int64_t N, int64_t K,
               bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (M >= 2 * kBlockM && N * K <= kTransposeLimit) {  // same per-element FMA chain as the packed path
    thread_local std::vector<float> bt;
    if (bt.size() < static_cast<size_t>(N * K)) bt.resize(N * K);
    transpose_to_f32(pool, bt.data(), B, N, K);
    matmul_nn(pool, C, A, f32_view(bt.data()), M, N, K, accumulate);
    return;
  }
  auto nt = kernels().nt;
  // Few rows (a logits chunk, decode): one row block, so each B panel is packed once.
  run_grid(pool, M, N, M <= 4 * kBlockM ? M : kBlockM, [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    nt(C, A, B, M, N, K, accumulate, m0, m1, n0, n1);
  });
}

void matmul_nn(ThreadPool* pool, float* C, const float* A, WeightView B, int64_t M, int64_t N, int64_t K,
               bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (B.dtype == DType::BF16 && M >= 2 * kBlockM && N * K <= kTransposeLimit) {  // widen once, read in place
    thread_local std::vector<float> wide;
    if (wide.size() < static_cast<size_t>(N * K)) wide.resize(N * K);
    const uint16_t* h = static_cast<const uint16_t*>(B.data);
    float* w = wide.data();
    parallel_for(pool, (K + 63) / 64, [&](int64_t t) {
      for (int64_t i = t * 64 * N, e = std::min(K, t * 64 + 64) * N; i < e; ++i) w[i] = bf16_to_f32(h[i]);
    });
    B = f32_view(w);
  }
  auto xn = kernels().xn;
  // bf16 panels packed per task: few rows (the head's input gradient) in one row block.
  const int64_t block_m = B.dtype == DType::BF16 && M <= 4 * kBlockM ? M : kBlockM;
  run_grid(pool, M, N, block_m, [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    xn(C, A, K, 1, B, M, N, K, accumulate, m0, m1, n0, n1);
  });
}

namespace {
// Row block of the WeightTiles products: each block fills every panel once (the fill is a 4-bit
// dequantization), so tall blocks amortize it; 384 rows = 4 x kBlockM keeps >= 3 row blocks at 1024.
constexpr int64_t kTilesBlockM = 4 * kBlockM;
}  // namespace

void matmul_nt_tiles(ThreadPool* pool, float* C, const float* A, const WeightTiles& B, int64_t M, int64_t N, int64_t K,
                     bool accumulate) {
  if (M <= 0 || N <= 0) return;
  auto f = kernels().nt_tiles;
  run_grid(pool, M, N, kTilesBlockM, [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    f(C, A, B, M, N, K, accumulate, m0, m1, n0, n1);
  });
}

void matmul_nn_tiles(ThreadPool* pool, float* C, const float* A, const WeightTiles& B, int64_t M, int64_t N, int64_t K,
                     bool accumulate) {
  if (M <= 0 || N <= 0) return;
  auto f = kernels().nn_tiles;
  run_grid(pool, M, N, kTilesBlockM, [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    f(C, A, B, M, N, K, accumulate, m0, m1, n0, n1);
  });
}

void matmul_tn(ThreadPool* pool, float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K,
               bool accumulate) {
  if (M <= 0 || N <= 0) return;
  auto xn = kernels().xn;
  run_grid(pool, M, N, kBlockM, [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    xn(C, A, 1, M, f32_view(B), M, N, K, accumulate, m0, m1, n0, n1);
  });
}

void linear_forward(ThreadPool* pool, float* out, const float* inp, WeightView weight, const float* bias, int64_t N,
                    int64_t IC, int64_t OC) {
  matmul_nt(pool, out, inp, weight, N, OC, IC, false);
  if (bias) {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < OC; ++o) out[n * OC + o] += bias[o];
  }
}

void linear_backward(ThreadPool* pool, float* dinp, float* dweight, float* dbias, const float* dout,
                     const float* inp, WeightView weight, int64_t N, int64_t IC, int64_t OC) {
  if (dinp) matmul_nn(pool, dinp, dout, weight, N, IC, OC, true);
  if (dweight) matmul_tn(pool, dweight, dout, inp, OC, IC, N, true);
  if (dbias) {
    for (int64_t n = 0; n < N; ++n)  // tokens in index order
      for (int64_t o = 0; o < OC; ++o) dbias[o] += dout[n * OC + o];
  }
}

void linear_forward(double* out, const double* inp, const double* weight, const double* bias, int64_t N, int64_t IC,
                    int64_t OC) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < OC; ++o) {
      double s = bias ? bias[o] : 0.0;
      for (int64_t i = 0; i < IC; ++i) s += inp[n * IC + i] * weight[o * IC + i];
      out[n * OC + o] = s;
    }
}

void linear_backward(double* dinp, double* dweight, double* dbias, const double* dout, const double* inp,
                     const double* weight, int64_t N, int64_t IC, int64_t OC) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < OC; ++o) {
      double g = dout[n * OC + o];
      if (dbias) dbias[o] += g;
      for (int64_t i = 0; i < IC; ++i) {
        if (dinp) dinp[n * IC + i] += g * weight[o * IC + i];
        if (dweight) dweight[o * IC + i] += g * inp[n * IC + i];
      }
    }
}

}  // namespace loralab
