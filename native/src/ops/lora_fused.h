// The LoRA path of an adapted linear as the engine runs it (ops/lora.h has the plain two-matmul form
// and the fp64 reference): the saved (N,R) activation is su = scale * dropout(x) A^T, already
// scaled, so neither direction makes a scaled copy; with LoRA dropout (p > 0) the dropped-out input
// exists only one block of rows at a time (the same counter-based mask as ops/dropout.h) instead of
// as an (N,IC) copy plus an (N,IC) gradient, and backward draws each mask once. Results equal
// dropout_forward + lora_forward / lora_backward + dropout_backward: bitwise for out, su, dB, du and
// the input gradient, and dA up to the order of its sum over row blocks.
// Legend: N tokens, IC input features, OC output features, R LoRA rank.
#pragma once
#include <cstdint>

#include "ops/dropout.h"

namespace loralab {
class ThreadPool;

// LoRA dropout of one call: the key and p as for dropout_forward, and the caller's (tracked) block
// scratch: tile (lora_dropout_block_rows(N) * IC floats) and mask (as many bytes).
struct LoraDropout {
  DropoutKey key;
  float p = 0.0f;
  float* tile = nullptr;
  uint8_t* mask = nullptr;
};
// Rows of x dropped out at a time.
int64_t lora_dropout_block_rows(int64_t N);

// out (N,OC) += su B^T, su (N,R) = scale * xd A^T saved for backward; xd = dropout(x) (N,IC) when drop
// is given, else x. A (R,IC), B (OC,R).
void lora_fused_forward(ThreadPool* pool, float* out, float* su, const float* x, const float* A, const float* B,
                        float scale, int64_t N, int64_t IC, int64_t OC, int64_t R, const LoraDropout* drop);
// su (N,R) = scale * xd A^T alone: what lora_fused_forward saves, bitwise (recomputation under checkpointing).
void lora_fused_su(ThreadPool* pool, float* su, const float* x, const float* A, float scale, int64_t N, int64_t IC,
                   int64_t R, const LoraDropout* drop);
// dB (OC,R) += dout^T su; du (N,R) scratch = scale * dout B; dA (R,IC) += du^T xd; dinp (N,IC) += the
// gradient through xd (null: not needed). dout (N,OC); x, su, drop as forward had them.
void lora_fused_backward(ThreadPool* pool, float* dinp, float* dA, float* dB, float* du, const float* dout,
                         const float* x, const float* su, const float* A, const float* B, float scale, int64_t N,
                         int64_t IC, int64_t OC, int64_t R, const LoraDropout* drop);
}  // namespace loralab
