// QLoRA round trip on Gaussian weights: RMSE against the value integrated from the codebook over
// N(0,1), double-quantization error bounds, exact byte counts, streaming from bf16/f16/f32 bytes.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "engine.h"
#include "error.h"
#include "quant/quant.h"
#include "test_util.h"
#include "threadpool.h"

using namespace loralab;

namespace {

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
std::vector<float> gaussian(int64_t n, uint64_t seed) {  // Box-Muller from 53-bit uniforms
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i += 2) {
    double u1 = (static_cast<double>(mix(seed * 7919 + i) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = static_cast<double>(mix(seed * 7919 + i + 1) >> 11) / 9007199254740992.0;
    double r = std::sqrt(-2.0 * std::log(u1));
    v[i] = static_cast<float>(r * std::cos(2 * M_PI * u2));
    if (i + 1 < n) v[i + 1] = static_cast<float>(r * std::sin(2 * M_PI * u2));
  }
  return v;
}

double phi(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI); }
double Phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// Expected MSE per element of blockwise absmax quantization (block 64) of iid N(0,1) values with the
// sorted code values `levels` and the pivots between them (on x/absmax). Given the block max |x| = m
// (density 64 * 2phi(m) * (2Phi(m)-1)^63), the max element codes exactly (+-1) and the 63 others are
// N(0,1) restricted to |x| < m; on each code interval [a, b] with value v (scaled by m):
//   int (x - v)^2 phi = [Phi - x phi]_a^b + 2v [phi]_a^b + v^2 [Phi]_a^b.
double expected_mse(const std::vector<double>& levels, const std::vector<double>& pivots) {
  auto inner = [&](double m) {  // E[(x - q(x))^2 ; |x| < m] * P(|x| < m)^-1 ... computed unnormalised
    double total = 0;
    for (size_t i = 0; i < levels.size(); ++i) {
      double a = i == 0 ? -m : m * pivots[i - 1], b = i + 1 == levels.size() ? m : m * pivots[i];
      double v = m * levels[i];
      total += (Phi(b) - Phi(a)) - (b * phi(b) - a * phi(a)) + 2 * v * (phi(b) - phi(a)) + v * v * (Phi(b) - Phi(a));
    }
    return total;  // = E[err^2 1{|x|<m}]
  };
  const int steps = 4000;  // Simpson on m in [0, 9]
  const double hi = 9.0, h = hi / steps;
  double sum = 0;
  for (int s = 0; s <= steps; ++s) {
    double m = s * h;
    double p = 2 * Phi(m) - 1;
    double density = 64 * 2 * phi(m) * std::pow(p, 63);
    double conditional = p > 0 ? inner(m) / p : 0;  // E[err^2 | |x| < m]
    double wgt = (s == 0 || s == steps) ? 1 : (s % 2 ? 4 : 2);
    sum += wgt * density * conditional;
  }
  return 63.0 / 64.0 * sum * h / 3;
}

double rmse_of(const std::vector<float>& w, const QuantizedWeight& q) {
  std::vector<float> back(w.size());
  dequantize_rows(back.data(), q, 0, q.rows);
  double se = 0;
  for (size_t i = 0; i < w.size(); ++i) se += (double(w[i]) - back[i]) * (double(w[i]) - back[i]);
  return std::sqrt(se / w.size());
}

void test_gaussian_rmse() {
  const int64_t rows = 1024, cols = 1024;
  std::vector<float> w = gaussian(rows * cols, 7);
  // NF4: sorted values and the published pivots. FP4: sorted signed values 0, +-1/192, +-1/6, +-1/4,
  // +-1/3, +-1/2, +-2/3, +-1 (+0 and -0 merge), pivots +-{0.00260417, 0.0859375, ...}.
  std::vector<double> nf4_levels, nf4_pivots;
  for (int i = 0; i < 16; ++i) nf4_levels.push_back(nf4_codebook()[i]);
  for (int i = 0; i < 15; ++i) nf4_pivots.push_back(nf4_thresholds()[i]);
  const double mags[8] = {0, 5.208333333e-03, 0.16666667, 0.25, 0.33333333, 0.5, 0.66666667, 1.0};
  const double fp4_piv[7] = {0.00260417, 0.0859375, 0.20833333, 0.29166667, 0.4166667, 0.583333, 0.8333333};
  std::vector<double> fp4_levels, fp4_pivots;
  for (int i = 7; i >= 1; --i) fp4_levels.push_back(-mags[i]);
  for (int i = 0; i < 8; ++i) fp4_levels.push_back(mags[i]);
  for (int i = 6; i >= 0; --i) fp4_pivots.push_back(-fp4_piv[i]);
  for (int i = 0; i < 7; ++i) fp4_pivots.push_back(fp4_piv[i]);
  const double want_nf4 = std::sqrt(expected_mse(nf4_levels, nf4_pivots));
  const double want_fp4 = std::sqrt(expected_mse(fp4_levels, fp4_pivots));

  ThreadPool pool(2);
  QuantizedWeight nf4 = quantize(w.data(), rows, cols, QuantType::NF4, false, &pool);
  QuantizedWeight nf4dq = quantize(w.data(), rows, cols, QuantType::NF4, true, &pool);
  QuantizedWeight fp4 = quantize(w.data(), rows, cols, QuantType::FP4, false, &pool);
  QuantizedWeight fp4dq = quantize(w.data(), rows, cols, QuantType::FP4, true, &pool);
  const double r_nf4 = rmse_of(w, nf4), r_nf4dq = rmse_of(w, nf4dq);
  const double r_fp4 = rmse_of(w, fp4), r_fp4dq = rmse_of(w, fp4dq);
  std::printf("N(0,1) RMSE: nf4 %.5f (integrated %.5f), nf4-dq %.5f, fp4 %.5f (integrated %.5f), fp4-dq %.5f\n",
              r_nf4, want_nf4, r_nf4dq, r_fp4, want_fp4, r_fp4dq);
  // 1M samples: the sampling error of an RMSE is ~0.1%; 1% is generous but far below the nf4/fp4 gap.
  CHECK(std::fabs(r_nf4 / want_nf4 - 1) < 0.01);
  CHECK(std::fabs(r_fp4 / want_fp4 - 1) < 0.01);
  CHECK(r_nf4 < r_fp4);
  // Double quantization moves each absmax by at most half the widest dynamic-map gap times the
  // 256-block scale: the exponent-0 gap 0.9/64 -> 0.00703125 (and 1 - 0.99296875 at the top).
  for (const QuantizedWeight* pair : {&nf4dq, &fp4dq}) {
    const QuantizedWeight& plain = pair == &nf4dq ? nf4 : fp4;
    double worst = 0;
    for (int64_t b = 0; b < pair->blocks(); ++b) {
      double bound = 0.00703125 * pair->absmax_scale[b / kQuantBlock2] * 1.0001 + 1e-6;
      double err = std::fabs(pair->block_absmax(b) - plain.absmax[b]);
      worst = std::fmax(worst, err / bound);
    }
    CHECK(worst <= 1.0);
  }
  CHECK(r_nf4dq > r_nf4 * 0.999 && r_nf4dq < r_nf4 * 1.01);
  CHECK(r_fp4dq > r_fp4 * 0.999 && r_fp4dq < r_fp4 * 1.01);
  CHECK(nf4dq.codes == nf4.codes && fp4dq.codes == fp4.codes);

  // Bytes: n = 2^20, 16384 blocks, 64 second-level blocks.
  CHECK(nf4.bytes_codes() == 524288 && quant_bytes_codes(rows, cols) == 524288);
  CHECK(nf4.bytes_constants() == 4 * 16384 && quant_bytes_constants(rows, cols, false) == 65536);
  CHECK(nf4dq.bytes_constants() == 16384 + 4 * 64 + 4 && quant_bytes_constants(rows, cols, true) == 16644);
  const double n = double(rows) * cols;
  // bits per parameter of the constants: 32/64 without, 8/64 + 32/(64*256) (+ 32/n for the mean) with dq
  CHECK(8.0 * nf4.bytes_constants() / n == 32.0 / 64);
  CHECK(8.0 * nf4dq.bytes_constants() / n == 8.0 / 64 + 32.0 / (64 * 256) + 32.0 / n);
  // quantized layer vs bf16 (2 bytes/param): (0.5 + 4/64) / 2 = 0.28125, dq 0.2578...
  const double ratio = double(nf4.bytes_codes() + nf4.bytes_constants()) / (2 * n);
  const double ratio_dq = double(nf4dq.bytes_codes() + nf4dq.bytes_constants()) / (2 * n);
  std::printf("bytes/param: nf4 %.5f, nf4-dq %.5f (x bf16: %.4f, %.4f)\n", ratio * 2, ratio_dq * 2, ratio, ratio_dq);
  CHECK(ratio == 0.28125 && ratio_dq <= 0.30 && ratio_dq < ratio);
  // A Llama-like 4096 x 11008 layer by formula: same bound.
  CHECK(double(quant_bytes_codes(4096, 11008) + quant_bytes_constants(4096, 11008, true)) / (2.0 * 4096 * 11008) <
        0.26);
}

void test_odd_shapes_and_streaming() {
  // (3, 7): 21 values, one partial block; codes 11 bytes; constants 4, or 1 + 4 + 4 with dq.
  std::vector<float> small = gaussian(21, 3);
  QuantizedWeight s = quantize(small.data(), 3, 7, QuantType::NF4, false);
  QuantizedWeight sdq = quantize(small.data(), 3, 7, QuantType::NF4, true);
  CHECK(s.codes.size() == 11 && s.bytes_constants() == 4 && sdq.bytes_constants() == 9);
  CHECK(s.consistent() && sdq.consistent());
  CHECK(quant_bytes_constants(3, 7, true) == 9);
  // One block: the centered absmax is 0, scale 0 -> the mean alone restores it exactly.
  CHECK(sdq.block_absmax(0) == s.absmax[0]);

  // Streaming from checkpoint bytes equals quantizing the fp32 conversion, for every dtype, unaligned.
  const int64_t rows = 37, cols = 91;  // 3367 values: blocks straddle rows, partial last block
  std::vector<float> w = gaussian(rows * cols, 11);
  for (DType dt : {DType::F32, DType::BF16, DType::F16}) {
    std::vector<uint8_t> bytes(1 + rows * cols * dtype_size(dt));
    std::vector<float> as_f32(rows * cols);
    for (int64_t i = 0; i < rows * cols; ++i) {
      if (dt == DType::F32) {
        std::memcpy(&bytes[1 + 4 * i], &w[i], 4);
      } else {
        uint16_t h = dt == DType::BF16 ? f32_to_bf16(w[i]) : f32_to_f16(w[i]);
        std::memcpy(&bytes[1 + 2 * i], &h, 2);
      }
      as_f32[i] = load_as_f32(bytes.data() + 1, dt, i);
    }
    for (bool dq : {false, true}) {
      ThreadPool pool(3);
      QuantizedWeight a = quantize_tensor(bytes.data() + 1, dt, rows, cols, QuantType::FP4, dq, &pool);
      QuantizedWeight b = quantize(as_f32.data(), rows, cols, QuantType::FP4, dq, nullptr);
      CHECK(a.codes == b.codes && a.absmax == b.absmax && a.absmax_q == b.absmax_q &&
            a.absmax_scale == b.absmax_scale && a.absmax_mean == b.absmax_mean);
    }
  }
  // Row ranges and tiles equal slices of the full dequantization.
  QuantizedWeight q = quantize(w.data(), rows, cols, QuantType::NF4, true);
  std::vector<float> full(rows * cols), part(5 * cols), tile(6 * 30);
  dequantize_rows(full.data(), q, 0, rows);
  dequantize_rows(part.data(), q, 11, 5);
  CHECK(std::memcmp(part.data(), full.data() + 11 * cols, part.size() * 4) == 0);
  dequantize_tile(tile.data(), q, 20, 26, 33, 63);
  bool same = true;
  for (int r = 0; r < 6; ++r)
    for (int k = 0; k < 30; ++k) same = same && tile[r * 30 + k] == full[(20 + r) * cols + 33 + k];
  CHECK(same);
}

void test_errors() {
  std::string code;
  std::vector<float> w(128, 1.0f);
  w[70] = std::nanf("");
  try {
    quantize(w.data(), 2, 64, QuantType::NF4, false);
  } catch (const Error& e) {
    code = e.code();
  }
  CHECK(code == "E_QUANT_NONFINITE");
  code.clear();
  try {
    quantize(w.data(), 0, 64, QuantType::NF4, false);
  } catch (const Error& e) {
    code = e.code();
  }
  CHECK(code == "E_QUANT_SHAPE");
  code.clear();
  QuantizedWeight q = quantize(w.data(), 1, 64, QuantType::NF4, false);
  float out[4];
  try {
    dequantize_rows(out, q, 1, 1);
  } catch (const Error& e) {
    code = e.code();
  }
  CHECK(code == "E_QUANT_RANGE");
  code.clear();
  q.absmax.pop_back();  // constants no longer match the shape
  CHECK(!q.consistent());
  try {
    quant_linear_forward(nullptr, out, out, q, nullptr, 1);
  } catch (const Error& e) {
    code = e.code();
  }
  CHECK(code == "E_QUANT_SHAPE");
}

void test_scheme() {  // engine option -> (type, double quant)
  QuantType t = QuantType::FP4;
  bool dq = true;
  CHECK(!quant_scheme(Quantize::None, &t, &dq));
  CHECK(quant_scheme(Quantize::NF4, &t, &dq) && t == QuantType::NF4 && !dq);
  CHECK(quant_scheme(Quantize::NF4DQ, &t, &dq) && t == QuantType::NF4 && dq);
  CHECK(quant_scheme(Quantize::FP4, &t, &dq) && t == QuantType::FP4 && !dq);
  CHECK(quant_scheme(Quantize::FP4DQ, &t, &dq) && t == QuantType::FP4 && dq);
}

}  // namespace

int main() {
  test_scheme();
  test_gaussian_rmse();
  test_odd_shapes_and_streaming();
  test_errors();
  return test_summary("test_quant_roundtrip");
}
