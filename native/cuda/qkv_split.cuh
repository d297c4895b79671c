// Falcon's fused query_key_value on CUDA: the (N, J*HD) projection output split into q (N,NH*HD),
// k, v (N,NKV*HD) by the per-block source table of falcon_qkv_sources() (model/family.h), and its
// gradient gathered back. Pure copies (bitwise). CPU reference: LlamaModel::qkv_forward / qkv_backward
// (native/src/model/parallel_block.cpp). Legend: N tokens, J head-dim blocks per token, HD head dim.
#pragma once
#include "cuda_common.cuh"
#include "cuda_ops.h"

namespace loralab {
namespace cuda {

// one thread per (n, j, d); to_parts: qkv -> q/k/v, else q/k/v -> qkv
__global__ void qkv_copy_kernel(bf16* qkv, bf16* q, bf16* k, bf16* v, const int32_t* sources, int64_t N, int64_t J, int64_t NH, int64_t NKV,
                                int64_t HD, bool to_parts) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= N * J * HD) return;
  const int64_t d = idx % HD, j = (idx / HD) % J, n = idx / (HD * J);
  const int64_t s = sources[j];
  bf16* part = s < NH ? q + (n * NH + s) * HD : s < NH + NKV ? k + (n * NKV + s - NH) * HD : v + (n * NKV + s - NH - NKV) * HD;
  if (to_parts)
    part[d] = qkv[idx];
  else
    qkv[idx] = part[d];
}

// ------------------------------------------------------------------------------------------------
// launchers

static void qkv_copy(bf16* qkv, bf16* q, bf16* k, bf16* v, const int32_t* sources, int64_t N, int64_t J, int64_t NH, int64_t NKV,
                     int64_t HD, bool to_parts, cudaStream_t stream) {
  LORALAB_CUDA_ASSERT(N >= 0 && J == NH + 2 * NKV && HD > 0 && sources, "qkv split: need J = NH + 2 NKV, HD > 0, sources");
  if (N == 0) return;
  qkv_copy_kernel<<<ceil_div(N * J * HD, 256), 256, 0, stream>>>(qkv, q, k, v, sources, N, J, NH, NKV, HD, to_parts);
  LORALAB_CUDA_LAUNCH_CHECK("qkv_copy_kernel");
}

void qkv_split(bf16* q, bf16* k, bf16* v, const bf16* qkv, const int32_t* sources, int64_t N, int64_t NH, int64_t NKV, int64_t HD,
               cudaStream_t stream) {
  qkv_copy(const_cast<bf16*>(qkv), q, k, v, sources, N, NH + 2 * NKV, NH, NKV, HD, true, stream);
}

void qkv_merge(bf16* dqkv, const bf16* dq, const bf16* dk, const bf16* dv, const int32_t* sources, int64_t N, int64_t NH, int64_t NKV,
               int64_t HD, cudaStream_t stream) {
  qkv_copy(dqkv, const_cast<bf16*>(dq), const_cast<bf16*>(dk), const_cast<bf16*>(dv), sources, N, NH + 2 * NKV, NH, NKV, HD, false, stream);
}

}  // namespace cuda
}  // namespace loralab
