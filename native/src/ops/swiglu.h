// SwiGLU activation of the Llama MLP: out = silu(gate) * up (the down projection is a linear).
// Legend: N tokens, F intermediate size.
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
}  // namespace loralab
