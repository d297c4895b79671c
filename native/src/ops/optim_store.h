// AdamW / SGD-momentum updates over trainable state in any storage: fp32, bf16 (state_precision bf16)
// or 8-bit blockwise dynamic codes (adamw8bit / sgd8bit, quant/dynamic8.h). Each block of
// kDynamicBlock elements is widened to fp32, updated with the same formulas as ops/adamw.h and
// ops/sgd.h, and stored back: moments round to nearest (bf16) or to the nearest dynamic-map entry
// after a fresh absmax (8-bit, as bitsandbytes' blockwise optimizers do); bf16 masters use
// stochastic rounding keyed by (seed, step, tensor, element), so a run is deterministic given its seed.
// Legend: n elements.
#pragma once
#include <cstdint>

#include "ops/adamw.h"
#include "ops/sgd.h"

namespace loralab {
class ThreadPool;

enum class StoreFormat : uint8_t { F32, BF16, Q8 };

// One tensor of the trainable state (master, gradient or moment).
struct StoreRef {
  StoreFormat format = StoreFormat::F32;
  void* data = nullptr;     // float* / uint16_t* (bf16) / uint8_t* (codes), n elements
  float* absmax = nullptr;  // Q8: one per kDynamicBlock elements
  bool is_signed = true;    // Q8: signed map (first moment, momentum) or unsigned (second moment)
};

// Stochastic rounding of fp32 x to bf16 with the 16 random bits `r`: rounds up with probability equal to
// the dropped fraction, so E[round(x)] = x. NaN and infinities round to nearest.
uint16_t f32_to_bf16_stochastic(float x, uint32_t r);
// The key of tensor `tensor` at optimizer step `step` (counter-based, its own RNG stream), and the 16
// random bits of its element i: one splitmix64 of (key, i / 4) feeds four elements.
uint64_t stochastic_round_key(uint64_t seed, uint64_t step, uint64_t tensor);
uint32_t stochastic_round_bits(uint64_t key, int64_t i);

struct RoundKey {
  uint64_t seed = 0, step = 0, tensor = 0;  // tensor: index of the parameter among the trainable ones
};

// param, m, v updated; grad read. Throws E_NONFINITE naming `what` when an 8-bit moment block turns
// NaN / infinite (a diverged run); the fp32 / bf16 paths propagate NaN like ops/adamw.h.
void adamw_update_store(ThreadPool* pool, StoreRef param, StoreRef m, StoreRef v, StoreRef grad, int64_t n, const AdamWHyper& h,
                        const RoundKey& key, const char* what);
// buf unused when momentum == 0.
void sgd_update_store(ThreadPool* pool, StoreRef param, StoreRef buf, StoreRef grad, int64_t n, const SgdHyper& h, const RoundKey& key,
                      const char* what);

}  // namespace loralab
