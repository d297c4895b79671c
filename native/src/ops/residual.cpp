// Residual add in fixed chunks.
#include "ops/residual.h"

#include "threadpool.h"

namespace loralab {
template <typename T>
void residual_add(ThreadPool* pool, T* x, const T* y, int64_t n) {
  constexpr int64_t kChunk = 16384;
  parallel_for(pool, (n + kChunk - 1) / kChunk, [&](int64_t task) {
    for (int64_t i = task * kChunk; i < n && i < (task + 1) * kChunk; ++i) x[i] += y[i];
  });
}
template void residual_add<float>(ThreadPool*, float*, const float*, int64_t);
template void residual_add<double>(ThreadPool*, double*, const double*, int64_t);
}  // namespace loralab
