// Inverted dropout on the LoRA input as PEFT applies it (lora_B(lora_A(dropout(x)))): each element
// is kept with probability 1-p and scaled by 1/(1-p). The mask is a pure function of
// (seed, step, example id, layer*16+target, position, channel), so backward and a resumed run
// reproduce it. Legend: N tokens, C channels.
#pragma once
#include <cstdint>

namespace loralab {
class ThreadPool;

struct DropoutKey {
  uint64_t seed = 0;
  uint64_t step = 0;
  uint64_t site = 0;                     // layer * 16 + target index
  const int64_t* row_examples = nullptr;  // (N,) example id of each token row
  const int32_t* row_positions = nullptr; // (N,) position of each token row
};

// out (N,C) = inp * mask / (1-p)
void dropout_forward(ThreadPool* pool, float* out, const float* inp, const DropoutKey& key, float p, int64_t N,
                     int64_t C);
// dinp (N,C) += dout * mask / (1-p)
void dropout_backward(ThreadPool* pool, float* dinp, const float* dout, const DropoutKey& key, float p, int64_t N,
                      int64_t C);

// One row, for fused callers: the row's hash of the key words, then dst (C) = (or +=, accumulate)
// src * mask / (1-p) with keep (C, optional) = the mask.
uint64_t dropout_row_key(const DropoutKey& key, int64_t row);
void dropout_row(float* dst, uint8_t* keep, const float* src, uint64_t row_key, int64_t C, float p, bool accumulate);

// The row kernel of one instruction set (ops/dropout_kernels.inc; threshold = ceil(p * 2^24)); internal.
using DropoutRowKernel = void (*)(float* dst, uint8_t* keep, const float* src, uint64_t row_key, int64_t C,
                                  uint64_t threshold, float keep_scale, bool accumulate);
DropoutRowKernel dropout_kernel_generic();
DropoutRowKernel dropout_kernel_avx2();
DropoutRowKernel dropout_kernel_avx512();
}  // namespace loralab
