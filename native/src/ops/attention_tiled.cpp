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
// dK / dV accumulators (T, HD) each; the score and dP blocks (rep * kTile, T) each; the Q, dO and dQ
// tiles of the group's heads stacked (rep * kTile, HD) each; D of those rows (rep * kTile).
struct Scratch {
  float *kt, *vt, *dkt, *dvt, *s, *dp, *qt, *dot, *dqt, *dvec;
};
int64_t task_floats(int64_t T_, int64_t rep, int64_t HD) {
  return 4 * T_ * HD + 2 * rep * kTile * T_ + 3 * rep * kTile * HD + rep * kTile;
}
Scratch carve(float* p, int64_t T_, int64_t rep, int64_t HD) {
  Scratch w;
  for (float** t : {&w.kt, &w.vt, &w.dkt, &w.dvt}) *t = p, p += T_ * HD;
  w.s = p, p += rep * kTile * T_;
  w.dp = p, p += rep * kTile * T_;
  for (float** t : {&w.qt, &w.dot, &w.dqt}) *t = p, p += rep * kTile * HD;
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

// rows [t0, t0+n) of heads h0..h0+G-1 of x (row b; rows of stride ld) -> dst (G*n, HD), head-major
void gather_heads(float* dst, const float* x, int64_t b, int64_t T_, int64_t t0, int64_t n, int64_t ld, int64_t h0,
                  int64_t G, int64_t HD) {
  for (int64_t g = 0; g < G; ++g) gather(dst + g * n * HD, x, b * T_ + t0, n, ld, (h0 + g) * HD, HD);
}

void bwd_tiled_task(int64_t task, float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                    const float* v, const float* out, const float* lse, const int32_t* lengths, int64_t T_,
                    int64_t NH, int64_t NKV, int64_t HD, float* scratch) {
  const int64_t QD = NH * HD, KD = NKV * HD, rep = NH / NKV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  const int64_t b = task / NKV, kh = task % NKV;
  const AttentionKernels& rows = attention_float_kernels();
  const Scratch w = carve(scratch + task * task_floats(T_, rep, HD), T_, rep, HD);
  const int64_t len = key_limit(T_ - 1, lengths, b, T_);  // keys any query sees; the rest get no gradient
  gather(w.kt, k, b * T_, len, KD, kh * HD, HD);
  gather(w.vt, v, b * T_, len, KD, kh * HD, HD);
  std::fill(w.dkt, w.dkt + T_ * HD, 0.0f);
  std::fill(w.dvt, w.dvt + T_ * HD, 0.0f);
  const int64_t h0 = kh * rep;
  for (int64_t i0 = 0; i0 < T_; i0 += kTile) {  // query tiles in order, the group's heads stacked
    const int64_t bq = std::min(kTile, T_ - i0), nk = key_limit(i0 + bq - 1, lengths, b, T_), R = rep * bq;
    gather_heads(w.qt, q, b, T_, i0, bq, QD, h0, rep, HD);
    gather_heads(w.dot, dout, b, T_, i0, bq, QD, h0, rep, HD);
    for (int64_t r = 0; r < R; ++r) {  // D = rowsum(dO * O)
      const float* o = out + (b * T_ + i0 + r % bq) * QD + (h0 + r / bq) * HD;
      const float* a = w.dot + r * HD;
      float d = 0;
      for (int64_t c = 0; c < HD; ++c) d += a[c] * o[c];
      w.dvec[r] = d;
    }
    matmul_nt(nullptr, w.s, w.qt, f32_view(w.kt), R, nk, HD, false);   // S (R, nk)
    matmul_nt(nullptr, w.dp, w.dot, f32_view(w.vt), R, nk, HD, false); // dP (R, nk)
    for (int64_t r = 0; r < R; ++r) {
      const int64_t t = i0 + r % bq, h = h0 + r / bq;
      rows.dsoftmax_row(w.s + r * nk, w.dp + r * nk, key_limit(t, lengths, b, T_), nk, scale,
                        lse[(b * NH + h) * T_ + t], w.dvec[r]);  // P, dS
    }
    matmul_tn(nullptr, w.dvt, w.s, w.dot, nk, HD, R, true);               // dV += P^T dO
    matmul_tn(nullptr, w.dkt, w.dp, w.qt, nk, HD, R, true);               // dK += dS^T Q
    matmul_nn(nullptr, w.dqt, w.dp, f32_view(w.kt), R, HD, nk, false);    // dQ = dS K
    for (int64_t r = 0; r < R; ++r)
      std::memcpy(dq + (b * T_ + i0 + r % bq) * QD + (h0 + r / bq) * HD, w.dqt + r * HD, sizeof(float) * HD);
  }
  for (int64_t j = 0; j < T_; ++j) {
    std::memcpy(dk + (b * T_ + j) * KD + kh * HD, w.dkt + j * HD, sizeof(float) * HD);
    std::memcpy(dv + (b * T_ + j) * KD + kh * HD, w.dvt + j * HD, sizeof(float) * HD);
  }
}

// Forward task: row b and G query heads of one kv group (G = rep when there are B * NKV >= 8 such
// tasks, else 1: enough tasks to share out either way; a row's result does not depend on G). Per
// query tile, the G heads' rows stacked: S = Q K^T over the keys the tile's last row sees (one GEMM),
// each row's exact softmax (masked keys get P = 0), O = P V (one GEMM) scaled by 1/sum;
// lse = max + log(sum). Scratch per task: fwd_task_floats.
int64_t fwd_group(int64_t B, int64_t NH, int64_t NKV) { return B * NKV >= 8 ? NH / NKV : 1; }
int64_t fwd_task_floats(int64_t T_, int64_t G, int64_t HD) { return G * kTile * T_ + 2 * G * kTile * HD + 2 * T_ * HD; }
void fwd_tiled_task(int64_t task, float* out, float* lse, const float* q, const float* k, const float* v,
                    const int32_t* lengths, int64_t T_, int64_t NH, int64_t NKV, int64_t HD, int64_t G,
                    float* scratch) {
  const int64_t QD = NH * HD, KD = NKV * HD, rep = NH / NKV, tasks_per_row = NH / G;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  const int64_t b = task / tasks_per_row, h0 = (task % tasks_per_row) * G, kh = h0 / rep;
  const AttentionKernels& rows = attention_float_kernels();
  float* s = scratch + task * fwd_task_floats(T_, G, HD);  // (G kTile, T_)
  float* qt = s + G * kTile * T_;                          // (G kTile, HD)
  float* ot = qt + G * kTile * HD;                         // (G kTile, HD)
  float* kt = ot + G * kTile * HD;                         // (T_, HD)
  float* vt = kt + T_ * HD;                                // (T_, HD)
  const int64_t len = key_limit(T_ - 1, lengths, b, T_);  // keys any row sees
  gather(kt, k, b * T_, len, KD, kh * HD, HD);
  gather(vt, v, b * T_, len, KD, kh * HD, HD);
  std::vector<float> inv(G * kTile);
  for (int64_t i0 = 0; i0 < T_; i0 += kTile) {
    const int64_t bq = std::min(kTile, T_ - i0), nk = key_limit(i0 + bq - 1, lengths, b, T_), R = G * bq;
    gather_heads(qt, q, b, T_, i0, bq, QD, h0, G, HD);
    matmul_nt(nullptr, s, qt, f32_view(kt), R, nk, HD, false);  // S (R, nk)
    for (int64_t r = 0; r < R; ++r) {
      const int64_t t = i0 + r % bq, h = h0 + r / bq;
      float mx;
      const float sum = rows.softmax_row(s + r * nk, key_limit(t, lengths, b, T_), nk, scale, &mx);
      if (lse) lse[(b * NH + h) * T_ + t] = mx + std::log(sum);
      inv[r] = 1.0f / sum;
    }
    matmul_nn(nullptr, ot, s, f32_view(vt), R, HD, nk, false);  // O (R, HD) = P V
    for (int64_t r = 0; r < R; ++r) {
      float* dst = out + (b * T_ + i0 + r % bq) * QD + (h0 + r / bq) * HD;
      const float* src = ot + r * HD;
      for (int64_t d = 0; d < HD; ++d) dst[d] = src[d] * inv[r];
    }
  }
}
}  // namespace

int64_t attention_forward_tiled_scratch_floats(int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD) {
  const int64_t G = fwd_group(B, NH, NKV);
  return B * (NH / G) * fwd_task_floats(T_, G, HD);
}

void attention_forward_tiled(ThreadPool* pool, float* out, float* lse, const float* q, const float* k, const float* v,
                             const int32_t* lengths, int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD,
                             float* scratch) {
  std::vector<float> own;
  if (!scratch) own.resize(attention_forward_tiled_scratch_floats(B, T_, NH, NKV, HD)), scratch = own.data();
  const int64_t G = fwd_group(B, NH, NKV);
  parallel_for(pool, B * (NH / G), [&](int64_t task) {
    fwd_tiled_task(task, out, lse, q, k, v, lengths, T_, NH, NKV, HD, G, scratch);
  });
}

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
