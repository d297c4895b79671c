// Counter-based random numbers: a value is a pure function of its key (seed, stream, counters),
// so dropout masks and LoRA init do not depend on thread count or call order, and a resumed run
// reproduces them. splitmix64 finalizer chained over the key words.
#pragma once
#include <cstdint>

namespace loralab {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Hash of up to six key words.
inline uint64_t rng_hash(uint64_t a, uint64_t b = 0, uint64_t c = 0, uint64_t d = 0, uint64_t e = 0,
                         uint64_t f = 0) {
  uint64_t h = splitmix64(a);
  h = splitmix64(h ^ b);
  h = splitmix64(h ^ c);
  h = splitmix64(h ^ d);
  h = splitmix64(h ^ e);
  h = splitmix64(h ^ f);
  return h;
}

// Uniform in [0, 1) with 24 random bits (exactly representable in fp32).
inline float rng_uniform01(uint64_t h) { return static_cast<float>(h >> 40) * (1.0f / 16777216.0f); }
inline double rng_uniform01_f64(uint64_t h) { return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0); }

// Stream tags keep the different uses of one seed apart.
enum RngStream : uint64_t { kRngLoraInit = 1, kRngDropout = 2, kRngSample = 3 };

}  // namespace loralab
