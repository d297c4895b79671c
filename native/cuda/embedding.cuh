// Token embedding on CUDA: gather (forward) and deterministic scatter-add (backward). CPU reference:
// native/src/ops/embedding.cpp. Legend: N tokens, C channels, V vocabulary.
#pragma once
#include "cuda_common.cuh"
#include "cuda_ops.h"

namespace loralab {
namespace cuda {

// out (N,C) = table (V,C)[tokens (N)]: one block row per token, threads over channels
__global__ void embedding_forward_kernel(bf16* out, const int32_t* tokens, const bf16* table, int64_t N, int64_t C,
                                         int64_t V) {
  const int64_t n = blockIdx.y;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n >= N || i >= C) return;
  const int32_t tok = tokens[n];
  out[n * C + i] = (tok >= 0 && tok < V) ? table[static_cast<int64_t>(tok) * C + i] : __float2bfloat16_rn(0.0f);
}

// dtable (V,C) += dout (N,C) scattered by tokens: thread i owns channel i and walks n = 0..N-1 in
// order, so repeated tokens add in the CPU's order and no atomics are needed
__global__ void embedding_backward_kernel(float* dtable, const bf16* dout, const int32_t* tokens, int64_t N, int64_t C,
                                          int64_t V) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= C) return;
  for (int64_t n = 0; n < N; ++n) {
    const int32_t tok = tokens[n];
    if (tok < 0 || tok >= V) continue;
    float* dst = dtable + static_cast<int64_t>(tok) * C + i;
    *dst = __fadd_rn(*dst, to_f32(dout[n * C + i]));
  }
}

// ------------------------------------------------------------------------------------------------
// launchers

void embedding_forward(bf16* out, const int32_t* tokens, const bf16* table, int64_t N, int64_t C, int64_t V,
                       cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(N >= 0 && N <= 65535 && C > 0 && V > 0, "embedding_forward: need 0 <= N <= 65535, C, V > 0");
  if (N == 0) return;
  const int block = 256;
  dim3 grid(ceil_div(C, block), static_cast<unsigned>(N));
  embedding_forward_kernel<<<grid, block, 0, stream>>>(out, tokens, table, N, C, V);
  LORALAB_CUDA_LAUNCH_CHECK("embedding_forward_kernel");
}

void embedding_backward(float* dtable, const bf16* dout, const int32_t* tokens, int64_t N, int64_t C, int64_t V,
                        cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(N >= 0 && C > 0 && V > 0, "embedding_backward: need N >= 0, C, V > 0");
  if (N == 0) return;
  const int block = 128;
  embedding_backward_kernel<<<ceil_div(C, block), block, 0, stream>>>(dtable, dout, tokens, N, C, V);
  LORALAB_CUDA_LAUNCH_CHECK("embedding_backward_kernel");
}

}  // namespace cuda
}  // namespace loralab
