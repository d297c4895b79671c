// The engine's LoRA path: thin GEMMs (ops/matmul) on the pre-scaled su, and LoRA dropout applied to
// blocks of rows in a small scratch tile. GEMM rows do not depend on the row split, so u is bitwise
// the unblocked product; dA sums its rows block by block.
#include "ops/lora_fused.h"

#include <algorithm>

#include "ops/matmul.h"
#include "threadpool.h"

namespace loralab {

namespace {
constexpr int64_t kBlockRows = 256;

// tile (rows, IC) = dropout(x rows [n0, n0+rows)); mask (rows, IC) = kept (optional): ops/dropout's rows.
void drop_block(ThreadPool* pool, float* tile, uint8_t* mask, const float* x, const LoraDropout& d, int64_t n0,
                int64_t rows, int64_t IC) {
  parallel_for(pool, rows, [&](int64_t i) {
    dropout_row(tile + i * IC, mask ? mask + i * IC : nullptr, x + (n0 + i) * IC, dropout_row_key(d.key, n0 + i), IC,
                d.p, false);
  });
}

void scale_in_place(float* v, int64_t n, float scale) {
  for (int64_t i = 0; i < n; ++i) v[i] *= scale;
}
}  // namespace

int64_t lora_dropout_block_rows(int64_t N) { return std::min(N, kBlockRows); }

void lora_fused_su(ThreadPool* pool, float* su, const float* x, const float* A, float scale, int64_t N, int64_t IC,
                   int64_t R, const LoraDropout* drop) {
  if (!drop) {
    matmul_nt(pool, su, x, f32_view(A), N, R, IC, false);  // u = x A^T
  } else {
    for (int64_t n0 = 0; n0 < N; n0 += kBlockRows) {
      const int64_t rows = std::min(kBlockRows, N - n0);
      drop_block(pool, drop->tile, nullptr, x, *drop, n0, rows, IC);
      matmul_nt(pool, su + n0 * R, drop->tile, f32_view(A), rows, R, IC, false);  // u rows = xd rows A^T
    }
  }
  scale_in_place(su, N * R, scale);  // su = scale * u, saved
}

void lora_fused_forward(ThreadPool* pool, float* out, float* su, const float* x, const float* A, const float* B,
                        float scale, int64_t N, int64_t IC, int64_t OC, int64_t R, const LoraDropout* drop) {
  lora_fused_su(pool, su, x, A, scale, N, IC, R, drop);
  matmul_nt(pool, out, su, f32_view(B), N, OC, R, true);  // out += su B^T
}

void lora_fused_backward(ThreadPool* pool, float* dinp, float* dA, float* dB, float* du, const float* dout,
                         const float* x, const float* su, const float* A, const float* B, float scale, int64_t N,
                         int64_t IC, int64_t OC, int64_t R, const LoraDropout* drop) {
  matmul_tn(pool, dB, dout, su, OC, R, N, true);             // dB += dout^T su
  matmul_nn(pool, du, dout, f32_view(B), N, R, OC, false);   // du = dout B
  scale_in_place(du, N * R, scale);
  if (!drop) {
    matmul_tn(pool, dA, du, x, R, IC, N, true);                     // dA += du^T x
    if (dinp) matmul_nn(pool, dinp, du, f32_view(A), N, IC, R, true);  // dinp += du A
    return;
  }
  const float keep_scale = 1.0f / (1.0f - drop->p);
  for (int64_t n0 = 0; n0 < N; n0 += kBlockRows) {
    const int64_t rows = std::min(kBlockRows, N - n0);
    float* tile = drop->tile;
    drop_block(pool, tile, dinp ? drop->mask : nullptr, x, *drop, n0, rows, IC);  // xd rows and their mask
    matmul_tn(pool, dA, du + n0 * R, tile, R, IC, rows, true);                   // dA += du^T xd
    if (!dinp) continue;
    matmul_nn(pool, tile, du + n0 * R, f32_view(A), rows, IC, R, false);         // dxd rows = du A
    const uint8_t* mask = drop->mask;
    parallel_for(pool, rows, [&](int64_t i) {  // dinp += dxd * mask / (1-p)
      float* d = dinp + (n0 + i) * IC;
      const float* g = tile + i * IC;
      const uint8_t* m = mask + i * IC;
      for (int64_t c = 0; c < IC; ++c) d[c] += m[c] ? (0.0f + g[c]) * keep_scale : 0.0f;
    });
  }
}

}  // namespace loralab
