// SwiGLU forward/backward: silu(g) = g * sigmoid(g); d silu/dg = s * (1 + g * (1 - s)). fp32 runs
// the per-instruction-set kernels (swiglu_kernels.inc), fp64 the libm reference below.
#include "ops/swiglu.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "simd_path.h"
#include "threadpool.h"

namespace loralab {

namespace {
constexpr int64_t kChunk = 8192;  // elements per task (a multiple of every lane count)

const SwigluKernels& kernels() {
  static const SwigluKernels k = simd_kernels(swiglu_kernels_generic, swiglu_kernels_avx2, swiglu_kernels_avx512);
  return k;
}
}  // namespace

template <typename T>
void swiglu_forward(ThreadPool* pool, T* out, const T* gate, const T* up, int64_t N, int64_t F) {
  const int64_t total = N * F;
  parallel_for(pool, (total + kChunk - 1) / kChunk, [&](int64_t task) {
    const int64_t i0 = task * kChunk, n = std::min(kChunk, total - i0);
    if constexpr (std::is_same_v<T, float>) {
      kernels().forward(out + i0, gate + i0, up + i0, n);
    } else {
      for (int64_t i = i0; i < i0 + n; ++i) {
        T g = gate[i];
        T s = T(1) / (T(1) + std::exp(-g));
        out[i] = g * s * up[i];
      }
    }
  });
}

template <typename T>
void swiglu_backward(ThreadPool* pool, T* dgate, T* dup, const T* dout, const T* gate, const T* up, int64_t N, int64_t F) {
  const int64_t total = N * F;
  parallel_for(pool, (total + kChunk - 1) / kChunk, [&](int64_t task) {
    const int64_t i0 = task * kChunk, n = std::min(kChunk, total - i0);
    if constexpr (std::is_same_v<T, float>) {
      kernels().backward(dgate + i0, dup + i0, dout + i0, gate + i0, up + i0, n);
    } else {
      for (int64_t i = i0; i < i0 + n; ++i) {
        T g = gate[i];
        T s = T(1) / (T(1) + std::exp(-g));
        T silu = g * s;
        T d = dout[i];
        dgate[i] = d * up[i] * (s * (T(1) + g * (T(1) - s)));
        dup[i] = d * silu;
      }
    }
  });
}

template void swiglu_forward<float>(ThreadPool*, float*, const float*, const float*, int64_t, int64_t);
template void swiglu_forward<double>(ThreadPool*, double*, const double*, const double*, int64_t, int64_t);
template void swiglu_backward<float>(ThreadPool*, float*, float*, const float*, const float*, const float*, int64_t, int64_t);
template void swiglu_backward<double>(ThreadPool*, double*, double*, const double*, const double*, const double*, int64_t, int64_t);
}  // namespace loralab
