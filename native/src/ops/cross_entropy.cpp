// Cross-entropy forward/backward per row (max-shifted log-sum-exp accumulated in double; fp32 rows
// use a vectorizable exp), and both fused (one log-sum-exp pass per row instead of two).
#include "ops/cross_entropy.h"

#include <cmath>
#include <cstring>
#include <string>

#include "error.h"
#include "threadpool.h"

namespace loralab {

namespace {
// exp(x) for fp32 rows, 4 lanes at a time with GCC vector extensions (SSE2 at baseline): Cephes'
// expf (2^n split, degree-6 polynomial, within ~1 ulp of expf); x is clamped to [-87, 88]
// (exp(-87) ~ 1.6e-38). The scalar tail runs the same operations lane by lane.
#pragma GCC diagnostic ignored "-Wpsabi"  // 32-byte double vectors in file-local helpers only
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));
template <typename V, typename I>
inline V exp_poly(V x) {
  x = x < -87.0f ? V{} - 87.0f : x;
  x = x > 88.0f ? V{} + 88.0f : x;
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding and subtracting rounds to an integer
  V n = (x * 1.44269504088896341f + magic) - magic;
  V r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  V p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  V y = p * r * r + r + 1.0f;
  I bits = (__builtin_convertvector(n, I) + 127) << 23;
  V scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return y * scale;
}
typedef float v1f __attribute__((vector_size(4)));
typedef int32_t v1i __attribute__((vector_size(4)));
inline float exp_t(float x) { return exp_poly<v1f, v1i>(v1f{x})[0]; }
inline double exp_t(double x) { return std::exp(x); }
inline v4f load4(const float* p) {
  v4f v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// max-shifted log-sum-exp: exponentials in T, their sum in double (fp32: 4 lane sums combined in
// a fixed order).
double row_lse(const float* row, int64_t V) {
  v4f mx4 = v4f{} + row[0];
  int64_t i = 0;
  for (; i + 4 <= V; i += 4) {
    v4f x = load4(row + i);
    mx4 = x > mx4 ? x : mx4;
  }
  float mx = mx4[0];
  for (int l = 1; l < 4; ++l) mx = mx4[l] > mx ? mx4[l] : mx;
  for (; i < V; ++i) mx = row[i] > mx ? row[i] : mx;
  v4d acc = {};
  for (i = 0; i + 4 <= V; i += 4) acc += __builtin_convertvector(exp_poly<v4f, v4i>(load4(row + i) - mx), v4d);
  double sum = (acc[0] + acc[2]) + (acc[1] + acc[3]);
  for (; i < V; ++i) sum += static_cast<double>(exp_t(row[i] - mx));
  return static_cast<double>(mx) + std::log(sum);
}
double row_lse(const double* row, int64_t V) {
  double mx = row[0];
  for (int64_t i = 1; i < V; ++i) mx = row[i] > mx ? row[i] : mx;
  double sum = 0.0;
  for (int64_t i = 0; i < V; ++i) sum += std::exp(row[i] - mx);
  return mx + std::log(sum);
}
// drow (V) = exp(row - lse) * dloss, minus dloss at the target (drow may alias row).
void row_grad(float* drow, const float* row, int64_t V, double lse, int32_t target, float dloss) {
  const float shift = static_cast<float>(lse);
  int64_t i = 0;
  for (; i + 4 <= V; i += 4) {
    v4f g = exp_poly<v4f, v4i>(load4(row + i) - shift) * dloss;
    std::memcpy(drow + i, &g, sizeof(g));
  }
  for (; i < V; ++i) drow[i] = exp_t(row[i] - shift) * dloss;
  drow[target] -= dloss;
}
void row_grad(double* drow, const double* row, int64_t V, double lse, int32_t target, double dloss) {
  for (int64_t i = 0; i < V; ++i) drow[i] = std::exp(row[i] - lse) * dloss;
  drow[target] -= dloss;
}
void check_target(int32_t target, int64_t n, int64_t V) {
  LORALAB_CHECK(target == kIgnoreIndex || (target >= 0 && target < V), "E_TOKEN_RANGE",
                "target id " + std::to_string(target) + " at position " + std::to_string(n) +
                    " is outside the vocabulary [0, " + std::to_string(V) + ") and is not -100");
}
}  // namespace

template <typename T>
void cross_entropy_forward(ThreadPool* pool, T* losses, const T* logits, const int32_t* targets, int64_t N, int64_t V) {
  for (int64_t n = 0; n < N; ++n) check_target(targets[n], n, V);
  parallel_for(pool, N, [&](int64_t n) {
    if (targets[n] == kIgnoreIndex) {
      losses[n] = 0;
      return;
    }
    const T* row = logits + n * V;
    losses[n] = static_cast<T>(row_lse(row, V) - static_cast<double>(row[targets[n]]));
  });
}

template <typename T>
void cross_entropy_backward(ThreadPool* pool, T* dlogits, const T* logits, const int32_t* targets, T dloss, int64_t N,
                            int64_t V) {
  for (int64_t n = 0; n < N; ++n) check_target(targets[n], n, V);
  parallel_for(pool, N, [&](int64_t n) {
    T* drow = dlogits + n * V;
    if (targets[n] == kIgnoreIndex) {
      for (int64_t i = 0; i < V; ++i) drow[i] = 0;
      return;
    }
    const T* row = logits + n * V;
    row_grad(drow, row, V, row_lse(row, V), targets[n], dloss);
  });
}

template <typename T>
void cross_entropy_forward_backward(ThreadPool* pool, T* losses, T* dlogits, const T* logits, const int32_t* targets,
                                    T dloss, int64_t N, int64_t V) {
  for (int64_t n = 0; n < N; ++n) check_target(targets[n], n, V);
  parallel_for(pool, N, [&](int64_t n) {
    T* drow = dlogits + n * V;
    if (targets[n] == kIgnoreIndex) {
      losses[n] = 0;
      for (int64_t i = 0; i < V; ++i) drow[i] = 0;
      return;
    }
    const T* row = logits + n * V;
    const double lse = row_lse(row, V);
    losses[n] = static_cast<T>(lse - static_cast<double>(row[targets[n]]));  // before drow overwrites row
    row_grad(drow, row, V, lse, targets[n], dloss);
  });
}

template void cross_entropy_forward<float>(ThreadPool*, float*, const float*, const int32_t*, int64_t, int64_t);
template void cross_entropy_forward<double>(ThreadPool*, double*, const double*, const int32_t*, int64_t, int64_t);
template void cross_entropy_backward<float>(ThreadPool*, float*, const float*, const int32_t*, float, int64_t, int64_t);
template void cross_entropy_backward<double>(ThreadPool*, double*, const double*, const int32_t*, double, int64_t, int64_t);
template void cross_entropy_forward_backward<float>(ThreadPool*, float*, float*, const float*, const int32_t*, float,
                                                    int64_t, int64_t);
template void cross_entropy_forward_backward<double>(ThreadPool*, double*, double*, const double*, const int32_t*,
                                                     double, int64_t, int64_t);
}  // namespace loralab
