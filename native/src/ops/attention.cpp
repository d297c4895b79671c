// Attention forward/backward entry points: tasks are (row, head) pairs for forward and (row, kv
// head) for backward. fp32 forward and backward run the tiled kernels (attention_tiled.cpp) with
// the row passes of this CPU's build; the KV-cache forward runs the per-row kernels of that build
// (plain, AVX2 or AVX-512, chosen once per process like the GEMM path); the fp64 reference always
// comes from the plain build. Each
// task's score row lives at a fixed offset of the caller's scratch.
#define ATTN_SUFFIX attention_kernels_generic
#define ATTN_LANES 4
#include "ops/attention_kernels.inc"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "ops/matmul.h"
#include "simd_path.h"
#include "threadpool.h"

namespace loralab {

const AttentionKernels& attention_float_kernels() {
  static const AttentionKernels k =
      simd_kernels(attention_kernels_generic, attention_kernels_avx2, attention_kernels_avx512);
  return k;
}
namespace {
const AttentionKernels& float_kernels() { return attention_float_kernels(); }
}  // namespace

int64_t attention_forward_scratch_floats(int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD) {
  return std::max(B * NH * T_, attention_forward_tiled_scratch_floats(B, T_, NH, NKV, HD));  // fp64 rows, fp32 tiles
}
int64_t attention_cached_scratch_floats(int64_t positions, int64_t NH) { return NH * positions; }

template <typename T>
void attention_forward(ThreadPool* pool, T* out, T* lse, const T* q, const T* k, const T* v, const int32_t* lengths,
                       int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD, T* scratch) {
  if constexpr (std::is_same_v<T, float>) {
    attention_forward_tiled(pool, out, lse, q, k, v, lengths, B, T_, NH, NKV, HD, scratch);
  } else {
    std::vector<T> own;
    if (!scratch) own.resize(B * NH * T_), scratch = own.data();
    parallel_for(pool, B * NH, [&](int64_t task) { fwd_task<T>(task, out, lse, q, k, v, lengths, B, T_, NH, NKV, HD, scratch + task * T_); });
  }
}

template <typename T>
void attention_backward(ThreadPool* pool, T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
                        const T* out, const T* lse, const int32_t* lengths, int64_t B, int64_t T_, int64_t NH,
                        int64_t NKV, int64_t HD, float* scratch) {
  if constexpr (std::is_same_v<T, float>) {
    attention_backward_tiled(pool, dq, dk, dv, dout, q, k, v, out, lse, lengths, B, T_, NH, NKV, HD, scratch);
  } else {
    parallel_for(pool, B * NKV, [&](int64_t task) {
      bwd_task<T>(task, dq, dk, dv, dout, q, k, v, out, lse, lengths, B, T_, NH, NKV, HD);
    });
  }
}

void attention_forward_cached(ThreadPool* pool, float* out, const float* q, const float* kcache, const float* vcache,
                              int64_t start, int64_t n, int64_t NH, int64_t NKV, int64_t HD, float* scratch) {
  std::vector<float> own;
  if (!scratch) own.resize(attention_cached_scratch_floats(start + n, NH)), scratch = own.data();
  auto fn = float_kernels().cached;
  parallel_for(pool, NH, [&](int64_t h) { fn(h, out, q, kcache, vcache, start, n, NH, NKV, HD, scratch + h * (start + n)); });
}

template void attention_forward<float>(ThreadPool*, float*, float*, const float*, const float*, const float*,
                                       const int32_t*, int64_t, int64_t, int64_t, int64_t, int64_t, float*);
template void attention_forward<double>(ThreadPool*, double*, double*, const double*, const double*, const double*,
                                        const int32_t*, int64_t, int64_t, int64_t, int64_t, int64_t, double*);
template void attention_backward<float>(ThreadPool*, float*, float*, float*, const float*, const float*, const float*,
                                        const float*, const float*, const float*, const int32_t*, int64_t, int64_t,
                                        int64_t, int64_t, int64_t, float*);
template void attention_backward<double>(ThreadPool*, double*, double*, double*, const double*, const double*,
                                         const double*, const double*, const double*, const double*, const int32_t*,
                                         int64_t, int64_t, int64_t, int64_t, int64_t, float*);
}  // namespace loralab
