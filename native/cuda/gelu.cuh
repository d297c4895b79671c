// GELU of the Phi / Falcon MLPs on CUDA, elementwise in fp32: the tanh form ("gelu_new", Phi)
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) and the exact form ("gelu", Falcon) 0.5 x (1 + erf(x / sqrt 2)),
// with their derivatives. CPU reference: native/src/ops/gelu.cpp (same formulas in double). Legend: n elements.
#pragma once
#include "cuda_common.cuh"
#include "cuda_ops.h"

namespace loralab {
namespace cuda {

constexpr float kGeluSqrt2OverPi = 0.7978845608028654f, kGeluCubic = 0.044715f, kGeluInvSqrt2 = 0.7071067811865476f,
                kGeluInvSqrt2Pi = 0.3989422804014327f;

// out (n) = gelu(inp); may alias
__global__ void gelu_forward_kernel(bf16* out, const bf16* inp, int64_t n, bool tanh_form) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float x = to_f32(inp[i]);
  const float y =
      tanh_form ? 0.5f * x * (1.0f + tanhf(kGeluSqrt2OverPi * (x + kGeluCubic * x * x * x))) : 0.5f * x * (1.0f + erff(x * kGeluInvSqrt2));
  out[i] = from_f32<bf16>(y);
}

// dinp (n) = dout * gelu'(inp), written; dinp may alias dout
__global__ void gelu_backward_kernel(bf16* dinp, const bf16* dout, const bf16* inp, int64_t n, bool tanh_form) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float x = to_f32(inp[i]);
  float d;
  if (tanh_form) {
    const float t = tanhf(kGeluSqrt2OverPi * (x + kGeluCubic * x * x * x));
    d = 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kGeluSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * x * x);
  } else {
    d = 0.5f * (1.0f + erff(x * kGeluInvSqrt2)) + x * expf(-0.5f * x * x) * kGeluInvSqrt2Pi;
  }
  dinp[i] = from_f32<bf16>(to_f32(dout[i]) * d);
}

// ------------------------------------------------------------------------------------------------
// launchers

void gelu_forward(bf16* out, const bf16* inp, int64_t n, GeluKind kind, cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(n >= 0, "gelu_forward: need n >= 0");
  if (n == 0) return;
  gelu_forward_kernel<<<ceil_div(n, 256), 256, 0, stream>>>(out, inp, n, kind == GeluKind::Tanh);
  LORALAB_CUDA_LAUNCH_CHECK("gelu_forward_kernel");
}

void gelu_backward(bf16* dinp, const bf16* dout, const bf16* inp, int64_t n, GeluKind kind, cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(n >= 0, "gelu_backward: need n >= 0");
  if (n == 0) return;
  gelu_backward_kernel<<<ceil_div(n, 256), 256, 0, stream>>>(dinp, dout, inp, n, kind == GeluKind::Tanh);
  LORALAB_CUDA_LAUNCH_CHECK("gelu_backward_kernel");
}

}  // namespace cuda
}  // namespace loralab
