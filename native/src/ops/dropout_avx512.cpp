// AVX-512 build of the dropout row kernel (used on the AVX-512 GEMM path): 8 channels per vector,
// 64-bit multiplies in hardware (AVX-512DQ).
#define DROPOUT_LANES 8
#define DROPOUT_SUFFIX dropout_kernel_avx512
#include "ops/dropout_kernels.inc"
