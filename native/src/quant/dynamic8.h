// 8-bit blockwise dynamic quantization of optimizer state (Dettmers et al. 2021, "8-bit Optimizers via
// Block-wise Quantization"; bitsandbytes' create_dynamic_map and quantize_blockwise): each block of
// kDynamicBlock values is scaled by its absmax into [-1, 1] and every value stored as the index of the
// nearest entry of a 256-entry dynamic tree map. Legend: n values, nb = ceil(n / kDynamicBlock) blocks.
#pragma once
#include <array>
#include <cstdint>

namespace loralab {

constexpr int64_t kDynamicBlock = 256;   // values per absmax (bitsandbytes' blockwise optimizers)
constexpr int64_t kMin8bitNumel = 4096;  // smaller tensors keep fp32 state (bitsandbytes' min_8bit_size)

inline int64_t dynamic_blocks(int64_t n) { return (n + kDynamicBlock - 1) / kDynamicBlock; }

// The dynamic tree map, ascending. Signed (first moment, SGD momentum): 0, +-1.0 limit 1.0 and for each
// exponent i = 0..6 the 2^i midpoints of linspace(0.1, 1, 2^i + 1) times 10^(i-6), with both signs
// (127 + 127 + 0 + 1.0 = 256 values). Unsigned (second moment): 2^(i+1) midpoints per exponent, positive
// only (254 + 0 + 1.0). Built in double, rounded to fp32.
const std::array<float, 256>& dynamic_map(bool is_signed);

// Index of the entry of `map` nearest to x (x in [-1, 1]; ties go to the lower entry).
uint8_t dynamic_code(const std::array<float, 256>& map, float x);

// Quantizes block `b` of `values` (n total): writes codes and absmax[b]. Returns false (nothing written)
// when the block holds a NaN or an infinity. An all-zero block stores absmax 0 and the code of 0.
bool quantize_dynamic_block(const std::array<float, 256>& map, const float* values, int64_t n, int64_t b, uint8_t* codes, float* absmax);
// values[i] = map[codes[i]] * absmax[i / kDynamicBlock] for the block's elements.
void dequantize_dynamic_block(const std::array<float, 256>& map, const uint8_t* codes, const float* absmax, int64_t n, int64_t b,
                              float* values);
// Whole tensors (tests, state files): quantize throws E_NONFINITE naming `what` and the block on NaN / inf.
void quantize_dynamic(const float* values, int64_t n, bool is_signed, uint8_t* codes, float* absmax, const char* what);
void dequantize_dynamic(const uint8_t* codes, const float* absmax, int64_t n, bool is_signed, float* values);

}  // namespace loralab
