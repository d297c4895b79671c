// Blockwise optimizer updates over fp32 / bf16 / 8-bit state (see optim_store.h).
#include "ops/optim_store.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <string>

#include "dtype.h"
#include "error.h"
#include "quant/dynamic8.h"
#include "rng.h"
#include "threadpool.h"

namespace loralab {

namespace {
constexpr uint64_t kRngRound = 4;       // stream tag of the stochastic rounding (rng.h uses 1..3)
constexpr int64_t kBlocksPerTask = 64;  // 16384 elements, the chunk of ops/adamw.cpp

// Block b's elements [lo, hi) of t into out[0, hi - lo).
void load_block(const StoreRef& t, int64_t n, int64_t b, int64_t lo, int64_t hi, float* out) {
  switch (t.format) {
    case StoreFormat::F32:
      std::memcpy(out, static_cast<const float*>(t.data) + lo, sizeof(float) * (hi - lo));
      break;
    case StoreFormat::BF16: {
      const auto* s = static_cast<const uint16_t*>(t.data);
      for (int64_t i = lo; i < hi; ++i) out[i - lo] = bf16_to_f32(s[i]);
      break;
    }
    case StoreFormat::Q8: {
      const auto& map = dynamic_map(t.is_signed);
      const auto* c = static_cast<const uint8_t*>(t.data);
      const float a = t.absmax[b];
      for (int64_t i = lo; i < hi; ++i) out[i - lo] = map[c[i]] * a;
      break;
    }
  }
  (void)n;
}

// Stores a moment block (nearest rounding); false when an 8-bit block is not finite.
bool store_moment(const StoreRef& t, int64_t n, int64_t b, int64_t lo, int64_t hi, const float* in) {
  switch (t.format) {
    case StoreFormat::F32:
      std::memcpy(static_cast<float*>(t.data) + lo, in, sizeof(float) * (hi - lo));
      return true;
    case StoreFormat::BF16: {
      auto* d = static_cast<uint16_t*>(t.data);
      for (int64_t i = lo; i < hi; ++i) d[i] = f32_to_bf16(in[i - lo]);
      return true;
    }
    case StoreFormat::Q8: {
      // quantize_dynamic_block indexes values by absolute element: shift the pointer back by lo
      return quantize_dynamic_block(dynamic_map(t.is_signed), in - lo, n, b, static_cast<uint8_t*>(t.data), t.absmax);
    }
  }
  return true;
}

void store_param(const StoreRef& t, int64_t lo, int64_t hi, const float* in, const RoundKey& key) {
  if (t.format == StoreFormat::F32) {
    std::memcpy(static_cast<float*>(t.data) + lo, in, sizeof(float) * (hi - lo));
    return;
  }
  auto* d = static_cast<uint16_t*>(t.data);
  const uint64_t base = stochastic_round_key(key.seed, key.step, key.tensor);
  for (int64_t i = lo; i < hi; ++i) d[i] = f32_to_bf16_stochastic(in[i - lo], stochastic_round_bits(base, i));
}

// Runs body(b, lo, hi) over the blocks in tasks of kBlocksPerTask, then throws if a block failed.
template <typename Body>
void for_blocks(ThreadPool* pool, int64_t n, const char* what, const char* optimizer, Body body) {
  const int64_t nb = dynamic_blocks(n);
  std::atomic<int64_t> bad{-1};
  parallel_for(pool, (nb + kBlocksPerTask - 1) / kBlocksPerTask, [&](int64_t task) {
    for (int64_t b = task * kBlocksPerTask; b < nb && b < (task + 1) * kBlocksPerTask; ++b) {
      const int64_t lo = b * kDynamicBlock, hi = std::min(n, lo + kDynamicBlock);
      if (!body(b, lo, hi)) bad.store(b);
    }
  });
  if (bad.load() >= 0)
    LORALAB_THROW("E_NONFINITE", std::string(what) + ": the " + optimizer + " state of block " + std::to_string(bad.load()) +
                                     " became NaN or infinite (the run diverged); lower train.learning_rate or set train.grad_clip");
}
}  // namespace

uint16_t f32_to_bf16_stochastic(float x, uint32_t r) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  if ((bits & 0x7f800000u) == 0x7f800000u) return f32_to_bf16(x);
  const uint32_t up = bits + (r & 0xffffu);
  if ((up & 0x7f800000u) == 0x7f800000u) return static_cast<uint16_t>(bits >> 16);  // never round up into infinity
  return static_cast<uint16_t>(up >> 16);
}

uint64_t stochastic_round_key(uint64_t seed, uint64_t step, uint64_t tensor) { return rng_hash(seed, kRngRound, step, tensor); }

uint32_t stochastic_round_bits(uint64_t key, int64_t i) {
  const uint64_t h = splitmix64(key ^ static_cast<uint64_t>(i >> 2));  // 64 bits: 16 for each of 4 elements
  return static_cast<uint32_t>(h >> (16 * (i & 3))) & 0xffffu;
}

void adamw_update_store(ThreadPool* pool, StoreRef param, StoreRef m, StoreRef v, StoreRef grad, int64_t n, const AdamWHyper& h,
                        const RoundKey& key, const char* what) {
  const float bc1 = 1.0f - static_cast<float>(std::pow(static_cast<double>(h.beta1), static_cast<double>(h.step)));
  const float bc2 = 1.0f - static_cast<float>(std::pow(static_cast<double>(h.beta2), static_cast<double>(h.step)));
  const float step_size = h.lr / bc1;
  const float bc2_sqrt = std::sqrt(bc2);
  const float decay = 1.0f - h.lr * h.weight_decay;
  for_blocks(pool, n, what, "AdamW", [&](int64_t b, int64_t lo, int64_t hi) {
    float p[kDynamicBlock], g[kDynamicBlock], mm[kDynamicBlock], vv[kDynamicBlock];
    load_block(param, n, b, lo, hi, p);
    load_block(grad, n, b, lo, hi, g);
    load_block(m, n, b, lo, hi, mm);
    load_block(v, n, b, lo, hi, vv);
    for (int64_t j = 0; j < hi - lo; ++j) {  // the formulas of ops/adamw.cpp, in fp32
      const float gs = g[j] * h.grad_scale;
      p[j] *= decay;
      mm[j] += (gs - mm[j]) * (1.0f - h.beta1);
      vv[j] = vv[j] * h.beta2 + (1.0f - h.beta2) * gs * gs;
      const float denom = std::sqrt(vv[j]) / bc2_sqrt + h.eps;
      p[j] -= step_size * (mm[j] / denom);
    }
    store_param(param, lo, hi, p, key);
    const bool ok_m = store_moment(m, n, b, lo, hi, mm);
    const bool ok_v = store_moment(v, n, b, lo, hi, vv);
    return ok_m && ok_v;
  });
}

void sgd_update_store(ThreadPool* pool, StoreRef param, StoreRef buf, StoreRef grad, int64_t n, const SgdHyper& h, const RoundKey& key,
                      const char* what) {
  for_blocks(pool, n, what, "SGD momentum", [&](int64_t b, int64_t lo, int64_t hi) {
    float p[kDynamicBlock], g[kDynamicBlock], mb[kDynamicBlock];
    load_block(param, n, b, lo, hi, p);
    load_block(grad, n, b, lo, hi, g);
    if (h.momentum != 0.0f && !h.first_step) load_block(buf, n, b, lo, hi, mb);
    for (int64_t j = 0; j < hi - lo; ++j) {  // the formulas of ops/sgd.cpp, in fp32
      float gs = g[j] * h.grad_scale;
      if (h.weight_decay != 0.0f) gs += h.weight_decay * p[j];
      if (h.momentum != 0.0f) {
        mb[j] = h.first_step ? gs : h.momentum * mb[j] + gs;
        gs = mb[j];
      }
      p[j] -= h.lr * gs;
    }
    store_param(param, lo, hi, p, key);
    return h.momentum == 0.0f || store_moment(buf, n, b, lo, hi, mb);
  });
}

}  // namespace loralab
