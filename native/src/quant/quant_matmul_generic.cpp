// Portable build of the quantized-linear tile kernels (baseline x86-64 SSE2 / any CPU).
#define QK_LANES 4
#define QK_MR 4
#define QK_NR 2
#define QK_SUFFIX quant_kernels_generic
#include "quant/quant_kernels.inc"
