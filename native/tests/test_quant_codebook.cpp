// QLoRA quantization tables and golden bytes: NF4 / FP4 codebooks and pivots against bitsandbytes'
// published values, the dynamic 8-bit map from its construction, hand-derived packed blocks.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "quant/quant.h"
#include "test_util.h"

using namespace loralab;

namespace {

// bitsandbytes' published NF4 table (issue 7; functional.py get_4bit_type("nf4")).
const double kNf4Published[16] = {-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
                                  -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
                                  0.07958029955625534, 0.16093020141124725, 0.24611230194568634,
                                  0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                                  0.7229568362236023, 1.0};
// dQuantizeNF4's pivots as published in kernels.cu: fp32 literals (decimal rounded once to fp32).
const float kNf4PivotsPublished[15] = {-0.8480964004993439f, -0.6106329262256622f, -0.4599952697753906f,
                                       -0.33967943489551544f, -0.23460740596055984f, -0.13791173323988914f,
                                       -0.045525018125772476f, 0.03979014977812767f, 0.1202552504837513f,
                                       0.2035212516784668f, 0.2920137718319893f, 0.3893125355243683f,
                                       0.5016634166240692f, 0.6427869200706482f, 0.8614784181118011f};

void test_nf4_table() {
  const float* book = nf4_codebook();
  for (int i = 0; i < 16; ++i) CHECK(book[i] == static_cast<float>(kNf4Published[i]));
  const float* pivots = nf4_thresholds();
  for (int i = 0; i < 15; ++i) {
    CHECK(pivots[i] == kNf4PivotsPublished[i]);
    // each pivot is the midpoint of its neighbours: the exact midpoint of two fp32 values often sits
    // half-way between two floats, and the published decimal picks one of them (so no double rounding).
    const double mid = (kNf4Published[i] + kNf4Published[i + 1]) / 2.0;
    CHECK(std::fabs(pivots[i] - mid) <= std::fabs(mid) * 0x1p-24 * 1.01);
    // strict '>': the pivot itself takes the lower code, the next float up the higher one
    CHECK(quantize_nf4(pivots[i]) == i);
    CHECK(quantize_nf4(std::nextafter(pivots[i], 2.0f)) == i + 1);
  }
  for (int i = 0; i < 16; ++i) CHECK(quantize_nf4(book[i]) == i);
  CHECK(quantize_nf4(std::numeric_limits<float>::quiet_NaN()) == 0);  // 0 * (1/0) in an all-zero block
  // nearest value on a grid (ties excluded: no grid point sits on a pivot)
  int mismatches = 0;
  for (int g = -20000; g <= 20000; ++g) {
    float x = static_cast<float>(g) / 20000.0f + 1.234567e-6f;
    if (x > 1.0f) x = 1.0f;
    int best = 0;
    for (int i = 1; i < 16; ++i)
      if (std::fabs(x - book[i]) < std::fabs(x - book[best])) best = i;
    mismatches += quantize_nf4(x) != best;
  }
  CHECK(mismatches == 0);
}

void test_fp4_table() {
  // Issue 7's FP4 listing: low three bits -> magnitude; bit 3 = sign. The published kernel literals are
  // 0, 5.208333333e-03, 0.66666667, 1, 0.33333333, 0.5, 0.16666667, 0.25, i.e. {0, 0.0625, 8, 12, 4, 6, 2, 3}/12.
  const double issue_mag[8] = {0, 0.0052083, 0.6666667, 1.0, 0.3333333, 0.5, 0.1666667, 0.25};
  const double twelfths[8] = {0, 0.0625, 8, 12, 4, 6, 2, 3};
  const float* book = fp4_codebook();
  for (int c = 0; c < 8; ++c) {
    CHECK_NEAR(book[c], issue_mag[c], 5e-8);
    CHECK_NEAR(book[c], twelfths[c] / 12.0, 3e-8);  // within half an fp32 ulp
    CHECK(book[c + 8] == -book[c]);
    CHECK(!std::signbit(book[c]) && std::signbit(book[c + 8]));
  }
  CHECK(book[1] == 5.208333333e-03f && book[2] == 0.66666667f && book[4] == 0.33333333f && book[6] == 0.16666667f);
  const double issue_pivots[7] = {0.00260417, 0.0859375, 0.20833333, 0.29166667, 0.4166667, 0.583333, 0.8333333};
  const float* pivots = fp4_thresholds();
  // sorted magnitudes 0, 1/192, 1/6, 1/4, 1/3, 1/2, 2/3, 1: pivots near their midpoints
  const double sorted_mag[8] = {0, 1.0 / 192, 1.0 / 6, 0.25, 1.0 / 3, 0.5, 2.0 / 3, 1.0};
  for (int i = 0; i < 7; ++i) {
    CHECK(pivots[i] == static_cast<float>(issue_pivots[i]));
    CHECK_NEAR(pivots[i], (sorted_mag[i] + sorted_mag[i + 1]) / 2, 4e-7);
  }
  for (int c = 0; c < 16; ++c) {
    if (c == 8) continue;  // -0.0 is not < 0: codes as +0 (sign bit only for x < 0)
    CHECK(quantize_fp4(book[c]) == c);
  }
  CHECK(quantize_fp4(-0.0f) == 0);
  CHECK(quantize_fp4(-0.001f) == 8);
  CHECK(quantize_fp4(std::numeric_limits<float>::quiet_NaN()) == 0);
  int mismatches = 0;
  for (int g = -20000; g <= 20000; ++g) {
    float x = static_cast<float>(g) / 20000.0f + 1.234567e-6f;
    if (x > 1.0f) x = 1.0f;
    int best = x < 0 ? 8 : 0;  // nearest magnitude among codes of the same sign
    for (int c = 0; c < 8; ++c) {
      int code = c + (x < 0 ? 8 : 0);
      if (std::fabs(std::fabs(x) - book[c]) < std::fabs(std::fabs(x) - std::fabs(book[best]))) best = code;
    }
    mismatches += quantize_fp4(x) != best;
  }
  CHECK(mismatches == 0);
}

void test_dynamic_map() {
  const float* map = dynamic_map();
  for (int i = 0; i < 255; ++i) CHECK(map[i] < map[i + 1]);
  CHECK(map[127] == 0.0f && map[255] == 1.0f);
  for (int i = 0; i < 127; ++i) CHECK(map[i] == -map[254 - i]);  // signed: 127 negatives mirror 127 positives
  // Exponent i = 0..6 contributes 2^i positive values inside (0.1, 1) * 10^(i-6).
  int first = 128;
  for (int i = 0; i < 7; ++i) {
    const double lo = 0.1 * std::pow(10.0, i - 6), hi = std::pow(10.0, i - 6);
    for (int j = 0; j < (1 << i); ++j) CHECK(map[first + j] > lo && map[first + j] < hi);
    first += 1 << i;
  }
  CHECK(first == 255);
  // Hand-derived entries: i = 0 -> linspace(0.1, 1, 2) = {0.1, 1}, mean 0.55, times 1e-6.
  CHECK(map[128] == 1e-6f * ((0.1f + 1.0f) / 2.0f));
  // i = 1 -> linspace(0.1, 1, 3) = {0.1, 0.55, 1}: means 0.325, 0.775 times 1e-5.
  CHECK_NEAR(map[129], 3.25e-6, 1e-12);
  CHECK_NEAR(map[130], 7.75e-6, 1e-12);
  // i = 6 -> 65 points with step 0.9/64 = 0.0140625: means 0.10703125 + 0.0140625 j, j = 0..63.
  CHECK_NEAR(map[191], 0.10703125, 1e-7);
  CHECK_NEAR(map[234], 0.71171875, 1e-7);
  CHECK_NEAR(map[254], 0.99296875, 1e-7);
  // The binary search returns every entry for its own value and the nearest entry elsewhere.
  for (int i = 0; i < 256; ++i) CHECK(quantize_dynamic8(map[i]) == i);
  int mismatches = 0;
  for (int g = -100000; g <= 100000; ++g) {
    float x = static_cast<float>(g) / 100000.0f;
    x = x * x * x;  // dense near 0 like the map
    int best = 0;
    for (int i = 1; i < 256; ++i)
      if (std::fabs(x - map[i]) < std::fabs(x - map[best])) best = i;
    int got = quantize_dynamic8(x);
    if (got != best && std::fabs(x - map[got]) != std::fabs(x - map[best])) ++mismatches;
  }
  CHECK(mismatches == 0);
  CHECK(quantize_dynamic8(std::numeric_limits<float>::quiet_NaN()) == 0);
}

void check_bytes(const std::vector<uint8_t>& got, const std::vector<uint8_t>& want) {
  CHECK(got.size() == want.size());
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    if (got[i] != want[i]) std::fprintf(stderr, "byte %zu: got 0x%02X want 0x%02X\n", i, got[i], want[i]);
    CHECK(got[i] == want[i]);
  }
}

// (3, 49) = 147 values: block 0 full, block 1 all zero, block 2 partial (19 values, odd: one pad nibble).
void test_nf4_golden() {
  const float* c = nf4_codebook();
  std::vector<float> w(147, 0.0f);
  for (int i = 0; i < 16; ++i) w[i] = 4.0f * c[i];  // absmax 4 (from -4 and 4): x/4 = c[i] -> code i
  // Pivot probes, x = 4p so that x * (1/4) = p exactly; codes = number of pivots below p:
  const float probes[16] = {0.0398f,  0.0397f,  // > 0.0397901 -> 8 | below -> 7
                            -0.0455f, -0.0456f,  // > -0.0455250 -> 7 | below -> 6
                            0.8615f,  0.8614f,   // > 0.8614784 -> 15 | below -> 14
                            -0.848f,  -0.8482f,  // > -0.8480964 -> 1 | below -> 0
                            0.5f,     0.502f,    // <= 0.5016634 -> 12 | above -> 13
                            -0.3f,    0.3f,      // 4 pivots below -> 4 | 11 below -> 11
                            0.1f,     0.15f,     // 8 | 9
                            -0.2f,    -0.1f};    // 5 | 6
  for (int i = 0; i < 16; ++i) w[16 + i] = 4.0f * probes[i];
  // w[32..63] = 0 -> code 7. Block 1 (64..127) all zero: absmax 0, 1/0 = inf, 0*inf = NaN -> code 0.
  // Block 2: absmax 3, x * fp32(1/3): 3 -> 1.0 (15), -1.5 -> -0.5 (2), 0.75 -> 0.25 (10), -3 -> -1 (0),
  // 1 -> 0.333 (11), -0.3 -> -0.1 (6), 0 (7), 2 -> 0.667 (14), 0.1 -> 0.033 (7), 0.15 -> 0.05 (8),
  // -2.4 -> -0.8 (1), 1.2 -> 0.4 (12), -1.2 -> -0.4 (3), 0.45 -> 0.15 (9), -0.45 -> -0.15 (5),
  // 1.5 -> 0.5 (12), 2.7 -> 0.9 (15), -0.6 -> -0.2 (5), 0.3 -> 0.1 (8); pad 0 -> 7.
  const float tail[19] = {3.0f, -1.5f, 0.75f, -3.0f, 1.0f, -0.3f, 0.0f, 2.0f,  0.1f, 0.15f,
                          -2.4f, 1.2f, -1.2f, 0.45f, -0.45f, 1.5f, 2.7f, -0.6f, 0.3f};
  for (int i = 0; i < 19; ++i) w[128 + i] = tail[i];
  std::vector<uint8_t> want = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF,   // codebook walk
                               0x87, 0x76, 0xFE, 0x10, 0xCD, 0x4B, 0x89, 0x56};  // probes
  for (int i = 0; i < 16; ++i) want.push_back(0x77);                         // zeros, absmax > 0
  for (int i = 0; i < 32; ++i) want.push_back(0x00);                         // all-zero block
  for (uint8_t b : {0xF2, 0xA0, 0xB6, 0x7E, 0x78, 0x1C, 0x39, 0x5C, 0xF5, 0x87}) want.push_back(b);
  QuantizedWeight q = quantize(w.data(), 3, 49, QuantType::NF4, false);
  check_bytes(q.codes, want);
  CHECK(q.absmax.size() == 3 && q.absmax[0] == 4.0f && q.absmax[1] == 0.0f && q.absmax[2] == 3.0f);
  std::vector<float> back(147);
  dequantize_rows(back.data(), q, 0, 3);
  for (int i = 64; i < 128; ++i) CHECK(back[i] == 0.0f);
  for (int i = 0; i < 16; ++i) CHECK(back[i] == w[i]);
  CHECK(back[128] == 3.0f && back[131] == -3.0f && back[134] == 0.0f);
  CHECK(back[133] == c[6] * 3.0f);  // -0.3 decodes to NF4[6] * absmax

  // Double quantization of absmax {4, 0, 3}: mean 7/3, centered {5/3, -7/3, 2/3}, scale 7/3; scaled
  // {0.714, -1, 0.286}. Nearest dynamic-map entries (exponent 6: 0.10703125 + 0.0140625 j at index 191+j):
  // j = 43 (0.71171875) -> 234; below every entry -> 0; j = 13 (0.28984375) -> 204.
  QuantizedWeight d = quantize(w.data(), 3, 49, QuantType::NF4, true);
  check_bytes(d.codes, want);
  CHECK(d.absmax.empty() && d.absmax_q.size() == 3 && d.absmax_scale.size() == 1);
  CHECK(d.absmax_q[0] == 234 && d.absmax_q[1] == 0 && d.absmax_q[2] == 204);
  CHECK_NEAR(d.absmax_mean, 7.0 / 3.0, 1e-6);
  CHECK_NEAR(d.absmax_scale[0], 7.0 / 3.0, 1e-6);
  CHECK_NEAR(d.block_absmax(0), 0.71171875 * 7 / 3 + 7.0 / 3, 1e-5);
  CHECK_NEAR(d.block_absmax(2), 0.28984375 * 7 / 3 + 7.0 / 3, 1e-5);
  // bitsandbytes' semantics: the all-zero block's absmax becomes -0.99296875 * 7/3 + 7/3 (not 0) and
  // its codes 0 decode to -1 times that.
  CHECK_NEAR(d.block_absmax(1), (1 - 0.99296875) * 7 / 3, 1e-5);
}

// (2, 35) = 70 values: block 0 full (absmax 2), block 1 partial with 6 values (absmax 0.5).
void test_fp4_golden() {
  const float* book = fp4_codebook();
  std::vector<float> w(70, 0.0f);
  for (int c = 0; c < 16; ++c) w[c] = 2.0f * book[c];  // x * 0.5 = book[c] -> code c ...
  w[8] = 2.0f * -0.001f;                                // ... except -0.0, which codes as +0: use -0.001 -> 8
  const float probes[16] = {0.0027f, 0.0026f,   // > 0.00260417 -> 0b001 | below -> 0b000
                            0.086f,  0.0859f,   // > 0.0859375 -> 0b110 | below -> 0b001
                            0.2084f, 0.2083f,   // > 0.20833333 -> 0b111 | below -> 0b110
                            0.2917f, 0.2916f,   // > 0.29166667 -> 0b100 | below -> 0b111
                            0.4167f, 0.4166f,   // > 0.4166667 -> 0b101 | below -> 0b100
                            0.5834f, 0.5833f,   // > 0.583333 -> 0b010 | below -> 0b101
                            0.8334f, 0.8333f,   // > 0.8333333 -> 0b011 | below -> 0b010
                            -0.9f,   -0.3f};    // 8 + 0b011 | 8 + 0b100
  for (int i = 0; i < 16; ++i) w[16 + i] = 2.0f * probes[i];
  // w[32..63] = 0 -> 0. Block 1: {0.5, -0.25, 0.125, 0, -0.001, 0.03} * 2 = {1, -0.5, 0.25, 0, -0.002, 0.06}
  // -> 0b011, 8+0b101, 0b111, 0, 8+0, 0b001.
  const float tail[6] = {0.5f, -0.25f, 0.125f, 0.0f, -0.001f, 0.03f};
  for (int i = 0; i < 6; ++i) w[64 + i] = tail[i];
  std::vector<uint8_t> want = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF,
                               0x10, 0x61, 0x76, 0x47, 0x54, 0x25, 0x32, 0xBC};
  for (int i = 0; i < 16; ++i) want.push_back(0x00);
  for (uint8_t b : {0x3D, 0x70, 0x81}) want.push_back(b);
  QuantizedWeight q = quantize(w.data(), 2, 35, QuantType::FP4, false);
  check_bytes(q.codes, want);
  CHECK(q.absmax.size() == 2 && q.absmax[0] == 2.0f && q.absmax[1] == 0.5f);
  std::vector<float> back(70);
  dequantize_rows(back.data(), q, 0, 2);
  CHECK(back[3] == 2.0f && back[11] == -2.0f && back[8] == 0.0f && back[64] == 0.5f && back[65] == -0.25f);
  CHECK(back[1] == 2.0f * 5.208333333e-03f);

  std::vector<float> zeros(64, 0.0f);  // all-zero block: absmax 0, codes 0, decodes to 0
  QuantizedWeight z = quantize(zeros.data(), 1, 64, QuantType::FP4, false);
  check_bytes(z.codes, std::vector<uint8_t>(32, 0x00));
  std::vector<float> zb(64, 1.0f);
  dequantize_rows(zb.data(), z, 0, 1);
  for (float v : zb) CHECK(v == 0.0f);
}

}  // namespace

int main() {
  test_nf4_table();
  test_fp4_table();
  test_dynamic_map();
  test_nf4_golden();
  test_fp4_golden();
  return test_summary("test_quant_codebook");
}
