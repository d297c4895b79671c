// Cross-entropy forward/backward per row (max-shifted log-sum-exp accumulated in double).
#include "ops/cross_entropy.h"

#include <cmath>
#include <string>

#include "error.h"
#include "threadpool.h"

namespace loralab {

namespace {
// max-shifted log-sum-exp: exponentials in T (fp32 expf for the engine), their sum in double
template <typename T>
double row_lse(const T* row, int64_t V) {
  T mx = row[0];
  for (int64_t i = 1; i < V; ++i) mx = row[i] > mx ? row[i] : mx;
  double sum = 0.0;
  for (int64_t i = 0; i < V; ++i) sum += static_cast<double>(std::exp(row[i] - mx));
  return static_cast<double>(mx) + std::log(sum);
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
    double lse = row_lse(row, V);
    const T shift = static_cast<T>(lse);
    for (int64_t i = 0; i < V; ++i) drow[i] = std::exp(row[i] - shift) * dloss;
    drow[targets[n]] -= dloss;
  });
}

template void cross_entropy_forward<float>(ThreadPool*, float*, const float*, const int32_t*, int64_t, int64_t);
template void cross_entropy_forward<double>(ThreadPool*, double*, const double*, const int32_t*, int64_t, int64_t);
template void cross_entropy_backward<float>(ThreadPool*, float*, const float*, const int32_t*, float, int64_t, int64_t);
template void cross_entropy_backward<double>(ThreadPool*, double*, const double*, const int32_t*, double, int64_t, int64_t);
}  // namespace loralab
