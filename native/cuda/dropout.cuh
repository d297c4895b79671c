// LoRA dropout on CUDA with the CPU's exact counter-based mask (native/src/ops/dropout.cpp, rng.h):
// element (row, i) is kept when uniform01(splitmix64(rng_hash(seed, kRngDropout, step, example, site,
// position) ^ i)) >= p, so a CUDA run drops the same elements as the CPU run. Inverted scaling
// 1/(1-p) in fp32, bf16 storage. Legend: N token rows, C channels.
#pragma once
#include "cuda_common.cuh"
#include "cuda_ops.h"

namespace loralab {
namespace cuda {

// rng.h's splitmix64 / rng_hash / rng_uniform01, bit for bit on the device
__device__ __forceinline__ uint64_t dev_splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
__device__ __forceinline__ uint64_t dev_rng_hash6(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                                                  uint64_t f) {
  uint64_t h = dev_splitmix64(a);
  h = dev_splitmix64(h ^ b);
  h = dev_splitmix64(h ^ c);
  h = dev_splitmix64(h ^ d);
  h = dev_splitmix64(h ^ e);
  return dev_splitmix64(h ^ f);
}
__device__ __forceinline__ float dev_rng_uniform01(uint64_t h) {
  return static_cast<float>(h >> 40) * (1.0f / 16777216.0f);
}
constexpr uint64_t kCudaRngDropout = 2;  // rng.h kRngDropout

// one block per row: dst (N,C) (+)= src * mask * keep_scale
template <bool kAccumulate>
__global__ void dropout_kernel(bf16* dst, const bf16* src, uint64_t seed, uint64_t step, uint64_t site,
                               const int64_t* row_examples, const int32_t* row_positions, float p, float keep_scale,
                               int64_t C) {
  const int64_t row = blockIdx.x;
  const uint64_t row_key = dev_rng_hash6(seed, kCudaRngDropout, step, static_cast<uint64_t>(row_examples[row]), site,
                                         static_cast<uint64_t>(row_positions[row]));
  for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
    const bool keep = dev_rng_uniform01(dev_splitmix64(row_key ^ static_cast<uint64_t>(i))) >= p;
    const float v = keep ? to_f32(src[row * C + i]) * keep_scale : 0.0f;
    if (kAccumulate) dst[row * C + i] = from_f32<bf16>(to_f32(dst[row * C + i]) + v);
    else dst[row * C + i] = from_f32<bf16>(v);
  }
}

// ------------------------------------------------------------------------------------------------
// launchers

namespace {
template <bool kAccumulate>
void launch_dropout(bf16* dst, const bf16* src, const DropoutKeyCuda& key, float p, int64_t N, int64_t C,
                    cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(N >= 0 && N <= 0x7fffffff && C >= 0 && p >= 0.0f && p < 1.0f,
                      "dropout: need 0 <= N < 2^31, C >= 0 and p in [0, 1)");
  LORALAB_CUDA_ASSERT(key.row_examples && key.row_positions, "dropout: the key needs device row_examples / row_positions");
  if (N == 0 || C == 0) return;
  const float keep_scale = 1.0f / (1.0f - p);  // the CPU's fp32 expression
  dropout_kernel<kAccumulate><<<static_cast<unsigned>(N), 256, 0, stream>>>(
      dst, src, key.seed, key.step, key.site, key.row_examples, key.row_positions, p, keep_scale, C);
  LORALAB_CUDA_LAUNCH_CHECK("dropout_kernel");
}
}  // namespace

void dropout_forward(bf16* out, const bf16* inp, const DropoutKeyCuda& key, float p, int64_t N, int64_t C,
                     cudaStream_t stream) {
  launch_dropout<false>(out, inp, key, p, N, C, stream);
}
void dropout_backward(bf16* dinp, const bf16* dout, const DropoutKeyCuda& key, float p, int64_t N, int64_t C,
                      cudaStream_t stream) {
  launch_dropout<true>(dinp, dout, key, p, N, C, stream);
}

}  // namespace cuda
}  // namespace loralab
