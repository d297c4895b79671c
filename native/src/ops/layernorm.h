// LayerNorm (with weight and bias) of the Phi and Falcon families, as torch.nn.LayerNorm computes it:
// y = (x - mean) * rstd * w + b, rstd = 1 / sqrt(biased variance + eps). Rows in fp32 with double sums.
// Legend: N tokens, C channels.
#pragma once
#include <cstdint>

namespace loralab {
class ThreadPool;

// out (N,C); mean, rstd (N) saved for backward (either may be null); inp (N,C); weight, bias (C)
void layernorm_forward(ThreadPool* pool, float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int64_t N, int64_t C, float eps);
// out (N,C) from the saved mean and rstd (recomputation for backward)
void layernorm_apply(ThreadPool* pool, float* out, const float* inp, const float* weight, const float* bias, const float* mean,
                     const float* rstd, int64_t N, int64_t C);
// dinp (N,C) accumulated (+=, the residual stream's gradient); dweight, dbias (C) accumulated, either may
// be null (frozen); dout (N,C) the gradient at the normed output.
void layernorm_backward(ThreadPool* pool, float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int64_t N, int64_t C);
}  // namespace loralab
