// LayerNorm forward/backward (ops/layernorm.h). Rows are independent tasks; dweight/dbias are
// reduced per channel block with tokens in index order, so results do not depend on the thread count.
#include "ops/layernorm.h"

#include <cmath>

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

void layernorm_forward(ThreadPool* pool, float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int64_t N, int64_t C, float eps) {
  for_rows(pool, N, [&](int64_t n) {
    const float* x = inp + n * C;
    double s = 0;
    for (int64_t i = 0; i < C; ++i) s += x[i];
    const float m = static_cast<float>(s / C);
    double v = 0;
    for (int64_t i = 0; i < C; ++i) v += double(x[i] - m) * double(x[i] - m);
    const float r = static_cast<float>(1.0 / std::sqrt(v / C + double(eps)));
    if (mean) mean[n] = m;
    if (rstd) rstd[n] = r;
    float* y = out + n * C;
    for (int64_t i = 0; i < C; ++i) y[i] = (x[i] - m) * r * weight[i] + bias[i];
  });
}

void layernorm_apply(ThreadPool* pool, float* out, const float* inp, const float* weight, const float* bias, const float* mean,
                     const float* rstd, int64_t N, int64_t C) {
  for_rows(pool, N, [&](int64_t n) {
    const float* x = inp + n * C;
    float* y = out + n * C;
    for (int64_t i = 0; i < C; ++i) y[i] = (x[i] - mean[n]) * rstd[n] * weight[i] + bias[i];
  });
}

void layernorm_backward(ThreadPool* pool, float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int64_t N, int64_t C) {
  if (dinp)
    for_rows(pool, N, [&](int64_t n) {
      const float* x = inp + n * C;
      const float* dy = dout + n * C;
      const float m = mean[n], r = rstd[n];
      double sum_g = 0, sum_gx = 0;  // mean of dxhat and of dxhat * xhat
      for (int64_t i = 0; i < C; ++i) {
        const double g = double(dy[i]) * weight[i];
        sum_g += g;
        sum_gx += g * double((x[i] - m) * r);
      }
      const float mg = static_cast<float>(sum_g / C), mgx = static_cast<float>(sum_gx / C);
      float* dx = dinp + n * C;
      for (int64_t i = 0; i < C; ++i) {
        const float xhat = (x[i] - m) * r;
        dx[i] += r * (dy[i] * weight[i] - mg - xhat * mgx);
      }
    });
  if (dweight || dbias)
    parallel_for(pool, (C + kColsPerTask - 1) / kColsPerTask, [&](int64_t task) {
      const int64_t c0 = task * kColsPerTask, c1 = c0 + kColsPerTask < C ? c0 + kColsPerTask : C;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = c0; i < c1; ++i) {
          if (dweight) dweight[i] += dout[n * C + i] * ((inp[n * C + i] - mean[n]) * rstd[n]);
          if (dbias) dbias[i] += dout[n * C + i];
        }
    });
}

}  // namespace loralab
