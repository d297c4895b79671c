// fp32 attention in 64-query tiles through the GEMM kernels (serial inside each task), each tile
// against all the keys its last row sees (one GEMM per product; FlashAttention-2's recomputation of
// P from the saved log-sum-exp in backward, but exact per-row softmax in forward since a 64 x T score
// block fits the cache):
//   forward  (task: row b, query head h): S = Q K^T, P = exp(S*scale - max) (masked), l = sum P,
//            O = (P V) / l, lse = max + log l
//   backward (task: row b, kv head kh; its query heads in order): S = Q K^T, dP = dO V^T,
//            P = exp(S*scale - lse) (masked), dS = P (dP - D) scale with D = rowsum(dO * O),
//            dV += P^T dO, dK += dS^T Q, dQ = dS K
// with the GEMMs of ops/matmul on contiguous copies and the row passes of this CPU's attention build.
// Only (64, T) score blocks exist (no T x T matrix); each task's buffers sit at a fixed offset of the
// caller's scratch (the engine's tracked workspace). Summation orders are fixed by the loops, so
// results do not depend on the thread count. Legend as in attention.h.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "ops/attention.h"
#include "ops/matmul.h"
#include "threadpool.h"

namespace loralab {

namespace {
constexpr int64_t kTile = 64;

// Backward scratch of one task (row b, kv head kh), in this order: the head's keys, values and the
// dK / dV accumulators (T, HD) each; the score and dP blocks (kTile, T) each; the Q, dO and dQ tiles
// (kTile, HD) each; D of the tile's rows (kTile).
struct Scratch {
  float *kt, *vt, *dkt, *dvt, *s, *dp, *qt, *dot, *dqt, *dvec;
};
int64_t task_floats(int64_t T_, int64_t HD) { return 4 * T_ * HD + 2 * kTile * T_ + 3 * kTile * HD + kTile; }
Scratch carve(float* p, int64_t T_, int64_t HD) {
  Scratch w;
  for (float** t : {&w.kt, &w.vt, &w.dkt, &w.dvt}) *t = p, p += T_ * HD;
  w.s = p, p += kTile * T_;
  w.dp = p, p += kTile * T_;
  for (float** t : {&w.qt, &w.dot, &w.dqt}) *t = p, p += kTile * HD;
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
  const AttentionKernels& rows = attention_float_kernels();
  const Scratch w = carve(scratch + task * task_floats(T_, HD), T_, HD);
  const int64_t len = key_limit(T_ - 1, lengths, b, T_);  // keys any query sees; the rest get no gradient
  gather(w.kt, k, b * T_, len, KD, kh * HD, HD);
  gather(w.vt, v, b * T_, len, KD, kh * HD, HD);
  std::fill(w.dkt, w.dkt + T_ * HD, 0.0f);
  std::fill(w.dvt, w.dvt + T_ * HD, 0.0f);
  for (int64_t g = 0; g < rep; ++g) {  // the group's query heads in order, then their query tiles in order
    const int64_t h = kh * rep + g;
    for (int64_t i0 = 0; i0 < T_; i0 += kTile) {
      const int64_t bq = std::min(kTile, T_ - i0), nk = key_limit(i0 + bq - 1, lengths, b, T_);
      gather(w.qt, q, b * T_ + i0, bq, QD, h * HD, HD);
      gather(w.dot, dout, b * T_ + i0, bq, QD, h * HD, HD);
      for (int64_t i = 0; i < bq; ++i) {  // D = rowsum(dO * O)
        const float* o = out + (b * T_ + i0 + i) * QD + h * HD;
        const float* a = w.dot + i * HD;
        float d = 0;
        for (int64_t c = 0; c < HD; ++c) d += a[c] * o[c];
        w.dvec[i] = d;
      }
      matmul_nt(nullptr, w.s, w.qt, f32_view(w.kt), bq, nk, HD, false);   // S (bq, nk)
      matmul_nt(nullptr, w.dp, w.dot, f32_view(w.vt), bq, nk, HD, false); // dP (bq, nk)
      for (int64_t i = 0; i < bq; ++i) {
        const int64_t t = i0 + i;
        rows.dsoftmax_row(w.s + i * nk, w.dp + i * nk, key_limit(t, lengths, b, T_), nk, scale,
                          lse[(b * NH + h) * T_ + t], w.dvec[i]);  // P, dS
      }
      matmul_tn(nullptr, w.dvt, w.s, w.dot, nk, HD, bq, true);               // dV += P^T dO
      matmul_tn(nullptr, w.dkt, w.dp, w.qt, nk, HD, bq, true);               // dK += dS^T Q
      matmul_nn(nullptr, w.dqt, w.dp, f32_view(w.kt), bq, HD, nk, false);    // dQ = dS K
      for (int64_t i = 0; i < bq; ++i)
        std::memcpy(dq + (b * T_ + i0 + i) * QD + h * HD, w.dqt + i * HD, sizeof(float) * HD);
    }
  }
  for (int64_t j = 0; j < T_; ++j) {
    std::memcpy(dk + (b * T_ + j) * KD + kh * HD, w.dkt + j * HD, sizeof(float) * HD);
    std::memcpy(dv + (b * T_ + j) * KD + kh * HD, w.dvt + j * HD, sizeof(float) * HD);
  }
}

// Forward task (row b, query head h): per query tile, S = Q K^T over the keys the tile's last row
// sees (one GEMM), each row's exact softmax (max, 8-lane exp, sum; masked keys get P = 0), then
// O = P V (one GEMM) scaled by 1/sum; lse = max + log(sum). Scratch: fwd_task_floats.
int64_t fwd_task_floats(int64_t T_, int64_t HD) { return kTile * T_ + 2 * kTile * HD + 2 * T_ * HD; }
void fwd_tiled_task(int64_t task, float* out, float* lse, const float* q, const float* k, const float* v,
                    const int32_t* lengths, int64_t T_, int64_t NH, int64_t NKV, int64_t HD, float* scratch) {
  const int64_t QD = NH * HD, KD = NKV * HD, rep = NH / NKV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  const int64_t b = task / NH, h = task % NH, kh = h / rep;
  const AttentionKernels& rows = attention_float_kernels();
  float* s = scratch + task * fwd_task_floats(T_, HD);  // (kTile, T_)
  float* qt = s + kTile * T_;                             // (kTile, HD)
  float* ot = qt + kTile * HD;                            // (kTile, HD)
  float* kt = ot + kTile * HD;                            // (T_, HD)
  float* vt = kt + T_ * HD;                               // (T_, HD)
  const int64_t len = key_limit(T_ - 1, lengths, b, T_);  // keys any row sees
  gather(kt, k, b * T_, len, KD, kh * HD, HD);
  gather(vt, v, b * T_, len, KD, kh * HD, HD);
  for (int64_t i0 = 0; i0 < T_; i0 += kTile) {
    const int64_t bq = std::min(kTile, T_ - i0), nk = key_limit(i0 + bq - 1, lengths, b, T_);
    gather(qt, q, b * T_ + i0, bq, QD, h * HD, HD);
    float inv[kTile];
    matmul_nt(nullptr, s, qt, f32_view(kt), bq, nk, HD, false);  // S (bq, nk)
    for (int64_t i = 0; i < bq; ++i) {
      const int64_t t = i0 + i, lim = key_limit(t, lengths, b, T_);
      float mx;
      const float sum = rows.softmax_row(s + i * nk, lim, nk, scale, &mx);
      if (lse) lse[(b * NH + h) * T_ + t] = mx + std::log(sum);
      inv[i] = 1.0f / sum;
    }
    matmul_nn(nullptr, ot, s, f32_view(vt), bq, HD, nk, false);  // O (bq, HD) = P V
    for (int64_t i = 0; i < bq; ++i) {
      float* dst = out + (b * T_ + i0 + i) * QD + h * HD;
      const float* src = ot + i * HD;
      for (int64_t d = 0; d < HD; ++d) dst[d] = src[d] * inv[i];
    }
  }
}
}  // namespace

int64_t attention_forward_tiled_scratch_floats(int64_t B, int64_t T_, int64_t NH, int64_t HD) {
  return B * NH * fwd_task_floats(T_, HD);
}

void attention_forward_tiled(ThreadPool* pool, float* out, float* lse, const float* q, const float* k, const float* v,
                             const int32_t* lengths, int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD,
                             float* scratch) {
  std::vector<float> own;
  if (!scratch) own.resize(attention_forward_tiled_scratch_floats(B, T_, NH, HD)), scratch = own.data();
  parallel_for(pool, B * NH, [&](int64_t task) { fwd_tiled_task(task, out, lse, q, k, v, lengths, T_, NH, NKV, HD, scratch); });
}

int64_t attention_backward_scratch_floats(int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD) {
  return B * NKV * task_floats(T_, HD);
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
