// Portable build of the GEMM block kernels (baseline x86-64 SSE2 / any CPU): 4 x 8 register tile.
#define GEMM_LANES 4
#define GEMM_MR 4
#define GEMM_NRV 2
#define GEMM_SUFFIX gemm_kernels_generic
#include "ops/matmul_kernels.inc"
