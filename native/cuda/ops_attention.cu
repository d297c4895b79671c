// Translation unit of causal GQA attention on CUDA (attention.cuh).
#include "attention.cuh"
