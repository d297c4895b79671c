// Translation unit of the CUDA ops only training needs: LoRA dropout with the CPU's mask
// (dropout.cuh), the fixed-order fp64 reductions of a step (reductions.cuh) and the fp32 -> bf16
// refresh of full finetuning's weight copies (cast.cuh).
#include "cast.cuh"
#include "dropout.cuh"
#include "reductions.cuh"
