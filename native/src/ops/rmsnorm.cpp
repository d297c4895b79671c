// RMSNorm forward/backward. Rows are independent tasks (row arithmetic in ops/rmsnorm_rows.h);
// dweight is reduced per channel block with tokens in index order, so results do not depend on the
// thread count.
#include "ops/rmsnorm.h"

#include "ops/rmsnorm_rows.h"
#include "threadpool.h"

namespace loralab {

namespace {
constexpr int64_t kRowsPerTask = 16, kColsPerTask = 256;

template <typename F>
void for_rows(ThreadPool* pool, int64_t N, const F& row) {
  parallel_for(pool, (N + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t task) {
    for (int64_t n = task * kRowsPerTask; n < N && n < (task + 1) * kRowsPerTask; ++n) row(n);
  });
}
}  // namespace

template <typename T>
void rmsnorm_forward(ThreadPool* pool, T* out, T* rstd, const T* inp, const T* weight, int64_t N, int64_t C,
                     float eps) {
  for_rows(pool, N, [&](int64_t n) {
    const T* x = inp + n * C;
    const T r = rmsnorm_rows::rstd_of<T>(rmsnorm_rows::sum_squares(x, C), C, eps);
    if (rstd) rstd[n] = r;
    rmsnorm_rows::normalize(out + n * C, x, weight, r, C);
  });
}

template <typename T>
void rmsnorm_apply(ThreadPool* pool, T* out, const T* inp, const T* weight, const T* rstd, int64_t N, int64_t C) {
  for_rows(pool, N, [&](int64_t n) { rmsnorm_rows::normalize(out + n * C, inp + n * C, weight, rstd[n], C); });
}

template <typename T>
void rmsnorm_backward(ThreadPool* pool, T* dinp, T* dweight, const T* dout, const T* inp, const T* weight,
                      const T* rstd, int64_t N, int64_t C) {
  if (dinp)
    for_rows(pool, N, [&](int64_t n) {
      rmsnorm_rows::backward(dinp + n * C, dout + n * C, inp + n * C, weight, rstd[n], C);
    });
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
template void rmsnorm_apply<float>(ThreadPool*, float*, const float*, const float*, const float*, int64_t, int64_t);
template void rmsnorm_apply<double>(ThreadPool*, double*, const double*, const double*, const double*, int64_t,
                                    int64_t);
template void rmsnorm_backward<float>(ThreadPool*, float*, float*, const float*, const float*, const float*,
                                      const float*, int64_t, int64_t);
template void rmsnorm_backward<double>(ThreadPool*, double*, double*, const double*, const double*, const double*,
                                       const double*, int64_t, int64_t);
}  // namespace loralab
