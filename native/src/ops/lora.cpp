// LoRA forward/backward as two thin matmuls each way (rank R is small).
#include "ops/lora.h"

#include <vector>

#include "ops/matmul.h"
#include "threadpool.h"

namespace loralab {

void lora_forward(ThreadPool* pool, float* out, float* u, const float* xd, const float* A, const float* B, float scale,
                  int64_t N, int64_t IC, int64_t OC, int64_t R) {
  matmul_nt(pool, u, xd, f32_view(A), N, R, IC, false);  // u = xd A^T
  // out += (scale * u) B^T; the scale is folded into a scaled copy of u
  std::vector<float> su(static_cast<size_t>(N * R));
  for (int64_t i = 0; i < N * R; ++i) su[i] = scale * u[i];
  matmul_nt(pool, out, su.data(), f32_view(B), N, OC, R, true);
}

void lora_backward(ThreadPool* pool, float* dxd, float* dA, float* dB, float* du, const float* dout, const float* xd,
                   const float* u, const float* A, const float* B, float scale, int64_t N, int64_t IC, int64_t OC,
                   int64_t R) {
  std::vector<float> su(static_cast<size_t>(N * R));
  for (int64_t i = 0; i < N * R; ++i) su[i] = scale * u[i];
  matmul_tn(pool, dB, dout, su.data(), OC, R, N, true);   // dB += dout^T (scale u)
  matmul_nn(pool, du, dout, f32_view(B), N, R, OC, false);  // du = dout B
  for (int64_t i = 0; i < N * R; ++i) du[i] *= scale;
  matmul_tn(pool, dA, du, xd, R, IC, N, true);              // dA += du^T xd
  if (dxd) matmul_nn(pool, dxd, du, f32_view(A), N, IC, R, true);  // dxd += du A
}

void lora_forward(double* out, double* u, const double* xd, const double* A, const double* B, double scale, int64_t N,
                  int64_t IC, int64_t OC, int64_t R) {
  linear_forward(u, xd, A, nullptr, N, IC, R);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < OC; ++o) {
      double s = 0;
      for (int64_t r = 0; r < R; ++r) s += u[n * R + r] * B[o * R + r];
      out[n * OC + o] += scale * s;
    }
}

void lora_backward(double* dxd, double* dA, double* dB, double* du, const double* dout, const double* xd,
                   const double* u, const double* A, const double* B, double scale, int64_t N, int64_t IC, int64_t OC,
                   int64_t R) {
  for (int64_t i = 0; i < N * R; ++i) du[i] = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < OC; ++o)
      for (int64_t r = 0; r < R; ++r) {
        dB[o * R + r] += scale * dout[n * OC + o] * u[n * R + r];
        du[n * R + r] += scale * dout[n * OC + o] * B[o * R + r];
      }
  linear_backward(dxd, dA, nullptr, du, xd, A, N, IC, R);
}
}  // namespace loralab
