// Blockwise 4-bit quantization (bitsandbytes' kQuantizeBlockwise semantics), double quantization of
// the absmax and dequantization of rows / tiles. Legend: see quant.h (n elements, nb blocks).
#include <algorithm>
#include <cmath>
#include <string>

#include "engine.h"
#include "error.h"
#include "quant/quant.h"
#include "threadpool.h"

namespace loralab {

namespace {
constexpr int64_t kBlocksPerTask = 512;  // fixed work split: results never depend on the thread count

void check_shape(int64_t rows, int64_t cols) {
  LORALAB_CHECK(rows > 0 && cols > 0, "E_QUANT_SHAPE",
                "quantize: expected a non-empty (rows, cols) weight but received (" + std::to_string(rows) + ", " +
                    std::to_string(cols) + ")");
}

// One 64-block: absmax = max |x| over the valid values; every value (and the zero padding of a
// partial block) is multiplied by the fp32 reciprocal 1/absmax and coded; two codes per byte.
// codes (ceil(len/2)), x (len) with len <= 64.
template <typename Load>
float quantize_block(uint8_t* codes, const Load& load, int64_t first, int64_t len, QuantType type) {
  float x[kQuantBlock] = {};  // padding stays 0, as the CUDA kernel's block load
  float absmax = 0.0f;
  bool finite = true;
  for (int64_t i = 0; i < len; ++i) {
    x[i] = load(first + i);
    finite = finite && std::isfinite(x[i]);
    absmax = std::max(absmax, std::fabs(x[i]));
  }
  LORALAB_CHECK(finite, "E_QUANT_NONFINITE",
                "quantize: non-finite weight value in elements [" + std::to_string(first) + ", " +
                    std::to_string(first + len) + ")");
  const float inv = 1.0f / absmax;  // inf for an all-zero block: 0 * inf = NaN -> code 0, absmax 0 decodes to 0
  // Code = number of pivots strictly below the scaled value (the leaf of bitsandbytes' '>' trees),
  // counted pivot by pivot over the whole block so the compiler vectorises it.
  uint8_t code[kQuantBlock];
  if (type == QuantType::NF4) {
    const float* pivots = nf4_thresholds();
    float scaled[kQuantBlock];
    for (int i = 0; i < kQuantBlock; ++i) scaled[i] = x[i] * inv, code[i] = 0;
    for (int p = 0; p < 15; ++p)
      for (int i = 0; i < kQuantBlock; ++i) code[i] += scaled[i] > pivots[p] ? 1 : 0;
  } else {
    const float* pivots = fp4_thresholds();
    static constexpr uint8_t kIntervalCode[8] = {0b000, 0b001, 0b110, 0b111, 0b100, 0b101, 0b010, 0b011};
    float scaled[kQuantBlock], magnitude[kQuantBlock];
    uint8_t interval[kQuantBlock];
    for (int i = 0; i < kQuantBlock; ++i) {
      scaled[i] = x[i] * inv;
      magnitude[i] = std::fabs(scaled[i]);
      interval[i] = 0;
    }
    for (int p = 0; p < 7; ++p)
      for (int i = 0; i < kQuantBlock; ++i) interval[i] += magnitude[i] > pivots[p] ? 1 : 0;
    for (int i = 0; i < kQuantBlock; ++i)
      code[i] = static_cast<uint8_t>(kIntervalCode[interval[i]] + (scaled[i] < 0.0f ? 0b1000 : 0));
  }
  const int64_t bytes = (len + 1) / 2;
  for (int64_t j = 0; j < bytes; ++j) codes[j] = static_cast<uint8_t>((code[2 * j] << 4) | code[2 * j + 1]);
  return absmax;
}

// absmax (nb) -> absmax_q (nb), absmax_scale (nb2), mean: bitsandbytes' compress_statistics path,
// offset = absmax.mean(); quantize_blockwise(absmax - offset, code=dynamic, blocksize=256).
void double_quantize(QuantizedWeight& w) {
  const int64_t nb = static_cast<int64_t>(w.absmax.size());
  double sum = 0.0;  // torch sums fp32 in a cascade; a double sum rounds to the same or a neighbouring float
  for (float a : w.absmax) sum += a;
  w.absmax_mean = static_cast<float>(sum / static_cast<double>(nb));
  const int64_t nb2 = (nb + kQuantBlock2 - 1) / kQuantBlock2;
  w.absmax_q.assign(static_cast<size_t>(nb), 0);
  w.absmax_scale.assign(static_cast<size_t>(nb2), 0.0f);
  std::vector<float> centered(static_cast<size_t>(nb));
  for (int64_t b = 0; b < nb; ++b) centered[b] = w.absmax[b] - w.absmax_mean;
  for (int64_t b2 = 0; b2 < nb2; ++b2) {
    const int64_t first = b2 * kQuantBlock2, last = std::min(nb, first + kQuantBlock2);
    float scale = 0.0f;
    for (int64_t b = first; b < last; ++b) scale = std::max(scale, std::fabs(centered[b]));
    w.absmax_scale[b2] = scale;
    const float inv = 1.0f / scale;  // scale 0: NaN -> index 0, which decodes to 0 * 0 + mean
    for (int64_t b = first; b < last; ++b) w.absmax_q[b] = quantize_dynamic8(centered[b] * inv);
  }
  w.absmax.clear();
  w.absmax.shrink_to_fit();
}

template <typename Load>
QuantizedWeight quantize_impl(const Load& load, int64_t rows, int64_t cols, QuantType type, bool double_quant,
                              ThreadPool* pool) {
  check_shape(rows, cols);
  QuantizedWeight w;
  w.type = type;
  w.double_quant = double_quant;
  w.rows = rows;
  w.cols = cols;
  const int64_t n = w.numel(), nb = w.blocks();
  w.codes.assign(static_cast<size_t>((n + 1) / 2), 0);
  w.absmax.assign(static_cast<size_t>(nb), 0.0f);
  const int64_t tasks = (nb + kBlocksPerTask - 1) / kBlocksPerTask;
  FlushDenormalsScope ftz;  // the caller runs tasks too: same FTZ/DAZ mode as the pool's workers
  parallel_for(pool, tasks, [&](int64_t t) {
    const int64_t b_end = std::min(nb, (t + 1) * kBlocksPerTask);
    for (int64_t b = t * kBlocksPerTask; b < b_end; ++b) {
      const int64_t first = b * kQuantBlock, len = std::min(kQuantBlock, n - first);
      w.absmax[b] = quantize_block(w.codes.data() + first / 2, load, first, len, type);
    }
  });
  if (double_quant) double_quantize(w);
  return w;
}
}  // namespace

bool quant_scheme(Quantize q, QuantType* type, bool* double_quant) {
  switch (q) {
    case Quantize::NF4: *type = QuantType::NF4, *double_quant = false; return true;
    case Quantize::NF4DQ: *type = QuantType::NF4, *double_quant = true; return true;
    case Quantize::FP4: *type = QuantType::FP4, *double_quant = false; return true;
    case Quantize::FP4DQ: *type = QuantType::FP4, *double_quant = true; return true;
    case Quantize::None: break;
  }
  return false;
}

float QuantizedWeight::block_absmax(int64_t block) const {
  if (!double_quant) return absmax[block];
  float v = dynamic_map()[absmax_q[block]] * absmax_scale[block / kQuantBlock2];
  return v + absmax_mean;
}

bool QuantizedWeight::consistent() const {
  if (rows <= 0 || cols <= 0 || static_cast<int64_t>(codes.size()) != (numel() + 1) / 2) return false;
  const int64_t nb = blocks(), nb2 = (nb + kQuantBlock2 - 1) / kQuantBlock2;
  if (!double_quant) return static_cast<int64_t>(absmax.size()) == nb;
  return static_cast<int64_t>(absmax_q.size()) == nb && static_cast<int64_t>(absmax_scale.size()) == nb2;
}

uint64_t quant_bytes_codes(int64_t rows, int64_t cols) { return static_cast<uint64_t>((rows * cols + 1) / 2); }

uint64_t quant_bytes_constants(int64_t rows, int64_t cols, bool double_quant) {
  const uint64_t nb = static_cast<uint64_t>((rows * cols + kQuantBlock - 1) / kQuantBlock);
  if (!double_quant) return 4 * nb;
  const uint64_t nb2 = (nb + kQuantBlock2 - 1) / kQuantBlock2;
  return nb + 4 * nb2 + 4;
}

uint64_t QuantizedWeight::bytes_constants() const {
  return absmax.size() * 4 + absmax_q.size() + absmax_scale.size() * 4 + (double_quant ? 4 : 0);
}

QuantizedWeight quantize(const float* w, int64_t rows, int64_t cols, QuantType type, bool double_quant,
                         ThreadPool* pool) {
  return quantize_impl([w](int64_t i) { return w[i]; }, rows, cols, type, double_quant, pool);
}

QuantizedWeight quantize_tensor(const uint8_t* data, DType dtype, int64_t rows, int64_t cols, QuantType type,
                                bool double_quant, ThreadPool* pool) {
  return quantize_impl([data, dtype](int64_t i) { return load_as_f32(data, dtype, static_cast<size_t>(i)); }, rows,
                       cols, type, double_quant, pool);
}

void dequantize_tile(float* out, const QuantizedWeight& w, int64_t o0, int64_t o1, int64_t k0, int64_t k1) {
  LORALAB_CHECK(w.consistent(), "E_QUANT_SHAPE", "dequantize: inconsistent QuantizedWeight arrays");
  LORALAB_CHECK(0 <= o0 && o0 <= o1 && o1 <= w.rows && 0 <= k0 && k0 <= k1 && k1 <= w.cols, "E_QUANT_RANGE",
                "dequantize: tile rows [" + std::to_string(o0) + ", " + std::to_string(o1) + ") cols [" +
                    std::to_string(k0) + ", " + std::to_string(k1) + ") outside (" + std::to_string(w.rows) + ", " +
                    std::to_string(w.cols) + ")");
  const float* book = w.type == QuantType::NF4 ? nf4_codebook() : fp4_codebook();
  const uint8_t* codes = w.codes.data();
  const int64_t width = k1 - k0;
  for (int64_t o = o0; o < o1; ++o) {
    float* dst = out + (o - o0) * width;  // (width)
    int64_t e = o * w.cols + k0;
    const int64_t e_end = e + width;
    while (e < e_end) {  // one block segment at a time: 16 products code * absmax, then lookups
      const int64_t block = e / kQuantBlock;
      const int64_t seg_end = std::min(e_end, (block + 1) * kQuantBlock);
      const float a = w.block_absmax(block);
      float lut[16];
      for (int c = 0; c < 16; ++c) lut[c] = book[c] * a;
      if (e & 1) *dst++ = lut[codes[e++ >> 1] & 15];
      for (; e + 1 < seg_end; e += 2) {
        const uint8_t byte = codes[e >> 1];
        dst[0] = lut[byte >> 4];
        dst[1] = lut[byte & 15];
        dst += 2;
      }
      if (e < seg_end) *dst++ = lut[codes[e++ >> 1] >> 4];
    }
  }
}

void dequantize_rows(float* out, const QuantizedWeight& w, int64_t row_begin, int64_t n) {
  dequantize_tile(out, w, row_begin, row_begin + n, 0, w.cols);
}

}  // namespace loralab
