// Causal grouped-query attention on CUDA, correctness first: one warp per query row (forward, dq)
// or per key row (dk, dv), fp32 online softmax, every sum in a fixed order (deterministic, no
// atomics). Query head h reads kv head h / (NH/NKV); row t of batch row b sees keys
// j < min(t+1, max(lengths[b], 1)). CPU reference: native/src/ops/attention_kernels.inc.
// Legend: B rows, T sequence, NH query heads, NKV kv heads, HD head dim (HD <= 256).
#pragma once
#include "cuda_common.cuh"
#include "cuda_ops.h"

namespace loralab {
namespace cuda {

constexpr int kAttnMaxPerLane = 8;  // HD <= 32 * 8
constexpr int kAttnWarps = 8;       // rows per block

__device__ __forceinline__ int64_t attn_key_limit(const int32_t* lengths, int64_t b, int64_t T) {
  int64_t len = lengths ? lengths[b] : T;
  return len < 1 ? 1 : (len > T ? T : len);
}
// lane's share of a head vector: element d = lane + 32 * e
__device__ __forceinline__ void attn_load(float* dst, const bf16* src, int64_t HD, int lane) {
#pragma unroll
  for (int e = 0; e < kAttnMaxPerLane; ++e) {
    const int64_t d = lane + 32 * e;
    dst[e] = d < HD ? to_f32(src[d]) : 0.0f;
  }
}
__device__ __forceinline__ float attn_dot(const float* a, const bf16* b, int64_t HD, int lane) {
  float s = 0.0f;
#pragma unroll
  for (int e = 0; e < kAttnMaxPerLane; ++e) {
    const int64_t d = lane + 32 * e;
    if (d < HD) s += a[e] * to_f32(b[d]);
  }
  return warp_sum(s);
}

// grid (B*NH, ceil(T/8)), 8 warps; warp = one query row t: out (B,T,NH*HD), lse (B,NH,T)
__global__ void attention_forward_kernel(bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v,
                                         const int32_t* lengths, int64_t T, int64_t NH, int64_t NKV, int64_t HD,
                                         float scale) {
  const int lane = threadIdx.x % 32;
  const int64_t b = blockIdx.x / NH, h = blockIdx.x % NH, kh = h / (NH / NKV);
  const int64_t t = static_cast<int64_t>(blockIdx.y) * kAttnWarps + threadIdx.x / 32;
  if (t >= T) return;
  const int64_t QD = NH * HD, KD = NKV * HD;
  const int64_t nkeys = min(t + 1, attn_key_limit(lengths, b, T));
  float qr[kAttnMaxPerLane], o[kAttnMaxPerLane];
  attn_load(qr, q + (b * T + t) * QD + h * HD, HD, lane);
#pragma unroll
  for (int e = 0; e < kAttnMaxPerLane; ++e) o[e] = 0.0f;
  float m = -INFINITY, l = 0.0f;
  for (int64_t j = 0; j < nkeys; ++j) {
    const float s = attn_dot(qr, k + (b * T + j) * KD + kh * HD, HD, lane) * scale;
    const float m_new = fmaxf(m, s);
    const float corr = expf(m - m_new), p = expf(s - m_new);
    l = l * corr + p;
    const bf16* vr = v + (b * T + j) * KD + kh * HD;
#pragma unroll
    for (int e = 0; e < kAttnMaxPerLane; ++e) {
      const int64_t d = lane + 32 * e;
      o[e] = o[e] * corr + (d < HD ? p * to_f32(vr[d]) : 0.0f);
    }
    m = m_new;
  }
  const float inv = 1.0f / l;
  bf16* orow = out + (b * T + t) * QD + h * HD;
#pragma unroll
  for (int e = 0; e < kAttnMaxPerLane; ++e) {
    const int64_t d = lane + 32 * e;
    if (d < HD) orow[d] = from_f32<bf16>(o[e] * inv);
  }
  if (lse && lane == 0) lse[(b * NH + h) * T + t] = m + logf(l);
}

// grid (B*NH, ceil(T/8)); warp = one query row: dq = sum_j p_j (dp_j - D) scale k_j, D = dout . out
__global__ void attention_backward_dq_kernel(bf16* dq, const bf16* dout, const bf16* q, const bf16* k, const bf16* v,
                                             const bf16* out, const float* lse, const int32_t* lengths, int64_t T,
                                             int64_t NH, int64_t NKV, int64_t HD, float scale) {
  const int lane = threadIdx.x % 32;
  const int64_t b = blockIdx.x / NH, h = blockIdx.x % NH, kh = h / (NH / NKV);
  const int64_t t = static_cast<int64_t>(blockIdx.y) * kAttnWarps + threadIdx.x / 32;
  if (t >= T) return;
  const int64_t QD = NH * HD, KD = NKV * HD, qi = (b * T + t) * QD + h * HD;
  const int64_t nkeys = min(t + 1, attn_key_limit(lengths, b, T));
  float qr[kAttnMaxPerLane], dor[kAttnMaxPerLane], acc[kAttnMaxPerLane];
  attn_load(qr, q + qi, HD, lane);
  attn_load(dor, dout + qi, HD, lane);
#pragma unroll
  for (int e = 0; e < kAttnMaxPerLane; ++e) acc[e] = 0.0f;
  const float D = attn_dot(dor, out + qi, HD, lane);
  const float l = lse[(b * NH + h) * T + t];
  for (int64_t j = 0; j < nkeys; ++j) {
    const bf16* kr = k + (b * T + j) * KD + kh * HD;
    const float s = attn_dot(qr, kr, HD, lane);
    const float dp = attn_dot(dor, v + (b * T + j) * KD + kh * HD, HD, lane);
    const float p = expf(s * scale - l);
    const float ds = p * (dp - D) * scale;
#pragma unroll
    for (int e = 0; e < kAttnMaxPerLane; ++e) {
      const int64_t d = lane + 32 * e;
      if (d < HD) acc[e] += ds * to_f32(kr[d]);
    }
  }
#pragma unroll
  for (int e = 0; e < kAttnMaxPerLane; ++e) {
    const int64_t d = lane + 32 * e;
    if (d < HD) dq[qi + d] = from_f32<bf16>(acc[e]);
  }
}

// grid (B*NKV, ceil(T/8)); warp = one key row j of kv head kh: dk, dv summed over the kv head's query
// heads in order, then over the query rows t >= j in order
__global__ void attention_backward_dkdv_kernel(bf16* dk, bf16* dv, const bf16* dout, const bf16* q, const bf16* k,
                                               const bf16* v, const bf16* out, const float* lse,
                                               const int32_t* lengths, int64_t T, int64_t NH, int64_t NKV, int64_t HD,
                                               float scale) {
  const int lane = threadIdx.x % 32;
  const int64_t b = blockIdx.x / NKV, kh = blockIdx.x % NKV, rep = NH / NKV;
  const int64_t j = static_cast<int64_t>(blockIdx.y) * kAttnWarps + threadIdx.x / 32;
  if (j >= T) return;
  const int64_t QD = NH * HD, KD = NKV * HD, ki = (b * T + j) * KD + kh * HD;
  float kr[kAttnMaxPerLane], vr[kAttnMaxPerLane], dkacc[kAttnMaxPerLane], dvacc[kAttnMaxPerLane];
  attn_load(kr, k + ki, HD, lane);
  attn_load(vr, v + ki, HD, lane);
#pragma unroll
  for (int e = 0; e < kAttnMaxPerLane; ++e) dkacc[e] = dvacc[e] = 0.0f;
  if (j < attn_key_limit(lengths, b, T)) {  // else no query row sees this key
    for (int64_t h = kh * rep; h < (kh + 1) * rep; ++h) {
      for (int64_t t = j; t < T; ++t) {
        const int64_t qi = (b * T + t) * QD + h * HD;
        float dor[kAttnMaxPerLane];
        attn_load(dor, dout + qi, HD, lane);
        const float Dt = attn_dot(dor, out + qi, HD, lane);
        const float s = attn_dot(kr, q + qi, HD, lane);
        const float dp = attn_dot(vr, dout + qi, HD, lane);
        const float p = expf(s * scale - lse[(b * NH + h) * T + t]);
        const float ds = p * (dp - Dt) * scale;
        const bf16* qr = q + qi;
#pragma unroll
        for (int e = 0; e < kAttnMaxPerLane; ++e) {
          const int64_t d = lane + 32 * e;
          if (d < HD) {
            dkacc[e] += ds * to_f32(qr[d]);
            dvacc[e] += p * dor[e];
          }
        }
      }
    }
  }
#pragma unroll
  for (int e = 0; e < kAttnMaxPerLane; ++e) {
    const int64_t d = lane + 32 * e;
    if (d < HD) {
      dk[ki + d] = from_f32<bf16>(dkacc[e]);
      dv[ki + d] = from_f32<bf16>(dvacc[e]);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// launchers

static void attention_check(int64_t B, int64_t T, int64_t NH, int64_t NKV, int64_t HD, const char* who) {
  LORALAB_CUDA_ASSERT(B > 0 && T > 0 && NH > 0 && NKV > 0 && NH % NKV == 0 && HD > 0 && HD <= 32 * kAttnMaxPerLane &&
                          B * NH <= 0x7fffffff && (T + kAttnWarps - 1) / kAttnWarps <= 65535,
                      std::string(who) + ": need NH % NKV == 0, 0 < HD <= 256, B*NH < 2^31, T <= 524280");
}

void attention_forward(bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v, const int32_t* lengths,
                       int64_t B, int64_t T, int64_t NH, int64_t NKV, int64_t HD, cudaStream_t stream) {
  attention_check(B, T, NH, NKV, HD, "attention_forward");
  const float scale = 1.0f / sqrtf(static_cast<float>(HD));
  dim3 grid(static_cast<unsigned>(B * NH), ceil_div(T, kAttnWarps));
  attention_forward_kernel<<<grid, 32 * kAttnWarps, 0, stream>>>(out, lse, q, k, v, lengths, T, NH, NKV, HD, scale);
  LORALAB_CUDA_LAUNCH_CHECK("attention_forward_kernel");
}

void attention_backward(bf16* dq, bf16* dk, bf16* dv, const bf16* dout, const bf16* q, const bf16* k, const bf16* v,
                        const bf16* out, const float* lse, const int32_t* lengths, int64_t B, int64_t T, int64_t NH,
                        int64_t NKV, int64_t HD, cudaStream_t stream) {
  attention_check(B, T, NH, NKV, HD, "attention_backward");
  LORALAB_CUDA_ASSERT(lse != nullptr, "attention_backward: needs the forward's lse");
  const float scale = 1.0f / sqrtf(static_cast<float>(HD));
  dim3 grid_q(static_cast<unsigned>(B * NH), ceil_div(T, kAttnWarps));
  attention_backward_dq_kernel<<<grid_q, 32 * kAttnWarps, 0, stream>>>(dq, dout, q, k, v, out, lse, lengths, T, NH,
                                                                       NKV, HD, scale);
  LORALAB_CUDA_LAUNCH_CHECK("attention_backward_dq_kernel");
  dim3 grid_kv(static_cast<unsigned>(B * NKV), ceil_div(T, kAttnWarps));
  attention_backward_dkdv_kernel<<<grid_kv, 32 * kAttnWarps, 0, stream>>>(dk, dv, dout, q, k, v, out, lse, lengths, T,
                                                                          NH, NKV, HD, scale);
  LORALAB_CUDA_LAUNCH_CHECK("attention_backward_dkdv_kernel");
}

}  // namespace cuda
}  // namespace loralab
