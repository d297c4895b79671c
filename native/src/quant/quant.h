// QLoRA base weights with bitsandbytes' semantics: NF4 / FP4 codes in blocks of 64, optional double
// quantization of the absmax (8-bit dynamic map, blocks of 256, plus the mean), and CPU linear
// kernels that dequantize small tiles inside the matmul (never a whole layer): from 192 tokens on
// straight into the dense GEMM's packed panels (ops/matmul.h WeightTiles), below that into the
// quantized kernels' own tiles.
// Legend: OC output features (weight rows), IC input features (weight cols), N tokens,
// n = OC*IC weight elements, nb = ceil(n/64) blocks, nb2 = ceil(nb/256) second-level blocks.
//
// Engine use (frozen q/k/v/o/gate/up/down of the blocks; embeddings, norms, LoRA and the head stay):
//   QuantType type; bool dq;
//   if (quant_scheme(options.quantize, &type, &dq)) {
//     QuantizedWeight q = quantize_tensor(view.data, view.dtype, OC, IC, type, dq, pool);  // from the mmap
//     tracker->add(MemCategory::Weights, q.bytes_codes());
//     tracker->add(MemCategory::QuantConstants, q.bytes_constants());
//   }
//   forward:  quant_linear_forward(pool, out, inp, q, bias_or_null, N);              // like linear_forward
//   backward: quant_linear_backward_input(pool, dinp, dout, q, N, true);            // dinp += (linear_backward)
// Adapters merge into the original checkpoint weights (merge_adapter), never into these codes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "dtype.h"

namespace loralab {

class ThreadPool;

enum class QuantType : uint8_t { NF4, FP4 };
const char* quant_type_name(QuantType t);  // "nf4" | "fp4"
enum class Quantize;  // engine.h: model.quantize
// Quantize::NF4 -> (NF4, false), NF4DQ -> (NF4, true), FP4 / FP4DQ likewise; None -> false.
bool quant_scheme(Quantize q, QuantType* type, bool* double_quant);

constexpr int64_t kQuantBlock = 64;    // elements per absmax (bitsandbytes' QLoRA blocksize)
constexpr int64_t kQuantBlock2 = 256;  // absmax values per second-level block (double quantization)

// ---- codebooks (codebook.cpp) ----------------------------------------------------------------
// The 16 values a 4-bit code decodes to (times absmax), indexed by the code.
const float* nf4_codebook();  // (16) ascending, bitsandbytes' NF4 table
const float* fp4_codebook();  // (16) bit 3 = sign; low 3 bits -> 0, 1/192, 2/3, 1, 1/3, 1/2, 1/6, 1/4
// Code of a value already scaled by 1/absmax. Strict '>' comparisons as bitsandbytes' decision
// trees (dQuantizeNF4 / dQuantizeFP4): a NaN (0 * 1/0 in an all-zero block) gives code 0.
uint8_t quantize_nf4(float x);
uint8_t quantize_fp4(float x);
const float* nf4_thresholds();  // (15) midpoints between neighbouring NF4 values, ascending
const float* fp4_thresholds();  // (7) on |x|, ascending
// bitsandbytes' create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8), sorted.
const float* dynamic_map();  // (256)
// bitsandbytes' dQuantize<0>: 7-step binary search over the dynamic map, then nearest neighbour.
uint8_t quantize_dynamic8(float x);

// ---- quantized weight (quantize.cpp) ---------------------------------------------------------
// Memory: plain std::vectors owned by the struct. The engine accounts them itself:
// bytes_codes() under MemCategory::Weights, bytes_constants() under MemCategory::QuantConstants.
// The codebooks and the dynamic map are process-wide constants (not counted per layer).
struct QuantizedWeight {
  QuantType type = QuantType::NF4;
  bool double_quant = false;
  int64_t rows = 0;                  // OC
  int64_t cols = 0;                  // IC
  std::vector<uint8_t> codes;        // ((n+1)/2) element 2i in the high nibble, 2i+1 in the low one
  std::vector<float> absmax;         // (nb) fp32 absmax per block; empty with double_quant
  std::vector<uint8_t> absmax_q;     // (nb) double_quant: dynamic-map index of (absmax - mean)/scale
  std::vector<float> absmax_scale;   // (nb2) double_quant: max |absmax - mean| of each 256-block
  float absmax_mean = 0.0f;          // double_quant: mean of the fp32 absmax values

  int64_t numel() const { return rows * cols; }
  int64_t blocks() const { return (numel() + kQuantBlock - 1) / kQuantBlock; }
  // The absmax a block decodes with: absmax[b], or with double_quant
  // dynamic_map()[absmax_q[b]] * absmax_scale[b/256] + absmax_mean (fp32, in that order, as bitsandbytes).
  float block_absmax(int64_t block) const;
  // The arrays have the sizes the shape and double_quant imply (checked by every kernel entry point).
  bool consistent() const;
  uint64_t bytes_codes() const { return codes.size(); }
  uint64_t bytes_constants() const;  // absmax (4 nb) or absmax_q + absmax_scale + mean (nb + 4 nb2 + 4)
};

// Byte counts for a shape without quantizing (for planning / memory estimates).
uint64_t quant_bytes_codes(int64_t rows, int64_t cols);
uint64_t quant_bytes_constants(int64_t rows, int64_t cols, bool double_quant);

// w (OC, IC) row-major fp32. Blocks run over the flattened weight (they may straddle rows); a partial
// last block uses its own absmax. Throws E_QUANT_SHAPE (rows/cols <= 0), E_QUANT_NONFINITE.
QuantizedWeight quantize(const float* w, int64_t rows, int64_t cols, QuantType type, bool double_quant,
                         ThreadPool* pool = nullptr);
// Streaming variant for memory-mapped checkpoint tensors: data (OC, IC) of dtype F32/BF16/F16, possibly
// unaligned; read element by element (load_as_f32), 64 values at a time, so the fp32 layer never exists.
// Bitwise identical to quantize() on the fp32 conversion of the same tensor.
QuantizedWeight quantize_tensor(const uint8_t* data, DType dtype, int64_t rows, int64_t cols, QuantType type,
                                bool double_quant, ThreadPool* pool = nullptr);

// out (n, IC) = rows [row_begin, row_begin+n) of the dequantized weight: code value * block absmax.
void dequantize_rows(float* out, const QuantizedWeight& w, int64_t row_begin, int64_t n);
// out (o1-o0, k1-k0) = the dequantized tile rows [o0,o1) x cols [k0,k1) (row-major, ld = k1-k0).
void dequantize_tile(float* out, const QuantizedWeight& w, int64_t o0, int64_t o1, int64_t k0, int64_t k1);

// ---- kernels (quant_matmul.cpp) --------------------------------------------------------------
// out (N, OC) (+)= inp (N, IC) . W^T. N >= 192: matmul_nt_tiles, bitwise matmul_nt of the
// dequantized weight. Fewer: tasks own 16 weight rows; each dequantizes (16 x 1024) tiles into a
// 64 KiB scratch and multiplies it with all N rows. Bitwise identical for any thread count.
// bias (OC) or null is added after the product (Qwen2's q/k/v biases): out (+)= inp . W^T + bias.
void quant_linear_forward(ThreadPool* pool, float* out, const float* inp, const QuantizedWeight& w, const float* bias,
                          int64_t N, bool accumulate = false);
// dinp (N, IC) (+)= dout (N, OC) . W. N >= 192: matmul_nn_tiles, bitwise matmul_nn of the
// dequantized weight. Fewer: tasks own 128 input columns; each walks the weight rows in tiles of
// (32 x 128) (16 KiB scratch) in order. Bitwise identical for any thread count.
// Both take pool first like ops/matmul.h (null = serial) and run with FTZ/DAZ on every thread.
void quant_linear_backward_input(ThreadPool* pool, float* dinp, const float* dout, const QuantizedWeight& w,
                                 int64_t N, bool accumulate);
// Their instruction set is simd_path() (simd_path.h), like the fp32 GEMMs'.

}  // namespace loralab
