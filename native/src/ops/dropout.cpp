// Counter-based dropout masks (rng.h) applied forward and backward.
#include "ops/dropout.h"

#include "rng.h"
#include "threadpool.h"

namespace loralab {

namespace {
template <bool kAccumulate>
void apply(ThreadPool* pool, float* dst, const float* src, const DropoutKey& key, float p, int64_t N, int64_t C) {
  const float keep_scale = 1.0f / (1.0f - p);
  parallel_for(pool, N, [&](int64_t row) {
    uint64_t row_key = rng_hash(key.seed, kRngDropout, key.step, static_cast<uint64_t>(key.row_examples[row]), key.site,
                                static_cast<uint64_t>(key.row_positions[row]));
    for (int64_t i = 0; i < C; ++i) {
      bool keep = rng_uniform01(splitmix64(row_key ^ static_cast<uint64_t>(i))) >= p;
      float v = keep ? src[row * C + i] * keep_scale : 0.0f;
      if (kAccumulate) dst[row * C + i] += v;
      else dst[row * C + i] = v;
    }
  });
}
}  // namespace

void dropout_forward(ThreadPool* pool, float* out, const float* inp, const DropoutKey& key, float p, int64_t N,
                     int64_t C) {
  apply<false>(pool, out, inp, key, p, N, C);
}
void dropout_backward(ThreadPool* pool, float* dinp, const float* dout, const DropoutKey& key, float p, int64_t N,
                      int64_t C) {
  apply<true>(pool, dinp, dout, key, p, N, C);
}
}  // namespace loralab
