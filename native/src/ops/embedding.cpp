// Embedding forward (fp32/bf16 table) and backward (deterministic scatter-add by channel blocks).
#include "ops/embedding.h"

#include <string>

#include "error.h"
#include "threadpool.h"

namespace loralab {

static void check_tokens(const int32_t* tokens, int64_t N, int64_t V) {
  for (int64_t n = 0; n < N; ++n)
    LORALAB_CHECK(tokens[n] >= 0 && tokens[n] < V, "E_TOKEN_RANGE",
                  "token id " + std::to_string(tokens[n]) + " at position " + std::to_string(n) +
                      " is outside the vocabulary [0, " + std::to_string(V) + ")");
}

void embedding_forward(ThreadPool* pool, float* out, const int32_t* tokens, WeightView table, int64_t N, int64_t C,
                       int64_t V) {
  check_tokens(tokens, N, V);
  constexpr int64_t kRows = 64;
  parallel_for(pool, (N + kRows - 1) / kRows, [&](int64_t task) {
    for (int64_t n = task * kRows; n < N && n < (task + 1) * kRows; ++n) {
      const uint8_t* row = static_cast<const uint8_t*>(table.data) + static_cast<int64_t>(tokens[n]) * C * dtype_size(table.dtype);
      for (int64_t i = 0; i < C; ++i) out[n * C + i] = load_as_f32(row, table.dtype, i);
    }
  });
}

void embedding_forward(double* out, const int32_t* tokens, const double* table, int64_t N, int64_t C, int64_t V) {
  check_tokens(tokens, N, V);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < C; ++i) out[n * C + i] = table[tokens[n] * C + i];
}

template <typename T>
void embedding_backward(ThreadPool* pool, T* dtable, const T* dout, const int32_t* tokens, int64_t N, int64_t C) {
  constexpr int64_t kCols = 256;
  parallel_for(pool, (C + kCols - 1) / kCols, [&](int64_t task) {
    int64_t c0 = task * kCols, c1 = c0 + kCols < C ? c0 + kCols : C;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = c0; i < c1; ++i) dtable[static_cast<int64_t>(tokens[n]) * C + i] += dout[n * C + i];
  });
}

template void embedding_backward<float>(ThreadPool*, float*, const float*, const int32_t*, int64_t, int64_t);
template void embedding_backward<double>(ThreadPool*, double*, const double*, const int32_t*, int64_t, int64_t);
}  // namespace loralab
