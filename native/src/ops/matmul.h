// Matrix multiplies and the linear layer (y = x W^T + b) with forward and backward. Weights are
// fp32 or bf16 (frozen storage); activations and gradients fp32. A double-precision reference of
// the linear layer serves the finite-difference tests.
// Legend: N tokens (B*T), IC input features, OC output features; M, K generic GEMM dims.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "dtype.h"

namespace loralab {

class ThreadPool;

struct WeightView {  // row-major matrix in fp32 or bf16
  const void* data = nullptr;
  DType dtype = DType::F32;
};
inline WeightView f32_view(const float* p) { return WeightView{p, DType::F32}; }

// A weight the GEMM reads tile by tile through a callback that writes fp32 values (the 4-bit QLoRA
// weights: quant/quant_matmul.cpp dequantizes straight into the packed panels, never a whole layer).
// tile(ctx, dst, r0, r1, c0, c1): dst (r1-r0, c1-c0) row-major = rows [r0,r1) x cols [c0,c1) of the
// weight (its own row-major layout; which GEMM operand it is depends on the entry point).
struct WeightTiles {
  void (*tile)(const void* ctx, float* dst, int64_t r0, int64_t r1, int64_t c0, int64_t c1) = nullptr;
  const void* ctx = nullptr;
};

// Rows per GemmKernels::tn_rows call (its thread-local copy of A's block is sized for them).
constexpr int64_t kTnRowsMax = 96;

// Tile kernels of one instruction set (see matmul_kernels.inc).
struct GemmKernels {
  void (*nt)(float* C, const float* A, WeightView B, int64_t M, int64_t N, int64_t K, bool accumulate, int64_t m0,
             int64_t m1, int64_t n0, int64_t n1);
  void (*xn)(float* C, const float* A, int64_t sam, int64_t sak, WeightView B, int64_t M, int64_t N, int64_t K,
             bool accumulate, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
  // As nt / xn (sam = K, sak = 1) with B produced by WeightTiles per packed panel: nt_tiles reads B
  // as (N, K), nn_tiles as (K, N). Bitwise the result of nt / xn on the materialized fp32 weight.
  void (*nt_tiles)(float* C, const float* A, const WeightTiles& B, int64_t M, int64_t N, int64_t K, bool accumulate,
                   int64_t m0, int64_t m1, int64_t n0, int64_t n1);
  void (*nn_tiles)(float* C, const float* A, const WeightTiles& B, int64_t M, int64_t N, int64_t K, bool accumulate,
                   int64_t m0, int64_t m1, int64_t n0, int64_t n1);
  // Whole-B packing for products whose B serves many row blocks: pack writes panels [j0, j1) of
  // panel_width columns of op(B) (nt: B is (N, K), else (K, N)) as K x panel_width fp32 blocks,
  // panel j at dst + j*K*panel_width (zero padded past N); packed computes as xn from those panels
  // (n0 a multiple of panel_width). Bitwise the result of nt / xn on the same B.
  int64_t panel_width;
  int64_t lanes;  // floats per vector
  int64_t tile_rows;  // rows of the register tile (a row block's tiles: ceil(rows / tile_rows))
  void (*pack)(float* dst, WeightView B, bool nt, int64_t N, int64_t K, int64_t j0, int64_t j1);
  void (*packed)(float* C, const float* A, int64_t sam, int64_t sak, const float* Bp, int64_t M, int64_t N, int64_t K,
                 bool accumulate, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
  // c[j] = ((c0[j] + P[j]) + P[stride + j]) + ... over `parts` partial rows, c0 = accumulate ? c : 0,
  // for j in [0, n): the K-split products' final sum, in range order.
  void (*add_partials)(float* c, const float* P, int64_t parts, int64_t stride, int64_t n, bool accumulate);
  // C (M,N) (+)= A (K, M)^T . B (K, N) over rows [m0, m1) (at most kTnRowsMax) x cols [n0, n1) (n0 a
  // multiple of panel_width), each K slice of A's block copied into register-tile order first; B read
  // in place, or from Bp (pack of the whole B, nt false) when not null. Bitwise xn with sam 1, sak M.
  void (*tn_rows)(float* C, const float* A, const float* B, const float* Bp, int64_t M, int64_t N, int64_t K,
                  bool accumulate, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
};
GemmKernels gemm_kernels_generic();
GemmKernels gemm_kernels_avx2();
GemmKernels gemm_kernels_avx512();
// The instruction set of these kernels is simd_path() (simd_path.h), shared with every other op and the device report.
// This process's kernels (the ops that drive the tiles themselves: the tiled attention).
const GemmKernels& gemm_kernels();

// Scratch of the products that re-lay out or split an operand: B packed whole (gemm_packed), the
// K-split partial sums and the transposed outputs of narrow products (at most half a vector of
// columns, >= 64 rows: LoRA's rank-8 products on AVX-512, computed as C^T so that their rows fill the
// vectors). Each thread has its own; an engine installs one for the duration of each call
// (GemmScratchScope on the calling thread), so the calls of a run that land on different libuv
// threads share one copy, freed with the engine. Not tracked (the estimator's gemmScratchBytes).
// A B of at most 2^18 packed floats is packed by each pool thread for itself instead (per_thread,
// indexed by the pool's slot()), panel by panel as its tasks first need them.
struct GemmScratch {
  std::vector<float> packed, partial, narrow;  // narrow: the transposed C (and B) of narrow products
  struct ThreadPanels {
    std::vector<float> panels;
    std::vector<uint64_t> packed_in;  // per panel: the call that packed it here
  };
  std::vector<ThreadPanels> per_thread;
  uint64_t calls = 0;  // per-thread packing calls so far
};
class GemmScratchScope {
 public:
  explicit GemmScratchScope(GemmScratch* scratch);
  ~GemmScratchScope();
  GemmScratchScope(const GemmScratchScope&) = delete;
  GemmScratchScope& operator=(const GemmScratchScope&) = delete;

 private:
  GemmScratch* saved_;
};
// The calling thread's own scratch (used where no GemmScratchScope is installed).
GemmScratch& thread_gemm_scratch();

// C (M,N) (+)= A (M,K) . B (N,K)^T
void matmul_nt(ThreadPool* pool, float* C, const float* A, WeightView B, int64_t M, int64_t N, int64_t K,
               bool accumulate);
// C (M,N) (+)= A (M,K) . B (K,N). With <= 384 rows and a K of >= 2 ranges of >= 2048 (the head's
// input gradient), the ranges are summed separately (GemmScratch, up to ~4M floats) and added in
// order; ops/matmul.cpp.
void matmul_nn(ThreadPool* pool, float* C, const float* A, WeightView B, int64_t M, int64_t N, int64_t K,
               bool accumulate);
// The same two products with B given as WeightTiles (B (N,K) for nt, (K,N) for nn); each row block
// of 384 rows fills every panel once, so a weight element is produced ceil(M/384) times per call.
// Bitwise equal to matmul_nt / matmul_nn on the fp32 weight the tiles describe, for any thread count.
void matmul_nt_tiles(ThreadPool* pool, float* C, const float* A, const WeightTiles& B, int64_t M, int64_t N, int64_t K,
                     bool accumulate);
void matmul_nn_tiles(ThreadPool* pool, float* C, const float* A, const WeightTiles& B, int64_t M, int64_t N, int64_t K,
                     bool accumulate);
// C (M,N) (+)= A (K,M)^T . B (K,N)
void matmul_tn(ThreadPool* pool, float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K,
               bool accumulate);

// out (N,OC) = inp (N,IC) . weight (OC,IC)^T + bias (OC) (bias may be null)
void linear_forward(ThreadPool* pool, float* out, const float* inp, WeightView weight, const float* bias, int64_t N,
                    int64_t IC, int64_t OC);
// dinp (N,IC) += dout . weight; dweight (OC,IC) += dout^T . inp; dbias (OC) += sum_n dout. Null skips.
void linear_backward(ThreadPool* pool, float* dinp, float* dweight, float* dbias, const float* dout,
                     const float* inp, WeightView weight, int64_t N, int64_t IC, int64_t OC);

// Double-precision reference (same semantics, single thread).
void linear_forward(double* out, const double* inp, const double* weight, const double* bias, int64_t N, int64_t IC,
                    int64_t OC);
void linear_backward(double* dinp, double* dweight, double* dbias, const double* dout, const double* inp,
                     const double* weight, int64_t N, int64_t IC, int64_t OC);

}  // namespace loralab
