// GELU forward/backward (ops/gelu.h), elementwise in blocks; math in double per element so the
// tanh / erf forms match torch's float32 results to an ulp or two.
#include "ops/gelu.h"

#include <cmath>

#include "threadpool.h"

namespace loralab {

namespace {
constexpr int64_t kBlock = 4096;
constexpr double kSqrt2OverPi = 0.7978845608028654, kCubic = 0.044715, kInvSqrt2 = 0.7071067811865476, kInvSqrt2Pi = 0.3989422804014327;

template <typename F>
void for_blocks(ThreadPool* pool, int64_t n, const F& f) {
  parallel_for(pool, (n + kBlock - 1) / kBlock, [&](int64_t task) {
    for (int64_t i = task * kBlock; i < n && i < (task + 1) * kBlock; ++i) f(i);
  });
}
}  // namespace

void gelu_forward(ThreadPool* pool, float* out, const float* inp, int64_t n, GeluKind kind) {
  for_blocks(pool, n, [&](int64_t i) {
    const double x = inp[i];
    out[i] = static_cast<float>(kind == GeluKind::Tanh ? 0.5 * x * (1.0 + std::tanh(kSqrt2OverPi * (x + kCubic * x * x * x)))
                                                       : 0.5 * x * (1.0 + std::erf(x * kInvSqrt2)));
  });
}

void gelu_backward(ThreadPool* pool, float* dinp, const float* dout, const float* inp, int64_t n, GeluKind kind) {
  for_blocks(pool, n, [&](int64_t i) {
    const double x = inp[i];
    double d;
    if (kind == GeluKind::Tanh) {
      const double t = std::tanh(kSqrt2OverPi * (x + kCubic * x * x * x));
      d = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * kSqrt2OverPi * (1.0 + 3.0 * kCubic * x * x);
    } else {
      d = 0.5 * (1.0 + std::erf(x * kInvSqrt2)) + x * std::exp(-0.5 * x * x) * kInvSqrt2Pi;
    }
    dinp[i] = static_cast<float>(dout[i] * d);
  });
}

}  // namespace loralab
