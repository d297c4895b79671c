// The per-row RMSNorm arithmetic shared by ops/rmsnorm.cpp and ops/residual_rmsnorm.cpp, so the
// fused residual + norm and the plain norm give bitwise the same rows. Sums run in double with 8
// independent partial sums (no serial add chain; vectorizable without reassociation) reduced in a
// fixed order. Legend: C channels.
#pragma once
#include <cmath>
#include <cstdint>

namespace loralab {
namespace rmsnorm_rows {

// Reduces 8 partial sums in a fixed order.
inline double reduce8(const double* a) { return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])); }

// sum_i x_i^2 in double.
template <typename T>
inline double sum_squares(const T* x, int64_t C) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= C; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += static_cast<double>(x[i + l]) * static_cast<double>(x[i + l]);
  double s = reduce8(acc);
  for (; i < C; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return s;
}

// xo = x + y (xo may alias x or y) and sum_i xo_i^2 of the stored values, in the order of sum_squares.
template <typename T>
inline double add_sum_squares(T* xo, const T* x, const T* y, int64_t C) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= C; i += 8)
    for (int l = 0; l < 8; ++l) {
      const T v = x[i + l] + y[i + l];
      xo[i + l] = v;
      acc[l] += static_cast<double>(v) * static_cast<double>(v);
    }
  double s = reduce8(acc);
  for (; i < C; ++i) {
    const T v = x[i] + y[i];
    xo[i] = v;
    s += static_cast<double>(v) * static_cast<double>(v);
  }
  return s;
}

template <typename T>
inline T rstd_of(double sum_sq, int64_t C, float eps) {
  return static_cast<T>(1.0 / std::sqrt(sum_sq / C + static_cast<double>(eps)));
}

// out = weight * (x * r)
template <typename T>
inline void normalize(T* out, const T* x, const T* weight, T r, int64_t C) {
  for (int64_t i = 0; i < C; ++i) out[i] = weight[i] * (x[i] * r);
}

// dx += r (w g) - x (sum_i (w_i g_i) x_i / C) r^3 for one row (g: gradient of the normed output).
template <typename T>
inline void backward(T* dx, const T* g, const T* x, const T* weight, T r, int64_t C) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= C; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += static_cast<double>(weight[i + l] * g[i + l]) * x[i + l];
  double dot = reduce8(acc);
  for (; i < C; ++i) dot += static_cast<double>(weight[i] * g[i]) * x[i];
  const T coef = static_cast<T>(dot / C) * r * r * r;
  for (i = 0; i < C; ++i) dx[i] += r * (weight[i] * g[i]) - x[i] * coef;
}

}  // namespace rmsnorm_rows
}  // namespace loralab
