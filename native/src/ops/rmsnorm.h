// RMSNorm as in Hugging Face Llama: out = x * rsqrt(mean(x^2) + eps) * weight, in fp32 (or fp64
// for the reference), with its backward. Legend: N tokens, C channels.
#pragma once
#include <cstdint>

namespace loralab {
class ThreadPool;

// out (N,C), rstd (N) saved for backward, inp (N,C), weight (C)
template <typename T>
void rmsnorm_forward(ThreadPool* pool, T* out, T* rstd, const T* inp, const T* weight, int64_t N, int64_t C,
                     float eps);
// dinp (N,C) += ..., dweight (C) += ... (null: frozen), dout (N,C), inp (N,C), weight (C), rstd (N)
template <typename T>
void rmsnorm_backward(ThreadPool* pool, T* dinp, T* dweight, const T* dout, const T* inp, const T* weight,
                      const T* rstd, int64_t N, int64_t C);
}  // namespace loralab
