// SwiGLU forward/backward: silu(g) = g * sigmoid(g); d silu/dg = s * (1 + g * (1 - s)).
#include "ops/swiglu.h"

#include <cmath>

#include "threadpool.h"

namespace loralab {

namespace {
constexpr int64_t kChunk = 4096;
}

template <typename T>
void swiglu_forward(ThreadPool* pool, T* out, const T* gate, const T* up, int64_t N, int64_t F) {
  const int64_t total = N * F;
  parallel_for(pool, (total + kChunk - 1) / kChunk, [&](int64_t task) {
    for (int64_t i = task * kChunk; i < total && i < (task + 1) * kChunk; ++i) {
      T g = gate[i];
      T s = T(1) / (T(1) + std::exp(-g));
      out[i] = g * s * up[i];
    }
  });
}

template <typename T>
void swiglu_backward(ThreadPool* pool, T* dgate, T* dup, const T* dout, const T* gate, const T* up, int64_t N,
                     int64_t F) {
  const int64_t total = N * F;
  parallel_for(pool, (total + kChunk - 1) / kChunk, [&](int64_t task) {
    for (int64_t i = task * kChunk; i < total && i < (task + 1) * kChunk; ++i) {
      T g = gate[i];
      T s = T(1) / (T(1) + std::exp(-g));
      T silu = g * s;
      T d = dout[i];
      dgate[i] = d * up[i] * (s * (T(1) + g * (T(1) - s)));
      dup[i] = d * silu;
    }
  });
}

template void swiglu_forward<float>(ThreadPool*, float*, const float*, const float*, int64_t, int64_t);
template void swiglu_forward<double>(ThreadPool*, double*, const double*, const double*, int64_t, int64_t);
template void swiglu_backward<float>(ThreadPool*, float*, float*, const float*, const float*, const float*, int64_t, int64_t);
template void swiglu_backward<double>(ThreadPool*, double*, double*, const double*, const double*, const double*, int64_t, int64_t);
}  // namespace loralab
