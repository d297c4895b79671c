// Portable build of the GEMM tile kernels (baseline x86-64 SSE2 / any CPU).
#define GEMM_LANES 4
#define GEMM_MR 4
#define GEMM_NR 4
#define GEMM_NRV 2
#define GEMM_SUFFIX gemm_kernels_generic
#include "ops/matmul_kernels.inc"
