// Fused residual add + RMSNorm forward/backward: one task per 16 rows, each row added, reduced and
// normalized while cache resident. The backward is the norm's row sweep accumulating into the
// residual gradient (ops/rmsnorm.cpp, which also reduces dweight in token order).
#include "ops/residual_rmsnorm.h"

#include "ops/rmsnorm.h"
#include "ops/rmsnorm_rows.h"
#include "threadpool.h"

namespace loralab {

namespace {
constexpr int64_t kRowsPerTask = 16;
}  // namespace

template <typename T>
void residual_rmsnorm_forward(ThreadPool* pool, T* x_out, T* out, T* rstd, const T* x, const T* y, const T* weight,
                              int64_t N, int64_t C, float eps) {
  parallel_for(pool, (N + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t task) {
    for (int64_t n = task * kRowsPerTask; n < N && n < (task + 1) * kRowsPerTask; ++n) {
      T* xo = x_out + n * C;
      const T r = rmsnorm_rows::rstd_of<T>(rmsnorm_rows::add_sum_squares(xo, x + n * C, y + n * C, C), C, eps);
      if (rstd) rstd[n] = r;
      rmsnorm_rows::normalize(out + n * C, xo, weight, r, C);
    }
  });
}

template <typename T>
void residual_rmsnorm_backward(ThreadPool* pool, T* dresid, T* dweight, const T* dout, const T* x_out,
                               const T* weight, const T* rstd, int64_t N, int64_t C) {
  // d x = d y = d x_out (pass-through, already in dresid) + the norm's input gradient, in one sweep
  rmsnorm_backward<T>(pool, dresid, dweight, dout, x_out, weight, rstd, N, C);
}

template void residual_rmsnorm_forward<float>(ThreadPool*, float*, float*, float*, const float*, const float*,
                                              const float*, int64_t, int64_t, float);
template void residual_rmsnorm_forward<double>(ThreadPool*, double*, double*, double*, const double*, const double*,
                                               const double*, int64_t, int64_t, float);
template void residual_rmsnorm_backward<float>(ThreadPool*, float*, float*, const float*, const float*, const float*,
                                               const float*, int64_t, int64_t);
template void residual_rmsnorm_backward<double>(ThreadPool*, double*, double*, const double*, const double*,
                                                const double*, const double*, int64_t, int64_t);
}  // namespace loralab
