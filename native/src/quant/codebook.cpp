// The fixed tables of bitsandbytes' 4-bit and 8-bit blockwise quantization (NF4, FP4, the signed
// dynamic 8-bit map) and the scalar code choosers that reproduce its CUDA kernels' comparisons.
#include <algorithm>
#include <cmath>
#include <vector>

#include "quant/quant.h"

namespace loralab {

const char* quant_type_name(QuantType t) { return t == QuantType::NF4 ? "nf4" : "fp4"; }

namespace {
// bitsandbytes' NF4 table (functional.py get_4bit_type("nf4"), kernels.cu dDequantizeNF4).
constexpr float kNf4[16] = {-1.0f,
                            -0.6961928009986877f,
                            -0.5250730514526367f,
                            -0.39491748809814453f,
                            -0.28444138169288635f,
                            -0.18477343022823334f,
                            -0.09105003625154495f,
                            0.0f,
                            0.07958029955625534f,
                            0.16093020141124725f,
                            0.24611230194568634f,
                            0.33791524171829224f,
                            0.44070982933044434f,
                            0.5626170039176941f,
                            0.7229568362236023f,
                            1.0f};
// dQuantizeNF4's pivots: the midpoints of neighbouring NF4 values (computed in double, as published).
constexpr float kNf4Thresholds[15] = {-0.8480964004993439f,  -0.6106329262256622f,  -0.4599952697753906f,
                                      -0.33967943489551544f, -0.23460740596055984f, -0.13791173323988914f,
                                      -0.045525018125772476f, 0.03979014977812767f,  0.1202552504837513f,
                                      0.2035212516784668f,   0.2920137718319893f,   0.3893125355243683f,
                                      0.5016634166240692f,   0.6427869200706482f,   0.8614784181118011f};
// FP4 magnitudes as dDequantizeFP4Tree's literals (the E2M1-like values 0, 0.0625, 8, 12, 4, 6, 2, 3
// divided by 12), indexed by the low three bits; bit 3 is the sign.
constexpr float kFp4Magnitude[8] = {0.0f,        5.208333333e-03f, 0.66666667f, 1.0f,
                                    0.33333333f, 0.5f,             0.16666667f, 0.25f};
// dQuantizeFP4's pivots on |x|, ascending, and the 3-bit code of each interval between them.
constexpr float kFp4Thresholds[7] = {0.00260417f, 0.0859375f, 0.20833333f, 0.29166667f,
                                     0.4166667f,  0.583333f,  0.8333333f};
constexpr uint8_t kFp4IntervalCode[8] = {0b000, 0b001, 0b110, 0b111, 0b100, 0b101, 0b010, 0b011};

struct Fp4Table {
  float v[16];
  Fp4Table() {
    for (int c = 0; c < 16; ++c) v[c] = (c & 8) ? -kFp4Magnitude[c & 7] : kFp4Magnitude[c & 7];
  }
};

// create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8): for exponent i = 0..6,
// 2^i + 1 points torch.linspace(0.1, 1, 2^i + 1) in fp32, the 2^i means of neighbouring points,
// each times fp32(10^(i-6)) and also negated (254 values); then 0 and 1.0; sorted. torch's scalar
// linspace formula: start + step*j below the halfway index, end - step*(steps-1-j) from it on, with
// step = (end - start) / (steps - 1), all in fp32 (current torch, whose CPU linspace is scalar).
// torch builds round linspace differently (1.13's vectorised kernel with a double step differs in 44
// of the 256 values, by 1-2 ulp); bitsandbytes stores the map it used with a quantized checkpoint.
std::vector<float> build_dynamic_map() {
  std::vector<float> data;
  const int max_exponent_bits = 7;
  for (int i = 0; i < max_exponent_bits; ++i) {
    const int64_t steps = (int64_t{1} << i) + 1;
    const float start = 0.1f, end = 1.0f;
    const float step = (end - start) / static_cast<float>(steps - 1);
    const int64_t halfway = steps / 2;
    std::vector<float> boundaries(static_cast<size_t>(steps));
    for (int64_t j = 0; j < steps; ++j)
      boundaries[j] = j < halfway ? start + step * static_cast<float>(j)
                                  : end - step * static_cast<float>(steps - 1 - j);
    const float scale = static_cast<float>(std::pow(10.0, static_cast<double>(i - (max_exponent_bits - 1))));
    for (int64_t j = 0; j + 1 < steps; ++j) {
      float mean = (boundaries[j] + boundaries[j + 1]) / 2.0f;
      float value = scale * mean;
      data.push_back(value);
      data.push_back(-value);
    }
  }
  data.push_back(0.0f);
  data.push_back(1.0f);
  std::sort(data.begin(), data.end());
  return data;
}
}  // namespace

const float* nf4_codebook() { return kNf4; }
const float* nf4_thresholds() { return kNf4Thresholds; }
const float* fp4_thresholds() { return kFp4Thresholds; }
const float* fp4_codebook() {
  static const Fp4Table table;
  return table.v;
}

const float* dynamic_map() {
  static const std::vector<float> map = build_dynamic_map();
  return map.data();
}

uint8_t quantize_nf4(float x) {
  // Code = number of pivots strictly below x: the same leaf as the balanced '>' tree.
  uint8_t code = 0;
  for (int i = 0; i < 15; ++i) code += x > kNf4Thresholds[i] ? 1 : 0;
  return code;
}

uint8_t quantize_fp4(float x) {
  const uint8_t sign = x < 0.0f ? 0b1000 : 0;
  const float a = std::fabs(x);
  int interval = 0;
  for (int i = 0; i < 7; ++i) interval += a > kFp4Thresholds[i] ? 1 : 0;
  return static_cast<uint8_t>(kFp4IntervalCode[interval] + sign);
}

uint8_t quantize_dynamic8(float x) {
  const float* code = dynamic_map();
  int pivot = 127, upper_pivot = 255, lower_pivot = 0;
  float lower = -1.0f, upper = 1.0f;
  float val = code[pivot];
  for (int step = 64; step > 0; step >>= 1) {
    if (x > val) {
      lower_pivot = pivot;
      lower = val;
      pivot += step;
    } else {
      upper_pivot = pivot;
      upper = val;
      pivot -= step;
    }
    val = code[pivot];
  }
  if (upper_pivot == 255) upper = code[upper_pivot];
  if (lower_pivot == 0) lower = code[lower_pivot];
  if (x > val) {
    float midpoint = (upper + val) * 0.5f;
    return static_cast<uint8_t>(x > midpoint ? upper_pivot : pivot);
  }
  float midpoint = (lower + val) * 0.5f;
  return static_cast<uint8_t>(x < midpoint ? lower_pivot : pivot);
}

}  // namespace loralab
