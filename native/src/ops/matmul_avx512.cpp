// AVX-512 build of the GEMM tile kernels (compiled with -mavx512f/bw/vl/dq; used only when present).
#define GEMM_LANES 16
#define GEMM_MR 4
#define GEMM_NR 4
#define GEMM_NRV 4
#define GEMM_SUFFIX gemm_kernels_avx512
#include "ops/matmul_kernels.inc"
