// Translation unit of the CUDA GEMM family: the tiled GEMM with the linear layer and the LoRA path
// (matmul.cuh), and NF4 / FP4 dequantization for QLoRA base weights (dequant.cuh).
#include "dequant.cuh"
#include "matmul.cuh"
