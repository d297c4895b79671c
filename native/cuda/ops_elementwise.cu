// Translation unit of the small CUDA ops (one nvcc compile for all of them): embedding, RMSNorm,
// RoPE, SwiGLU + residual, cross-entropy, AdamW / SGD. Each op lives in its own .cuh.
#include "cross_entropy.cuh"
#include "embedding.cuh"
#include "optimizer.cuh"
#include "rmsnorm.cuh"
#include "rope.cuh"
#include "swiglu.cuh"
