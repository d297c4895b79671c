// Token embedding lookup and its backward (scatter-add into the table, full finetuning only).
// Legend: N tokens, C channels, V vocabulary.
#pragma once
#include <cstdint>

#include "ops/matmul.h"

namespace loralab {
class ThreadPool;
// out (N,C) = table (V,C)[tokens (N)]; throws E_TOKEN_RANGE for ids outside [0, V)
void embedding_forward(ThreadPool* pool, float* out, const int32_t* tokens, WeightView table, int64_t N, int64_t C,
                       int64_t V);
void embedding_forward(double* out, const int32_t* tokens, const double* table, int64_t N, int64_t C, int64_t V);
// dtable (V,C) += scatter of dout (N,C) by tokens, tokens in index order per channel block
template <typename T>
void embedding_backward(ThreadPool* pool, T* dtable, const T* dout, const int32_t* tokens, int64_t N, int64_t C);
}  // namespace loralab
