// Rotary embeddings: frequency tables (default, linear, llama3) and the in-place rotation with its
// transpose for backward.
#include "ops/rope.h"

#include <cmath>

#include "error.h"
#include "threadpool.h"

namespace loralab {

std::vector<float> rope_inv_freq(const ModelConfig& config) {
  const int64_t HD = config.rotary_dim > 0 ? config.rotary_dim : config.head_dim;  // partial rotary: its dims only
  LORALAB_CHECK(HD > 0 && HD % 2 == 0, "E_CONFIG_UNSUPPORTED", "config.json: rotary dims " + std::to_string(HD) + " must be even");
  std::vector<float> inv(HD / 2);
  for (int64_t i = 0; i < HD / 2; ++i) {
    float exponent = static_cast<float>(2 * i) / static_cast<float>(HD);          // float32 as torch
    float base_pow = static_cast<float>(std::pow(static_cast<double>(config.rope_theta), static_cast<double>(exponent)));
    inv[i] = 1.0f / base_pow;
  }
  const RopeScaling& rs = config.rope_scaling;
  if (rs.type == RopeScalingType::Linear) {
    for (auto& f : inv) f = f / rs.factor;
  } else if (rs.type == RopeScalingType::Llama3) {
    const double old_len = rs.original_max_position_embeddings;
    const double low_wavelen = old_len / rs.low_freq_factor;
    const double high_wavelen = old_len / rs.high_freq_factor;
    for (auto& f : inv) {
      float wavelen = static_cast<float>(2.0 * M_PI) / f;
      float scaled = wavelen > low_wavelen ? f / rs.factor : f;
      if (!(wavelen < high_wavelen) && !(wavelen > low_wavelen)) {
        float smooth = (static_cast<float>(old_len) / wavelen - rs.low_freq_factor) /
                       (rs.high_freq_factor - rs.low_freq_factor);
        scaled = (1.0f - smooth) * scaled / rs.factor + smooth * scaled;
      }
      f = scaled;
    }
  }
  return inv;
}

void rope_tables(std::vector<float>& cos_table, std::vector<float>& sin_table, const std::vector<float>& inv_freq,
                 int64_t P) {
  const int64_t half = static_cast<int64_t>(inv_freq.size());
  cos_table.assign(P * half, 0.0f);
  sin_table.assign(P * half, 0.0f);
  for (int64_t p = 0; p < P; ++p)
    for (int64_t i = 0; i < half; ++i) {
      float angle = static_cast<float>(p) * inv_freq[i];
      cos_table[p * half + i] = static_cast<float>(std::cos(static_cast<double>(angle)));
      sin_table[p * half + i] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
}

namespace {
template <typename T>
void rotate(ThreadPool* pool, T* x, const int32_t* positions, const T* cos_table, const T* sin_table, int64_t N,
            int64_t H, int64_t HD, T sign, int64_t RD) {
  const int64_t half = (RD > 0 ? RD : HD) / 2;
  constexpr int64_t kRows = 32;
  parallel_for(pool, (N + kRows - 1) / kRows, [&](int64_t task) {
    for (int64_t n = task * kRows; n < N && n < (task + 1) * kRows; ++n) {
      const T* c = cos_table + static_cast<int64_t>(positions[n]) * half;
      const T* s = sin_table + static_cast<int64_t>(positions[n]) * half;
      for (int64_t h = 0; h < H; ++h) {
        T* v = x + (n * H + h) * HD;
        for (int64_t i = 0; i < half; ++i) {
          T x1 = v[i], x2 = v[i + half];
          T sn = sign * s[i];
          v[i] = x1 * c[i] - x2 * sn;
          v[i + half] = x2 * c[i] + x1 * sn;
        }
      }
    }
  });
}
}  // namespace

template <typename T>
void rope_forward(ThreadPool* pool, T* x, const int32_t* positions, const T* cos_table, const T* sin_table,
                  int64_t N, int64_t H, int64_t HD, int64_t RD) {
  rotate<T>(pool, x, positions, cos_table, sin_table, N, H, HD, T(1), RD);
}

template <typename T>
void rope_backward(ThreadPool* pool, T* dx, const int32_t* positions, const T* cos_table, const T* sin_table,
                   int64_t N, int64_t H, int64_t HD, int64_t RD) {
  rotate<T>(pool, dx, positions, cos_table, sin_table, N, H, HD, T(-1), RD);
}

template void rope_forward<float>(ThreadPool*, float*, const int32_t*, const float*, const float*, int64_t, int64_t, int64_t, int64_t);
template void rope_forward<double>(ThreadPool*, double*, const int32_t*, const double*, const double*, int64_t, int64_t, int64_t, int64_t);
template void rope_backward<float>(ThreadPool*, float*, const int32_t*, const float*, const float*, int64_t, int64_t, int64_t, int64_t);
template void rope_backward<double>(ThreadPool*, double*, const int32_t*, const double*, const double*, int64_t, int64_t, int64_t, int64_t);
}  // namespace loralab
