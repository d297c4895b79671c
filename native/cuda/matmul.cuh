// The tiled GEMM of the CUDA engine (plain fp32-accumulate shared-memory tiles; tensor cores come
// in a later issue) and everything built on it: the three layouts of the linear layer, its bias
// gradient, and the LoRA path computed as (x A^T) B^T * scale. Each output element is summed by one
// thread in k order, so results do not depend on the launch. CPU reference: native/src/ops/matmul.cpp,
// lora.cpp. Legend: M, N, K generic GEMM dims; N tokens, IC/OC in/out features, R LoRA rank.
#pragma once
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
