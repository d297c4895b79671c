// The LoRA path of an adapted linear layer, computed as (x A^T) B^T * scale and never as B A:
// out += scale * (xd A^T) B^T where xd is the (dropped-out) input. Backward gives dA, dB and the
// gradient to xd. Legend: N tokens, IC input features, OC output features, R LoRA rank.
#pragma once
#include <cstdint>

namespace loralab {
class ThreadPool;

// out (N,OC) += scale * u B^T, u (N,R) = xd (N,IC) A^T saved for backward; A (R,IC), B (OC,R)
void lora_forward(ThreadPool* pool, float* out, float* u, const float* xd, const float* A, const float* B, float scale,
                  int64_t N, int64_t IC, int64_t OC, int64_t R);
// dB (OC,R) += scale * dout^T u; du (N,R) scratch = scale * dout B; dA (R,IC) += du^T xd;
// dxd (N,IC) += du A (null: not needed). dout (N,OC).
void lora_backward(ThreadPool* pool, float* dxd, float* dA, float* dB, float* du, const float* dout, const float* xd,
                   const float* u, const float* A, const float* B, float scale, int64_t N, int64_t IC, int64_t OC,
                   int64_t R);

// Double-precision reference of the same two functions (single thread).
void lora_forward(double* out, double* u, const double* xd, const double* A, const double* B, double scale, int64_t N,
                  int64_t IC, int64_t OC, int64_t R);
void lora_backward(double* dxd, double* dA, double* dB, double* du, const double* dout, const double* xd,
                   const double* u, const double* A, const double* B, double scale, int64_t N, int64_t IC, int64_t OC,
                   int64_t R);
}  // namespace loralab
