// AVX2+FMA build of the fp32 attention task kernels (used when the CPU has AVX2 and FMA).
#define ATTN_SUFFIX attention_kernels_avx2
#define ATTN_LANES 8
#include "ops/attention_kernels.inc"
