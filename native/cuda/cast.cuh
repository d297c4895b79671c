// fp32 -> bf16 copies on CUDA (round to nearest even, as dtype.h's f32_to_bf16): full finetuning keeps
// fp32 master weights and refreshes the bf16 copies the GEMMs read after every optimizer update.
// Legend: n elements.
#pragma once
#include "cuda_common.cuh"
#include "cuda_ops.h"

namespace loralab {
namespace cuda {

__global__ void f32_to_bf16_kernel(bf16* out, const float* in, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = from_f32<bf16>(in[i]);
}

// ------------------------------------------------------------------------------------------------
// launchers

void cast_f32_to_bf16(bf16* out, const float* in, int64_t n, cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(n >= 0, "cast_f32_to_bf16: need n >= 0");
  if (n == 0) return;
  f32_to_bf16_kernel<<<ceil_div(n, 256), 256, 0, stream>>>(out, in, n);
  LORALAB_CUDA_LAUNCH_CHECK("f32_to_bf16_kernel");
}

}  // namespace cuda
}  // namespace loralab
