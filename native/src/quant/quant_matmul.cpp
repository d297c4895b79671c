// Quantized linear layer on the CPU. Many tokens (a training micro-batch, >= kPanelMinRows): the dense
// GEMM of ops/matmul.h with the weight dequantized straight into its packed panels (WeightTiles).
// Few tokens (decode, scoring a short prompt): fixed task grids over weight tiles, each tile
// dequantized into a small per-task scratch and multiplied by the instruction-set kernels below.
// Legend: N tokens, IC input features (weight cols), OC output features (weight rows).
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "error.h"
#include "ops/matmul.h"
#include "quant/quant.h"
#include "quant/quant_kernels.h"
#include "simd_path.h"
#include "threadpool.h"

namespace loralab {

namespace {
const QuantKernels& kernels() {
  static const QuantKernels k = simd_kernels(quant_kernels_generic, quant_kernels_avx2, quant_kernels_avx512);
  return k;
}

// Task grids, independent of the thread count. Forward: a task owns kFwdRows weight rows (output
// columns) and walks IC in chunks of kFwdCols. Backward: a task owns kBwdCols input columns and walks
// OC in chunks of kBwdRows. Scratch per task: 16 x 1024 floats (64 KiB) and 32 x 128 floats (16 KiB).
// The forward chunk is long so that each dot product is reduced across lanes once per 1024 values.
constexpr int64_t kFwdRows = 16, kFwdCols = 1024;
constexpr int64_t kBwdRows = 32, kBwdCols = 128;
// From this many tokens on, the products run on the dense GEMM's register tiles (about the fp32
// GEMM's speed; each weight element is dequantized ceil(N/384) times per call, into L1-sized panels).
// The choice depends on the shape only, so results stay bitwise the same for any thread count.
constexpr int64_t kPanelMinRows = 192;

void dequantize_into(const void* ctx, float* dst, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  kernels().dequantize(dst, *static_cast<const QuantizedWeight*>(ctx), r0, r1, c0, c1);
}

void check_args(const QuantizedWeight& w, int64_t N, const char* what) {
  LORALAB_CHECK(N >= 0 && w.consistent(),
                "E_QUANT_SHAPE",
                std::string(what) + ": expected N >= 0 and a quantized (rows, cols) weight but received N=" +
                    std::to_string(N) + ", (" + std::to_string(w.rows) + ", " + std::to_string(w.cols) + ")");
}
}  // namespace

void quant_linear_forward(ThreadPool* pool, float* out, const float* inp, const QuantizedWeight& w, const float* bias,
                          int64_t N, bool accumulate) {
  check_args(w, N, "quant_linear_forward");
  if (N == 0) return;
  const int64_t OC = w.rows, IC = w.cols;
  const auto forward = kernels().forward;
  const auto dequantize = kernels().dequantize;
  FlushDenormalsScope ftz;  // the caller runs tasks too: same FTZ/DAZ mode as the pool's workers
  if (N >= kPanelMinRows) {
    matmul_nt_tiles(pool, out, inp, WeightTiles{&dequantize_into, &w}, N, OC, IC, accumulate);
    if (bias)
      parallel_for(pool, (N + 63) / 64, [&](int64_t t) {
        for (int64_t n = t * 64; n < N && n < t * 64 + 64; ++n)
          for (int64_t o = 0; o < OC; ++o) out[n * OC + o] += bias[o];
      });
    return;
  }
  parallel_for(pool, (OC + kFwdRows - 1) / kFwdRows, [&](int64_t t) {
    const int64_t o0 = t * kFwdRows, o1 = std::min(OC, o0 + kFwdRows);
    std::vector<float> tile(static_cast<size_t>(kFwdRows * kFwdCols));  // (o1-o0, kl)
    for (int64_t k0 = 0; k0 < IC; k0 += kFwdCols) {
      const int64_t kl = std::min(kFwdCols, IC - k0);
      dequantize(tile.data(), w, o0, o1, k0, k0 + kl);
      forward(out, inp, tile.data(), N, IC, OC, o0, o1, k0, kl, accumulate || k0 > 0);
    }
    if (bias)
      for (int64_t n = 0; n < N; ++n)
        for (int64_t o = o0; o < o1; ++o) out[n * OC + o] += bias[o];
  });
}

void quant_linear_backward_input(ThreadPool* pool, float* dinp, const float* dout, const QuantizedWeight& w,
                                 int64_t N, bool accumulate) {
  check_args(w, N, "quant_linear_backward_input");
  if (N == 0) return;
  const int64_t OC = w.rows, IC = w.cols;
  const auto backward = kernels().backward_input;
  const auto dequantize = kernels().dequantize;
  FlushDenormalsScope ftz;
  if (N >= kPanelMinRows) {
    matmul_nn_tiles(pool, dinp, dout, WeightTiles{&dequantize_into, &w}, N, IC, OC, accumulate);
    return;
  }
  parallel_for(pool, (IC + kBwdCols - 1) / kBwdCols, [&](int64_t t) {
    const int64_t k0 = t * kBwdCols, kl = std::min(kBwdCols, IC - k0);
    std::vector<float> tile(static_cast<size_t>(kBwdRows * kBwdCols));  // (ol, kl)
    for (int64_t o0 = 0; o0 < OC; o0 += kBwdRows) {
      const int64_t ol = std::min(kBwdRows, OC - o0);
      dequantize(tile.data(), w, o0, o0 + ol, k0, k0 + kl);
      backward(dinp, dout, tile.data(), N, IC, OC, o0, ol, k0, kl, accumulate || o0 > 0);
    }
  });
}

}  // namespace loralab
