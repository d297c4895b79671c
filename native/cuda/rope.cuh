// Rotary position embeddings on CUDA, rotate_half pairing (i, i + HD/2), applied in place; the
// backward is the inverse rotation. Tables are fp32 (P, HD/2) from rope_tables() (ops/rope.h).
// CPU reference: native/src/ops/rope.cpp. Legend: N tokens, H heads, HD head dim, P positions.
#pragma once
#include "cuda_common.cuh"
#include "cuda_ops.h"

namespace loralab {
namespace cuda {

// one thread per (n, h, i < HD/2) pair: x (N,H,HD), positions (N), cos/sin (P, HD/2); sign -1 = inverse
__global__ void rope_kernel(bf16* x, const int32_t* positions, const float* cos_table, const float* sin_table,
                            int64_t N, int64_t H, int64_t HD, float sign) {
  const int64_t half = HD / 2;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= N * H * half) return;
  const int64_t i = idx % half, nh = idx / half, n = nh / H;
  const int64_t p = positions[n];
  const float c = cos_table[p * half + i], s = sign * sin_table[p * half + i];
  bf16* v = x + nh * HD;
  const float x1 = to_f32(v[i]), x2 = to_f32(v[i + half]);
  v[i] = from_f32<bf16>(x1 * c - x2 * s);
  v[i + half] = from_f32<bf16>(x2 * c + x1 * s);
}

// ------------------------------------------------------------------------------------------------
// launchers

static void rope_launch(bf16* x, const int32_t* positions, const float* cos_table, const float* sin_table, int64_t N,
                        int64_t H, int64_t HD, float sign, cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(N >= 0 && H > 0 && HD > 0 && HD % 2 == 0, "rope: need N >= 0, H > 0 and an even HD");
  const int64_t total = N * H * (HD / 2);
  if (total == 0) return;
  rope_kernel<<<ceil_div(total, 256), 256, 0, stream>>>(x, positions, cos_table, sin_table, N, H, HD, sign);
  LORALAB_CUDA_LAUNCH_CHECK("rope_kernel");
}

void rope_forward(bf16* x, const int32_t* positions, const float* cos_table, const float* sin_table, int64_t N,
                  int64_t H, int64_t HD, cudaStream_t stream) {
  rope_launch(x, positions, cos_table, sin_table, N, H, HD, 1.0f, stream);
}

void rope_backward(bf16* dx, const int32_t* positions, const float* cos_table, const float* sin_table, int64_t N,
                   int64_t H, int64_t HD, cudaStream_t stream) {
  rope_launch(dx, positions, cos_table, sin_table, N, H, HD, -1.0f, stream);
}

}  // namespace cuda
}  // namespace loralab
