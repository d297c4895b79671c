// Chunked cross-entropy on CUDA with ignore index -100: max-shifted log-sum-exp in fp32 per row,
// backward in place ((softmax - onehot) * dloss). CPU reference: native/src/ops/cross_entropy.cpp
// (which sums the exponentials in double; here a fixed-order fp32 block reduction).
// Legend: N tokens in the chunk, V vocabulary.
#pragma once
#include "cuda_common.cuh"
#include "cuda_ops.h"

namespace loralab {
namespace cuda {

constexpr int32_t kCudaIgnoreIndex = -100;
constexpr int kCrossEntropyThreads = 512;

// log-sum-exp of one row of V logits, the same value in every thread of the block
__device__ float row_logsumexp(const bf16* row, int64_t V, float* scratch) {
  float mx = -INFINITY;
  for (int64_t i = threadIdx.x; i < V; i += blockDim.x) mx = fmaxf(mx, to_f32(row[i]));
  mx = block_reduce<true>(mx, scratch);
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < V; i += blockDim.x) sum += expf(to_f32(row[i]) - mx);
  sum = block_reduce<false>(sum, scratch);
  return mx + logf(sum);
}

// one block per row: losses (N), logits (N,V), targets (N)
__global__ void cross_entropy_forward_kernel(float* losses, const bf16* logits, const int32_t* targets, int64_t V) {
  __shared__ float scratch[32];
  const int64_t n = blockIdx.x;
  const int32_t target = targets[n];
  if (target == kCudaIgnoreIndex || target < 0 || target >= V) {
    if (threadIdx.x == 0) losses[n] = 0.0f;
    return;
  }
  const bf16* row = logits + n * V;
  const float lse = row_logsumexp(row, V, scratch);
  if (threadIdx.x == 0) losses[n] = lse - to_f32(row[target]);
}

// one block per row: dlogits (N,V) may alias logits (each element is read before its own write, and
// the log-sum-exp is complete, behind the reductions' barriers, before any write)
__global__ void cross_entropy_backward_kernel(bf16* dlogits, const bf16* logits, const int32_t* targets, float dloss,
                                              int64_t V) {
  __shared__ float scratch[32];
  const int64_t n = blockIdx.x;
  const int32_t target = targets[n];
  bf16* drow = dlogits + n * V;
  if (target == kCudaIgnoreIndex || target < 0 || target >= V) {
    for (int64_t i = threadIdx.x; i < V; i += blockDim.x) drow[i] = __float2bfloat16_rn(0.0f);
    return;
  }
  const bf16* row = logits + n * V;
  const float lse = row_logsumexp(row, V, scratch);
  for (int64_t i = threadIdx.x; i < V; i += blockDim.x) {
    float d = expf(to_f32(row[i]) - lse) * dloss;
    if (i == target) d -= dloss;
    drow[i] = from_f32<bf16>(d);
  }
}

// ------------------------------------------------------------------------------------------------
// launchers

void cross_entropy_forward(float* losses, const bf16* logits, const int32_t* targets, int64_t N, int64_t V,
                           cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(N >= 0 && N <= 0x7fffffff && V > 0, "cross_entropy_forward: need 0 <= N < 2^31, V > 0");
  if (N == 0) return;
  cross_entropy_forward_kernel<<<static_cast<unsigned>(N), kCrossEntropyThreads, 0, stream>>>(losses, logits, targets,
                                                                                              V);
  LORALAB_CUDA_LAUNCH_CHECK("cross_entropy_forward_kernel");
}

void cross_entropy_backward(bf16* dlogits, const bf16* logits, const int32_t* targets, float dloss, int64_t N,
                            int64_t V, cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(N >= 0 && N <= 0x7fffffff && V > 0, "cross_entropy_backward: need 0 <= N < 2^31, V > 0");
  if (N == 0) return;
  cross_entropy_backward_kernel<<<static_cast<unsigned>(N), kCrossEntropyThreads, 0, stream>>>(dlogits, logits,
                                                                                               targets, dloss, V);
  LORALAB_CUDA_LAUNCH_CHECK("cross_entropy_backward_kernel");
}

}  // namespace cuda
}  // namespace loralab
