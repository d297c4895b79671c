// Baseline (SSE2, 4 lanes) build of the cross-entropy row kernels.
#define CE_LANES 4
#define CE_SUFFIX cross_entropy_kernels_generic
#include "ops/cross_entropy_kernels.inc"
