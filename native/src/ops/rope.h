// Rotary position embeddings as transformers computes them: inv_freq from rope_theta (with
// "linear" or "llama3" rope_scaling), rotate_half pairing of i with i + HD/2, applied in place.
// Legend: N tokens, H heads, HD head dim, P table positions.
#pragma once
#include <cstdint>
#include <vector>

#include "model/config.h"

namespace loralab {
class ThreadPool;

// inv_freq (HD/2) in fp32 exactly as transformers' default / linear / llama3 rope init.
std::vector<float> rope_inv_freq(const ModelConfig& config);
// cos, sin (P, HD/2): angle = float(pos * inv_freq[i]) (fp32 product, as torch does)
void rope_tables(std::vector<float>& cos_table, std::vector<float>& sin_table, const std::vector<float>& inv_freq,
                 int64_t P);

// x (N, H, HD) rotated in place; positions (N); cos, sin (P, RD/2). RD: the rotated leading dims of
// each head (partial rotary, Phi), pairing i with i + RD/2; the rest pass through. 0 = HD.
template <typename T>
void rope_forward(ThreadPool* pool, T* x, const int32_t* positions, const T* cos_table, const T* sin_table,
                  int64_t N, int64_t H, int64_t HD, int64_t RD = 0);
// dx (N, H, HD) in place: the inverse rotation (the transpose of the forward map)
template <typename T>
void rope_backward(ThreadPool* pool, T* dx, const int32_t* positions, const T* cos_table, const T* sin_table,
                   int64_t N, int64_t H, int64_t HD, int64_t RD = 0);
}  // namespace loralab
