// Causal grouped-query self-attention with right padding (query head h reads kv head
// h / (NH / NKV)), scale 1/sqrt(HD). Forward keeps only the log-sum-exp per row; backward recomputes
// the probabilities. A KV-cache variant serves generation.
// Scratch: each entry point takes a caller-owned scratch array (the engine's tracked workspace) of the
// size its *_scratch_floats function gives, independent of the thread count; null allocates one per
// call (tests, references). Legend: B rows, T sequence, NH query heads, NKV kv heads, HD head dim,
// P cached positions.
#pragma once
#include <cstdint>

namespace loralab {
class ThreadPool;

// out (B,T,NH*HD), lse (B,NH,T), q (B,T,NH*HD), k (B,T,NKV*HD), v (B,T,NKV*HD), lengths (B) or null.
// Row t attends to keys j <= min(t, length-1) (a padded query still sees the valid prefix, as the
// Hugging Face causal+padding mask gives).
// fp32 runs attention_forward_tiled; fp64 the per-row reference kernel.
// scratch: attention_forward_scratch_floats(B, T, NH, NKV, HD) elements.
template <typename T>
void attention_forward(ThreadPool* pool, T* out, T* lse, const T* q, const T* k, const T* v, const int32_t* lengths,
                       int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD, T* scratch = nullptr);
int64_t attention_forward_scratch_floats(int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD);
// dq (B,T,NH*HD), dk, dv (B,T,NKV*HD) written (not accumulated); dout, out (B,T,NH*HD) and lse from forward.
// scratch (fp32): attention_backward_scratch_floats(...) elements; the fp64 reference needs none.
template <typename T>
void attention_backward(ThreadPool* pool, T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
                        const T* out, const T* lse, const int32_t* lengths, int64_t B, int64_t T_, int64_t NH,
                        int64_t NKV, int64_t HD, float* scratch = nullptr);

// fp32 forward in 64-query tiles on the GEMM tile kernels (attention_tiled.cpp); what
// attention_forward<float> runs. Same contract as attention_forward; per task (row and G query heads
// of one kv group, G = NH/NKV when B*NKV >= 8, else 1): the kv head's keys packed (Tp x HD, Tp = T
// rounded up to 64) and values (T x HD), a (64, Tp) score block and a (64, HD) output tile.
void attention_forward_tiled(ThreadPool* pool, float* out, float* lse, const float* q, const float* k, const float* v,
                             const int32_t* lengths, int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD,
                             float* scratch = nullptr);
int64_t attention_forward_tiled_scratch_floats(int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD);

// fp32 backward in 64-query tiles over the GEMM kernels (attention_tiled.cpp); what
// attention_backward<float> runs. Same contract as attention_backward.
void attention_backward_tiled(ThreadPool* pool, float* dq, float* dk, float* dv, const float* dout, const float* q,
                              const float* k, const float* v, const float* out, const float* lse,
                              const int32_t* lengths, int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD,
                              float* scratch = nullptr);
// Per task (row, kv head; its NH/NKV query heads in turn): the head's keys and values packed (Tp x HD
// each), the keys, dK and dV (T x HD each), two (64, Tp) score blocks, three (64, HD) tiles and 64
// floats; B*NKV tasks.
int64_t attention_backward_scratch_floats(int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD);

// The fp32 task kernels of one instruction set (the per-row forward and per-pair backward here are
// the references the tiled ones are tested against) (attention_kernels.inc); internal to the op.
// Scores: forward one row of T_ floats per task, cached one of start+n floats per head.
struct AttentionKernels {
  void (*forward)(int64_t task, float* out, float* lse, const float* q, const float* k, const float* v,
                  const int32_t* lengths, int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD, float* scores);
  void (*backward)(int64_t task, float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                   const float* v, const float* out, const float* lse, const int32_t* lengths, int64_t B, int64_t T_,
                   int64_t NH, int64_t NKV, int64_t HD);
  void (*cached)(int64_t h, float* out, const float* q, const float* kcache, const float* vcache, int64_t start,
                 int64_t n, int64_t NH, int64_t NKV, int64_t HD, float* scores);
  // The tiled kernels' row passes, in whole vectors of lanes (a row holds n rounded up to a multiple
  // of 16 floats; lanes past lim are masked whatever they hold). softmax_row: row[j] =
  // exp(row[j]*scale - max) for j < lim (max over those; *mx gets it), 0 for lim <= j < n; returns the
  // sum. dsoftmax_row: P = exp(s*scale - lse) (0 from lim on) into srow, dS = P (dP - D) scale into dprow.
  float (*softmax_row)(float* row, int64_t lim, int64_t n, float scale, float* mx);
  void (*dsoftmax_row)(float* srow, float* dprow, int64_t lim, int64_t n, float scale, float lse, float D);
  // copy_rows: n rows of w floats, dst (stride ldd) = src (stride lds) times scale[i] (null: 1).
  // row_dots: d[i] = a row i . b row i (w floats each).
  void (*copy_rows)(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t n, int64_t w, const float* scale);
  void (*row_dots)(float* d, const float* a, int64_t lda, const float* b, int64_t ldb, int64_t n, int64_t w);
};
AttentionKernels attention_kernels_generic();
AttentionKernels attention_kernels_avx2();
AttentionKernels attention_kernels_avx512();
const AttentionKernels& attention_float_kernels();  // this process's SIMD path (simd_path.h)

// Generation with a cache: out (n, NH*HD) for n new queries q (n, NH*HD) at positions
// start..start+n-1; kcache, vcache (P, NKV*HD) already hold keys/values for positions < start+n.
// scratch: attention_cached_scratch_floats(start + n, NH) elements.
void attention_forward_cached(ThreadPool* pool, float* out, const float* q, const float* kcache, const float* vcache,
                              int64_t start, int64_t n, int64_t NH, int64_t NKV, int64_t HD, float* scratch = nullptr);
int64_t attention_cached_scratch_floats(int64_t positions, int64_t NH);
}  // namespace loralab
