// Attention forward/backward entry points: tasks are (row, head) pairs for forward and (row, kv
// head) for backward. fp32 forward (and the KV-cache forward) runs the per-row kernels of the AVX2
// build when the CPU has it (chosen once per process, like the GEMM path); fp32 backward runs the
// tiled kernel (attention_tiled.cpp); the fp64 reference always comes from the plain build. Each
// task's score row lives at a fixed offset of the caller's scratch.
#define ATTN_SUFFIX attention_kernels_generic
#include "ops/attention_kernels.inc"

#include <type_traits>
#include <vector>

#include "ops/matmul.h"
#include "simd_path.h"
#include "threadpool.h"

namespace loralab {

namespace {
const AttentionKernels& float_kernels() {
  static const AttentionKernels k = simd_path() == SimdPath::Scalar ? attention_kernels_generic() : attention_kernels_avx2();
  return k;
}
}  // namespace

int64_t attention_forward_scratch_floats(int64_t B, int64_t T_, int64_t NH) { return B * NH * T_; }
int64_t attention_cached_scratch_floats(int64_t positions, int64_t NH) { return NH * positions; }

template <typename T>
void attention_forward(ThreadPool* pool, T* out, T* lse, const T* q, const T* k, const T* v, const int32_t* lengths,
                       int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD, T* scratch) {
  std::vector<T> own;
  if (!scratch) own.resize(attention_forward_scratch_floats(B, T_, NH)), scratch = own.data();
  parallel_for(pool, B * NH, [&](int64_t task) {
    T* scores = scratch + task * T_;
    if constexpr (std::is_same_v<T, float>)
      float_kernels().forward(task, out, lse, q, k, v, lengths, B, T_, NH, NKV, HD, scores);
    else fwd_task<T>(task, out, lse, q, k, v, lengths, B, T_, NH, NKV, HD, scores);
  });
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
