// The CPU kernel path (instruction set) of this process: the one choice that the GEMMs, the
// quantized GEMMs, the other vectorised ops and the device report (`lora-lab doctor`) all read.
#pragma once
#include "device.h"

namespace loralab {

enum class SimdPath { Scalar, AVX2, AVX512 };

// "scalar", "avx2" or "avx512".
const char* simd_path_name(SimdPath path);

// The path for a CPU with these features: AVX-512 needs avx512f/bw/vl/dq (+ avx2, fma, f16c: the
// *_avx512.cpp kernels are built with those too), AVX2 needs avx2, fma and f16c. `force` (the
// LORALAB_SIMD environment variable: "avx2" or "scalar"; null or anything else forces nothing) can
// only lower the path.
SimdPath choose_simd_path(const CpuInfo& cpu, const char* force);

// choose_simd_path(detect_cpu(), getenv("LORALAB_SIMD")), decided once per process.
SimdPath simd_path();

// The kernel set of simd_path(): one of three factories (e.g. gemm_kernels_generic / _avx2 / _avx512).
template <typename Kernels>
Kernels simd_kernels(Kernels (*generic)(), Kernels (*avx2)(), Kernels (*avx512)()) {
  switch (simd_path()) {
    case SimdPath::AVX512: return avx512();
    case SimdPath::AVX2: return avx2();
    case SimdPath::Scalar:
    default: return generic();
  }
}

}  // namespace loralab
