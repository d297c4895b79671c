// AVX-512 build of the quantized-linear tile kernels (compiled with -mavx512f/bw/vl/dq; used only when present).
#define QK_LANES 16
#define QK_MR 6
#define QK_NR 4
#define QK_SUFFIX quant_kernels_avx512
#include "quant/quant_kernels.inc"
