// ctest: the 8-bit dynamic quantizer of optimizer state (map, round-trip error per block, zeros,
// outliers, NaN refused), stochastic bf16 rounding, and AdamW / SGD updates over fp32 / bf16 / 8-bit
// state against an fp64 reference that starts from the same stored state.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "dtype.h"
#include "error.h"
#include "ops/optim_store.h"
#include "quant/dynamic8.h"
#include "test_util.h"
#include "threadpool.h"

using namespace loralab;

static void test_map() {
  for (bool sg : {true, false}) {
    const auto& m = dynamic_map(sg);
    // the indexed nearest-code search equals a brute-force search: random values, every entry and midpoint
    std::mt19937 rng(sg ? 1 : 2);
    std::uniform_real_distribution<float> u(sg ? -1.1f : -0.1f, 1.1f);
    std::vector<float> xs;
    for (int i = 0; i < 200000; ++i) xs.push_back(u(rng) * std::pow(10.0f, -static_cast<float>(rng() % 8)));
    for (int i = 0; i < 256; ++i) {
      xs.push_back(m[i]);
      if (i < 255) xs.push_back(0.5f * (m[i] + m[i + 1]));
    }
    int wrong = 0;
    for (float x : xs) {
      int best = 0;
      for (int j = 1; j < 256; ++j)
        if (std::fabs(x - m[j]) < std::fabs(x - m[best])) best = j;
      wrong += dynamic_code(m, x) != best;
    }
    CHECK(wrong == 0);
    bool sorted = true;
    for (int i = 1; i < 256; ++i) sorted = sorted && m[i] > m[i - 1];
    CHECK(sorted);  // 256 distinct values
    CHECK(m[255] == 1.0f);
    CHECK(m[254] == static_cast<float>(sg ? 1.0 - 0.9 / 128 : 1.0 - 0.9 / 256));  // top decade's last midpoint
    if (sg) {
      CHECK(m[0] == -m[254]);  // -1.0 is not in the signed map: +-0.99296875 and 1.0
      for (int i = 0; i < 127; ++i) CHECK(m[i] == -m[254 - i]);
      CHECK(m[127] == 0.0f);
      CHECK(m[128] == static_cast<float>(0.55e-6));  // 10^-6 * mean(0.1, 1)
    } else {
      CHECK(m[0] == 0.0f);
      CHECK(m[1] == static_cast<float>(0.325e-6));  // 10^-6 * first midpoint of linspace(0.1, 1, 3)
    }
  }
}

// Largest half gap between neighbouring map entries around |x| <= 1 (the worst nearest-rounding error).
static double max_half_gap(bool sg) {
  const auto& m = dynamic_map(sg);
  double g = 0;
  for (int i = 1; i < 256; ++i) g = std::max(g, 0.5 * (m[i] - m[i - 1]));
  return g;
}

static void test_roundtrip() {
  std::mt19937 rng(3);
  const int64_t n = 10 * kDynamicBlock + 77;  // a partial last block
  for (bool sg : {true, false}) {
    std::vector<float> x(n), y(n);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (int64_t i = 0; i < n; ++i) {
      const float scale = std::pow(10.0f, static_cast<float>(i / kDynamicBlock) - 5.0f);  // blocks of 1e-5 .. 1e5
      x[i] = sg ? nd(rng) * scale : std::fabs(nd(rng)) * scale;
    }
    std::vector<uint8_t> codes(n);
    std::vector<float> absmax(dynamic_blocks(n));
    quantize_dynamic(x.data(), n, sg, codes.data(), absmax.data(), "x");
    dequantize_dynamic(codes.data(), absmax.data(), n, sg, y.data());
    const double bound = max_half_gap(sg);
    int bad_bound = 0, bad_nearest = 0, bad_absmax = 0;
    const auto& map = dynamic_map(sg);
    for (int64_t b = 0; b < dynamic_blocks(n); ++b) {
      float amax = 0;
      for (int64_t i = b * kDynamicBlock; i < std::min(n, (b + 1) * kDynamicBlock); ++i) amax = std::max(amax, std::fabs(x[i]));
      bad_absmax += absmax[b] != amax;
      for (int64_t i = b * kDynamicBlock; i < std::min(n, (b + 1) * kDynamicBlock); ++i) {
        // per block: |x - deq(x)| <= absmax * (largest half gap of the map), and the code is the nearest entry
        bad_bound += std::fabs(x[i] - y[i]) > amax * (bound + 1e-6);
        const float xn = x[i] / amax;
        for (int j = 0; j < 256; ++j) bad_nearest += std::fabs(xn - map[j]) + 1e-7f < std::fabs(xn - map[codes[i]]);
        if (x[i] == amax) bad_bound += y[i] != amax;  // a positive absmax is exact (the map holds 1.0, not -1.0)
      }
    }
    std::printf("  %s map: max half gap %.6f, %lld values in %lld blocks\n", sg ? "signed" : "unsigned", bound, static_cast<long long>(n),
                static_cast<long long>(dynamic_blocks(n)));
    CHECK(bad_absmax == 0);
    CHECK(bad_bound == 0);
    CHECK(bad_nearest == 0);
    CHECK(bound < (sg ? 0.0071 : 0.0036));  // 0.9/128 and 0.9/256 in the top decade
  }
}

static void test_zeros_outliers_nan() {
  const int64_t n = 3 * kDynamicBlock;
  std::vector<float> x(n, 0.0f), y(n, 1.0f);
  std::vector<uint8_t> codes(n);
  std::vector<float> absmax(3, -1.0f);
  // block 0 all zeros; block 1 small values with one outlier; block 2 small values alone
  for (int64_t i = kDynamicBlock; i < n; ++i) x[i] = 1e-3f * static_cast<float>((i % 17) - 8);
  x[kDynamicBlock + 5] = 1e4f;
  quantize_dynamic(x.data(), n, true, codes.data(), absmax.data(), "m");
  dequantize_dynamic(codes.data(), absmax.data(), n, true, y.data());
  CHECK(absmax[0] == 0.0f);
  bool zeros = true;
  for (int64_t i = 0; i < kDynamicBlock; ++i) zeros = zeros && y[i] == 0.0f;
  CHECK(zeros);
  CHECK(y[kDynamicBlock + 5] == 1e4f);
  // zeros inside a block stay exact
  bool exact_zero = true;
  for (int64_t i = kDynamicBlock; i < n; ++i)
    if (x[i] == 0.0f) exact_zero = exact_zero && y[i] == 0.0f;
  CHECK(exact_zero);
  // the outlier costs its own block precision only: block 2 keeps ~0.7% of its absmax
  double err1 = 0, err2 = 0;
  for (int64_t i = kDynamicBlock; i < 2 * kDynamicBlock; ++i)
    if (i != kDynamicBlock + 5) err1 = std::max(err1, static_cast<double>(std::fabs(x[i] - y[i])));
  for (int64_t i = 2 * kDynamicBlock; i < n; ++i) err2 = std::max(err2, static_cast<double>(std::fabs(x[i] - y[i])));
  std::printf("  outlier block: max error %.3g (absmax 1e4); neighbour block: %.3g (absmax %.3g)\n", err1, err2, absmax[2]);
  CHECK(err1 <= 1e4 * max_half_gap(true));
  CHECK(err2 <= absmax[2] * (max_half_gap(true) + 1e-6));
  CHECK(err2 < 1e-4);
  // NaN and infinities are refused, naming the tensor and the block
  for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    std::vector<float> z(n, 0.5f);
    z[2 * kDynamicBlock + 3] = bad;
    const std::string msg =
        expect_error("E_NONFINITE", [&] { quantize_dynamic(z.data(), n, true, codes.data(), absmax.data(), "exp_avg/w"); });
    CHECK(msg.find("exp_avg/w") != std::string::npos && msg.find("block 2") != std::string::npos);
  }
}

static void test_stochastic_rounding() {
  const float x = 1.0f + 1.0f / 300.0f;  // between two bf16 values
  const float lo = bf16_to_f32(static_cast<uint16_t>(0x3f80)), hi = bf16_to_f32(static_cast<uint16_t>(0x3f81));
  double sum = 0;
  int others = 0;
  const int trials = 200000;
  for (int i = 0; i < trials; ++i) {
    const float r = bf16_to_f32(f32_to_bf16_stochastic(x, stochastic_round_bits(stochastic_round_key(5, 7, 2), i)));
    others += r != lo && r != hi;
    sum += r;
  }
  std::printf("  stochastic rounding of %.8f: mean %.8f over %d draws (bf16 neighbours %.8f, %.8f)\n", x, sum / trials, trials, lo, hi);
  CHECK(others == 0);
  CHECK_NEAR(sum / trials, x, 3e-5);  // unbiased (sd of the mean ~ 0.0078 * 0.5 / sqrt(2e5) = 9e-6)
  CHECK(stochastic_round_bits(stochastic_round_key(5, 7, 2), 11) == stochastic_round_bits(stochastic_round_key(5, 7, 2), 11));
  CHECK(stochastic_round_bits(stochastic_round_key(5, 7, 2), 11) != stochastic_round_bits(stochastic_round_key(5, 8, 2), 11));
  CHECK(f32_to_bf16_stochastic(2.0f, 0xffff) == f32_to_bf16(2.0f));  // representable values stay put
  CHECK(std::isnan(bf16_to_f32(f32_to_bf16_stochastic(std::nanf(""), 0x1234))));
}

// A tensor of one format with its backing storage.
struct Tensor {
  StoreFormat format;
  bool sg;
  int64_t n;
  std::vector<float> f;
  std::vector<uint16_t> h;
  std::vector<uint8_t> q;
  std::vector<float> absmax;
  Tensor(StoreFormat fm, bool is_signed, int64_t count) : format(fm), sg(is_signed), n(count) {
    if (fm == StoreFormat::F32) f.assign(n, 0.0f);
    if (fm == StoreFormat::BF16) h.assign(n, 0);
    if (fm == StoreFormat::Q8) {
      q.assign(n, sg ? 127 : 0);  // the code of 0
      absmax.assign(dynamic_blocks(n), 0.0f);
    }
  }
  StoreRef ref() {
    if (format == StoreFormat::F32) return {format, f.data()};
    if (format == StoreFormat::BF16) return {format, h.data()};
    return {format, q.data(), absmax.data(), sg};
  }
  std::vector<double> values() const {
    std::vector<double> out(n);
    const auto& map = dynamic_map(sg);
    for (int64_t i = 0; i < n; ++i)
      out[i] = format == StoreFormat::F32 ? f[i] : format == StoreFormat::BF16 ? bf16_to_f32(h[i]) : map[q[i]] * absmax[i / kDynamicBlock];
    return out;
  }
  void set(const std::vector<float>& x) {
    if (format == StoreFormat::F32) f = x;
    if (format == StoreFormat::BF16)
      for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(x[i]);
    if (format == StoreFormat::Q8) quantize_dynamic(x.data(), n, sg, q.data(), absmax.data(), "set");
  }
};

// One tolerance unit of a stored value: 1 for fp32 (relative 1e-6), a bf16 ulp, or the block's half gap.
static double store_tol(const Tensor& t, int64_t i, double v) {
  if (t.format == StoreFormat::F32) return 2e-6 * std::fabs(v) + 1e-12;
  if (t.format == StoreFormat::BF16) return std::fabs(v) * (1.0 / 256) + 1e-30;  // one ulp (8 bits of mantissa)
  return t.absmax[i / kDynamicBlock] * (max_half_gap(t.sg) + 1e-6) + 1e-30;
}

static void test_updates_vs_fp64(ThreadPool* pool) {
  const int64_t n = 5000;  // >= 4096, a partial last block
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  struct Combo {
    const char* name;
    StoreFormat param, moments;
    bool adamw;
  };
  const Combo combos[] = {
      {"adamw fp32", StoreFormat::F32, StoreFormat::F32, true},    {"adamw bf16", StoreFormat::BF16, StoreFormat::BF16, true},
      {"adamw8bit fp32", StoreFormat::F32, StoreFormat::Q8, true}, {"adamw8bit bf16", StoreFormat::BF16, StoreFormat::Q8, true},
      {"sgd fp32", StoreFormat::F32, StoreFormat::F32, false},     {"sgd bf16", StoreFormat::BF16, StoreFormat::BF16, false},
      {"sgd8bit fp32", StoreFormat::F32, StoreFormat::Q8, false}};
  for (const Combo& c : combos) {
    Tensor p(c.param, true, n), m(c.moments, true, n), v(c.moments, false, n), g(c.param, true, n);
    std::vector<float> init(n);
    for (auto& x : init) x = 0.05f * nd(rng);
    p.set(init);
    int bad_p = 0, bad_m = 0, bad_v = 0;
    double worst = 0;
    for (int step = 0; step < 6; ++step) {
      std::vector<float> gv(n);
      for (auto& x : gv) x = 1e-2f * nd(rng) * (1.0f + 100.0f * (rng() % 97 == 0));  // a few outliers
      g.set(gv);
      const std::vector<double> p0 = p.values(), m0 = m.values(), v0 = v.values(), g0 = g.values();
      AdamWHyper ah;
      ah.lr = 1e-3f, ah.weight_decay = 0.01f, ah.step = step + 1, ah.grad_scale = 0.8f;
      SgdHyper sh;
      sh.lr = 0.05f, sh.momentum = 0.9f, sh.weight_decay = 0.01f, sh.first_step = step == 0, sh.grad_scale = 0.8f;
      const RoundKey key{42, static_cast<uint64_t>(step), 3};
      if (c.adamw)
        adamw_update_store(pool, p.ref(), m.ref(), v.ref(), g.ref(), n, ah, key, "w");
      else
        sgd_update_store(pool, p.ref(), m.ref(), g.ref(), n, sh, key, "w");
      const std::vector<double> p1 = p.values(), m1 = m.values(), v1 = v.values();
      for (int64_t i = 0; i < n; ++i) {  // fp64 reference from the same stored state
        // the hyperparameters as the fp32 kernel holds them, the arithmetic in fp64
        const double gs = g0[i] * double(0.8f);
        double pr, mr, vr = 0;
        if (c.adamw) {
          const double b1 = double(ah.beta1), b2 = double(ah.beta2), lr = double(ah.lr), wd = double(ah.weight_decay);
          const double bc1 = 1 - std::pow(b1, step + 1), bc2 = 1 - std::pow(b2, step + 1);
          mr = b1 * m0[i] + (1 - b1) * gs;
          vr = b2 * v0[i] + (1 - b2) * gs * gs;
          pr = p0[i] * (1 - lr * wd) - lr / bc1 * mr / (std::sqrt(vr) / std::sqrt(bc2) + double(ah.eps));
        } else {
          const double gw = gs + double(sh.weight_decay) * p0[i];
          mr = step == 0 ? gw : double(sh.momentum) * m0[i] + gw;
          pr = p0[i] - double(sh.lr) * mr;
        }
        const double delta = std::fabs(pr - p0[i]);
        // fp32 arithmetic of the update: relative 1e-5 of the step; the stored master: its rounding
        // (stochastic rounding lands on either bf16 neighbour: up to one ulp, |p| / 128)
        const double ptol = 1e-5 * delta + (c.param == StoreFormat::F32 ? 2e-7 * std::fabs(pr) : std::fabs(pr) / 128 + 1e-30);
        worst = std::max(worst, std::fabs(p1[i] - pr) / ptol);
        bad_p += std::fabs(p1[i] - pr) > ptol;
        // fp32 rounding of the terms (which may cancel), then the storage's rounding
        const double terms = 1e-6 * (std::fabs(m0[i]) + std::fabs(gs) + std::fabs(p0[i]));
        bad_m += std::fabs(m1[i] - mr) > store_tol(m, i, mr) + terms;
        if (c.adamw) bad_v += std::fabs(v1[i] - vr) > store_tol(v, i, vr) + 1e-6 * std::fabs(vr);
      }
    }
    std::printf("  %-15s 6 steps x %lld: param off the fp64 update by <= %.3g of its tolerance\n", c.name, static_cast<long long>(n),
                worst);
    CHECK(bad_p == 0);
    CHECK(bad_m == 0);
    CHECK(bad_v == 0);
  }
  // A diverged 8-bit state is an error naming the tensor, not silent NaN codes.
  Tensor p(StoreFormat::F32, true, n), m(StoreFormat::Q8, true, n), v(StoreFormat::Q8, false, n), g(StoreFormat::F32, true, n);
  g.f[4100] = INFINITY;
  AdamWHyper ah;
  ah.lr = 1e-3f;
  const std::string msg = expect_error("E_NONFINITE", [&] {
    adamw_update_store(pool, p.ref(), m.ref(), v.ref(), g.ref(), n, ah, RoundKey{}, "base_model.model.x.lora_A.weight");
  });
  CHECK(msg.find("lora_A") != std::string::npos && msg.find("block 16") != std::string::npos);
}

int main() {
  ThreadPool pool(2);
  try {
    test_map();
    test_roundtrip();
    test_zeros_outliers_nan();
    test_stochastic_rounding();
    test_updates_vs_fp64(&pool);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s [%s] at %s\n", e.what(), e.code().c_str(), e.where().c_str());
    CHECK(false);
  }
  return test_summary("test_optim_state");
}
