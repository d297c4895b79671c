// Matmul dispatch (instruction set chosen once at run time), fixed task grids for the thread pool,
// and the linear layer forward/backward in fp32 (fast) and fp64 (reference).
#include "ops/matmul.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "simd_path.h"
#include "threadpool.h"

namespace loralab {

const GemmKernels& gemm_kernels() {
  static const GemmKernels k = simd_kernels(gemm_kernels_generic, gemm_kernels_avx2, gemm_kernels_avx512);
  return k;
}

namespace {
// Task grid, independent of the thread count: a multiple of every register tile (4 or 6 rows;
// 8, 16 or 64 columns). Results do not depend on it either (see matmul_kernels.inc).
constexpr int64_t kBlockM = 96, kBlockN = 64;
// B up to this many elements is packed whole once per call (gemm_packed); larger ones (the
// vocabulary head) are packed panel by panel per task.
constexpr int64_t kPackWholeLimit = int64_t(1) << 22;

// Tasks of block_m rows x kBlockN columns (block_m depends on the shape only).
template <typename F>
void run_grid(ThreadPool* pool, int64_t M, int64_t N, int64_t block_m, const F& body) {
  int64_t bm = (M + block_m - 1) / block_m, bn = (N + kBlockN - 1) / kBlockN;
  auto task = [&](int64_t t) {
    int64_t i = t / bn, j = t % bn;
    int64_t m0 = i * block_m, n0 = j * kBlockN;
    body(m0, m0 + block_m < M ? m0 + block_m : M, n0, n0 + kBlockN < N ? n0 + kBlockN : N);
  };
  if (pool)
    pool->run(bm * bn, task);
  else
    for (int64_t t = 0; t < bm * bn; ++t) task(t);
}

}  // namespace

namespace {
thread_local GemmScratch* t_installed = nullptr;  // set by GemmScratchScope on this thread
GemmScratch& gemm_scratch() { return t_installed ? *t_installed : thread_gemm_scratch(); }
}  // namespace

GemmScratch& thread_gemm_scratch() {
  thread_local GemmScratch own;
  return own;
}
GemmScratchScope::GemmScratchScope(GemmScratch* scratch) : saved_(t_installed) { t_installed = scratch; }
GemmScratchScope::~GemmScratchScope() { t_installed = saved_; }

namespace {
// B packed whole into panels (GemmKernels::pack) once per call, then read by every row block: the
// products with enough rows to reuse it (>= 2 row blocks) and a B of at most kPackWholeLimit
// elements. Scratch: gemm_scratch().packed, up to 16 MiB.
bool pack_whole(int64_t M, int64_t N, int64_t K) { return M >= 2 * kBlockM && N * K <= kPackWholeLimit && K > 0; }

// Packed B of at most this many floats (1 MiB: the stories15M-sized layers) is packed by every pool
// thread into its own GemmScratch::per_thread panels, each panel when the thread's first task needs
// it: no packing run before the grid, and no panel written by one core and read by another (the
// shared panels of the previous product sit in both cores' caches, so each write of the next pack
// first invalidates the other core's copy: 48 us of 2-thread packing per 288 x 288 product in the
// stories15M step). Interleaved stories15M q,v bf16 steps, 10 per side in alternating order: body
// products 2.6-5.8% less wall time, step GFLOP/s +1.2%. The panels are the same floats either way.
constexpr int64_t kThreadPackLimit = int64_t(1) << 18;

// B packed whole (GemmKernels::pack) into gemm_scratch().packed, a task per kBlockN columns.
const float* pack_b_whole(ThreadPool* pool, WeightView B, bool nt, int64_t N, int64_t K) {
  const GemmKernels& k = gemm_kernels();
  const int64_t w = k.panel_width, panels = (N + w - 1) / w;
  std::vector<float>& packed = gemm_scratch().packed;
  if (packed.size() < static_cast<size_t>(panels * w * K)) packed.resize(panels * w * K);
  float* bp = packed.data();
  const int64_t per_task = (kBlockN + w - 1) / w;  // panels per packing task
  parallel_for(pool, (panels + per_task - 1) / per_task,
               [&](int64_t t) { k.pack(bp, B, nt, N, K, t * per_task, std::min(panels, t * per_task + per_task)); });
  return bp;
}

// C (+)= op(A) . op(B) from B packed whole (nt: B is (N, K), else (K, N)); op(A)(m,k) = A[m*sam + k*sak].
void gemm_packed(ThreadPool* pool, float* C, const float* A, int64_t sam, int64_t sak, WeightView B, bool nt, int64_t M, int64_t N,
                 int64_t K, bool accumulate) {
  const GemmKernels& k = gemm_kernels();
  const int64_t w = k.panel_width, panels = (N + w - 1) / w;
  GemmScratch& scratch = gemm_scratch();
  if (pool && pool->threads() > 1 && panels * w * K <= kThreadPackLimit) {
    if (scratch.per_thread.size() < static_cast<size_t>(pool->threads())) scratch.per_thread.resize(pool->threads());
    const uint64_t call = ++scratch.calls;
    run_grid(pool, M, N, kBlockM, [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
      GemmScratch::ThreadPanels& own = scratch.per_thread[pool->slot()];
      if (own.panels.size() < static_cast<size_t>(panels * w * K)) own.panels.resize(panels * w * K);
      if (own.packed_in.size() < static_cast<size_t>(panels)) own.packed_in.resize(panels, 0);
      for (int64_t j = n0 / w; j < (n1 + w - 1) / w; ++j)
        if (own.packed_in[j] != call) k.pack(own.panels.data(), B, nt, N, K, j, j + 1), own.packed_in[j] = call;
      k.packed(C, A, sam, sak, own.panels.data(), M, N, K, accumulate, m0, m1, n0, n1);
    });
    return;
  }
  const float* bp = pack_b_whole(pool, B, nt, N, K);
  run_grid(pool, M, N, kBlockM,
           [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) { k.packed(C, A, sam, sak, bp, M, N, K, accumulate, m0, m1, n0, n1); });
}
}  // namespace

namespace {
// Narrow products: at most half a vector of output columns (LoRA's rank 8 on AVX-512: u = x A^T,
// du = dout B, dB) and at least kNarrowMinRows rows run as their transpose C^T (N, M), whose M columns
// fill whole panels and spread over the threads, where C itself is one half-empty tile column of few
// tasks (rank 8, 1024 rows: u 75 -> 64, du 75 -> 66, dB 95 -> 50 us at 2 threads; rank 16, a full
// vector, was 20-30% slower transposed). Each element is the same FMA chain over the same k order and
// slices (a*b == b*a), so C is bitwise the direct product's. T: gemm_scratch().narrow.
constexpr int64_t kNarrowMinRows = 64;
bool narrow(int64_t M, int64_t N) { return 2 * N <= gemm_kernels().lanes && M >= kNarrowMinRows; }

void transpose(float* dst, const float* src, int64_t rows, int64_t cols) {  // dst (cols, rows) = src (rows, cols)^T
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
}

// T (N, M) [= C^T when accumulating] and room for a (K, N) B transposed after it
float* narrow_scratch(const float* C, int64_t M, int64_t N, int64_t extra, bool accumulate) {
  std::vector<float>& t = gemm_scratch().narrow;
  if (t.size() < static_cast<size_t>(N * M + extra)) t.resize(N * M + extra);
  if (accumulate) transpose(t.data(), C, M, N);
  return t.data();
}
}  // namespace

void matmul_nt(ThreadPool* pool, float* C, const float* A, WeightView B, int64_t M, int64_t N, int64_t K, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (narrow(M, N) && B.dtype == DType::F32) {  // C^T (N, M) = B (N, K) . A (M, K)^T
    float* T = narrow_scratch(C, M, N, 0, accumulate);
    matmul_nt(pool, T, static_cast<const float*>(B.data), f32_view(A), N, M, K, accumulate);
    return transpose(C, T, N, M);
  }
  if (pack_whole(M, N, K)) return gemm_packed(pool, C, A, K, 1, B, true, M, N, K, accumulate);
  auto nt = gemm_kernels().nt;
  // Few rows (a logits chunk, decode): one row block, so each B panel is packed once.
  run_grid(pool, M, N, M <= 4 * kBlockM ? M : kBlockM,
           [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) { nt(C, A, B, M, N, K, accumulate, m0, m1, n0, n1); });
}

namespace {
// K-split products: few rows and a long reduction (the head's input gradient, dlogits . W with K =
// vocabulary). A grid of 64-column tasks streams all of A (M x K floats, 32 MiB for a logits chunk)
// once per column panel, 5 to 64 times per call; here a task takes a range of consecutive k and up
// to kKSplitCols columns, so A is read once per 1024 columns, into a partial (M, N) sum, and the
// partials are then added to C in range order: C = ((C0 + P_0) + P_1) + ..., each P_j the kernel's
// own blocked sum over its range. Ranges are 2048 long (2 threads, input gradient CPU ms over 8
// stories15M steps: 1024 891/884, 2048 856/856, 4096 857/853; SmolLM 2 steps: 1024 1477/1420/1444,
// 2048 1328/1348/1393: half the partials to write and add up), or longer where the partials would
// pass about 4M floats; the split depends on the shape only, so results do not depend on the thread
// count. Fewer than 2 ranges: the column grid. The pool gives each thread a run of consecutive ranges,
// whose A and B rows continue where the last range ended (the hardware prefetchers follow them;
// ranges interleaved between the cores cost 4%: stories15M, 8 interleaved 2-step runs, 210 vs 202
// ms CPU median).
constexpr int64_t kKSplitMin = 2048, kKSplitScratch = int64_t(1) << 22, kKSplitCols = 1024;
int64_t k_split_len(int64_t M, int64_t N, int64_t K) {
  const int64_t len = std::max(kKSplitMin, (K * M * N + kKSplitScratch - 1) / kKSplitScratch);
  return (len + 15) / 16 * 16;
}
bool k_split(int64_t M, int64_t N, int64_t K) { return M <= 4 * kBlockM && K >= 2 * k_split_len(M, N, K); }

void gemm_k_split(ThreadPool* pool, float* C, const float* A, WeightView B, int64_t M, int64_t N, int64_t K,
                  bool accumulate) {
  const GemmKernels& k = gemm_kernels();
  const int64_t len = k_split_len(M, N, K), parts = (K + len - 1) / len, cols = (N + kKSplitCols - 1) / kKSplitCols;
  std::vector<float>& partial = gemm_scratch().partial;  // parts x M x N floats
  if (partial.size() < static_cast<size_t>(parts * M * N)) partial.resize(parts * M * N);
  float* P = partial.data();
  const int64_t elem = B.dtype == DType::BF16 ? 2 : 4;
  parallel_for(pool, parts * cols, [&](int64_t t) {
    const int64_t p = t / cols, n0 = t % cols * kKSplitCols, n1 = std::min(N, n0 + kKSplitCols);
    const int64_t k0 = p * len, kc = std::min(len, K - k0);
    const WeightView rows{static_cast<const char*>(B.data) + k0 * N * elem, B.dtype};  // B rows [k0, k0 + kc)
    k.xn(P + p * M * N, A + k0, K, 1, rows, M, N, kc, false, 0, M, n0, n1);
  });
  parallel_for(pool, (M + 7) / 8, [&](int64_t t) {
    for (int64_t m = t * 8; m < std::min(M, t * 8 + 8); ++m) k.add_partials(C + m * N, P + m * N, parts, M * N, N, accumulate);
  });
}
}  // namespace

void matmul_nn(ThreadPool* pool, float* C, const float* A, WeightView B, int64_t M, int64_t N, int64_t K, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (narrow(M, N) && B.dtype == DType::F32 && !k_split(M, N, K)) {  // C^T (N, M) = B^T (N, K) . A (M, K)^T
    float* T = narrow_scratch(C, M, N, K * N, accumulate);
    float* Bt = T + N * M;
    transpose(Bt, static_cast<const float*>(B.data), K, N);
    matmul_nt(pool, T, Bt, f32_view(A), N, M, K, accumulate);
    return transpose(C, T, N, M);
  }
  if (pack_whole(M, N, K)) return gemm_packed(pool, C, A, K, 1, B, false, M, N, K, accumulate);
  if (k_split(M, N, K)) return gemm_k_split(pool, C, A, B, M, N, K, accumulate);
  auto xn = gemm_kernels().xn;
  // bf16 panels packed per task: few rows (the head's input gradient) in one row block.
  const int64_t block_m = B.dtype == DType::BF16 && M <= 4 * kBlockM ? M : kBlockM;
  run_grid(pool, M, N, block_m,
           [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) { xn(C, A, K, 1, B, M, N, K, accumulate, m0, m1, n0, n1); });
}

namespace {
// Row block of the WeightTiles products: each block fills every panel once (the fill is a 4-bit
// dequantization), so tall blocks amortize it; 384 rows = 4 x kBlockM keeps >= 3 row blocks at 1024.
constexpr int64_t kTilesBlockM = 4 * kBlockM;
}  // namespace

void matmul_nt_tiles(ThreadPool* pool, float* C, const float* A, const WeightTiles& B, int64_t M, int64_t N, int64_t K, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  auto f = gemm_kernels().nt_tiles;
  run_grid(pool, M, N, kTilesBlockM,
           [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) { f(C, A, B, M, N, K, accumulate, m0, m1, n0, n1); });
}

void matmul_nn_tiles(ThreadPool* pool, float* C, const float* A, const WeightTiles& B, int64_t M, int64_t N, int64_t K, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  auto f = gemm_kernels().nn_tiles;
  run_grid(pool, M, N, kTilesBlockM,
           [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) { f(C, A, B, M, N, K, accumulate, m0, m1, n0, n1); });
}

namespace {
// Weight gradients (A, B activations) run as tasks of a row block x a column chunk of up to
// kTnChunkCols columns (GemmKernels::tn_rows: A's block copied into tile order once per K slice and
// chunk, not read M floats apart by every 64-column task), where that makes >= 4 tasks per thread;
// else the fixed grid. SmolLM gate dW (1536 x 576, K 2048) fp32 at 1 thread: 95-98 -> 103-107
// GFLOP/s per CPU-second, 0.93-0.95x -> 1.01-1.04x OpenBLAS (Zen 4, in-process, alternating calls);
// 2 threads 82-83% -> 91-94% of the FMA peak; stories15M gate dW (768 x 288, K 1024) unchanged.
constexpr int64_t kTnChunkCols = 1024;
static_assert(kBlockM <= kTnRowsMax, "a tn_rows task is one row block");
}  // namespace

void matmul_tn(ThreadPool* pool, float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (narrow(M, N)) {  // C^T (N, M) = B (K, N)^T . A (K, M)
    float* T = narrow_scratch(C, M, N, 0, accumulate);
    matmul_tn(pool, T, B, A, N, M, K, accumulate);
    return transpose(C, T, N, M);
  }
  // B here is an activation (K = tokens): read in place, as packing it costs a pass over K x N floats,
  // unless its rows are a multiple of 1 KiB apart (N % 256 == 0), where a slice's rows would share
  // a few L1 sets.
  const bool pack_b = N % 256 == 0 && pack_whole(M, N, K);
  const int64_t w = gemm_kernels().panel_width, row_blocks = (M + kBlockM - 1) / kBlockM;
  const int64_t wanted = (N + kTnChunkCols - 1) / kTnChunkCols, panels = (N + w - 1) / w;  // chunks of <= kTnChunkCols
  const int64_t cw = (panels + wanted - 1) / wanted * w, chunks = (N + cw - 1) / cw;  // cw: whole panels per chunk
  if (row_blocks * chunks >= 4 * (pool ? pool->threads() : 1)) {
    const float* bp = pack_b ? pack_b_whole(pool, f32_view(B), false, N, K) : nullptr;
    auto f = gemm_kernels().tn_rows;
    parallel_for(pool, row_blocks * chunks, [&](int64_t t) {
      const int64_t m0 = t / chunks * kBlockM, n0 = t % chunks * cw;
      f(C, A, B, bp, M, N, K, accumulate, m0, std::min(M, m0 + kBlockM), n0, std::min(N, n0 + cw));
    });
    return;
  }
  if (pack_b) return gemm_packed(pool, C, A, 1, M, f32_view(B), false, M, N, K, accumulate);
  auto xn = gemm_kernels().xn;
  run_grid(pool, M, N, kBlockM,
           [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) { xn(C, A, 1, M, f32_view(B), M, N, K, accumulate, m0, m1, n0, n1); });
}

void linear_forward(ThreadPool* pool, float* out, const float* inp, WeightView weight, const float* bias, int64_t N, int64_t IC,
                    int64_t OC) {
  matmul_nt(pool, out, inp, weight, N, OC, IC, false);
  if (bias) {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < OC; ++o) out[n * OC + o] += bias[o];
  }
}

void linear_backward(ThreadPool* pool, float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, WeightView weight,
                     int64_t N, int64_t IC, int64_t OC) {
  if (dinp) matmul_nn(pool, dinp, dout, weight, N, IC, OC, true);
  if (dweight) matmul_tn(pool, dweight, dout, inp, OC, IC, N, true);
  if (dbias) {
    for (int64_t n = 0; n < N; ++n)  // tokens in index order
      for (int64_t o = 0; o < OC; ++o) dbias[o] += dout[n * OC + o];
  }
}

void linear_forward(double* out, const double* inp, const double* weight, const double* bias, int64_t N, int64_t IC, int64_t OC) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < OC; ++o) {
      double s = bias ? bias[o] : 0.0;
      for (int64_t i = 0; i < IC; ++i) s += inp[n * IC + i] * weight[o * IC + i];
      out[n * OC + o] = s;
    }
}

void linear_backward(double* dinp, double* dweight, double* dbias, const double* dout, const double* inp, const double* weight, int64_t N,
                     int64_t IC, int64_t OC) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < OC; ++o) {
      double g = dout[n * OC + o];
      if (dbias) dbias[o] += g;
      for (int64_t i = 0; i < IC; ++i) {
        if (dinp) dinp[n * IC + i] += g * weight[o * IC + i];
        if (dweight) dweight[o * IC + i] += g * inp[n * IC + i];
      }
    }
}

}  // namespace loralab
