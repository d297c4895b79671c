// Internal: the per-instruction-set tile kernels behind quant_linear_forward / _backward_input.
// S is a dequantized weight tile in fp32. Legend: N tokens, IC input features, OC output features.
#pragma once
#include <cstdint>

namespace loralab {

struct QuantizedWeight;

struct QuantKernels {
  // out (N, OC), cols [o0, o1): out[n][o] (+)= dot(inp[n][k0 .. k0+kl), S[o-o0][0 .. kl)).
  // inp (N, IC), S (o1-o0, kl).
  void (*forward)(float* out, const float* inp, const float* S, int64_t N, int64_t IC, int64_t OC, int64_t o0,
                  int64_t o1, int64_t k0, int64_t kl, bool accumulate);
  // dinp (N, IC), cols [k0, k0+kl): dinp[n][k] (+)= sum over o < ol, in order, of dout[n][o0+o] * S[o][k-k0].
  // dout (N, OC), S (ol, kl).
  void (*backward_input)(float* dinp, const float* dout, const float* S, int64_t N, int64_t IC, int64_t OC,
                         int64_t o0, int64_t ol, int64_t k0, int64_t kl, bool accumulate);
  // dequantize_tile() with SIMD table lookups: bitwise the same values (code value * block absmax).
  void (*dequantize)(float* out, const QuantizedWeight& w, int64_t o0, int64_t o1, int64_t k0, int64_t k1);
};
QuantKernels quant_kernels_generic();
QuantKernels quant_kernels_avx2();
QuantKernels quant_kernels_avx512();

}  // namespace loralab
