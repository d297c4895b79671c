// The process's CPU kernel path, chosen once from the cpuid features (see simd_path.h).
#include "simd_path.h"

#include <cstdlib>
#include <string>

namespace loralab {

const char* simd_path_name(SimdPath path) {
  switch (path) {
    case SimdPath::AVX512: return "avx512";
    case SimdPath::AVX2: return "avx2";
    case SimdPath::Scalar:
    default: return "scalar";
  }
}

SimdPath choose_simd_path(const CpuInfo& cpu, const char* force) {
  const std::string want = force ? force : "";
  const bool avx2 = cpu.avx2 && cpu.fma && cpu.f16c;
  const bool avx512 = avx2 && cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512dq;
  if (avx512 && want != "avx2" && want != "scalar") return SimdPath::AVX512;
  if (avx2 && want != "scalar") return SimdPath::AVX2;
  return SimdPath::Scalar;
}

SimdPath simd_path() {
  static const SimdPath path = choose_simd_path(detect_cpu(), std::getenv("LORALAB_SIMD"));
  return path;
}

}  // namespace loralab
