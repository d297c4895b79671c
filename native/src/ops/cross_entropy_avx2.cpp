// AVX2+FMA build of the cross-entropy row kernels (8 lanes; used only when the CPU has them).
#define CE_LANES 8
#define CE_SUFFIX cross_entropy_kernels_avx2
#include "ops/cross_entropy_kernels.inc"
