// Attention forward/backward. Tasks are (row, head) pairs for forward and (row, kv head) for
// backward (so dk/dv of a kv head are summed over its query heads in index order).
#include "ops/attention.h"

#include <cmath>
#include <limits>
#include <vector>

#include "threadpool.h"

namespace loralab {

namespace {
// Dot product with 8 independent partial sums (vectorizable without reassociation), reduced in a
// fixed order.
template <typename T>
inline T dot(const T* a, const T* b, int64_t n) {
  T acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += a[i + l] * b[i + l];
  T s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// One query row over keys 0..nkeys-1 with row stride ks; writes o (HD), returns log-sum-exp.
template <typename T>
T attend_row(T* o, const T* qrow, const T* kbase, const T* vbase, int64_t ks, int64_t nkeys, int64_t HD, T scale,
             std::vector<T>& scores) {
  scores.resize(nkeys);
  T mx = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < nkeys; ++j) {
    T s = dot(qrow, kbase + j * ks, HD) * scale;
    scores[j] = s;
    if (s > mx) mx = s;
  }
  T sum = 0;
  for (int64_t j = 0; j < nkeys; ++j) {
    scores[j] = std::exp(scores[j] - mx);
    sum += scores[j];
  }
  T inv = T(1) / sum;
  for (int64_t d = 0; d < HD; ++d) o[d] = 0;
  for (int64_t j = 0; j < nkeys; ++j) {
    const T* vr = vbase + j * ks;
    T p = scores[j] * inv;
    for (int64_t d = 0; d < HD; ++d) o[d] += p * vr[d];
  }
  return mx + std::log(sum);
}
inline int64_t key_count(int64_t t, const int32_t* lengths, int64_t b, int64_t T_) {
  int64_t len = lengths ? lengths[b] : T_;
  if (len < 1) len = 1;
  return (t + 1 < len ? t + 1 : len);
}
}  // namespace

template <typename T>
void attention_forward(ThreadPool* pool, T* out, T* lse, const T* q, const T* k, const T* v, const int32_t* lengths,
                       int64_t B, int64_t T_, int64_t NH, int64_t NKV, int64_t HD) {
  const int64_t QD = NH * HD, KD = NKV * HD, rep = NH / NKV;
  const T scale = T(1) / std::sqrt(static_cast<T>(HD));
  parallel_for(pool, B * NH, [&](int64_t task) {
    int64_t b = task / NH, h = task % NH, kh = h / rep;
    std::vector<T> scores;
    for (int64_t t = 0; t < T_; ++t) {
      int64_t nkeys = key_count(t, lengths, b, T_);
      T l = attend_row(out + (b * T_ + t) * QD + h * HD, q + (b * T_ + t) * QD + h * HD, k + b * T_ * KD + kh * HD,
                       v + b * T_ * KD + kh * HD, KD, nkeys, HD, scale, scores);
      if (lse) lse[(b * NH + h) * T_ + t] = l;
    }
  });
}

template <typename T>
void attention_backward(ThreadPool* pool, T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
                        const T* out, const T* lse, const int32_t* lengths, int64_t B, int64_t T_, int64_t NH,
                        int64_t NKV, int64_t HD) {
  const int64_t QD = NH * HD, KD = NKV * HD, rep = NH / NKV;
  const T scale = T(1) / std::sqrt(static_cast<T>(HD));
  parallel_for(pool, B * NKV, [&](int64_t task) {
    int64_t b = task / NKV, kh = task % NKV;
    for (int64_t t = 0; t < T_; ++t)
      for (int64_t d = 0; d < HD; ++d) {
        dk[(b * T_ + t) * KD + kh * HD + d] = 0;
        dv[(b * T_ + t) * KD + kh * HD + d] = 0;
      }
    std::vector<T> p(T_);
    for (int64_t h = kh * rep; h < (kh + 1) * rep; ++h) {
      for (int64_t t = 0; t < T_; ++t) {
        const int64_t qi = (b * T_ + t) * QD + h * HD;
        const T* qr = q + qi;
        const T* dor = dout + qi;
        const T* orow = out + qi;
        T* dqr = dq + qi;
        int64_t nkeys = key_count(t, lengths, b, T_);
        T l = lse[(b * NH + h) * T_ + t];
        T D = dot(dor, orow, HD);  // dO . O
        for (int64_t d = 0; d < HD; ++d) dqr[d] = 0;
        for (int64_t j = 0; j < nkeys; ++j) {
          const T* kr = k + (b * T_ + j) * KD + kh * HD;
          const T* vr = v + (b * T_ + j) * KD + kh * HD;
          T s = dot(qr, kr, HD), dp = dot(dor, vr, HD);
          T pj = std::exp(s * scale - l);
          T ds = pj * (dp - D) * scale;
          T* dkr = dk + (b * T_ + j) * KD + kh * HD;
          T* dvr = dv + (b * T_ + j) * KD + kh * HD;
          for (int64_t d = 0; d < HD; ++d) {
            dqr[d] += ds * kr[d];
            dkr[d] += ds * qr[d];
            dvr[d] += pj * dor[d];
          }
        }
      }
    }
  });
}

void attention_forward_cached(ThreadPool* pool, float* out, const float* q, const float* kcache, const float* vcache,
                              int64_t start, int64_t n, int64_t NH, int64_t NKV, int64_t HD) {
  const int64_t QD = NH * HD, KD = NKV * HD, rep = NH / NKV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  parallel_for(pool, NH, [&](int64_t h) {
    int64_t kh = h / rep;
    std::vector<float> scores;
    for (int64_t i = 0; i < n; ++i)
      attend_row<float>(out + i * QD + h * HD, q + i * QD + h * HD, kcache + kh * HD, vcache + kh * HD, KD,
                        start + i + 1, HD, scale, scores);
  });
}

template void attention_forward<float>(ThreadPool*, float*, float*, const float*, const float*, const float*,
                                       const int32_t*, int64_t, int64_t, int64_t, int64_t, int64_t);
template void attention_forward<double>(ThreadPool*, double*, double*, const double*, const double*, const double*,
                                        const int32_t*, int64_t, int64_t, int64_t, int64_t, int64_t);
template void attention_backward<float>(ThreadPool*, float*, float*, float*, const float*, const float*, const float*,
                                        const float*, const float*, const float*, const int32_t*, int64_t, int64_t,
                                        int64_t, int64_t, int64_t);
template void attention_backward<double>(ThreadPool*, double*, double*, double*, const double*, const double*,
                                         const double*, const double*, const double*, const double*, const int32_t*,
                                         int64_t, int64_t, int64_t, int64_t, int64_t);
}  // namespace loralab
