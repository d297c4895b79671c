// RMSNorm as in Hugging Face Llama: out = x * rsqrt(mean(x^2) + eps) * weight, in fp32 (or fp64
// for the reference), with its backward. The fused residual add + norm is ops/residual_rmsnorm.h.
// Legend: N tokens, C channels.
#pragma once
#include <cstdint>

namespace loralab {
class ThreadPool;

// out (N,C), rstd (N) saved for backward (null: not kept), inp (N,C), weight (C)
template <typename T>
void rmsnorm_forward(ThreadPool* pool, T* out, T* rstd, const T* inp, const T* weight, int64_t N, int64_t C,
                     float eps);
// out (N,C) from inp (N,C) with the rstd (N) a forward saved: bitwise what that forward wrote (no reduction).
template <typename T>
void rmsnorm_apply(ThreadPool* pool, T* out, const T* inp, const T* weight, const T* rstd, int64_t N, int64_t C);
// dinp (N,C) += ..., dweight (C) += ... (null: frozen), dout (N,C), inp (N,C), weight (C), rstd (N)
template <typename T>
void rmsnorm_backward(ThreadPool* pool, T* dinp, T* dweight, const T* dout, const T* inp, const T* weight,
                      const T* rstd, int64_t N, int64_t C);
}  // namespace loralab
