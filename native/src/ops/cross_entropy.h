// Cross-entropy over a chunk of logits with ignore index -100, and its backward in place. The
// model feeds it a few tokens at a time so the full (tokens x V) logits never exist at once.
// Legend: N tokens in the chunk, V vocabulary.
#pragma once
#include <cstdint>

namespace loralab {
class ThreadPool;
constexpr int32_t kIgnoreIndex = -100;

// losses (N): logsumexp(logits[n]) - logits[n][target[n]], 0 where target == -100.
// logits (N,V), targets (N). Throws E_TOKEN_RANGE for targets outside [0, V) other than -100.
template <typename T>
void cross_entropy_forward(ThreadPool* pool, T* losses, const T* logits, const int32_t* targets, int64_t N, int64_t V);
// dlogits (N,V) = (softmax(logits) - onehot(target)) * dloss, 0 rows where target == -100.
// dlogits may alias logits (in place).
template <typename T>
void cross_entropy_backward(ThreadPool* pool, T* dlogits, const T* logits, const int32_t* targets, T dloss, int64_t N,
                            int64_t V);
// Both at once (the log-sum-exp computed once per row): losses (N) as forward, dlogits (N,V) as
// backward; dlogits may alias logits. Same values, bit for bit, as the two calls.
template <typename T>
void cross_entropy_forward_backward(ThreadPool* pool, T* losses, T* dlogits, const T* logits, const int32_t* targets,
                                    T dloss, int64_t N, int64_t V);

// fp32 row kernels of one instruction set (cross_entropy_kernels.inc), chosen with the GEMM path.
struct CeKernels {
  // next: a row (V floats) to fetch into the cache during the pass, or null.
  // lse: the row's log-sum-exp. lse_grad: also drow (V, may alias row) = softmax(row) * dloss, minus
  // dloss at the target (each exponential computed once, then scaled by dloss / sum); returns the
  // log-sum-exp, which it computes as lse does.
  double (*lse)(const float* row, int64_t V, const float* next);
  double (*lse_grad)(float* drow, const float* row, int64_t V, const float* next, int32_t target, float dloss);
};
CeKernels cross_entropy_kernels_generic();
CeKernels cross_entropy_kernels_avx2();
CeKernels cross_entropy_kernels_avx512();
}  // namespace loralab
