// AVX2+FMA build of the SwiGLU kernels (8 lanes; used only when the CPU has them).
#define SW_LANES 8
#define SW_SUFFIX swiglu_kernels_avx2
#include "ops/swiglu_kernels.inc"
