// Counter-based dropout masks (rng.h) applied forward and backward, one row per task through the
// row kernel of the build that matches the GEMM path (chosen once per process).
#define DROPOUT_LANES 4
#define DROPOUT_SUFFIX dropout_kernel_generic
#include "ops/dropout_kernels.inc"

#include <cmath>

#include "ops/matmul.h"
#include "simd_path.h"
#include "threadpool.h"

namespace loralab {

uint64_t dropout_row_key(const DropoutKey& key, int64_t row) {
  return rng_hash(key.seed, kRngDropout, key.step, static_cast<uint64_t>(key.row_examples[row]), key.site,
                  static_cast<uint64_t>(key.row_positions[row]));
}

void dropout_row(float* dst, uint8_t* keep, const float* src, uint64_t row_key, int64_t C, float p, bool accumulate) {
  static const DropoutRowKernel kernel = simd_kernels(dropout_kernel_generic, dropout_kernel_avx2, dropout_kernel_avx512);
  // rng_uniform01(h) = (h >> 40) / 2^24 exactly, so ">= p" is ">= the first integer at or above p * 2^24"
  const uint64_t threshold = static_cast<uint64_t>(std::ceil(static_cast<double>(p) * 16777216.0));
  kernel(dst, keep, src, row_key, C, threshold, 1.0f / (1.0f - p), accumulate);
}

void dropout_forward(ThreadPool* pool, float* out, const float* inp, const DropoutKey& key, float p, int64_t N,
                     int64_t C) {
  parallel_for(pool, N, [&](int64_t row) {
    dropout_row(out + row * C, nullptr, inp + row * C, dropout_row_key(key, row), C, p, false);
  });
}
void dropout_backward(ThreadPool* pool, float* dinp, const float* dout, const DropoutKey& key, float p, int64_t N,
                      int64_t C) {
  parallel_for(pool, N, [&](int64_t row) {
    dropout_row(dinp + row * C, nullptr, dout + row * C, dropout_row_key(key, row), C, p, true);
  });
}
}  // namespace loralab
