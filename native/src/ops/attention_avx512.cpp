// AVX-512 build of the fp32 attention task kernels (used when the CPU has AVX-512).
#define ATTN_SUFFIX attention_kernels_avx512
#define ATTN_LANES 16
#include "ops/attention_kernels.inc"
