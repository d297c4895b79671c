// AVX-512 build of the cross-entropy row kernels (16 lanes; used only when the CPU has them).
#define CE_LANES 16
#define CE_SUFFIX cross_entropy_kernels_avx512
#include "ops/cross_entropy_kernels.inc"
