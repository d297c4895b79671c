// Residual connections: x += y elementwise (forward); the backward of a residual is the identity,
// so gradients flow by accumulating the same buffer. Legend: n elements.
#pragma once
#include <cstdint>

namespace loralab {
class ThreadPool;
// x (n) += y (n)
template <typename T>
void residual_add(ThreadPool* pool, T* x, const T* y, int64_t n);
}  // namespace loralab
