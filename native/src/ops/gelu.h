// GELU activations of the Phi and Falcon MLPs: the tanh form ("gelu_new", Phi)
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) and the exact form ("gelu", Falcon) 0.5 x (1 + erf(x / sqrt 2)).
// Legend: n elements.
#pragma once
#include <cstdint>

namespace loralab {
class ThreadPool;

enum class GeluKind { Tanh, Erf };

// out (n) = gelu(inp) (n); out may alias inp
void gelu_forward(ThreadPool* pool, float* out, const float* inp, int64_t n, GeluKind kind);
// dinp (n) = dout * gelu'(inp), written (not accumulated); dinp may alias dout
void gelu_backward(ThreadPool* pool, float* dinp, const float* dout, const float* inp, int64_t n, GeluKind kind);
}  // namespace loralab
