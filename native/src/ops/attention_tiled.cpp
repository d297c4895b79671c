// fp32 attention backward in 64 x 64 tiles through the GEMM kernels (serial inside each task;
// FlashAttention-2 style, recomputing P from the saved log-sum-exp): per task (row b, kv
// head kh), for each key tile, every query head of the group and every query tile at or after it
// on the causal diagonal:
//   S = Q K^T, P = exp(S*scale - lse) (masked), dP = dO V^T, dS = P (dP - D) scale,
//   dV += P^T dO, dK += dS^T Q, dQ += dS K
// with the GEMMs of ops/matmul on contiguous tile copies. Only tile-sized buffers exist (no T x T
// matrix); each task's tiles sit at a fixed offset of the caller's scratch (the engine's tracked
// workspace). Summation orders are fixed by the tile loops, so results do not depend on the thread
// count. Legend as in attention.h; BQ/BK tile rows of queries/keys.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ops/attention.h"
#include "ops/matmul.h"
#include "threadpool.h"

namespace loralab {

namespace {
constexpr int64_t kTile = 64;

struct Scratch {  // one task's slice of the scratch array, in this order
  float *qt, *dot, *kt, *vt, *dkt, *dvt;  // (kTile, HD) each
  float *s, *dp;                          // (kTile, kTile) each
  float *dqh, *dvec;                      // (rep, T, HD), (rep, T)
};
int64_t task_floats(int64_t T_, int64_t rep, int64_t HD) { return 6 * kTile * HD + 2 * kTile * kTile + rep * T_ * (HD + 1); }
Scratch carve(float* p, int64_t T_, int64_t rep, int64_t HD) {
  Scratch w;
  for (float** t : {&w.qt, &w.dot, &w.kt, &w.vt, &w.dkt, &w.dvt}) *t = p, p += kTile * HD;
  w.s = p, p += kTile * kTile;
  w.dp = p, p += kTile * kTile;
  w.dqh = p, p += rep * T_ * HD;
  w.dvec = p;
  return w;
}

int64_t key_limit(int64_t t, const int32_t* lengths, int64_t b, int64_t T_) {  // keys j < limit are visible
  int64_t len = lengths ? lengths[b] : T_;
  if (len < 1) len = 1;
  return std::min(t + 1, len);
}

// rows [r0, r0+n) of head column block `col` (width HD) of x (rows of stride ld) -> dst (n, HD)
void gather(float* dst, const float* x, int64_t r0, int64_t n, int64_t ld, int64_t col, int64_t HD) {
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * HD, x + (r0 + i) * ld + col, sizeof(float) * HD);
}

void bwd_tiled_task(int64_t task, float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                    const float* v, const float* out, const float* lse, const int32_t* lengths, int64_t T_,
                    int64_t NH, int64_t NKV, int64_t HD, float* scratch) {
  const int64_t QD = NH * HD, KD = NKV * HD, rep = NH / NKV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  const int64_t b = task / NKV, kh = task % NKV;
  const int64_t tile_f = kTile * HD;
  const Scratch w = carve(scratch + task * task_floats(T_, rep, HD), T_, rep, HD);
  std::fill(w.dqh, w.dqh + rep * T_ * HD, 0.0f);
  for (int64_t g = 0; g < rep; ++g) {  // D = rowsum(dO * O) per query of head kh*rep+g
    const int64_t h = kh * rep + g;
    for (int64_t t = 0; t < T_; ++t) {
      const float* a = dout + (b * T_ + t) * QD + h * HD;
      const float* o = out + (b * T_ + t) * QD + h * HD;
      float s = 0;
      for (int64_t d = 0; d < HD; ++d) s += a[d] * o[d];
      w.dvec[g * T_ + t] = s;
    }
  }
  const int64_t len = key_limit(T_ - 1, lengths, b, T_);
  for (int64_t j0 = 0; j0 < T_; j0 += kTile) {
    const int64_t bk = std::min(kTile, T_ - j0);
    std::fill(w.dkt, w.dkt + tile_f, 0.0f);
    std::fill(w.dvt, w.dvt + tile_f, 0.0f);
    if (j0 < len) {  // key tiles wholly past the valid length get no gradient
      gather(w.kt, k, b * T_ + j0, bk, KD, kh * HD, HD);
      gather(w.vt, v, b * T_ + j0, bk, KD, kh * HD, HD);
      for (int64_t g = 0; g < rep; ++g) {
        const int64_t h = kh * rep + g;
        for (int64_t i0 = (j0 / kTile) * kTile; i0 < T_; i0 += kTile) {  // query tiles at/after the diagonal
          const int64_t bq = std::min(kTile, T_ - i0);
          gather(w.qt, q, b * T_ + i0, bq, QD, h * HD, HD);
          gather(w.dot, dout, b * T_ + i0, bq, QD, h * HD, HD);
          matmul_nt(nullptr, w.s, w.qt, f32_view(w.kt), bq, bk, HD, false);   // S (bq,bk)
          matmul_nt(nullptr, w.dp, w.dot, f32_view(w.vt), bq, bk, HD, false); // dP (bq,bk)
          for (int64_t i = 0; i < bq; ++i) {
            const int64_t t = i0 + i, lim = key_limit(t, lengths, b, T_) - j0;
            const float l = lse[(b * NH + h) * T_ + t], D = w.dvec[g * T_ + t];
            float* srow = w.s + i * bk;
            float* dprow = w.dp + i * bk;
            for (int64_t j = 0; j < bk; ++j) {
              const float p = j < lim ? std::exp(srow[j] * scale - l) : 0.0f;
              srow[j] = p;                              // P
              dprow[j] = p * (dprow[j] - D) * scale;    // dS
            }
          }
          matmul_tn(nullptr, w.dvt, w.s, w.dot, bk, HD, bq, true);   // dV += P^T dO
          matmul_tn(nullptr, w.dkt, w.dp, w.qt, bk, HD, bq, true);   // dK += dS^T Q
          matmul_nn(nullptr, w.dqh + (g * T_ + i0) * HD, w.dp, f32_view(w.kt), bq, HD, bk,
                    true);                                                                 // dQ += dS K
        }
      }
    }
    for (int64_t j = 0; j < bk; ++j) {
      std::memcpy(dk + (b * T_ + j0 + j) * KD + kh * HD, w.dkt + j * HD, sizeof(float) * HD);
      std::memcpy(dv + (b * T_ + j0 + j) * KD + kh * HD, w.dvt + j * HD, sizeof(float) * HD);
    }
  }
  for (int64_t g = 0; g < rep; ++g)
    for (int64_t t = 0; t < T_; ++t)
      std::memcpy(dq + (b * T_ + t) * QD + (kh * rep + g) * HD, w.dqh + (g * T_ + t) * HD, sizeof(float) * HD);
}
}  // namespace

int64_t attention_backward_scratch_floats(int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD) {
  return B * NKV * task_floats(T_, NH / NKV, HD);
}

void attention_backward_tiled(ThreadPool* pool, float* dq, float* dk, float* dv, const float* dout, const float* q,
                              const float* k, const float* v, const float* out, const float* lse,
                              const int32_t* lengths, int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD,
                              float* scratch) {
  std::vector<float> own;
  if (!scratch) own.resize(attention_backward_scratch_floats(B, T_, NH, NKV, HD)), scratch = own.data();
  parallel_for(pool, B * NKV, [&](int64_t task) {
    bwd_tiled_task(task, dq, dk, dv, dout, q, k, v, out, lse, lengths, T_, NH, NKV, HD, scratch);
  });
}

}  // namespace loralab
