// ctest: every op's backward against central finite differences in double precision, and each
// op's fp32 path against its fp64 path. Legend: B rows, T seq, N = B*T tokens, C channels.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "error.h"
#include "grad_check.h"
#include "ops/attention.h"
#include "ops/cross_entropy.h"
#include "ops/embedding.h"
#include "ops/dropout.h"
#include "ops/lora.h"
#include "ops/lora_fused.h"
#include "ops/matmul.h"
#include "ops/residual_rmsnorm.h"
#include "ops/rmsnorm.h"
#include "ops/rope.h"
#include "ops/swiglu.h"
#include "test_util.h"
#include "threadpool.h"

using namespace loralab;
using gradcheck::fd_error;
using gradcheck::fill_uniform;
using V = std::vector<double>;

static std::vector<float> to_f(const V& v) { return std::vector<float>(v.begin(), v.end()); }
static const double kTol = 1e-6;  // relative FD error in double

static void test_rmsnorm(ThreadPool* pool) {
  const int64_t N = 5, C = 8;
  V x(N * C), w(C), wout(N * C), out(N * C), rstd(N);
  fill_uniform(x, 1), fill_uniform(w, 2, 0.5, 1.5), fill_uniform(wout, 3);
  auto objective = [&] {
    rmsnorm_forward<double>(nullptr, out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f);
    return gradcheck::dot(out, wout);
  };
  objective();
  V dx(N * C, 0), dw(C, 0);
  rmsnorm_backward<double>(nullptr, dx.data(), dw.data(), wout.data(), x.data(), w.data(), rstd.data(), N, C);
  CHECK(fd_error("rmsnorm dinp", x, dx, objective) < kTol);
  CHECK(fd_error("rmsnorm dweight", w, dw, objective) < kTol);
  auto xf = to_f(x), wf = to_f(w);
  std::vector<float> of(N * C), rf(N);
  rmsnorm_forward<float>(pool, of.data(), rf.data(), xf.data(), wf.data(), N, C, 1e-5f);
  objective();
  CHECK(gradcheck::max_abs_diff(of, out) < 1e-5);
}

// x_out = x + y, out = rmsnorm(x_out) * w; L = <out, w1> + <x_out, w2> (both outputs used downstream, as
// in the decoder: the norm feeds the next block, x_out the next residual).
static void test_residual_rmsnorm(ThreadPool* pool) {
  const int64_t N = 5, C = 13;  // C not a multiple of the 8 partial sums
  V x(N * C), y(N * C), w(C), w1(N * C), w2(N * C), xo(N * C), out(N * C), rstd(N);
  fill_uniform(x, 31), fill_uniform(y, 32), fill_uniform(w, 33, 0.5, 1.5), fill_uniform(w1, 34), fill_uniform(w2, 35);
  auto objective = [&] {
    residual_rmsnorm_forward<double>(nullptr, xo.data(), out.data(), rstd.data(), x.data(), y.data(), w.data(), N, C,
                                     1e-5f);
    return gradcheck::dot(out, w1) + gradcheck::dot(xo, w2);
  };
  objective();
  V dresid = w2, dw(C, 0);  // the gradient reaching x_out from above
  residual_rmsnorm_backward<double>(nullptr, dresid.data(), dw.data(), w1.data(), xo.data(), w.data(), rstd.data(), N, C);
  CHECK(fd_error("residual_rmsnorm dx", x, dresid, objective) < kTol);
  CHECK(fd_error("residual_rmsnorm dy", y, dresid, objective) < kTol);
  CHECK(fd_error("residual_rmsnorm dweight", w, dw, objective) < kTol);
  // fp32 path against fp64, written in place over y (x_out aliases an input, as the model calls it)
  auto xf = to_f(x), yf = to_f(y), wf = to_f(w);
  std::vector<float> of(N * C), rf(N);
  objective();
  residual_rmsnorm_forward<float>(pool, yf.data(), of.data(), rf.data(), xf.data(), yf.data(), wf.data(), N, C, 1e-5f);
  CHECK(gradcheck::max_abs_diff(yf, xo) < 1e-6);
  CHECK(gradcheck::max_abs_diff(of, out) < 1e-5);
  CHECK(gradcheck::max_abs_diff(rf, rstd) < 1e-5);
  std::vector<float> df = to_f(w2), dwf(C, 0.0f), w1f = to_f(w1);
  residual_rmsnorm_backward<float>(pool, df.data(), dwf.data(), w1f.data(), yf.data(), wf.data(), rf.data(), N, C);
  CHECK(gradcheck::max_abs_diff(df, dresid) < 1e-5);
  CHECK(gradcheck::max_abs_diff(dwf, dw) < 1e-5);
}

static void test_rope(ThreadPool* pool) {
  const int64_t N = 4, H = 2, HD = 6, P = 8;
  ModelConfig cfg;
  cfg.head_dim = HD;
  cfg.rope_theta = 10000.0f;
  std::vector<float> cf, sf;
  rope_tables(cf, sf, rope_inv_freq(cfg), P);
  V c(cf.begin(), cf.end()), s(sf.begin(), sf.end());
  std::vector<int32_t> pos = {0, 3, 5, 7};
  V x(N * H * HD), wout(N * H * HD);
  fill_uniform(x, 4), fill_uniform(wout, 5);
  auto objective = [&] {
    V y = x;
    rope_forward<double>(nullptr, y.data(), pos.data(), c.data(), s.data(), N, H, HD);
    return gradcheck::dot(y, wout);
  };
  V dx = wout;
  rope_backward<double>(nullptr, dx.data(), pos.data(), c.data(), s.data(), N, H, HD);
  CHECK(fd_error("rope dinp", x, dx, objective) < kTol);
  // position 0 is the identity, and rotate_half pairs i with i + HD/2
  V y = x;
  rope_forward<double>(nullptr, y.data(), pos.data(), c.data(), s.data(), N, H, HD);
  CHECK(gradcheck::max_abs_diff(std::vector<double>(y.begin(), y.begin() + H * HD),
                                std::vector<double>(x.begin(), x.begin() + H * HD)) == 0.0);
  double angle = 3.0 * 1.0;  // position 3, i = 0: inv_freq 1
  CHECK_NEAR(y[H * HD + 0], x[H * HD + 0] * std::cos(angle) - x[H * HD + 3] * std::sin(angle), 1e-6);
  auto xf = to_f(x);
  rope_forward<float>(pool, xf.data(), pos.data(), cf.data(), sf.data(), N, H, HD);
  CHECK(gradcheck::max_abs_diff(xf, y) < 1e-6);
}

static void test_attention(ThreadPool* pool) {
  const int64_t B = 2, T = 5, NH = 4, NKV = 2, HD = 3;
  const int64_t QD = NH * HD, KD = NKV * HD;
  std::vector<int32_t> lengths = {5, 3};
  V q(B * T * QD), k(B * T * KD), v(B * T * KD), wout(B * T * QD), out(B * T * QD), lse(B * NH * T);
  fill_uniform(q, 6), fill_uniform(k, 7), fill_uniform(v, 8), fill_uniform(wout, 9);
  auto objective = [&] {
    attention_forward<double>(nullptr, out.data(), lse.data(), q.data(), k.data(), v.data(), lengths.data(), B, T, NH,
                              NKV, HD);
    return gradcheck::dot(out, wout);
  };
  objective();
  V dq(q.size()), dk(k.size()), dv(v.size());
  attention_backward<double>(nullptr, dq.data(), dk.data(), dv.data(), wout.data(), q.data(), k.data(), v.data(),
                             out.data(), lse.data(), lengths.data(), B, T, NH, NKV, HD);
  CHECK(fd_error("attention dq", q, dq, objective) < kTol);
  CHECK(fd_error("attention dk", k, dk, objective) < kTol);
  CHECK(fd_error("attention dv", v, dv, objective) < kTol);
  // causality: query 0 of row 0 equals v of key 0 for its kv head (head 1 -> kv head 0)
  objective();
  CHECK_NEAR(out[1 * HD + 0], v[0], 1e-12);
  // padded keys are never seen: changing key 4 of row 1 (length 3) changes nothing
  V before = out;
  k[(1 * T + 4) * KD] += 1.0;
  v[(1 * T + 4) * KD] += 1.0;
  objective();
  CHECK(gradcheck::max_abs_diff(before, out) == 0.0);
  auto qf = to_f(q), kf = to_f(k), vf = to_f(v);
  std::vector<float> of(out.size()), lf(lse.size());
  attention_forward<float>(pool, of.data(), lf.data(), qf.data(), kf.data(), vf.data(), lengths.data(), B, T, NH, NKV,
                           HD);
  CHECK(gradcheck::max_abs_diff(of, out) < 1e-5);
  // the cached variant on row 0 equals the full forward
  std::vector<float> oc(T * QD);
  attention_forward_cached(pool, oc.data(), qf.data(), kf.data(), vf.data(), 0, T, NH, NKV, HD);
  CHECK(gradcheck::max_abs_diff(oc, std::vector<float>(of.begin(), of.begin() + T * QD)) < 1e-6);
  std::vector<float> oc2(2 * QD);  // the last two queries given a cache of 3 earlier positions (caller scratch)
  std::vector<float> cscratch(attention_cached_scratch_floats(3 + 2, NH), 9.0f);
  attention_forward_cached(pool, oc2.data(), qf.data() + 3 * QD, kf.data(), vf.data(), 3, 2, NH, NKV, HD, cscratch.data());
  CHECK(gradcheck::max_abs_diff(oc2, std::vector<float>(of.begin() + 3 * QD, of.begin() + T * QD)) < 1e-6);
}

// The tiled fp32 forward (what attention_forward<float> runs: 64-query tiles, GEMM scores, 8-lane exp)
// against the fp64 reference and the per-row fp32 kernel it replaced: several tiles and a partial
// one, GQA (B = 2: one head per task; B = 4: the group's 3 heads per task in turn), padded rows;
// HD 20 (values packed per product) and 48 (values read in place).
// Bound: the per-row fp32 kernel's own distance to fp64 (printed) sets the scale; the tiled one must
// stay within 2x of it plus 1e-6 (fp32 sums over up to 200 keys).
static void test_attention_tiled_forward(ThreadPool* pool, int64_t B, int64_t T = 150, int64_t HD = 20) {
  const int64_t NH = 6, NKV = 2, QD = NH * HD, KD = NKV * HD;
  V q(B * T * QD), k(B * T * KD), v(B * T * KD);
  fill_uniform(q, 51, -2, 2), fill_uniform(k, 52, -2, 2), fill_uniform(v, 53);
  std::vector<int32_t> lengths = {static_cast<int32_t>(T), 70, 64, 1};
  lengths.resize(B);
  auto qf = to_f(q), kf = to_f(k), vf = to_f(v);
  const V q64(qf.begin(), qf.end()), k64(kf.begin(), kf.end()), v64(vf.begin(), vf.end());
  V out(B * T * QD), lse(B * NH * T);
  attention_forward<double>(nullptr, out.data(), lse.data(), q64.data(), k64.data(), v64.data(), lengths.data(), B, T,
                            NH, NKV, HD);
  std::vector<float> of(out.size(), 7.0f), lf(lse.size(), 7.0f), ro(out.size()), rl(lse.size()), scores(T);
  attention_forward<float>(pool, of.data(), lf.data(), qf.data(), kf.data(), vf.data(), lengths.data(), B, T, NH, NKV,
                           HD);
  AttentionKernels plain = attention_kernels_generic();
  for (int64_t t = 0; t < B * NH; ++t)
    plain.forward(t, ro.data(), rl.data(), qf.data(), kf.data(), vf.data(), lengths.data(), B, T, NH, NKV, HD,
                  scores.data());
  const double row_out = gradcheck::max_abs_diff(ro, out), row_lse = gradcheck::max_abs_diff(rl, lse);
  const double tiled_out = gradcheck::max_abs_diff(of, out), tiled_lse = gradcheck::max_abs_diff(lf, lse);
  std::printf("attention forward (B %d, T %d, HD %d) vs fp64: tiled out %.2e lse %.2e, per-row out %.2e lse %.2e\n",
              static_cast<int>(B), static_cast<int>(T), static_cast<int>(HD), tiled_out, tiled_lse, row_out, row_lse);
  CHECK(tiled_out < 2 * row_out + 1e-6 && tiled_lse < 2 * row_lse + 1e-6);
  CHECK(tiled_out < 1e-5 && tiled_lse < 1e-5);
}

static void test_swiglu(ThreadPool* pool) {
  const int64_t N = 3, F = 7;
  V g(N * F), u(N * F), wout(N * F), out(N * F);
  fill_uniform(g, 10, -3, 3), fill_uniform(u, 11), fill_uniform(wout, 12);
  auto objective = [&] {
    swiglu_forward<double>(nullptr, out.data(), g.data(), u.data(), N, F);
    return gradcheck::dot(out, wout);
  };
  V dg(N * F), du(N * F);
  swiglu_backward<double>(nullptr, dg.data(), du.data(), wout.data(), g.data(), u.data(), N, F);
  CHECK(fd_error("swiglu dgate", g, dg, objective) < kTol);
  CHECK(fd_error("swiglu dup", u, du, objective) < kTol);
  objective();
  auto gf = to_f(g), uf = to_f(u);
  std::vector<float> of(N * F);
  swiglu_forward<float>(pool, of.data(), gf.data(), uf.data(), N, F);
  CHECK(gradcheck::max_abs_diff(of, out) < 1e-5);
}

// The fp32 SwiGLU (vector kernels with their own exp, this process's SIMD path) against fp64 libm on
// a long range: a tail shorter than a vector, a chunk boundary (8192), and gates out to +-100 where
// exp clamps. Bound: a few fp32 ulps of each output's magnitude (fp32 rounding of g, u and d itself
// is excluded: the reference reads the same fp32 values).
static void test_swiglu_kernels(ThreadPool* pool) {
  const int64_t N = 3, F = 3001, n = N * F;
  V g(n), u(n), d(n);
  fill_uniform(g, 14, -12, 12), fill_uniform(u, 15, -2, 2), fill_uniform(d, 16, -2, 2);
  const double extremes[] = {-100, -88, -87.5, -20, -1e-3, 0, 1e-3, 20, 87.5, 88, 100};
  for (size_t i = 0; i < sizeof(extremes) / sizeof(extremes[0]); ++i) g[n - 1 - 7 * i] = extremes[i];
  auto gf = to_f(g), uf = to_f(u), df = to_f(d);
  const V g64(gf.begin(), gf.end()), u64(uf.begin(), uf.end()), d64(df.begin(), df.end());
  V out(n), dg(n), du(n);
  swiglu_forward<double>(nullptr, out.data(), g64.data(), u64.data(), N, F);
  swiglu_backward<double>(nullptr, dg.data(), du.data(), d64.data(), g64.data(), u64.data(), N, F);
  std::vector<float> of(n), dgf(n), duf(n);
  swiglu_forward<float>(pool, of.data(), gf.data(), uf.data(), N, F);
  swiglu_backward<float>(pool, dgf.data(), duf.data(), df.data(), gf.data(), uf.data(), N, F);
  double worst = 0;  // error over (|reference| + 1e-30), in fp32 ulps (2^-23 relative)
  auto rel = [&](double a, double ref, double mag) { worst = std::max(worst, std::fabs(a - ref) / (mag * 1.1920929e-7 + 1e-37)); };
  for (int64_t i = 0; i < n; ++i) {
    rel(of[i], out[i], std::fabs(g64[i] * u64[i]));  // |silu(g) u| <= |g u|
    rel(duf[i], du[i], std::fabs(g64[i] * d64[i]));
    rel(dgf[i], dg[i], std::fabs(d64[i] * u64[i]) * (1 + 0.25 * std::fabs(g64[i])));  // |d silu/dg| <= 1.1
  }
  std::printf("swiglu fp32 kernels: worst error %.2f ulps of the output's scale\n", worst);
  CHECK(worst < 8);
}

static void test_cross_entropy(ThreadPool* pool) {
  const int64_t N = 4, Vv = 9;
  V logits(N * Vv), losses(N);
  fill_uniform(logits, 13, -4, 4);
  std::vector<int32_t> targets = {3, -100, 0, 8};
  auto objective = [&] {
    cross_entropy_forward<double>(nullptr, losses.data(), logits.data(), targets.data(), N, Vv);
    return losses[0] + losses[1] + losses[2] + losses[3];
  };
  objective();
  CHECK(losses[1] == 0.0);
  V dl(N * Vv);
  cross_entropy_backward<double>(nullptr, dl.data(), logits.data(), targets.data(), 1.0, N, Vv);
  CHECK(fd_error("cross_entropy dlogits", logits, dl, objective) < kTol);
  auto lf = to_f(logits);
  std::vector<float> lossf(N);
  cross_entropy_forward<float>(pool, lossf.data(), lf.data(), targets.data(), N, Vv);
  objective();
  CHECK(gradcheck::max_abs_diff(lossf, losses) < 1e-5);
  std::vector<int32_t> bad = {3, 9, 0, 1};
  bool threw = false;
  try {
    cross_entropy_forward<float>(pool, lossf.data(), lf.data(), bad.data(), N, Vv);
  } catch (const Error& e) {
    threw = e.code() == "E_TOKEN_RANGE";
  }
  CHECK(threw);
}

static void test_embedding(ThreadPool* pool) {
  const int64_t N = 5, C = 4, Vv = 6;
  V table(Vv * C), wout(N * C), out(N * C);
  fill_uniform(table, 14), fill_uniform(wout, 15);
  std::vector<int32_t> tokens = {1, 5, 1, 0, 3};
  auto objective = [&] {
    embedding_forward(out.data(), tokens.data(), table.data(), N, C, Vv);
    return gradcheck::dot(out, wout);
  };
  V dtable(Vv * C, 0);
  embedding_backward<double>(pool, dtable.data(), wout.data(), tokens.data(), N, C);
  CHECK(fd_error("embedding dtable", table, dtable, objective) < kTol);
}

static void test_linear_and_lora(ThreadPool* pool) {
  const int64_t N = 6, IC = 5, OC = 7, R = 2;
  V x(N * IC), W(OC * IC), b(OC), A(R * IC), Bm(OC * R), wout(N * OC), out(N * OC), u(N * R);
  fill_uniform(x, 16), fill_uniform(W, 17), fill_uniform(b, 18), fill_uniform(A, 19), fill_uniform(Bm, 20);
  fill_uniform(wout, 21);
  const double scale = 1.5;
  auto objective = [&] {
    linear_forward(out.data(), x.data(), W.data(), b.data(), N, IC, OC);
    lora_forward(out.data(), u.data(), x.data(), A.data(), Bm.data(), scale, N, IC, OC, R);
    return gradcheck::dot(out, wout);
  };
  objective();
  V dx(N * IC, 0), dW(OC * IC, 0), db(OC, 0), dA(R * IC, 0), dB(OC * R, 0), du(N * R);
  linear_backward(dx.data(), dW.data(), db.data(), wout.data(), x.data(), W.data(), N, IC, OC);
  lora_backward(dx.data(), dA.data(), dB.data(), du.data(), wout.data(), x.data(), u.data(), A.data(), Bm.data(),
                scale, N, IC, OC, R);
  CHECK(fd_error("linear+lora dinp", x, dx, objective) < kTol);
  CHECK(fd_error("linear dweight", W, dW, objective) < kTol);
  CHECK(fd_error("linear dbias", b, db, objective) < kTol);
  CHECK(fd_error("lora dA", A, dA, objective) < kTol);
  CHECK(fd_error("lora dB", Bm, dB, objective) < kTol);
  // fp32 (threaded, SIMD) path == fp64 reference
  auto xf = to_f(x), Wf = to_f(W), bf = to_f(b), Af = to_f(A), Bf = to_f(Bm), wf = to_f(wout);
  std::vector<float> of(N * OC), uf(N * R), dxf(N * IC, 0), dWf(OC * IC, 0), dbf(OC, 0), dAf(R * IC, 0), dBf(OC * R, 0),
      duf(N * R);
  linear_forward(pool, of.data(), xf.data(), f32_view(Wf.data()), bf.data(), N, IC, OC);
  lora_forward(pool, of.data(), uf.data(), xf.data(), Af.data(), Bf.data(), static_cast<float>(scale), N, IC, OC, R);
  linear_backward(pool, dxf.data(), dWf.data(), dbf.data(), wf.data(), xf.data(), f32_view(Wf.data()), N, IC, OC);
  lora_backward(pool, dxf.data(), dAf.data(), dBf.data(), duf.data(), wf.data(), xf.data(), uf.data(), Af.data(),
                Bf.data(), static_cast<float>(scale), N, IC, OC, R);
  objective();
  CHECK(gradcheck::max_abs_diff(of, out) < 1e-5);
  CHECK(gradcheck::max_abs_diff(dxf, dx) < 1e-5);
  CHECK(gradcheck::max_abs_diff(dWf, dW) < 1e-5);
  CHECK(gradcheck::max_abs_diff(dbf, db) < 1e-5);
  CHECK(gradcheck::max_abs_diff(dAf, dA) < 1e-5);
  CHECK(gradcheck::max_abs_diff(dBf, dB) < 1e-5);
}

// The engine's LoRA path with dropout (lora_fused_*) against the fp64 reference of out += scale *
// (x*M) A^T B^T, M the dropout's kept/(1-p) factors read off dropout_forward of ones; the reference's
// gradients (x, A, B) against central differences. N spans two 256-row dropout blocks.
static void test_lora_fused_dropout(ThreadPool* pool) {
  const int64_t N = 300, IC = 9, OC = 6, R = 3;
  const float p = 0.3f;
  std::vector<int64_t> ids(N);
  std::vector<int32_t> pos(N);
  for (int64_t n = 0; n < N; ++n) ids[n] = n / 100, pos[n] = static_cast<int32_t>(n % 100);
  const DropoutKey key{42, 7, 19, ids.data(), pos.data()};
  std::vector<float> ones(N * IC, 1.0f), maskf(N * IC);
  dropout_forward(nullptr, maskf.data(), ones.data(), key, p, N, IC);
  V M(maskf.begin(), maskf.end()), x(N * IC), A(R * IC), Bm(OC * R), wout(N * OC), out(N * OC), u(N * R), xd(N * IC);
  fill_uniform(x, 61), fill_uniform(A, 62), fill_uniform(Bm, 63), fill_uniform(wout, 64);
  const double scale = 0.75;
  auto objective = [&] {
    for (int64_t i = 0; i < N * IC; ++i) xd[i] = x[i] * M[i];
    std::fill(out.begin(), out.end(), 0.0);
    lora_forward(out.data(), u.data(), xd.data(), A.data(), Bm.data(), scale, N, IC, OC, R);
    return gradcheck::dot(out, wout);
  };
  objective();
  V dxd(N * IC, 0), dA(R * IC, 0), dB(OC * R, 0), du(N * R), dx(N * IC);
  lora_backward(dxd.data(), dA.data(), dB.data(), du.data(), wout.data(), xd.data(), u.data(), A.data(), Bm.data(),
                scale, N, IC, OC, R);
  for (int64_t i = 0; i < N * IC; ++i) dx[i] = dxd[i] * M[i];
  V xs(x.begin(), x.begin() + 2 * IC), dxs(dx.begin(), dx.begin() + 2 * IC);  // two rows suffice for dx
  auto partial = [&] {
    std::copy(xs.begin(), xs.end(), x.begin());
    return objective();
  };
  CHECK(fd_error("lora+dropout dinp (2 rows)", xs, dxs, partial) < kTol);
  CHECK(fd_error("lora+dropout dA", A, dA, objective) < kTol);
  CHECK(fd_error("lora+dropout dB", Bm, dB, objective) < kTol);
  objective();
  auto xf = to_f(x), Af = to_f(A), Bf = to_f(Bm), wf = to_f(wout);
  std::vector<float> of(N * OC, 0.0f), suf(N * R), dxf(N * IC, 0.0f), dAf(R * IC, 0.0f), dBf(OC * R, 0.0f), duf(N * R);
  std::vector<float> tile(lora_dropout_block_rows(N) * IC);
  std::vector<uint8_t> mask(tile.size());
  const LoraDropout drop{key, p, tile.data(), mask.data()};
  lora_fused_forward(pool, of.data(), suf.data(), xf.data(), Af.data(), Bf.data(), static_cast<float>(scale), N, IC, OC,
                     R, &drop);
  lora_fused_backward(pool, dxf.data(), dAf.data(), dBf.data(), duf.data(), wf.data(), xf.data(), suf.data(), Af.data(),
                      Bf.data(), static_cast<float>(scale), N, IC, OC, R, &drop);
  V su(u);
  for (double& v : su) v *= scale;
  CHECK(gradcheck::max_abs_diff(of, out) < 1e-5);
  CHECK(gradcheck::max_abs_diff(suf, su) < 1e-5);
  CHECK(gradcheck::max_abs_diff(dxf, dx) < 1e-5);
  CHECK(gradcheck::max_abs_diff(dAf, dA) < 1e-4);  // sums over 300 rows
  CHECK(gradcheck::max_abs_diff(dBf, dB) < 1e-4);
}

int main() {
  ThreadPool pool(2);
  test_rmsnorm(&pool);
  test_residual_rmsnorm(&pool);
  test_rope(&pool);
  test_attention(&pool);
  test_attention_tiled_forward(&pool, 2);
  test_attention_tiled_forward(&pool, 4);
  test_attention_tiled_forward(&pool, 4, 200, 48);  // values read in place, a diagonal in every tile
  test_swiglu(&pool);
  test_swiglu_kernels(&pool);
  test_cross_entropy(&pool);
  test_embedding(&pool);
  test_linear_and_lora(&pool);
  test_lora_fused_dropout(&pool);
  return test_summary("test_ops_grad");
}
