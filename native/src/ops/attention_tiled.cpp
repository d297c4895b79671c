// fp32 attention in 64-query tiles on the GEMM tile kernels (serial inside each task), each query row
// against only the keys it sees, to the vector (FlashAttention-2's recomputation of P from the saved
// log-sum-exp in backward, but exact per-row softmax in forward since a 64 x T score block fits the
// cache):
//   forward  (task: row b, G query heads of one kv head): S = Q K^T, P = exp(S*scale - max) (masked),
//            l = sum P, O = (P V) / l, lse = max + log l
//   backward (task: row b, kv head kh; its query heads in order): S = Q K^T, dP = dO V^T,
//            P = exp(S*scale - lse) (masked), dS = P (dP - D) scale with D = rowsum(dO * O),
//            dV += P^T dO, dK += dS^T Q, dQ = dS K
// Keys (and, for backward, values) are packed into the GEMM's panels once per task; Q is read in
// place. The causal diagonal: a tile's rows all see the keys before the tile (one product), and each
// group of register-tile rows computes the diagonal block's columns up to its last row's key,
// rounded up to a vector (dV and dK likewise skip the query rows before each key group, whose P and
// dS are 0). Masked lanes are exact zeros, so skipping them changes no sum.
// Only (64, T) score blocks exist (no T x T matrix); each task's buffers sit at a fixed offset of the
// caller's scratch (the engine's tracked workspace). Summation orders are fixed by the loops, so
// results do not depend on the thread count. Legend as in attention.h.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ops/attention.h"
#include "ops/matmul.h"
#include "threadpool.h"

namespace loralab {

namespace {
constexpr int64_t kTile = 64;   // query rows per tile
constexpr int64_t kRound = 64;  // T rounded up to this (a multiple of every panel width) sizes the packs

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
int64_t padded(int64_t T_) { return round_up(T_, kRound); }

int64_t key_limit(int64_t t, const int32_t* lengths, int64_t b, int64_t T_) {  // keys j < limit are visible
  int64_t len = lengths ? lengths[b] : T_;
  if (len < 1) len = 1;
  return std::min(t + 1, len);
}

// The keys of one query tile: rows i0..i0+bq-1 of row b, in groups of `group` rows. Row group
// [r0, r1) of the tile computes score columns [0, cols) and its products run over keys [0, keys):
// keys = the last row's limit.
struct TileKeys {
  const int32_t* lengths;
  int64_t b, T_, i0, bq, lanes, group;
  int64_t keys(int64_t r1) const { return key_limit(i0 + r1 - 1, lengths, b, T_); }
  int64_t cols(int64_t r1) const { return round_up(keys(r1), lanes); }
  int64_t shared() const { return std::min(i0, key_limit(T_ - 1, lengths, b, T_)); }  // keys every row sees
  int64_t group_end(int64_t r) const { return std::min(bq, (r / group + 1) * group); }  // row r's group's r1
};

// C (bq, ldc) = A (bq rows of stride lda, HD) . B^T with B packed (GemmKernels::pack, nt): columns
// [0, shared) in one product, then per group of `group` rows the columns up to the group's cols.
void score_block(const GemmKernels& g, float* C, int64_t ldc, const float* A, int64_t lda, const float* Bp, int64_t HD,
                 const TileKeys& tk) {
  const int64_t shared = tk.shared(), bq = tk.bq;
  if (shared > 0) g.packed(C, A, lda, 1, Bp, bq, ldc, HD, false, 0, bq, 0, round_up(shared, tk.lanes));
  if (round_up(shared, tk.lanes) >= tk.cols(bq)) return;  // no diagonal (padded rows: all see the same keys)
  for (int64_t r0 = 0; r0 < bq; r0 += tk.group) {
    const int64_t r1 = tk.group_end(r0);
    g.packed(C, A, lda, 1, Bp, bq, ldc, HD, false, r0, r1, shared, tk.cols(r1));
  }
}

// C (bq, HD) = P (bq, keys) . V (keys, HD): the keys before the tile in one product, then per row
// group the diagonal keys up to the group's last one (the rest of its P is 0).
void rows_times_keys(const GemmKernels& g, float* C, const float* P, int64_t ldp, const float* V, int64_t HD,
                     const TileKeys& tk) {
  const int64_t shared = tk.shared(), bq = tk.bq;
  if (shared > 0) g.xn(C, P, ldp, 1, f32_view(V), bq, HD, shared, false, 0, bq, 0, HD);
  if (shared >= tk.keys(bq)) return;
  for (int64_t r0 = 0; r0 < bq; r0 += tk.group) {
    const int64_t r1 = tk.group_end(r0);
    g.xn(C, P + shared, ldp, 1, f32_view(V + shared * HD), bq, HD, tk.keys(r1) - shared, shared > 0, r0, r1, 0, HD);
  }
}

// C (keys, HD) += P^T (keys, bq) . X (bq, HD): keys before the tile in one product; each diagonal key
// group [j0, j1) only over rows r >= j0 - i0 (the earlier rows do not see those keys: P = 0 there).
void keys_times_rows(const GemmKernels& g, float* C, const float* P, int64_t ldp, const float* X, int64_t HD,
                     const TileKeys& tk) {
  const int64_t shared = tk.shared(), bq = tk.bq, nk = tk.keys(bq);
  if (shared > 0) g.xn(C, P, 1, ldp, f32_view(X), shared, HD, bq, true, 0, shared, 0, HD);
  for (int64_t j0 = shared; j0 < nk; j0 += tk.group) {
    const int64_t j1 = std::min(nk, j0 + tk.group), skip = j0 - tk.i0;
    g.xn(C, P + skip * ldp, 1, ldp, f32_view(X + skip * HD), j1, HD, bq - skip, true, j0, j1, 0, HD);
  }
}

// Packs rows [0, len) of one head (stride ld, HD wide) as the nt operand of score_block, via stage
// (len x HD floats).
void pack_head(const GemmKernels& g, const AttentionKernels& rows, float* dst, float* stage, const float* x,
               int64_t ld, int64_t len, int64_t HD) {
  rows.copy_rows(stage, HD, x, ld, len, HD, nullptr);
  g.pack(dst, f32_view(stage), true, len, HD, 0, (len + g.panel_width - 1) / g.panel_width);
}

int64_t row_group(const GemmKernels& g) { return 2 * g.tile_rows; }

// Forward task: row b and G query heads of one kv head (G = rep when there are B * NKV >= 8 such
// tasks, else 1: enough tasks to share out either way; a row's result does not depend on G). Scratch
// per task (fwd_task_floats): packed keys (Tp x HD), values (T x HD), a (64, Tp) score block and a
// (64, HD) output tile; Tp = T rounded up to 64.
int64_t fwd_group(int64_t B, int64_t NH, int64_t NKV) { return B * NKV >= 8 ? NH / NKV : 1; }
int64_t fwd_task_floats(int64_t T_, int64_t HD) { return padded(T_) * HD + T_ * HD + kTile * padded(T_) + kTile * HD; }
void fwd_tiled_task(int64_t task, float* out, float* lse, const float* q, const float* k, const float* v,
                    const int32_t* lengths, int64_t T_, int64_t NH, int64_t NKV, int64_t HD, int64_t G,
                    float* scratch) {
  const int64_t QD = NH * HD, KD = NKV * HD, rep = NH / NKV, tasks_per_row = NH / G, Tp = padded(T_);
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  const int64_t b = task / tasks_per_row, h0 = (task % tasks_per_row) * G, kh = h0 / rep;
  const AttentionKernels& rows = attention_float_kernels();
  const GemmKernels& g = gemm_kernels();
  float* kp = scratch + task * fwd_task_floats(T_, HD);  // (Tp, HD) packed
  float* vt = kp + Tp * HD;                               // (T_, HD)
  float* s = vt + T_ * HD;                                // (kTile, Tp)
  float* ot = s + kTile * Tp;                             // (kTile, HD)
  const int64_t len = key_limit(T_ - 1, lengths, b, T_);  // keys any row sees
  pack_head(g, rows, kp, vt, k + b * T_ * KD + kh * HD, KD, len, HD);
  rows.copy_rows(vt, HD, v + b * T_ * KD + kh * HD, KD, len, HD, nullptr);
  float inv[kTile];
  const int64_t group = row_group(g);
  for (int64_t h = h0; h < h0 + G; ++h)
    for (int64_t i0 = 0; i0 < T_; i0 += kTile) {
      const int64_t bq = std::min(kTile, T_ - i0);
      const TileKeys tk{lengths, b, T_, i0, bq, g.lanes, group};
      const float* qt = q + (b * T_ + i0) * QD + h * HD;
      score_block(g, s, Tp, qt, QD, kp, HD, tk);
      for (int64_t r = 0; r < bq; ++r) {  // zeros up to the keys of the row's group
        const int64_t t = i0 + r;
        float mx;
        const float sum =
            rows.softmax_row(s + r * Tp, key_limit(t, lengths, b, T_), tk.keys(tk.group_end(r)), scale, &mx);
        if (lse) lse[(b * NH + h) * T_ + t] = mx + std::log(sum);
        inv[r] = 1.0f / sum;
      }
      rows_times_keys(g, ot, s, Tp, vt, HD, tk);
      rows.copy_rows(out + (b * T_ + i0) * QD + h * HD, QD, ot, HD, bq, HD, inv);
    }
}

// Backward task (row b, kv head kh; its query heads in order). Scratch (bwd_task_floats): packed keys
// and values (Tp x HD each), the keys and the dK / dV accumulators (T x HD each), the score and dP
// blocks (64, Tp) each, the Q, dO and dQ tiles (64, HD) each and D of the tile's rows (64).
int64_t bwd_task_floats(int64_t T_, int64_t HD) {
  return 2 * padded(T_) * HD + 3 * T_ * HD + 2 * kTile * padded(T_) + 3 * kTile * HD + kTile;
}
void bwd_tiled_task(int64_t task, float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                    const float* v, const float* out, const float* lse, const int32_t* lengths, int64_t T_,
                    int64_t NH, int64_t NKV, int64_t HD, float* scratch) {
  const int64_t QD = NH * HD, KD = NKV * HD, rep = NH / NKV, Tp = padded(T_);
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  const int64_t b = task / NKV, kh = task % NKV;
  const AttentionKernels& rows = attention_float_kernels();
  const GemmKernels& g = gemm_kernels();
  float* kp = scratch + task * bwd_task_floats(T_, HD);  // (Tp, HD) packed keys
  float* vp = kp + Tp * HD;                               // (Tp, HD) packed values
  float* kt = vp + Tp * HD;                               // (T_, HD) keys
  float* dkt = kt + T_ * HD;                              // (T_, HD)
  float* dvt = dkt + T_ * HD;                             // (T_, HD)
  float* s = dvt + T_ * HD;                               // (kTile, Tp)
  float* dp = s + kTile * Tp;                             // (kTile, Tp)
  float* qt = dp + kTile * Tp;                            // (kTile, HD)
  float* dot = qt + kTile * HD;                           // (kTile, HD)
  float* dqt = dot + kTile * HD;                          // (kTile, HD)
  float* dvec = dqt + kTile * HD;                         // (kTile)
  const int64_t len = key_limit(T_ - 1, lengths, b, T_);  // keys any query sees; the rest get no gradient
  pack_head(g, rows, vp, dvt, v + b * T_ * KD + kh * HD, KD, len, HD);
  pack_head(g, rows, kp, kt, k + b * T_ * KD + kh * HD, KD, len, HD);  // kt keeps the keys
  std::fill(dkt, dkt + T_ * HD, 0.0f);
  std::fill(dvt, dvt + T_ * HD, 0.0f);
  const int64_t group = row_group(g);
  for (int64_t h = kh * rep; h < (kh + 1) * rep; ++h)
    for (int64_t i0 = 0; i0 < T_; i0 += kTile) {
      const int64_t bq = std::min(kTile, T_ - i0), row0 = (b * T_ + i0) * QD + h * HD;
      const TileKeys tk{lengths, b, T_, i0, bq, g.lanes, group};
      rows.copy_rows(qt, HD, q + row0, QD, bq, HD, nullptr);
      rows.copy_rows(dot, HD, dout + row0, QD, bq, HD, nullptr);
      rows.row_dots(dvec, dot, HD, out + row0, QD, bq, HD);  // D = rowsum(dO * O)
      score_block(g, s, Tp, qt, HD, kp, HD, tk);    // S
      score_block(g, dp, Tp, dot, HD, vp, HD, tk);  // dP
      for (int64_t r = 0; r < bq; ++r) {
        const int64_t t = i0 + r;
        rows.dsoftmax_row(s + r * Tp, dp + r * Tp, key_limit(t, lengths, b, T_), tk.keys(tk.group_end(r)), scale,
                          lse[(b * NH + h) * T_ + t], dvec[r]);  // P, dS
      }
      keys_times_rows(g, dvt, s, Tp, dot, HD, tk);  // dV += P^T dO
      keys_times_rows(g, dkt, dp, Tp, qt, HD, tk);  // dK += dS^T Q
      rows_times_keys(g, dqt, dp, Tp, kt, HD, tk);  // dQ = dS K
      rows.copy_rows(dq + row0, QD, dqt, HD, bq, HD, nullptr);
    }
  rows.copy_rows(dk + b * T_ * KD + kh * HD, KD, dkt, HD, T_, HD, nullptr);
  rows.copy_rows(dv + b * T_ * KD + kh * HD, KD, dvt, HD, T_, HD, nullptr);
}
}  // namespace

int64_t attention_forward_tiled_scratch_floats(int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD) {
  return B * (NH / fwd_group(B, NH, NKV)) * fwd_task_floats(T_, HD);
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
  return B * NKV * bwd_task_floats(T_, HD);
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
