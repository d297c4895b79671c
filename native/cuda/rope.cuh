// Rotary position embeddings on CUDA, rotate_half pairing (i, i + RD/2), applied in place; the
// backward is the inverse rotation. Tables are fp32 (P, RD/2) from rope_tables() (ops/rope.h). RD: the
// rotated leading dims of each head (partial rotary, Phi; the rest pass through), HD when not given.
// CPU reference: native/src/ops/rope.cpp. Legend: N tokens, H heads, HD head dim, P positions.
#pragma once
#include "cuda_common.cuh"
#include "cuda_ops.h"

namespace loralab {
namespace cuda {

// one thread per (n, h, i < RD/2) pair: x (N,H,HD), positions (N), cos/sin (P, RD/2); sign -1 = inverse
__global__ void rope_kernel(bf16* x, const int32_t* positions, const float* cos_table, const float* sin_table,
                            int64_t N, int64_t H, int64_t HD, int64_t RD, float sign) {
  const int64_t half = RD / 2;
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
                        int64_t H, int64_t HD, int64_t RD, float sign, cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(N >= 0 && H > 0 && HD > 0 && RD > 0 && RD <= HD && RD % 2 == 0,
                      "rope: need N >= 0, H > 0 and an even rotary width 0 < RD <= HD");
  const int64_t total = N * H * (RD / 2);
  if (total == 0) return;
  rope_kernel<<<ceil_div(total, 256), 256, 0, stream>>>(x, positions, cos_table, sin_table, N, H, HD, RD, sign);
  LORALAB_CUDA_LAUNCH_CHECK("rope_kernel");
}

void rope_forward(bf16* x, const int32_t* positions, const float* cos_table, const float* sin_table, int64_t N,
                  int64_t H, int64_t HD, cudaStream_t stream) {
  rope_launch(x, positions, cos_table, sin_table, N, H, HD, HD, 1.0f, stream);
}

void rope_forward(bf16* x, const int32_t* positions, const float* cos_table, const float* sin_table, int64_t N,
                  int64_t H, int64_t HD, int64_t RD, cudaStream_t stream) {
  rope_launch(x, positions, cos_table, sin_table, N, H, HD, RD > 0 ? RD : HD, 1.0f, stream);
}

void rope_backward(bf16* dx, const int32_t* positions, const float* cos_table, const float* sin_table, int64_t N,
                   int64_t H, int64_t HD, cudaStream_t stream) {
  rope_launch(dx, positions, cos_table, sin_table, N, H, HD, HD, -1.0f, stream);
}

void rope_backward(bf16* dx, const int32_t* positions, const float* cos_table, const float* sin_table, int64_t N,
                   int64_t H, int64_t HD, int64_t RD, cudaStream_t stream) {
  rope_launch(dx, positions, cos_table, sin_table, N, H, HD, RD > 0 ? RD : HD, -1.0f, stream);
}

}  // namespace cuda
}  // namespace loralab
