// AVX2+FMA build of the quantized-linear tile kernels (compiled with -mavx2 -mfma; used only when present).
#define QK_LANES 8
#define QK_MR 6
#define QK_NR 2
#define QK_SUFFIX quant_kernels_avx2
#include "quant/quant_kernels.inc"
