// SwiGLU of the Llama MLP (out = silu(gate) * up) and the residual add, elementwise on CUDA in fp32.
// CPU references: native/src/ops/swiglu.cpp, residual.cpp. Legend: N tokens, F MLP width, n elements.
#pragma once
#include "cuda_common.cuh"
#include "cuda_ops.h"

namespace loralab {
namespace cuda {

// out, gate, up (n = N*F)
__global__ void swiglu_forward_kernel(bf16* out, const bf16* gate, const bf16* up, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float g = to_f32(gate[i]);
  const float sig = 1.0f / (1.0f + expf(-g));
  out[i] = from_f32<bf16>(g * sig * to_f32(up[i]));
}

// dgate = dout * up * sig * (1 + g (1 - sig)); dup = dout * silu(g)
__global__ void swiglu_backward_kernel(bf16* dgate, bf16* dup, const bf16* dout, const bf16* gate, const bf16* up,
                                       int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float g = to_f32(gate[i]), u = to_f32(up[i]), d = to_f32(dout[i]);
  const float sig = 1.0f / (1.0f + expf(-g));
  dgate[i] = from_f32<bf16>(d * u * sig * (1.0f + g * (1.0f - sig)));
  dup[i] = from_f32<bf16>(d * g * sig);
}

// x (n) += y (n)
__global__ void residual_add_kernel(bf16* x, const bf16* y, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] = from_f32<bf16>(to_f32(x[i]) + to_f32(y[i]));
}

// ------------------------------------------------------------------------------------------------
// launchers

void swiglu_forward(bf16* out, const bf16* gate, const bf16* up, int64_t N, int64_t F, cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(N >= 0 && F > 0, "swiglu_forward: need N >= 0, F > 0");
  if (N == 0) return;
  swiglu_forward_kernel<<<ceil_div(N * F, 256), 256, 0, stream>>>(out, gate, up, N * F);
  LORALAB_CUDA_LAUNCH_CHECK("swiglu_forward_kernel");
}

void swiglu_backward(bf16* dgate, bf16* dup, const bf16* dout, const bf16* gate, const bf16* up, int64_t N, int64_t F,
                     cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(N >= 0 && F > 0, "swiglu_backward: need N >= 0, F > 0");
  if (N == 0) return;
  swiglu_backward_kernel<<<ceil_div(N * F, 256), 256, 0, stream>>>(dgate, dup, dout, gate, up, N * F);
  LORALAB_CUDA_LAUNCH_CHECK("swiglu_backward_kernel");
}

void residual_add(bf16* x, const bf16* y, int64_t n, cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(n >= 0, "residual_add: need n >= 0");
  if (n == 0) return;
  residual_add_kernel<<<ceil_div(n, 256), 256, 0, stream>>>(x, y, n);
  LORALAB_CUDA_LAUNCH_CHECK("residual_add_kernel");
}

}  // namespace cuda
}  // namespace loralab
