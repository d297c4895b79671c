// LoRA on a quantized base trains: a two-layer linear student (frozen base + rank-4 LoRA on both
// layers, Adam) fits a teacher whose weights are the fp32 base plus a rank-2 delta, once with the fp32
// base and once with NF4 / NF4-dq bases through quant_linear_forward / _backward_input.
// Legend: N tokens, C input features, H hidden features, O outputs, R LoRA rank.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "quant/quant.h"
#include "test_util.h"
#include "threadpool.h"

using namespace loralab;

namespace {

constexpr int64_t N = 96, C = 64, H = 48, O = 32, R = 4;
constexpr float kScale = 2.0f;  // lora_alpha / r = 8 / 4

std::vector<float> normal(int64_t n, uint64_t seed, float stddev) {
  std::vector<float> v(static_cast<size_t>(n));
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 7;
  auto next = [&] {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return (static_cast<double>(s >> 11) + 0.5) / 9007199254740992.0;
  };
  for (auto& x : v) x = static_cast<float>(stddev * std::sqrt(-2 * std::log(next())) * std::cos(2 * M_PI * next()));
  return v;
}

// C (M, Nc) (+)= A (M, K) . B^T, B (Nc, K); or with trans_b false, B (K, Nc).
void mm(float* Cm, const float* A, const float* B, int64_t M, int64_t Nc, int64_t K, bool trans_b, bool acc,
        float alpha = 1.0f) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t j = 0; j < Nc; ++j) {
      float s = 0;
      for (int64_t k = 0; k < K; ++k) s += A[m * K + k] * (trans_b ? B[j * K + k] : B[k * Nc + j]);
      Cm[m * Nc + j] = (acc ? Cm[m * Nc + j] : 0.0f) + alpha * s;
    }
}
// C (M, Nc) += alpha * A^T . B with A (K, M), B (K, Nc).
void mm_tn(float* Cm, const float* A, const float* B, int64_t M, int64_t Nc, int64_t K, float alpha) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t j = 0; j < Nc; ++j) {
      float s = 0;
      for (int64_t k = 0; k < K; ++k) s += A[k * M + m] * B[k * Nc + j];
      Cm[m * Nc + j] += alpha * s;
    }
}

struct Base {  // frozen weight (OUT, IN): fp32 or quantized
  const std::vector<float>* w = nullptr;
  const QuantizedWeight* q = nullptr;
  int64_t out = 0, in = 0;
  void forward(ThreadPool* pool, float* y, const float* x) const {
    if (q) quant_linear_forward(pool, y, x, *q, nullptr, N);
    else mm(y, x, w->data(), N, out, in, true, false);
  }
  void backward_input(ThreadPool* pool, float* dx, const float* dy) const {  // dx += dy . W
    if (q) quant_linear_backward_input(pool, dx, dy, *q, N, true);
    else mm(dx, dy, w->data(), N, in, out, false, true);
  }
};

struct Lora {  // A (R, IN), B (OUT, R) and Adam moments
  std::vector<float> A, B, gA, gB, mA, vA, mB, vB;
  Lora(int64_t out, int64_t in, uint64_t seed)
      : A(normal(R * in, seed, 1.0f / std::sqrt(float(in)))), B(out * R, 0.0f), gA(R * in), gB(out * R),
        mA(R * in), vA(R * in), mB(out * R), vB(out * R) {}
};

void adam(std::vector<float>& p, const std::vector<float>& g, std::vector<float>& m, std::vector<float>& v, int t) {
  const float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f;
  for (size_t i = 0; i < p.size(); ++i) {
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    const float mh = m[i] / (1 - std::pow(b1, t)), vh = v[i] / (1 - std::pow(b2, t));
    p[i] -= lr * mh / (std::sqrt(vh) + 1e-8f);
  }
}

// Trains both LoRA pairs for `steps` Adam steps; returns {initial loss, final loss}.
std::pair<double, double> train(const Base& b1, const Base& b2, const std::vector<float>& x,
                                const std::vector<float>& target, int steps, ThreadPool* pool) {
  Lora l1(H, C, 11), l2(O, H, 12);
  std::vector<float> u1(N * R), h(N * H), u2(N * R), y(N * O), dy(N * O), dh(N * H), du(N * R);
  double first = 0, last = 0;
  for (int t = 1; t <= steps + 1; ++t) {
    b1.forward(pool, h.data(), x.data());                            // h = x W1^T
    mm(u1.data(), x.data(), l1.A.data(), N, R, C, true, false);       //   + s (x A1^T) B1^T
    mm(h.data(), u1.data(), l1.B.data(), N, H, R, true, true, kScale);
    b2.forward(pool, y.data(), h.data());
    mm(u2.data(), h.data(), l2.A.data(), N, R, H, true, false);
    mm(y.data(), u2.data(), l2.B.data(), N, O, R, true, true, kScale);
    double loss = 0;
    for (int64_t i = 0; i < N * O; ++i) {
      const double d = double(y[i]) - target[i];
      loss += d * d / (N * O);
      dy[i] = static_cast<float>(2 * d / (N * O));
    }
    if (t == 1) first = loss;
    last = loss;
    if (t == steps + 1) break;
    // layer 2: dB2 = s dy^T u2, du2 = s dy B2, dA2 = du2^T h, dh = dy W2 + du2 A2
    std::fill(l2.gB.begin(), l2.gB.end(), 0.0f);
    std::fill(l2.gA.begin(), l2.gA.end(), 0.0f);
    mm_tn(l2.gB.data(), dy.data(), u2.data(), O, R, N, kScale);
    mm(du.data(), dy.data(), l2.B.data(), N, R, O, false, false, kScale);
    mm_tn(l2.gA.data(), du.data(), h.data(), R, H, N, 1.0f);
    mm(dh.data(), du.data(), l2.A.data(), N, H, R, false, false);
    b2.backward_input(pool, dh.data(), dy.data());
    // layer 1 (its input gradient is not needed)
    std::fill(l1.gB.begin(), l1.gB.end(), 0.0f);
    std::fill(l1.gA.begin(), l1.gA.end(), 0.0f);
    mm_tn(l1.gB.data(), dh.data(), u1.data(), H, R, N, kScale);
    mm(du.data(), dh.data(), l1.B.data(), N, R, H, false, false, kScale);
    mm_tn(l1.gA.data(), du.data(), x.data(), R, C, N, 1.0f);
    adam(l1.A, l1.gA, l1.mA, l1.vA, t);
    adam(l1.B, l1.gB, l1.mB, l1.vB, t);
    adam(l2.A, l2.gA, l2.mA, l2.vA, t);
    adam(l2.B, l2.gB, l2.mB, l2.vB, t);
  }
  return {first, last};
}

}  // namespace

int main() {
  std::vector<float> w1 = normal(H * C, 1, 1.0f / std::sqrt(float(C))), w2 = normal(O * H, 2, 1.0f / std::sqrt(float(H)));
  // teacher = base + rank-2 deltas (what LoRA of rank 4 can represent exactly on an fp32 base)
  std::vector<float> t1(w1), t2(w2);
  std::vector<float> p1 = normal(H * 2, 3, 0.3f), q1 = normal(2 * C, 4, 0.3f), p2 = normal(O * 2, 5, 0.3f),
                     q2 = normal(2 * H, 6, 0.3f);
  mm(t1.data(), p1.data(), q1.data(), H, C, 2, false, true);
  mm(t2.data(), p2.data(), q2.data(), O, H, 2, false, true);
  std::vector<float> x = normal(N * C, 7, 1.0f), th(N * H), target(N * O);
  mm(th.data(), x.data(), t1.data(), N, H, C, true, false);
  mm(target.data(), th.data(), t2.data(), N, O, H, true, false);

  ThreadPool pool(2);
  const int steps = 300;
  Base f1{&w1, nullptr, H, C}, f2{&w2, nullptr, O, H};
  auto fp32 = train(f1, f2, x, target, steps, &pool);
  std::printf("fp32 base: loss %.5f -> %.6f\n", fp32.first, fp32.second);
  CHECK(fp32.second < 0.01 * fp32.first);
  for (bool dq : {false, true}) {
    QuantizedWeight q1w = quantize(w1.data(), H, C, QuantType::NF4, dq), q2w = quantize(w2.data(), O, H, QuantType::NF4, dq);
    Base n1{nullptr, &q1w, H, C}, n2{nullptr, &q2w, O, H};
    // Loss floor without learning: the teacher's exact deltas on the quantized bases.
    std::vector<float> d1(H * C), d2(O * H), hq(N * H), yq(N * O);
    dequantize_rows(d1.data(), q1w, 0, H);
    dequantize_rows(d2.data(), q2w, 0, O);
    for (int64_t i = 0; i < H * C; ++i) d1[i] += t1[i] - w1[i];
    for (int64_t i = 0; i < O * H; ++i) d2[i] += t2[i] - w2[i];
    mm(hq.data(), x.data(), d1.data(), N, H, C, true, false);
    mm(yq.data(), hq.data(), d2.data(), N, O, H, true, false);
    double floor = 0;
    for (int64_t i = 0; i < N * O; ++i) floor += (double(yq[i]) - target[i]) * (double(yq[i]) - target[i]) / (N * O);
    auto nf4 = train(n1, n2, x, target, steps, &pool);
    std::printf("nf4%s base: loss %.5f -> %.6f (teacher deltas on the quantized base: %.6f; fp32 base %.6f)\n",
                dq ? "-dq" : "", nf4.first, nf4.second, floor, fp32.second);
    // Starts where the fp32 run starts (up to the quantization error), and ends at or below the loss of
    // the exact teacher deltas on the quantized base (LoRA also absorbs part of the quantization error).
    CHECK(std::fabs(nf4.first / fp32.first - 1) < 0.1);
    CHECK(nf4.second <= floor * 1.05);
    CHECK(nf4.second < 0.05 * nf4.first);
  }
  return test_summary("test_quant_lora_train");
}
