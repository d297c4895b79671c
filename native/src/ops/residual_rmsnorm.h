// Residual add fused with the RMSNorm that follows it (the decoder's "x = x + f(x); h = norm(x)"):
// forward writes x_out = x + y once and normalizes the same row while it is in cache, with rstd
// kept for backward. Backward: the residual passes its output gradient through to both inputs, so
// the gradient of x_out (already in dresid from above) and the norm's gradient are summed in one
// row sweep. Rows are bitwise those of residual_add followed by rmsnorm_forward / rmsnorm_backward
// (same row arithmetic, ops/rmsnorm_rows.h). Legend: N tokens, C channels.
#pragma once
#include <cstdint>

namespace loralab {
class ThreadPool;

// x_out (N,C) = x + y (x_out may alias x or y); out (N,C) = rmsnorm(x_out) * weight (C); rstd (N)
// saved for backward (null: not kept).
template <typename T>
void residual_rmsnorm_forward(ThreadPool* pool, T* x_out, T* out, T* rstd, const T* x, const T* y, const T* weight,
                              int64_t N, int64_t C, float eps);
// dresid (N,C): on entry the gradient reaching x_out from above, on return the gradient of x and of
// y (+= the norm's input gradient from dout (N,C)); dweight (C) += ... (null: frozen). x_out and
// rstd as forward wrote them.
template <typename T>
void residual_rmsnorm_backward(ThreadPool* pool, T* dresid, T* dweight, const T* dout, const T* x_out,
                               const T* weight, const T* rstd, int64_t N, int64_t C);
}  // namespace loralab
