// AdamW and SGD updates on CUDA with the CPU's exact fp32 formulas (explicit _rn intrinsics stop
// nvcc from fusing multiply-adds, so results are bitwise those of native/src/ops/adamw.cpp / sgd.cpp
// built without FMA). Bias corrections are computed on the host as the CPU does. Legend: n parameters.
#pragma once
#include <cmath>

#include "cuda_common.cuh"
#include "cuda_ops.h"

namespace loralab {
namespace cuda {

// param, m, v (n) updated; grad (n)
__global__ void adamw_kernel(float* param, float* m, float* v, const float* grad, int64_t n, float grad_scale,
                             float beta1, float beta2, float eps, float decay, float step_size, float bc2_sqrt) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float g = __fmul_rn(grad[i], grad_scale);
  float p = __fmul_rn(param[i], decay);
  float mi = __fadd_rn(m[i], __fmul_rn(__fsub_rn(g, m[i]), __fsub_rn(1.0f, beta1)));
  float vi = __fadd_rn(__fmul_rn(v[i], beta2), __fmul_rn(__fmul_rn(__fsub_rn(1.0f, beta2), g), g));
  const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bc2_sqrt), eps);
  p = __fsub_rn(p, __fmul_rn(step_size, __fdiv_rn(mi, denom)));
  param[i] = p;
  m[i] = mi;
  v[i] = vi;
}

// param, buf (n) updated; grad (n)
__global__ void sgd_kernel(float* param, float* buf, const float* grad, int64_t n, float grad_scale, float lr,
                           float momentum, float weight_decay, bool first_step) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float g = __fmul_rn(grad[i], grad_scale);
  if (weight_decay != 0.0f) g = __fadd_rn(g, __fmul_rn(weight_decay, param[i]));
  if (momentum != 0.0f) {
    buf[i] = first_step ? g : __fadd_rn(__fmul_rn(momentum, buf[i]), g);
    g = buf[i];
  }
  param[i] = __fsub_rn(param[i], __fmul_rn(lr, g));
}

// ------------------------------------------------------------------------------------------------
// launchers

void adamw_update(float* param, float* m, float* v, const float* grad, int64_t n, const AdamWHyper& h,
                  cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(n >= 0 && h.step >= 1, "adamw_update: need n >= 0 and step >= 1");
  if (n == 0) return;
  const float bc1 = 1.0f - static_cast<float>(std::pow(static_cast<double>(h.beta1), static_cast<double>(h.step)));
  const float bc2 = 1.0f - static_cast<float>(std::pow(static_cast<double>(h.beta2), static_cast<double>(h.step)));
  const float step_size = h.lr / bc1;
  const float bc2_sqrt = std::sqrt(bc2);
  const float decay = 1.0f - h.lr * h.weight_decay;
  adamw_kernel<<<ceil_div(n, 256), 256, 0, stream>>>(param, m, v, grad, n, h.grad_scale, h.beta1, h.beta2, h.eps,
                                                     decay, step_size, bc2_sqrt);
  LORALAB_CUDA_LAUNCH_CHECK("adamw_kernel");
}

void sgd_update(float* param, float* buf, const float* grad, int64_t n, const SgdHyper& h, cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(n >= 0 && (h.momentum == 0.0f || buf), "sgd_update: need n >= 0 and buf when momentum != 0");
  if (n == 0) return;
  sgd_kernel<<<ceil_div(n, 256), 256, 0, stream>>>(param, buf, grad, n, h.grad_scale, h.lr, h.momentum,
                                                   h.weight_decay, h.first_step);
  LORALAB_CUDA_LAUNCH_CHECK("sgd_kernel");
}

}  // namespace cuda
}  // namespace loralab
