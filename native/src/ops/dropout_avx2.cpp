// AVX2 build of the dropout row kernel (used when the CPU has AVX2 and FMA): 4 channels per vector.
#define DROPOUT_LANES 4
#define DROPOUT_SUFFIX dropout_kernel_avx2
#include "ops/dropout_kernels.inc"
