// SwiGLU activation of the Llama MLP: out = silu(gate) * up (the down projection is a linear).
// fp32 runs the vector kernels of swiglu_kernels.inc for the CPU's instruction set (16-lane exp on
// AVX-512), fp64 the libm reference. Legend: N tokens, F intermediate size.
#pragma once
#include <cstdint>

namespace loralab {
class ThreadPool;
// out (N,F), gate (N,F), up (N,F)
template <typename T>
void swiglu_forward(ThreadPool* pool, T* out, const T* gate, const T* up, int64_t N, int64_t F);
// dgate (N,F), dup (N,F) written (not accumulated), dout (N,F), gate (N,F), up (N,F)
template <typename T>
void swiglu_backward(ThreadPool* pool, T* dgate, T* dup, const T* dout, const T* gate, const T* up, int64_t N,
                     int64_t F);

// The fp32 kernels of one instruction set over n contiguous elements (swiglu_kernels.inc); what the
// float instantiations above run, in chunks on the pool. Internal to the op (and its tests).
struct SwigluKernels {
  void (*forward)(float* out, const float* gate, const float* up, int64_t n);
  void (*backward)(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n);
};
SwigluKernels swiglu_kernels_generic();
SwigluKernels swiglu_kernels_avx2();
SwigluKernels swiglu_kernels_avx512();
}  // namespace loralab
