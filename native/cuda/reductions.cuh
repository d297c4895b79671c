// Training-step reductions on CUDA, each in a fixed order (deterministic, independent of timing):
// the sum of squared gradients over every trainable tensor (for the global grad norm; one host
// readout per step) and the running sum of per-token losses. Both accumulate in fp64 like the CPU's
// global_grad_norm. Legend: n elements, P tensors, G blocks per tensor.
#pragma once
#include "cuda_common.cuh"
#include "cuda_ops.h"

namespace loralab {
namespace cuda {

constexpr int kReduceThreads = 256, kSumsqBlocksPerTensor = 32;

// Block-wide fp64 sum (blockDim.x == kReduceThreads); the result is valid in thread 0.
__device__ __forceinline__ double block_sum_f64(double v, double* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int s = kReduceThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) shared[threadIdx.x] += shared[threadIdx.x + s];
    __syncthreads();
  }
  return shared[0];
}

// grid (G, P): partial[p*G + g] = sum of squares of the elements of tensor p strided by block g
__global__ void sumsq_partial_kernel(double* partial, const float* const* tensors, const int64_t* sizes) {
  __shared__ double shared[kReduceThreads];
  const int p = blockIdx.y, g = blockIdx.x;
  const float* t = tensors[p];
  const int64_t n = sizes[p];
  double s = 0.0;
  for (int64_t i = static_cast<int64_t>(g) * kReduceThreads + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * kReduceThreads)
    s += static_cast<double>(t[i]) * t[i];
  s = block_sum_f64(s, shared);
  if (threadIdx.x == 0) partial[static_cast<int64_t>(p) * gridDim.x + g] = s;
}

// one block: *out (+)= sum of values (n), fp32 or fp64 inputs
template <typename T>
__global__ void sum_f64_kernel(double* out, const T* values, int64_t n, bool accumulate) {
  __shared__ double shared[kReduceThreads];
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += kReduceThreads) s += static_cast<double>(values[i]);
  s = block_sum_f64(s, shared);
  if (threadIdx.x == 0) *out = accumulate ? *out + s : s;
}

// ------------------------------------------------------------------------------------------------
// launchers

int64_t sumsq_partial_count(int tensors) { return static_cast<int64_t>(tensors) * kSumsqBlocksPerTensor; }

void sum_of_squares(double* out, double* partial, const float* const* tensors, const int64_t* sizes, int count,
                    cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(count >= 0 && count <= 65535, "sum_of_squares: need 0 <= tensors <= 65535");
  if (count == 0) {
    LORALAB_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(double), stream));
    return;
  }
  sumsq_partial_kernel<<<dim3(kSumsqBlocksPerTensor, count), kReduceThreads, 0, stream>>>(partial, tensors, sizes);
  LORALAB_CUDA_LAUNCH_CHECK("sumsq_partial_kernel");
  sum_f64_kernel<double><<<1, kReduceThreads, 0, stream>>>(out, partial, sumsq_partial_count(count), false);
  LORALAB_CUDA_LAUNCH_CHECK("sum_f64_kernel<double>");
}

void accumulate_sum(double* acc, const float* values, int64_t n, cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(n >= 0, "accumulate_sum: need n >= 0");
  if (n == 0) return;
  sum_f64_kernel<float><<<1, kReduceThreads, 0, stream>>>(acc, values, n, true);
  LORALAB_CUDA_LAUNCH_CHECK("sum_f64_kernel<float>");
}

}  // namespace cuda
}  // namespace loralab
