// Baseline (SSE2, 4 lanes) build of the SwiGLU kernels.
#define SW_LANES 4
#define SW_SUFFIX swiglu_kernels_generic
#include "ops/swiglu_kernels.inc"
