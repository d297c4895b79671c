// fp32 attention backward in 64 x 64 tiles through the GEMM kernels (serial inside each task;
// FlashAttention-2 style, recomputing P from the saved log-sum-exp): per task (row b, kv
// head kh), for each key tile, every query head of the group and every query tile at or after it
// on the causal diagonal:
//   S = Q K^T, P = exp(S*scale - lse) (masked), dP = dO V^T, dS = P (dP - D) scale,
//   dV += P^T dO, dK += dS^T Q, dQ += dS K
// with the GEMMs of ops/matmul on contiguous tile copies. Only tile-sized buffers exist (no T x T
// matrix). Summation orders are fixed by the tile loops, so results do not
// depend on the thread count. Legend as in attention.h; BQ/BK tile rows of queries/keys.
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

struct Scratch {  // per worker thread, grown on demand
  std::vector<float> qt, dot, kt, vt, s, dp, dkt, dvt, dqh, dvec;
};

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
                    int64_t NH, int64_t NKV, int64_t HD) {
  thread_local Scratch w;
  const int64_t QD = NH * HD, KD = NKV * HD, rep = NH / NKV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  const int64_t b = task / NKV, kh = task % NKV;
  const int64_t tile_f = kTile * HD, tt = kTile * kTile;
  for (auto* buf : {&w.qt, &w.dot, &w.kt, &w.vt, &w.dkt, &w.dvt}) buf->resize(tile_f);
  w.s.resize(tt), w.dp.resize(tt), w.dqh.resize(rep * T_ * HD), w.dvec.resize(rep * T_);
  std::fill(w.dqh.begin(), w.dqh.end(), 0.0f);
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
    std::fill(w.dkt.begin(), w.dkt.end(), 0.0f);
    std::fill(w.dvt.begin(), w.dvt.end(), 0.0f);
    if (j0 < len) {  // key tiles wholly past the valid length get no gradient
      gather(w.kt.data(), k, b * T_ + j0, bk, KD, kh * HD, HD);
      gather(w.vt.data(), v, b * T_ + j0, bk, KD, kh * HD, HD);
      for (int64_t g = 0; g < rep; ++g) {
        const int64_t h = kh * rep + g;
        for (int64_t i0 = (j0 / kTile) * kTile; i0 < T_; i0 += kTile) {  // query tiles at/after the diagonal
          const int64_t bq = std::min(kTile, T_ - i0);
          gather(w.qt.data(), q, b * T_ + i0, bq, QD, h * HD, HD);
          gather(w.dot.data(), dout, b * T_ + i0, bq, QD, h * HD, HD);
          matmul_nt(nullptr, w.s.data(), w.qt.data(), f32_view(w.kt.data()), bq, bk, HD, false);   // S (bq,bk)
          matmul_nt(nullptr, w.dp.data(), w.dot.data(), f32_view(w.vt.data()), bq, bk, HD, false); // dP (bq,bk)
          for (int64_t i = 0; i < bq; ++i) {
            const int64_t t = i0 + i, lim = key_limit(t, lengths, b, T_) - j0;
            const float l = lse[(b * NH + h) * T_ + t], D = w.dvec[g * T_ + t];
            float* srow = w.s.data() + i * bk;
            float* dprow = w.dp.data() + i * bk;
            for (int64_t j = 0; j < bk; ++j) {
              const float p = j < lim ? std::exp(srow[j] * scale - l) : 0.0f;
              srow[j] = p;                              // P
              dprow[j] = p * (dprow[j] - D) * scale;    // dS
            }
          }
          matmul_tn(nullptr, w.dvt.data(), w.s.data(), w.dot.data(), bk, HD, bq, true);   // dV += P^T dO
          matmul_tn(nullptr, w.dkt.data(), w.dp.data(), w.qt.data(), bk, HD, bq, true);   // dK += dS^T Q
          matmul_nn(nullptr, w.dqh.data() + (g * T_ + i0) * HD, w.dp.data(), f32_view(w.kt.data()), bq, HD, bk,
                    true);                                                                 // dQ += dS K
        }
      }
    }
    for (int64_t j = 0; j < bk; ++j) {
      std::memcpy(dk + (b * T_ + j0 + j) * KD + kh * HD, w.dkt.data() + j * HD, sizeof(float) * HD);
      std::memcpy(dv + (b * T_ + j0 + j) * KD + kh * HD, w.dvt.data() + j * HD, sizeof(float) * HD);
    }
  }
  for (int64_t g = 0; g < rep; ++g)
    for (int64_t t = 0; t < T_; ++t)
      std::memcpy(dq + (b * T_ + t) * QD + (kh * rep + g) * HD, w.dqh.data() + (g * T_ + t) * HD, sizeof(float) * HD);
}
}  // namespace

void attention_backward_tiled(ThreadPool* pool, float* dq, float* dk, float* dv, const float* dout, const float* q,
                              const float* k, const float* v, const float* out, const float* lse,
                              const int32_t* lengths, int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD) {
  parallel_for(pool, B * NKV, [&](int64_t task) {
    bwd_tiled_task(task, dq, dk, dv, dout, q, k, v, out, lse, lengths, T_, NH, NKV, HD);
  });
}

}  // namespace loralab
