// The tiled GEMMs of the CUDA engine: bf16 x bf16 products on tensor cores (WMMA 16x16x16, fp32
// accumulation; sm_80+), every other type mix on plain fp32 shared-memory tiles; and everything built on them: the three layouts of the
// linear layer, its bias gradient, and the LoRA path computed as (x A^T) B^T * scale. Each output element is summed by one thread in k
// order, so results do not depend on the launch. CPU reference: native/src/ops/matmul.cpp, lora.cpp. Legend: M, N, K generic GEMM dims; N
// tokens, IC/OC in/out features, R LoRA rank.
#pragma once
#include <mma.h>

#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "cuda_common.cuh"
#include "cuda_ops.h"

namespace loralab {
namespace cuda {

constexpr int kGemmBM = 64, kGemmBN = 64, kGemmBK = 16, kGemmThreads = 256;  // 16 x 16 threads, 4 x 4 each

// C (M,N) = alpha * sum_k A(m,k) B(k,n) (+ bias[n]) (+ C); A(m,k) = A[m*sam + k*sak], B(k,n) = B[k*sbk + n*sbn]
template <typename TC, typename TA, typename TB>
__global__ void __launch_bounds__(kGemmThreads) gemm_kernel(TC* C, const TA* A, int64_t sam, int64_t sak, const TB* B,
                                                            int64_t sbk, int64_t sbn, const bf16* bias, int64_t M,
                                                            int64_t N, int64_t K, float alpha, bool accumulate) {
  __shared__ float As[kGemmBK][kGemmBM + 1];  // As[k][m]
  __shared__ float Bs[kGemmBK][kGemmBN + 1];  // Bs[k][n]
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kGemmBM, n0 = static_cast<int64_t>(blockIdx.x) * kGemmBN;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < K; k0 += kGemmBK) {
    // consecutive threads walk the unit-stride dimension of each operand (coalesced loads)
    for (int i = tid; i < kGemmBM * kGemmBK; i += kGemmThreads) {
      const int mm = sak == 1 ? i / kGemmBK : i % kGemmBM, kk = sak == 1 ? i % kGemmBK : i / kGemmBM;
      const int64_t gm = m0 + mm, gk = k0 + kk;
      As[kk][mm] = (gm < M && gk < K) ? to_f32(A[gm * sam + gk * sak]) : 0.0f;
    }
    for (int i = tid; i < kGemmBN * kGemmBK; i += kGemmThreads) {
      const int nn = sbn == 1 ? i % kGemmBN : i / kGemmBK, kk = sbn == 1 ? i / kGemmBN : i % kGemmBK;
      const int64_t gn = n0 + nn, gk = k0 + kk;
      Bs[kk][nn] = (gn < N && gk < K) ? to_f32(B[gk * sbk + gn * sbn]) : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kGemmBK; ++kk) {
      float a[4], b[4];
#pragma unroll
      for (int r = 0; r < 4; ++r) a[r] = As[kk][ty + 16 * r];
#pragma unroll
      for (int c = 0; c < 4; ++c) b[c] = Bs[kk][tx + 16 * c];
#pragma unroll
      for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int c = 0; c < 4; ++c) acc[r][c] = fmaf(a[r], b[c], acc[r][c]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    const int64_t gm = m0 + ty + 16 * r;
    if (gm >= M) continue;
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      const int64_t gn = n0 + tx + 16 * c;
      if (gn >= N) continue;
      float val = alpha * acc[r][c];
      if (bias) val += to_f32(bias[gn]);
      if (accumulate) val += to_f32(C[gm * N + gn]);
      C[gm * N + gn] = from_f32<TC>(val);
    }
  }
}

// Tensor-core tile: 128 x 128 outputs per block of 8 warps (2 x 4), each warp 64 x 32 as 4 x 2 WMMA
// fragments; k in steps of 32 through shared memory (zero-filled past the edges), so any M, N, K and
// any strides work. Same contract as gemm_kernel; each fragment's k order is fixed (deterministic).
constexpr int kWmmaBM = 128, kWmmaBN = 128, kWmmaBK = 32, kWmmaPadA = kWmmaBK + 8, kWmmaPadB = kWmmaBN + 8;
template <typename TC>
__global__ void __launch_bounds__(256) gemm_wmma_kernel(TC* C, const bf16* A, int64_t sam, int64_t sak, const bf16* B,
                                                        int64_t sbk, int64_t sbn, const bf16* bias, int64_t M,
                                                        int64_t N, int64_t K, float alpha, bool accumulate) {
  namespace wmma = nvcuda::wmma;
  __shared__ __align__(128) bf16 As[kWmmaBM * kWmmaPadA];  // As[m][k]
  __shared__ __align__(128) bf16 Bs[kWmmaBK * kWmmaPadB];  // Bs[k][n]
  __shared__ __align__(128) float stage[8][16 * 16];        // per-warp epilogue staging
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int wm = warp / 4, wn = warp % 4;  // warp tile origin: (wm*64, wn*32)
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kWmmaBM, n0 = static_cast<int64_t>(blockIdx.x) * kWmmaBN;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[4][2];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
  const bf16 zero = __float2bfloat16_rn(0.0f);
  for (int64_t k0 = 0; k0 < K; k0 += kWmmaBK) {
    for (int i = tid; i < kWmmaBM * kWmmaBK; i += 256) {
      const int mm = sak == 1 ? i / kWmmaBK : i % kWmmaBM, kk = sak == 1 ? i % kWmmaBK : i / kWmmaBM;
      const int64_t gm = m0 + mm, gk = k0 + kk;
      As[mm * kWmmaPadA + kk] = (gm < M && gk < K) ? A[gm * sam + gk * sak] : zero;
    }
    for (int i = tid; i < kWmmaBN * kWmmaBK; i += 256) {
      const int nn = sbn == 1 ? i % kWmmaBN : i / kWmmaBK, kk = sbn == 1 ? i / kWmmaBN : i % kWmmaBK;
      const int64_t gn = n0 + nn, gk = k0 + kk;
      Bs[kk * kWmmaPadB + nn] = (gn < N && gk < K) ? B[gk * sbk + gn * sbn] : zero;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kWmmaBK; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> a[4];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> b[2];
#pragma unroll
      for (int i = 0; i < 4; ++i) wmma::load_matrix_sync(a[i], As + (wm * 64 + i * 16) * kWmmaPadA + kk, kWmmaPadA);
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], Bs + kk * kWmmaPadB + wn * 32 + j * 16, kWmmaPadB);
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
  float* st = stage[warp];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      wmma::store_matrix_sync(st, acc[i][j], 16, wmma::mem_row_major);
      __syncwarp();
      for (int e = lane; e < 256; e += 32) {
        const int64_t gm = m0 + wm * 64 + i * 16 + e / 16, gn = n0 + wn * 32 + j * 16 + e % 16;
        if (gm < M && gn < N) {
          float val = alpha * st[e];
          if (bias) val += to_f32(bias[gn]);
          if (accumulate) val += to_f32(C[gm * N + gn]);
          C[gm * N + gn] = from_f32<TC>(val);
        }
      }
      __syncwarp();
    }
}

// LORALAB_CUDA_GEMM=simt forces the plain kernel for bf16 x bf16 too (comparisons, debugging)
inline bool gemm_tensor_cores_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("LORALAB_CUDA_GEMM");
    return !(v && std::strcmp(v, "simt") == 0);
  }();
  return enabled;
}

// dbias (OC) += sum_n dout (N,OC), one thread per column, rows in order
__global__ void bias_backward_kernel(float* dbias, const bf16* dout, int64_t N, int64_t OC) {
  const int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (o >= OC) return;
  float acc = 0.0f;
  for (int64_t n = 0; n < N; ++n) acc += to_f32(dout[n * OC + o]);
  dbias[o] += acc;
}

// ------------------------------------------------------------------------------------------------
// launchers

template <typename TC, typename TA, typename TB>
void gemm(TC* C, const TA* A, int64_t sam, int64_t sak, const TB* B, int64_t sbk, int64_t sbn, const bf16* bias,
          int64_t M, int64_t N, int64_t K, float alpha, bool accumulate, cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(M >= 0 && N >= 0 && K >= 0 && (M + kGemmBM - 1) / kGemmBM <= 65535,
                      "gemm: need M, N, K >= 0 and M <= 4194240");
  if (M == 0 || N == 0) return;
  if constexpr (std::is_same<TA, bf16>::value && std::is_same<TB, bf16>::value) {
    if (gemm_tensor_cores_enabled()) {
      dim3 grid(ceil_div(N, kWmmaBN), ceil_div(M, kWmmaBM));
      gemm_wmma_kernel<TC><<<grid, 256, 0, stream>>>(C, A, sam, sak, B, sbk, sbn, bias, M, N, K, alpha, accumulate);
      LORALAB_CUDA_LAUNCH_CHECK("gemm_wmma_kernel");
      return;
    }
  }
  dim3 grid(ceil_div(N, kGemmBN), ceil_div(M, kGemmBM));
  gemm_kernel<TC, TA, TB><<<grid, kGemmThreads, 0, stream>>>(C, A, sam, sak, B, sbk, sbn, bias, M, N, K, alpha,
                                                             accumulate);
  LORALAB_CUDA_LAUNCH_CHECK("gemm_kernel");
}

template <typename TC, typename TA, typename TB>
void matmul_nt(TC* C, const TA* A, const TB* B, int64_t M, int64_t N, int64_t K, bool accumulate, cudaStream_t stream) {
  gemm<TC, TA, TB>(C, A, K, 1, B, 1, K, nullptr, M, N, K, 1.0f, accumulate, stream);
}
template <typename TC, typename TA, typename TB>
void matmul_nn(TC* C, const TA* A, const TB* B, int64_t M, int64_t N, int64_t K, bool accumulate, cudaStream_t stream) {
  gemm<TC, TA, TB>(C, A, K, 1, B, N, 1, nullptr, M, N, K, 1.0f, accumulate, stream);
}
template <typename TC, typename TA, typename TB>
void matmul_tn(TC* C, const TA* A, const TB* B, int64_t M, int64_t N, int64_t K, bool accumulate, cudaStream_t stream) {
  gemm<TC, TA, TB>(C, A, 1, M, B, N, 1, nullptr, M, N, K, 1.0f, accumulate, stream);
}

#define LORALAB_GEMM_INSTANTIATE(TC, TA, TB)                                                                       \
  template void gemm<TC, TA, TB>(TC*, const TA*, int64_t, int64_t, const TB*, int64_t, int64_t, const bf16*,       \
                                 int64_t, int64_t, int64_t, float, bool, cudaStream_t);                            \
  template void matmul_nt<TC, TA, TB>(TC*, const TA*, const TB*, int64_t, int64_t, int64_t, bool, cudaStream_t); \
  template void matmul_nn<TC, TA, TB>(TC*, const TA*, const TB*, int64_t, int64_t, int64_t, bool, cudaStream_t); \
  template void matmul_tn<TC, TA, TB>(TC*, const TA*, const TB*, int64_t, int64_t, int64_t, bool, cudaStream_t);
LORALAB_GEMM_INSTANTIATE(bf16, bf16, bf16)
LORALAB_GEMM_INSTANTIATE(float, bf16, bf16)
LORALAB_GEMM_INSTANTIATE(float, bf16, float)
LORALAB_GEMM_INSTANTIATE(float, float, bf16)
LORALAB_GEMM_INSTANTIATE(bf16, float, float)
LORALAB_GEMM_INSTANTIATE(float, float, float)
#undef LORALAB_GEMM_INSTANTIATE

void linear_forward(bf16* out, const bf16* inp, const bf16* weight, const bf16* bias, int64_t N, int64_t IC, int64_t OC,
                    cudaStream_t stream) {
  gemm<bf16, bf16, bf16>(out, inp, IC, 1, weight, 1, IC, bias, N, OC, IC, 1.0f, false, stream);
}

void linear_backward(bf16* dinp, float* dweight, float* dbias, const bf16* dout, const bf16* inp, const bf16* weight,
                     int64_t N, int64_t IC, int64_t OC, cudaStream_t stream) {
  if (dinp) matmul_nn<bf16, bf16, bf16>(dinp, dout, weight, N, IC, OC, true, stream);
  if (dweight) matmul_tn<float, bf16, bf16>(dweight, dout, inp, OC, IC, N, true, stream);
  if (dbias && N > 0 && OC > 0) {
    bias_backward_kernel<<<ceil_div(OC, 128), 128, 0, stream>>>(dbias, dout, N, OC);
    LORALAB_CUDA_LAUNCH_CHECK("bias_backward_kernel");
  }
}

void lora_forward(bf16* out, float* u, const bf16* xd, const float* A, const float* B, float scale, int64_t N,
                  int64_t IC, int64_t OC, int64_t R, cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(R > 0, "lora_forward: need R > 0");
  matmul_nt<float, bf16, float>(u, xd, A, N, R, IC, false, stream);                         // u (N,R) = xd A^T
  gemm<bf16, float, float>(out, u, R, 1, B, 1, R, nullptr, N, OC, R, scale, true, stream);  // out += s u B^T
}

void lora_backward(bf16* dxd, float* dA, float* dB, float* du, const bf16* dout, const bf16* xd, const float* u,
                   const float* A, const float* B, float scale, int64_t N, int64_t IC, int64_t OC, int64_t R,
                   cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(R > 0 && du, "lora_backward: need R > 0 and du scratch (N,R)");
  gemm<float, bf16, float>(dB, dout, 1, OC, u, R, 1, nullptr, OC, R, N, scale, true, stream);    // dB += s dout^T u
  gemm<float, bf16, float>(du, dout, OC, 1, B, R, 1, nullptr, N, R, OC, scale, false, stream);   // du = s dout B
  gemm<float, float, bf16>(dA, du, 1, R, xd, IC, 1, nullptr, R, IC, N, 1.0f, true, stream);      // dA += du^T xd
  if (dxd) gemm<bf16, float, float>(dxd, du, R, 1, A, IC, 1, nullptr, N, IC, R, 1.0f, true, stream);  // dxd += du A
}

}  // namespace cuda
}  // namespace loralab
