// AVX2+FMA build of the GEMM block kernels (compiled with -mavx2 -mfma; used only when the CPU has
// them): 6 x 16 register tile (12 ymm accumulators).
#define GEMM_LANES 8
#define GEMM_MR 6
#define GEMM_NRV 2
#define GEMM_SUFFIX gemm_kernels_avx2
#include "ops/matmul_kernels.inc"
