// AVX-512 build of the GEMM block kernels (compiled with -mavx512f/bw/vl/dq; used only when present):
// 6 x 64 register tile (24 zmm accumulators).
#define GEMM_LANES 16
#define GEMM_MR 6
#define GEMM_NRV 4
#define GEMM_SUFFIX gemm_kernels_avx512
#include "ops/matmul_kernels.inc"
