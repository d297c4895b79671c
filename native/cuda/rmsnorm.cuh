// RMSNorm on CUDA (Hugging Face Llama): out = weight * (x * rsqrt(mean(x^2) + eps)), fp32 inside,
// with its backward. CPU reference: native/src/ops/rmsnorm.cpp. Legend: N tokens, C channels.
#pragma once
#include "cuda_common.cuh"
#include "cuda_ops.h"

namespace loralab {
namespace cuda {

// one block per row: out (N,C), rstd (N) or null, inp (N,C), weight (C)
__global__ void rmsnorm_forward_kernel(bf16* out, float* rstd, const bf16* inp, const bf16* weight, int64_t C,
                                       float eps) {
  __shared__ float scratch[32];
  const int64_t n = blockIdx.x;
  const bf16* x = inp + n * C;
  float ss = 0.0f;
  for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
    float xi = to_f32(x[i]);
    ss += xi * xi;
  }
  ss = block_reduce<false>(ss, scratch);
  const float r = rsqrtf(ss / static_cast<float>(C) + eps);
  if (rstd && threadIdx.x == 0) rstd[n] = r;
  for (int64_t i = threadIdx.x; i < C; i += blockDim.x)
    out[n * C + i] = from_f32<bf16>(to_f32(weight[i]) * (to_f32(x[i]) * r));
}

// one block per row: dinp (N,C) += r * (w g) - x * (sum_i (w g)_i x_i / C) * r^3
__global__ void rmsnorm_backward_dinp_kernel(bf16* dinp, const bf16* dout, const bf16* inp, const bf16* weight,
                                             const float* rstd, int64_t C) {
  __shared__ float scratch[32];
  const int64_t n = blockIdx.x;
  const bf16* x = inp + n * C;
  const bf16* g = dout + n * C;
  float dot = 0.0f;
  for (int64_t i = threadIdx.x; i < C; i += blockDim.x) dot += to_f32(weight[i]) * to_f32(g[i]) * to_f32(x[i]);
  dot = block_reduce<false>(dot, scratch);
  const float r = rstd[n];
  const float coef = dot / static_cast<float>(C) * r * r * r;
  for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
    float d = r * (to_f32(weight[i]) * to_f32(g[i])) - to_f32(x[i]) * coef;
    dinp[n * C + i] = from_f32<bf16>(to_f32(dinp[n * C + i]) + d);
  }
}

// one thread per channel, rows in order (deterministic): dweight (C) += sum_n dout * (x * rstd)
__global__ void rmsnorm_backward_dweight_kernel(float* dweight, const bf16* dout, const bf16* inp, const float* rstd,
                                                int64_t N, int64_t C) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= C) return;
  float acc = 0.0f;
  for (int64_t n = 0; n < N; ++n) acc += to_f32(dout[n * C + i]) * (to_f32(inp[n * C + i]) * rstd[n]);
  dweight[i] += acc;
}

// ------------------------------------------------------------------------------------------------
// launchers

void rmsnorm_forward(bf16* out, float* rstd, const bf16* inp, const bf16* weight, int64_t N, int64_t C, float eps,
                     cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(N >= 0 && N <= 0x7fffffff && C > 0, "rmsnorm_forward: need 0 <= N < 2^31, C > 0");
  if (N == 0) return;
  rmsnorm_forward_kernel<<<static_cast<unsigned>(N), 256, 0, stream>>>(out, rstd, inp, weight, C, eps);
  LORALAB_CUDA_LAUNCH_CHECK("rmsnorm_forward_kernel");
}

void rmsnorm_backward(bf16* dinp, float* dweight, const bf16* dout, const bf16* inp, const bf16* weight,
                      const float* rstd, int64_t N, int64_t C, cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(N >= 0 && N <= 0x7fffffff && C > 0 && rstd, "rmsnorm_backward: need N < 2^31, C > 0, rstd");
  if (N == 0) return;
  if (dinp) {
    rmsnorm_backward_dinp_kernel<<<static_cast<unsigned>(N), 256, 0, stream>>>(dinp, dout, inp, weight, rstd, C);
    LORALAB_CUDA_LAUNCH_CHECK("rmsnorm_backward_dinp_kernel");
  }
  if (dweight) {
    rmsnorm_backward_dweight_kernel<<<ceil_div(C, 128), 128, 0, stream>>>(dweight, dout, inp, rstd, N, C);
    LORALAB_CUDA_LAUNCH_CHECK("rmsnorm_backward_dweight_kernel");
  }
}

}  // namespace cuda
}  // namespace loralab
