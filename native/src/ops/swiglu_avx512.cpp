// AVX-512 build of the SwiGLU kernels (16 lanes; used only when the CPU has them).
#define SW_LANES 16
#define SW_SUFFIX swiglu_kernels_avx512
#include "ops/swiglu_kernels.inc"
