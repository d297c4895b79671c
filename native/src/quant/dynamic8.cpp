// The dynamic tree map and the blockwise 8-bit quantizer of optimizer state (see dynamic8.h).
#include "quant/dynamic8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "error.h"

namespace loralab {

namespace {
// bitsandbytes create_dynamic_map(signed, max_exponent_bits = 7, total_bits = 8).
std::array<float, 256> build_map(bool is_signed) {
  constexpr int kExponentBits = 7, kNonSignBits = 7;
  std::vector<double> data;
  for (int i = 0; i < kExponentBits; ++i) {
    const int items = is_signed ? (1 << (i + kNonSignBits - kExponentBits)) + 1 : (1 << (i + kNonSignBits - kExponentBits + 1)) + 1;
    const double scale = std::pow(10.0, -(kExponentBits - 1) + i);
    for (int j = 0; j + 1 < items; ++j) {
      const double lo = 0.1 + 0.9 * j / (items - 1), hi = 0.1 + 0.9 * (j + 1) / (items - 1);
      const double mean = (lo + hi) / 2.0;
      data.push_back(scale * mean);
      if (is_signed) data.push_back(-scale * mean);
    }
  }
  data.push_back(0.0);
  data.push_back(1.0);
  std::array<float, 256> map{};
  std::vector<float> f(data.begin(), data.end());
  std::sort(f.begin(), f.end());
  LORALAB_CHECK(f.size() == map.size(), "E_INTERNAL", "dynamic map has " + std::to_string(f.size()) + " entries, expected 256");
  std::copy(f.begin(), f.end(), map.begin());
  return map;
}

// For each top-16-bit key of an fp32 value: the largest code whose entry is <= every value with that
// key (0 when none), so the nearest-code search starts at most a couple of entries below its answer.
struct CodeIndex {
  std::array<float, 256> map;
  std::vector<uint8_t> start;  // 65536
};

CodeIndex build_index(bool is_signed) {
  CodeIndex ix{build_map(is_signed), std::vector<uint8_t>(65536, 0)};
  for (uint32_t k = 0; k < 65536; ++k) {
    const uint32_t bits = (k & 0x8000u) ? (k << 16) | 0xffffu : k << 16;  // the smallest value with this key
    float lo;
    std::memcpy(&lo, &bits, 4);
    if (!std::isfinite(lo)) continue;
    int c = 0;
    while (c < 255 && ix.map[c + 1] <= lo) ++c;
    ix.start[k] = static_cast<uint8_t>(c);
  }
  return ix;
}

const CodeIndex& code_index(bool is_signed) {
  static const CodeIndex kSigned = build_index(true), kUnsigned = build_index(false);
  return is_signed ? kSigned : kUnsigned;
}
}  // namespace

const std::array<float, 256>& dynamic_map(bool is_signed) { return code_index(is_signed).map; }

namespace {
const CodeIndex& index_of(const std::array<float, 256>& map) {
  return &map == &code_index(true).map ? code_index(true) : code_index(false);
}

inline uint8_t nearest_code(const CodeIndex& ix, float x) {
  const std::array<float, 256>& map = ix.map;
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  int c = ix.start[bits >> 16];
  while (c < 255 && map[c + 1] <= x) ++c;                         // now the largest entry <= x (or entry 0)
  if (c < 255 && map[c] < x && map[c + 1] - x < x - map[c]) ++c;  // nearest; ties to the lower entry
  return static_cast<uint8_t>(c);
}
}  // namespace

uint8_t dynamic_code(const std::array<float, 256>& map, float x) { return nearest_code(index_of(map), x); }

bool quantize_dynamic_block(const std::array<float, 256>& map, const float* values, int64_t n, int64_t b, uint8_t* codes, float* absmax) {
  const int64_t lo = b * kDynamicBlock, hi = std::min(n, lo + kDynamicBlock);
  float amax = 0.0f;
  for (int64_t i = lo; i < hi; ++i) {
    if (!std::isfinite(values[i])) return false;
    amax = std::max(amax, std::fabs(values[i]));
  }
  absmax[b] = amax;
  const float inv = amax > 0.0f ? 1.0f / amax : 0.0f;
  const CodeIndex& ix = index_of(map);
  for (int64_t i = lo; i < hi; ++i) codes[i] = nearest_code(ix, values[i] * inv);
  return true;
}

void dequantize_dynamic_block(const std::array<float, 256>& map, const uint8_t* codes, const float* absmax, int64_t n, int64_t b,
                              float* values) {
  const int64_t lo = b * kDynamicBlock, hi = std::min(n, lo + kDynamicBlock);
  const float a = absmax[b];
  for (int64_t i = lo; i < hi; ++i) values[i] = map[codes[i]] * a;
}

void quantize_dynamic(const float* values, int64_t n, bool is_signed, uint8_t* codes, float* absmax, const char* what) {
  const auto& map = dynamic_map(is_signed);
  for (int64_t b = 0; b < dynamic_blocks(n); ++b)
    LORALAB_CHECK(quantize_dynamic_block(map, values, n, b, codes, absmax), "E_NONFINITE",
                  std::string(what) + ": block " + std::to_string(b) + " holds a NaN or an infinity; 8-bit state cannot store it");
}

void dequantize_dynamic(const uint8_t* codes, const float* absmax, int64_t n, bool is_signed, float* values) {
  const auto& map = dynamic_map(is_signed);
  for (int64_t b = 0; b < dynamic_blocks(n); ++b) dequantize_dynamic_block(map, codes, absmax, n, b, values);
}

}  // namespace loralab
