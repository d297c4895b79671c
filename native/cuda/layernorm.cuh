// LayerNorm with weight and bias on CUDA (Phi, Falcon): out = (x - mean) * rstd * w + b, rstd =
// 1 / sqrt(biased variance + eps), fp32 inside (two passes over the row), with its backward.
// CPU reference: native/src/ops/layernorm.cpp (same formulas; it sums in double). Legend: N tokens, C channels.
#pragma once
#include "cuda_common.cuh"
#include "cuda_ops.h"

namespace loralab {
namespace cuda {

// one block per row: out (N,C), mean / rstd (N) or null, inp (N,C), weight / bias (C)
__global__ void layernorm_forward_kernel(bf16* out, float* mean, float* rstd, const bf16* inp, const bf16* weight, const bf16* bias,
                                         int64_t C, float eps) {
  __shared__ float scratch[32];
  const int64_t n = blockIdx.x;
  const bf16* x = inp + n * C;
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < C; i += blockDim.x) s += to_f32(x[i]);
  const float m = block_reduce<false>(s, scratch) / static_cast<float>(C);
  float v = 0.0f;
  for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
    const float d = to_f32(x[i]) - m;
    v += d * d;
  }
  v = block_reduce<false>(v, scratch);
  const float r = 1.0f / sqrtf(v / static_cast<float>(C) + eps);
  if (threadIdx.x == 0) {
    if (mean) mean[n] = m;
    if (rstd) rstd[n] = r;
  }
  for (int64_t i = threadIdx.x; i < C; i += blockDim.x)
    out[n * C + i] = from_f32<bf16>((to_f32(x[i]) - m) * r * to_f32(weight[i]) + to_f32(bias[i]));
}

// one block per row: dinp (N,C) += r * (g - mean(g) - xhat * mean(g xhat)), g = dout * w, xhat = (x - m) r
__global__ void layernorm_backward_dinp_kernel(bf16* dinp, const bf16* dout, const bf16* inp, const bf16* weight, const float* mean,
                                               const float* rstd, int64_t C) {
  __shared__ float scratch[32];
  const int64_t n = blockIdx.x;
  const bf16* x = inp + n * C;
  const bf16* dy = dout + n * C;
  const float m = mean[n], r = rstd[n];
  float sg = 0.0f, sgx = 0.0f;
  for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
    const float g = to_f32(dy[i]) * to_f32(weight[i]);
    sg += g;
    sgx += g * ((to_f32(x[i]) - m) * r);
  }
  const float mg = block_reduce<false>(sg, scratch) / static_cast<float>(C);
  const float mgx = block_reduce<false>(sgx, scratch) / static_cast<float>(C);
  for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
    const float xhat = (to_f32(x[i]) - m) * r;
    const float d = r * (to_f32(dy[i]) * to_f32(weight[i]) - mg - xhat * mgx);
    dinp[n * C + i] = from_f32<bf16>(to_f32(dinp[n * C + i]) + d);
  }
}

// one thread per channel, rows in order (deterministic): dweight += sum_n dout * xhat, dbias += sum_n dout
__global__ void layernorm_backward_dparams_kernel(float* dweight, float* dbias, const bf16* dout, const bf16* inp, const float* mean,
                                                  const float* rstd, int64_t N, int64_t C) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= C) return;
  float aw = 0.0f, ab = 0.0f;
  for (int64_t n = 0; n < N; ++n) {
    const float d = to_f32(dout[n * C + i]);
    aw += d * ((to_f32(inp[n * C + i]) - mean[n]) * rstd[n]);
    ab += d;
  }
  if (dweight) dweight[i] += aw;
  if (dbias) dbias[i] += ab;
}

// ------------------------------------------------------------------------------------------------
// launchers

void layernorm_forward(bf16* out, float* mean, float* rstd, const bf16* inp, const bf16* weight, const bf16* bias, int64_t N, int64_t C,
                       float eps, cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(N >= 0 && N <= 0x7fffffff && C > 0 && weight && bias,
                      "layernorm_forward: need 0 <= N < 2^31, C > 0, weight and bias");
  if (N == 0) return;
  layernorm_forward_kernel<<<static_cast<unsigned>(N), 256, 0, stream>>>(out, mean, rstd, inp, weight, bias, C, eps);
  LORALAB_CUDA_LAUNCH_CHECK("layernorm_forward_kernel");
}

void layernorm_backward(bf16* dinp, float* dweight, float* dbias, const bf16* dout, const bf16* inp, const bf16* weight, const float* mean,
                        const float* rstd, int64_t N, int64_t C, cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(N >= 0 && N <= 0x7fffffff && C > 0 && mean && rstd, "layernorm_backward: need N < 2^31, C > 0, mean and rstd");
  if (N == 0) return;
  if (dinp) {
    layernorm_backward_dinp_kernel<<<static_cast<unsigned>(N), 256, 0, stream>>>(dinp, dout, inp, weight, mean, rstd, C);
    LORALAB_CUDA_LAUNCH_CHECK("layernorm_backward_dinp_kernel");
  }
  if (dweight || dbias) {
    layernorm_backward_dparams_kernel<<<ceil_div(C, 128), 128, 0, stream>>>(dweight, dbias, dout, inp, mean, rstd, N, C);
    LORALAB_CUDA_LAUNCH_CHECK("layernorm_backward_dparams_kernel");
  }
}

}  // namespace cuda
}  // namespace loralab
