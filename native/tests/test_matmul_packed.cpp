// ctest: the GEMM's whole-B packed path (GemmKernels::pack + packed, which matmul_nt / _nn / _tn take
// from 2 row blocks on) against the per-task kernels (nt / xn) bitwise, on every instruction set the
// CPU has: fp32 and bf16 weights, the forward (x W^T), input-gradient (dy W) and weight-gradient
// (dy^T x) layouts, partial panels, K slices and row tiles, accumulate on and off; then the
// dispatching entry points at engine-like sizes, bitwise for 1, 2 and 3 threads and within fp32
// rounding of a double reference; the K-split path of matmul_nn (few rows, a vocabulary-long K: the
// head's input gradient) against its definition (per-range kernel sums added in range order),
// bitwise for 1, 2 and 3 threads, and against double; the weight gradient's row-block tasks
// (GemmKernels::tn_rows), bitwise the per-task kernel; the narrow products (<= half a vector of
// columns) that run transposed, bitwise the per-task kernels. Legend: M, N, K GEMM dims.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "dtype.h"
#include "grad_check.h"
#include "ops/matmul.h"
#include "simd_path.h"
#include "test_util.h"
#include "threadpool.h"

using namespace loralab;
using gradcheck::fill_uniform;

namespace {

// C (+)= op(A) . op(B) through pack + packed, over the row / column blocks of a fixed grid.
void run_packed(const GemmKernels& k, float* C, const float* A, int64_t sam, int64_t sak, WeightView B, bool nt, int64_t M, int64_t N,
                int64_t K, bool acc, int64_t block_m, int64_t block_n) {
  const int64_t w = k.panel_width, panels = (N + w - 1) / w;
  std::vector<float> bp(panels * w * K, -7.0f);  // padding must come from pack, not from here
  k.pack(bp.data(), B, nt, N, K, 0, panels);
  for (int64_t m0 = 0; m0 < M; m0 += block_m)
    for (int64_t n0 = 0; n0 < N; n0 += block_n)
      k.packed(C, A, sam, sak, bp.data(), M, N, K, acc, m0, std::min(M, m0 + block_m), n0, std::min(N, n0 + block_n));
}

void check_packed(const char* name, const GemmKernels& k) {
  const int64_t M = 41, N = 150, K = 300;  // 3 K slices (the last partial), a partial panel, partial row tiles
  std::vector<float> A(M * K), At(K * M), Bnt(N * K), Bkn(K * N);
  fill_uniform(A, 21), fill_uniform(At, 22), fill_uniform(Bnt, 23), fill_uniform(Bkn, 24);
  std::vector<uint16_t> Bnt16(N * K), Bkn16(K * N);
  for (size_t i = 0; i < Bnt.size(); ++i) Bnt16[i] = f32_to_bf16(Bnt[i]);
  for (size_t i = 0; i < Bkn.size(); ++i) Bkn16[i] = f32_to_bf16(Bkn[i]);
  int differing = 0, products = 0;
  for (int bf = 0; bf < 2; ++bf)
    for (int acc = 0; acc < 2; ++acc) {
      const WeightView bnt = bf ? WeightView{Bnt16.data(), DType::BF16} : f32_view(Bnt.data());
      const WeightView bkn = bf ? WeightView{Bkn16.data(), DType::BF16} : f32_view(Bkn.data());
      std::vector<float> want(M * N, 0.5f), got(M * N, 0.5f);
      auto compare = [&] {
        differing += std::memcmp(want.data(), got.data(), want.size() * 4) != 0, ++products;
        std::fill(want.begin(), want.end(), 0.5f), std::fill(got.begin(), got.end(), 0.5f);
      };
      k.nt(want.data(), A.data(), bnt, M, N, K, acc, 0, M, 0, N);
      run_packed(k, got.data(), A.data(), K, 1, bnt, true, M, N, K, acc, 12, 64);
      compare();
      k.xn(want.data(), A.data(), K, 1, bkn, M, N, K, acc, 0, M, 0, N);
      run_packed(k, got.data(), A.data(), K, 1, bkn, false, M, N, K, acc, M, 128);
      compare();
      k.xn(want.data(), At.data(), 1, M, bkn, M, N, K, acc, 0, M, 0, N);  // A transposed (weight gradient)
      run_packed(k, got.data(), At.data(), 1, M, bkn, false, M, N, K, acc, 18, N);
      compare();
      if (!bf) {  // tn_rows: row blocks of 20 (a partial tile in each), chunks of 2 panels, B in place and packed
        const int64_t w = k.panel_width, panels = (N + w - 1) / w;
        std::vector<float> bp(panels * w * K, -7.0f);
        k.pack(bp.data(), bkn, false, N, K, 0, panels);
        for (const float* packed : {static_cast<const float*>(nullptr), static_cast<const float*>(bp.data())}) {
          k.xn(want.data(), At.data(), 1, M, bkn, M, N, K, acc, 0, M, 0, N);
          for (int64_t m0 = 0; m0 < M; m0 += 20)
            for (int64_t n0 = 0; n0 < N; n0 += 2 * w)
              k.tn_rows(got.data(), At.data(), Bkn.data(), packed, M, N, K, acc, m0, std::min(M, m0 + 20), n0, std::min(N, n0 + 2 * w));
          compare();
        }
      }
    }
  std::printf("  gemm %-8s packed vs per-task kernels: %d/%d products differ\n", name, differing, products);
  CHECK(differing == 0);
}

// matmul_nt / _nn / _tn at sizes that take the packed path: bitwise for any thread count, and equal
// to the per-task kernels run over the whole matrix; within fp32 rounding of double.
void check_dispatch() {
  const int64_t M = 250, N = 200, K = 333;
  std::vector<float> A(M * K), At(K * M), Bnt(N * K), Bkn(K * N);
  fill_uniform(A, 31), fill_uniform(At, 32), fill_uniform(Bnt, 33), fill_uniform(Bkn, 34);
  std::vector<uint16_t> B16(N * K);
  for (size_t i = 0; i < B16.size(); ++i) B16[i] = f32_to_bf16(Bnt[i]);
  const GemmKernels k = simd_kernels(gemm_kernels_generic, gemm_kernels_avx2, gemm_kernels_avx512);
  std::vector<float> first[4], serial[4];
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::vector<float> C[4];
    for (auto& c : C) c.assign(M * N, 0.25f);
    matmul_nt(&pool, C[0].data(), A.data(), f32_view(Bnt.data()), M, N, K, false);
    matmul_nt(&pool, C[1].data(), A.data(), WeightView{B16.data(), DType::BF16}, M, N, K, true);
    matmul_nn(&pool, C[2].data(), A.data(), f32_view(Bkn.data()), M, N, K, true);
    matmul_tn(&pool, C[3].data(), At.data(), Bkn.data(), M, N, K, true);
    for (int i = 0; i < 4; ++i) {
      if (threads == 1)
        first[i] = C[i];
      else
        CHECK(std::memcmp(C[i].data(), first[i].data(), C[i].size() * 4) == 0);
    }
  }
  for (auto& c : serial) c.assign(M * N, 0.25f);
  k.nt(serial[0].data(), A.data(), f32_view(Bnt.data()), M, N, K, false, 0, M, 0, N);
  k.nt(serial[1].data(), A.data(), WeightView{B16.data(), DType::BF16}, M, N, K, true, 0, M, 0, N);
  k.xn(serial[2].data(), A.data(), K, 1, f32_view(Bkn.data()), M, N, K, true, 0, M, 0, N);
  k.xn(serial[3].data(), At.data(), 1, M, f32_view(Bkn.data()), M, N, K, true, 0, M, 0, N);
  int differing = 0;
  for (int i = 0; i < 4; ++i) differing += std::memcmp(serial[i].data(), first[i].data(), first[i].size() * 4) != 0;
  std::printf("  matmul_nt/nn/tn (%s, packed path) vs per-task kernels: %d/4 differ\n", simd_path_name(simd_path()), differing);
  CHECK(differing == 0);
  double worst = 0, scale = 0;
  for (int64_t m = 0; m < M; m += 7)
    for (int64_t n = 0; n < N; n += 3) {
      double nt = 0, nn = 0, tn = 0;
      for (int64_t kk = 0; kk < K; ++kk) {
        nt += double(A[m * K + kk]) * Bnt[n * K + kk];
        nn += double(A[m * K + kk]) * Bkn[kk * N + n];
        tn += double(At[kk * M + m]) * Bkn[kk * N + n];
      }
      worst = std::fmax(worst, std::fabs(first[0][m * N + n] - nt));
      worst = std::fmax(worst, std::fabs(first[2][m * N + n] - 0.25 - nn));
      worst = std::fmax(worst, std::fabs(first[3][m * N + n] - 0.25 - tn));
      scale = std::fmax(scale, std::fabs(nt));
    }
  std::printf("  matmul packed path: max abs err vs double %.3e (max |C| %.2f)\n", worst, scale);
  CHECK(worst < 5e-5);
}

// Products whose packed B is small enough to be packed per thread (GemmScratch::per_thread): two
// weights of one shape in turn, and a narrower one between, on one pool and one scratch, so every
// thread's panels of the last call are stale; each result bitwise the per-task kernel's.
void check_per_thread_panels() {
  const int64_t M = 400, N = 300, K = 150, N2 = 70;
  std::vector<float> A(M * K), B1(N * K), B2(N * K), C(M * N), want(M * N);
  fill_uniform(A, 41), fill_uniform(B1, 42), fill_uniform(B2, 43);
  const GemmKernels k = simd_kernels(gemm_kernels_generic, gemm_kernels_avx2, gemm_kernels_avx512);
  int differing = 0, products = 0;
  for (int threads : {2, 3}) {
    ThreadPool pool(threads);
    GemmScratch scratch;
    GemmScratchScope scope(&scratch);
    for (int round = 0; round < 3; ++round)
      for (const std::vector<float>* B : {&B1, &B2}) {
        for (int64_t n : {N, N2}) {
          matmul_nt(&pool, C.data(), A.data(), f32_view(B->data()), M, n, K, false);
          k.nt(want.data(), A.data(), f32_view(B->data()), M, n, K, false, 0, M, 0, n);
          differing += std::memcmp(C.data(), want.data(), M * n * 4) != 0, ++products;
        }
      }
    CHECK(scratch.per_thread.size() == static_cast<size_t>(threads));
  }
  std::printf("  per-thread packed panels: %d/%d products differ\n", differing, products);
  CHECK(differing == 0);
}

// matmul_tn packs its B (an activation) only when N is a multiple of 256: that path too, bitwise the
// per-task kernel for 1 and 2 threads.
void check_tn_packed() {
  const int64_t M = 200, N = 256, K = 150;
  std::vector<float> At(K * M), B(K * N), want(M * N, 0.5f);
  fill_uniform(At, 41), fill_uniform(B, 42);
  const GemmKernels k = simd_kernels(gemm_kernels_generic, gemm_kernels_avx2, gemm_kernels_avx512);
  k.xn(want.data(), At.data(), 1, M, f32_view(B.data()), M, N, K, true, 0, M, 0, N);
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    std::vector<float> got(M * N, 0.5f);
    matmul_tn(&pool, got.data(), At.data(), B.data(), M, N, K, true);
    CHECK(std::memcmp(got.data(), want.data(), got.size() * 4) == 0);
  }
}

// matmul_tn with >= 4 tasks per thread runs as row blocks x column chunks (GemmKernels::tn_rows):
// 11 row blocks (the last partial), one chunk with a partial panel, two chunks, and B packed whole
// (N % 256 == 0); 1 and 2 threads take it, 3 threads (11 < 12 tasks) the grid. Bitwise the per-task
// kernel over the whole product, accumulate on and off.
void check_tn_rows() {
  const GemmKernels k = simd_kernels(gemm_kernels_generic, gemm_kernels_avx2, gemm_kernels_avx512);
  const int64_t M = 1000, K = 333;
  int differing = 0, products = 0;
  for (int64_t N : {200, 1100, 512}) {
    std::vector<float> At(K * M), B(K * N), C0(M * N);
    fill_uniform(At, 71 + N), fill_uniform(B, 72), fill_uniform(C0, 73);
    for (int acc = 0; acc < 2; ++acc) {
      std::vector<float> want(C0);
      k.xn(want.data(), At.data(), 1, M, f32_view(B.data()), M, N, K, acc, 0, M, 0, N);
      for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        std::vector<float> got(C0);
        matmul_tn(&pool, got.data(), At.data(), B.data(), M, N, K, acc);
        differing += std::memcmp(got.data(), want.data(), got.size() * 4) != 0, ++products;
      }
    }
  }
  std::printf("  matmul_tn row-block tasks: %d/%d products differ from the per-task kernel\n", differing, products);
  CHECK(differing == 0);
}

// matmul_nn with <= 384 rows and K of >= 2 ranges of 1024 splits K: C = ((C0 + P_0) + P_1) + ..., P_j the
// per-task kernel's sum over range j, computed in blocks of up to 1024 columns. Checked bitwise against
// that definition for fp32 and bf16 weights, accumulate on and off, 1 to 3 threads, on a narrow shape and
// on one of two column blocks; and within fp32 rounding of double.
void check_k_split(int64_t M, int64_t N, int64_t K) {
  const int64_t R = 2048;  // ops/matmul.cpp's range length (kKSplitMin) for these shapes
  std::vector<float> A(M * K), B(K * N);
  fill_uniform(A, 51), fill_uniform(B, 52);
  std::vector<uint16_t> B16(K * N);
  for (size_t i = 0; i < B.size(); ++i) B16[i] = f32_to_bf16(B[i]);
  const GemmKernels k = simd_kernels(gemm_kernels_generic, gemm_kernels_avx2, gemm_kernels_avx512);
  int differing = 0, products = 0;
  std::vector<float> fp32_result;
  for (int bf = 0; bf < 2; ++bf)
    for (int acc = 0; acc < 2; ++acc) {
      const WeightView w = bf ? WeightView{B16.data(), DType::BF16} : f32_view(B.data());
      std::vector<float> want(M * N, acc ? 0.75f : 0.0f), part(M * N);
      for (int64_t k0 = 0; k0 < K; k0 += R) {
        const int64_t kc = std::min(R, K - k0);
        const WeightView rows{static_cast<const char*>(w.data) + k0 * N * (bf ? 2 : 4), w.dtype};
        k.xn(part.data(), A.data() + k0, K, 1, rows, M, N, kc, false, 0, M, 0, N);
        for (int64_t i = 0; i < M * N; ++i) want[i] += part[i];
      }
      for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        std::vector<float> got(M * N, 0.75f);
        matmul_nn(&pool, got.data(), A.data(), w, M, N, K, acc);
        differing += std::memcmp(got.data(), want.data(), got.size() * 4) != 0, ++products;
        if (!bf && !acc) fp32_result = got;
      }
    }
  std::printf("  matmul_nn K-split %lld x %lld x %lld (%s): %d/%d products differ from the per-range definition\n",
              (long long)M, (long long)N, (long long)K, simd_path_name(simd_path()), differing, products);
  CHECK(differing == 0);
  double worst = 0, scale = 0;
  for (int64_t m = 0; m < M; m += 3)
    for (int64_t n = 0; n < N; n += 7) {
      double ref = 0;
      for (int64_t kk = 0; kk < K; ++kk) ref += double(A[m * K + kk]) * B[kk * N + n];
      worst = std::fmax(worst, std::fabs(fp32_result[m * N + n] - ref)), scale = std::fmax(scale, std::fabs(ref));
    }
  std::printf("  matmul_nn K-split: max abs err vs double %.3e (max |C| %.2f)\n", worst, scale);
  CHECK(worst < 1e-4);
}

// Narrow products (<= half a vector of columns, >= 64 rows: LoRA's rank-8 u = x A^T, du = dout B and
// dB += dout^T su on AVX-512) run as their transpose; bitwise the per-task kernels over the whole
// product, for 1 to 3 threads, accumulate on and off, 1 to 16 columns, one or several K slices.
void check_narrow() {
  const GemmKernels k = simd_kernels(gemm_kernels_generic, gemm_kernels_avx2, gemm_kernels_avx512);
  int differing = 0, products = 0;
  for (int64_t M : {64, 300, 1024})
    for (int64_t N : {1, 4, 8, 16})
      for (int64_t K : {8, 300}) {
        std::vector<float> A(M * K), At(K * M), Bnt(N * K), Bkn(K * N), Bt(K * N), C0(M * N);
        fill_uniform(A, 61 + M), fill_uniform(At, 62 + N), fill_uniform(Bnt, 63 + K), fill_uniform(Bkn, 64);
        fill_uniform(Bt, 65), fill_uniform(C0, 66);
        for (int acc = 0; acc < 2; ++acc) {
          std::vector<float> want_nt(C0), want_nn(C0), want_tn(C0);
          k.nt(want_nt.data(), A.data(), f32_view(Bnt.data()), M, N, K, acc, 0, M, 0, N);
          k.xn(want_nn.data(), A.data(), K, 1, f32_view(Bkn.data()), M, N, K, acc, 0, M, 0, N);
          k.xn(want_tn.data(), At.data(), 1, M, f32_view(Bt.data()), M, N, K, acc, 0, M, 0, N);
          for (int threads : {1, 2, 3}) {
            ThreadPool pool(threads);
            std::vector<float> nt(C0), nn(C0), tn(C0);
            matmul_nt(&pool, nt.data(), A.data(), f32_view(Bnt.data()), M, N, K, acc);
            matmul_nn(&pool, nn.data(), A.data(), f32_view(Bkn.data()), M, N, K, acc);
            matmul_tn(&pool, tn.data(), At.data(), Bt.data(), M, N, K, acc);
            differing += std::memcmp(nt.data(), want_nt.data(), nt.size() * 4) != 0;
            differing += std::memcmp(nn.data(), want_nn.data(), nn.size() * 4) != 0;
            differing += std::memcmp(tn.data(), want_tn.data(), tn.size() * 4) != 0;
            products += 3;
          }
        }
      }
  std::printf("  narrow products (transposed): %d/%d differ from the per-task kernels\n", differing, products);
  CHECK(differing == 0);
}

}  // namespace

int main() {
  check_packed("scalar", gemm_kernels_generic());
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) check_packed("avx2", gemm_kernels_avx2());
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq"))
    check_packed("avx512", gemm_kernels_avx512());
  check_dispatch();
  check_per_thread_panels();
  check_tn_packed();
  check_tn_rows();
  check_k_split(37, 150, 9000);  // 4 whole ranges and a partial one; a partial panel
  check_k_split(13, 1100, 5000);  // 2 ranges and a partial one; 2 column blocks
  check_narrow();
  return test_summary("test_matmul_packed");
}
