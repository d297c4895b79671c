// AVX2+FMA build of the GEMM tile kernels (compiled with -mavx2 -mfma; used only when the CPU has them).
#define GEMM_LANES 8
#define GEMM_MR 4
#define GEMM_NR 2
#define GEMM_NRV 2
#define GEMM_SUFFIX gemm_kernels_avx2
#include "ops/matmul_kernels.inc"
