// Translation unit of the CUDA ops of the parallel-block families (Phi, Falcon): LayerNorm with
// bias (layernorm.cuh), GELU tanh / erf (gelu.cuh) and Falcon's fused query_key_value split
// (qkv_split.cuh). Partial rotary lives in rope.cuh.
#include "gelu.cuh"
#include "layernorm.cuh"
#include "qkv_split.cuh"
