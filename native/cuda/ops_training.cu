// Translation unit of the CUDA ops only training needs: LoRA dropout with the CPU's mask
// (dropout.cuh) and the fixed-order fp64 reductions of a step (reductions.cuh).
#include "dropout.cuh"
#include "reductions.cuh"
