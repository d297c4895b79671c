// RMSNorm forward/backward. Rows are independent tasks; dweight is reduced per channel block with
// tokens in index order, so results do not depend on the thread count.
#include "ops/rmsnorm.h"

#include <cmath>

#include "threadpool.h"

namespace loralab {

namespace {
constexpr int64_t kRowsPerTask = 16, kColsPerTask = 256;
}  // namespace

template <typename T>
void rmsnorm_forward(ThreadPool* pool, T* out, T* rstd, const T* inp, const T* weight, int64_t N, int64_t C,
                     float eps) {
  parallel_for(pool, (N + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t task) {
    for (int64_t n = task * kRowsPerTask; n < N && n < (task + 1) * kRowsPerTask; ++n) {
      const T* x = inp + n * C;
      double ss = 0.0;
      for (int64_t i = 0; i < C; ++i) ss += static_cast<double>(x[i]) * x[i];
      T r = static_cast<T>(1.0 / std::sqrt(ss / C + static_cast<double>(eps)));
      if (rstd) rstd[n] = r;
      for (int64_t i = 0; i < C; ++i) out[n * C + i] = weight[i] * (x[i] * r);
    }
  });
}

template <typename T>
void rmsnorm_backward(ThreadPool* pool, T* dinp, T* dweight, const T* dout, const T* inp, const T* weight,
                      const T* rstd, int64_t N, int64_t C) {
  if (dinp) {
    parallel_for(pool, (N + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t task) {
      for (int64_t n = task * kRowsPerTask; n < N && n < (task + 1) * kRowsPerTask; ++n) {
        const T* x = inp + n * C;
        const T* g = dout + n * C;
        double dot = 0.0;  // sum_i (w_i g_i) x_i
        for (int64_t i = 0; i < C; ++i) dot += static_cast<double>(weight[i] * g[i]) * x[i];
        T r = rstd[n];
        T coef = static_cast<T>(dot / C) * r * r * r;
        for (int64_t i = 0; i < C; ++i) dinp[n * C + i] += r * (weight[i] * g[i]) - x[i] * coef;
      }
    });
  }
  if (dweight) {
    parallel_for(pool, (C + kColsPerTask - 1) / kColsPerTask, [&](int64_t task) {
      int64_t c0 = task * kColsPerTask, c1 = c0 + kColsPerTask < C ? c0 + kColsPerTask : C;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = c0; i < c1; ++i) dweight[i] += dout[n * C + i] * (inp[n * C + i] * rstd[n]);
    });
  }
}

template void rmsnorm_forward<float>(ThreadPool*, float*, float*, const float*, const float*, int64_t, int64_t, float);
template void rmsnorm_forward<double>(ThreadPool*, double*, double*, const double*, const double*, int64_t, int64_t,
                                      float);
template void rmsnorm_backward<float>(ThreadPool*, float*, float*, const float*, const float*, const float*,
                                      const float*, int64_t, int64_t);
template void rmsnorm_backward<double>(ThreadPool*, double*, double*, const double*, const double*, const double*,
                                       const double*, int64_t, int64_t);
}  // namespace loralab
