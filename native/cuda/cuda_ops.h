// Host-callable launchers of every engine op on CUDA: the same names and argument order as the CPU
// reference in native/src/ops (outputs, inputs, weights, dims), with the stream last instead of the
// thread pool first. Storage is bf16 for activations and frozen weights, fp32 for LoRA parameters,
// their gradients, optimizer state, rstd / lse / losses; all arithmetic accumulates in fp32.
// Plain C++ (cuda_runtime.h and cuda_bf16.h compile with the host compiler): tests include it.
// Ids (tokens, targets) must be validated on the host before upload (the CPU ops throw
// E_TOKEN_RANGE); the kernels only guard their memory accesses.
// Legend: N tokens (B*T), C channels, V vocabulary, F MLP width, H heads, HD head dim, B rows,
// T sequence, NH query heads, NKV kv heads, IC/OC input/output features, R LoRA rank, P positions.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "ops/adamw.h"
#include "ops/gelu.h"
#include "ops/sgd.h"

namespace loralab {
namespace cuda {

typedef __nv_bfloat16 bf16;

// ---- embedding.cuh -----------------------------------------------------------------------------
// out (N,C) = table (V,C)[tokens (N)]; rows of out-of-range ids are written as zeros
void embedding_forward(bf16* out, const int32_t* tokens, const bf16* table, int64_t N, int64_t C, int64_t V,
                       cudaStream_t stream);
// dtable (V,C) += scatter of dout (N,C); one thread per channel walks the tokens in index order
// (deterministic, the CPU's summation order)
void embedding_backward(float* dtable, const bf16* dout, const int32_t* tokens, int64_t N, int64_t C, int64_t V,
                        cudaStream_t stream);

// ---- rmsnorm.cuh -------------------------------------------------------------------------------
// out (N,C), rstd (N) or null, inp (N,C), weight (C)
void rmsnorm_forward(bf16* out, float* rstd, const bf16* inp, const bf16* weight, int64_t N, int64_t C, float eps,
                     cudaStream_t stream);
// dinp (N,C) += ... (null: skip), dweight (C) += ... (null: frozen), dout (N,C), inp (N,C), rstd (N)
void rmsnorm_backward(bf16* dinp, float* dweight, const bf16* dout, const bf16* inp, const bf16* weight,
                      const float* rstd, int64_t N, int64_t C, cudaStream_t stream);

// ---- rope.cuh ----------------------------------------------------------------------------------
// x (N,H,HD) rotated in place; positions (N) in [0,P); cos_table, sin_table (P, HD/2) fp32
void rope_forward(bf16* x, const int32_t* positions, const float* cos_table, const float* sin_table, int64_t N,
                  int64_t H, int64_t HD, cudaStream_t stream);
void rope_backward(bf16* dx, const int32_t* positions, const float* cos_table, const float* sin_table, int64_t N,
                   int64_t H, int64_t HD, cudaStream_t stream);
// partial rotary (Phi): only the leading RD dims of each head rotate (pairs i, i + RD/2); tables (P, RD/2);
// RD 0 = HD
void rope_forward(bf16* x, const int32_t* positions, const float* cos_table, const float* sin_table, int64_t N,
                  int64_t H, int64_t HD, int64_t RD, cudaStream_t stream);
void rope_backward(bf16* dx, const int32_t* positions, const float* cos_table, const float* sin_table, int64_t N,
                   int64_t H, int64_t HD, int64_t RD, cudaStream_t stream);

// ---- layernorm.cuh (Phi, Falcon) ---------------------------------------------------------------
// out (N,C), mean / rstd (N) or null, inp (N,C), weight / bias (C); fp32 statistics
void layernorm_forward(bf16* out, float* mean, float* rstd, const bf16* inp, const bf16* weight, const bf16* bias,
                       int64_t N, int64_t C, float eps, cudaStream_t stream);
// dinp (N,C) += ... (null: skip); dweight, dbias (C) += ... (null: frozen); dout (N,C), mean / rstd (N)
void layernorm_backward(bf16* dinp, float* dweight, float* dbias, const bf16* dout, const bf16* inp, const bf16* weight,
                        const float* mean, const float* rstd, int64_t N, int64_t C, cudaStream_t stream);

// ---- gelu.cuh (Phi: tanh form, Falcon: erf form) -------------------------------------------------
// out (n) = gelu(inp); may alias
void gelu_forward(bf16* out, const bf16* inp, int64_t n, GeluKind kind, cudaStream_t stream);
// dinp (n) = dout * gelu'(inp), written (not accumulated); dinp may alias dout
void gelu_backward(bf16* dinp, const bf16* dout, const bf16* inp, int64_t n, GeluKind kind, cudaStream_t stream);

// ---- qkv_split.cuh (Falcon's fused query_key_value) ----------------------------------------------
// q (N,NH*HD), k, v (N,NKV*HD) = the head-dim blocks of qkv (N,(NH+2NKV)*HD) by sources (device, NH+2NKV
// entries of falcon_qkv_sources: q head h -> h, k group g -> NH+g, v group g -> NH+NKV+g)
void qkv_split(bf16* q, bf16* k, bf16* v, const bf16* qkv, const int32_t* sources, int64_t N, int64_t NH, int64_t NKV,
               int64_t HD, cudaStream_t stream);
// dqkv (N,(NH+2NKV)*HD) written from dq, dk, dv (the inverse gather)
void qkv_merge(bf16* dqkv, const bf16* dq, const bf16* dk, const bf16* dv, const int32_t* sources, int64_t N, int64_t NH,
               int64_t NKV, int64_t HD, cudaStream_t stream);

// ---- swiglu.cuh (also the residual add) --------------------------------------------------------
// out (N,F) = silu(gate) * up
void swiglu_forward(bf16* out, const bf16* gate, const bf16* up, int64_t N, int64_t F, cudaStream_t stream);
// dgate, dup (N,F) written (not accumulated)
void swiglu_backward(bf16* dgate, bf16* dup, const bf16* dout, const bf16* gate, const bf16* up, int64_t N, int64_t F,
                     cudaStream_t stream);
// x (n) += y (n)
void residual_add(bf16* x, const bf16* y, int64_t n, cudaStream_t stream);

// ---- matmul.cuh --------------------------------------------------------------------------------
// The one tiled GEMM (fp32 accumulation, each output summed by one thread in k order, so results are
// deterministic): C (M,N) = alpha * A . B (+ C if accumulate) (+ bias (N) if non-null), with A and B
// read through element strides: A(m,k) = A[m*sam + k*sak], B(k,n) = B[k*sbk + n*sbn].
// Instantiated for TC/TA/TB in {bf16, float} (see matmul.cu).
template <typename TC, typename TA, typename TB>
void gemm(TC* C, const TA* A, int64_t sam, int64_t sak, const TB* B, int64_t sbk, int64_t sbn, const bf16* bias,
          int64_t M, int64_t N, int64_t K, float alpha, bool accumulate, cudaStream_t stream);
// C (M,N) (+)= A (M,K) . B (N,K)^T          [out = inp @ W^T]
template <typename TC, typename TA, typename TB>
void matmul_nt(TC* C, const TA* A, const TB* B, int64_t M, int64_t N, int64_t K, bool accumulate, cudaStream_t stream);
// C (M,N) (+)= A (M,K) . B (K,N)            [dinp = dout @ W]
template <typename TC, typename TA, typename TB>
void matmul_nn(TC* C, const TA* A, const TB* B, int64_t M, int64_t N, int64_t K, bool accumulate, cudaStream_t stream);
// C (M,N) (+)= A (K,M)^T . B (K,N)          [dW = dout^T @ inp]
template <typename TC, typename TA, typename TB>
void matmul_tn(TC* C, const TA* A, const TB* B, int64_t M, int64_t N, int64_t K, bool accumulate, cudaStream_t stream);

// out (N,OC) = inp (N,IC) . weight (OC,IC)^T + bias (OC) (bias may be null)
void linear_forward(bf16* out, const bf16* inp, const bf16* weight, const bf16* bias, int64_t N, int64_t IC, int64_t OC,
                    cudaStream_t stream);
// dinp (N,IC) += dout . weight; dweight (OC,IC) += dout^T . inp; dbias (OC) += sum_n dout. Null skips.
void linear_backward(bf16* dinp, float* dweight, float* dbias, const bf16* dout, const bf16* inp, const bf16* weight,
                     int64_t N, int64_t IC, int64_t OC, cudaStream_t stream);

// ---- lora (matmul.cuh): the CPU's (x A^T) B^T * scale, never B A ---------------------------------
// out (N,OC) += scale * u B^T, u (N,R) = xd (N,IC) A^T saved for backward; A (R,IC), B (OC,R)
void lora_forward(bf16* out, float* u, const bf16* xd, const float* A, const float* B, float scale, int64_t N,
                  int64_t IC, int64_t OC, int64_t R, cudaStream_t stream);
// dB (OC,R) += scale * dout^T u; du (N,R) = scale * dout B; dA (R,IC) += du^T xd; dxd (N,IC) += du A (null: skip)
void lora_backward(bf16* dxd, float* dA, float* dB, float* du, const bf16* dout, const bf16* xd, const float* u,
                   const float* A, const float* B, float scale, int64_t N, int64_t IC, int64_t OC, int64_t R,
                   cudaStream_t stream);

// ---- attention.cuh -----------------------------------------------------------------------------
// Causal GQA attention with right padding, scale 1/sqrt(HD), fp32 softmax; semantics of
// ops/attention.h. out (B,T,NH*HD), lse (B,NH,T), q (B,T,NH*HD), k, v (B,T,NKV*HD), lengths (B) or null
void attention_forward(bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v, const int32_t* lengths,
                       int64_t B, int64_t T, int64_t NH, int64_t NKV, int64_t HD, cudaStream_t stream);
// dq (B,T,NH*HD), dk, dv (B,T,NKV*HD) written; dk/dv of a kv head sum its query heads in order
void attention_backward(bf16* dq, bf16* dk, bf16* dv, const bf16* dout, const bf16* q, const bf16* k, const bf16* v,
                        const bf16* out, const float* lse, const int32_t* lengths, int64_t B, int64_t T, int64_t NH,
                        int64_t NKV, int64_t HD, cudaStream_t stream);

// ---- cross_entropy.cuh ---------------------------------------------------------------------------
// losses (N) = logsumexp(logits[n]) - logits[n][target[n]], 0 where target == -100; logits (N,V)
void cross_entropy_forward(float* losses, const bf16* logits, const int32_t* targets, int64_t N, int64_t V,
                           cudaStream_t stream);
// dlogits (N,V) = (softmax(logits) - onehot(target)) * dloss, zero rows where target == -100; may alias logits
void cross_entropy_backward(bf16* dlogits, const bf16* logits, const int32_t* targets, float dloss, int64_t N,
                            int64_t V, cudaStream_t stream);

// ---- optimizer.cuh: the CPU's exact fp32 formulas ------------------------------------------------
// param, m, v (n) updated; grad (n) read
void adamw_update(float* param, float* m, float* v, const float* grad, int64_t n, const AdamWHyper& h,
                  cudaStream_t stream);
// param, buf (n) updated (buf unused when momentum == 0); grad (n) read
void sgd_update(float* param, float* buf, const float* grad, int64_t n, const SgdHyper& h, cudaStream_t stream);

// ---- dropout.cuh: LoRA dropout, the CPU's counter-based mask (ops/dropout.h) ---------------------
struct DropoutKeyCuda {
  uint64_t seed = 0, step = 0, site = 0;     // site: layer * 16 + target index (15: lm_head)
  const int64_t* row_examples = nullptr;     // device (N) example id of each token row
  const int32_t* row_positions = nullptr;    // device (N) position of each token row
};
// out (N,C) = inp * mask / (1-p)
void dropout_forward(bf16* out, const bf16* inp, const DropoutKeyCuda& key, float p, int64_t N, int64_t C,
                     cudaStream_t stream);
// dinp (N,C) += dout * mask / (1-p)
void dropout_backward(bf16* dinp, const bf16* dout, const DropoutKeyCuda& key, float p, int64_t N, int64_t C,
                      cudaStream_t stream);

// ---- reductions.cuh: fixed-order fp64 sums of a training step -------------------------------------
// partial scratch length for `tensors` tensors
int64_t sumsq_partial_count(int tensors);
// *out = sum over the tensors (device arrays of `count` pointers and sizes) of their squared elements
void sum_of_squares(double* out, double* partial, const float* const* tensors, const int64_t* sizes, int count,
                    cudaStream_t stream);
// *acc += sum of values (n)
void accumulate_sum(double* acc, const float* values, int64_t n, cudaStream_t stream);

// ---- cast.cuh ------------------------------------------------------------------------------------
// out (n) = bf16(in (n)), round to nearest even
void cast_f32_to_bf16(bf16* out, const float* in, int64_t n, cudaStream_t stream);

}  // namespace cuda
}  // namespace loralab
