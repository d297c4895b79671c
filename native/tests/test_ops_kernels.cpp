// ctest: GEMM kernels of every instruction set the CPU has (odd sizes, fp32 and bf16 weights)
// against a double reference; the tiled attention backward against the per-pair kernel; bitwise
// equality for 1 vs 2 threads; AdamW / SGD against torch's formulas; dropout statistics and
// reproducibility; the fused residual + RMSNorm and the engine's LoRA path (lora_fused) against the
// unfused ops. Legend: M, N, K GEMM dims.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "dtype.h"
#include "grad_check.h"
#include "ops/adamw.h"
#include "ops/attention.h"
#include "ops/dropout.h"
#include "ops/lora.h"
#include "ops/lora_fused.h"
#include "ops/matmul.h"
#include "ops/residual.h"
#include "ops/residual_rmsnorm.h"
#include "ops/rmsnorm.h"
#include "ops/sgd.h"
#include "rng.h"
#include "test_util.h"
#include "simd_path.h"
#include "threadpool.h"

using namespace loralab;
using gradcheck::fill_uniform;

// WeightTiles (the 4-bit weights fill the panels through a callback): nt_tiles / nn_tiles equal nt / xn
// on the same fp32 weight bitwise, over several K slices, a partial panel and partial row tiles.
struct RowMajor {
  const float* p;
  int64_t cols;
};
static void copy_tile(const void* ctx, float* dst, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const RowMajor& w = *static_cast<const RowMajor*>(ctx);
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t c = c0; c < c1; ++c) *dst++ = w.p[r * w.cols + c];
}
static void check_tiles(const char* name, GemmKernels kern) {
  const int64_t M = 37, N = 77, K = 300;
  std::vector<float> A(M * K), Bnt(N * K), Bkn(K * N);
  fill_uniform(A, 5), fill_uniform(Bnt, 6), fill_uniform(Bkn, 7);
  const RowMajor nt_w{Bnt.data(), K}, kn_w{Bkn.data(), N};
  int differing = 0;
  for (int acc = 0; acc < 2; ++acc) {
    std::vector<float> want(M * N, 0.5f), got(M * N, 0.5f);
    kern.nt(want.data(), A.data(), f32_view(Bnt.data()), M, N, K, acc, 0, M, 0, N);
    kern.nt_tiles(got.data(), A.data(), WeightTiles{&copy_tile, &nt_w}, M, N, K, acc, 0, M, 0, N);
    differing += std::memcmp(want.data(), got.data(), want.size() * 4) != 0;
    std::fill(want.begin(), want.end(), 0.5f), std::fill(got.begin(), got.end(), 0.5f);
    kern.xn(want.data(), A.data(), K, 1, f32_view(Bkn.data()), M, N, K, acc, 0, M, 0, N);
    kern.nn_tiles(got.data(), A.data(), WeightTiles{&copy_tile, &kn_w}, M, N, K, acc, 0, M, 0, N);
    differing += std::memcmp(want.data(), got.data(), want.size() * 4) != 0;
  }
  std::printf("  gemm %-8s WeightTiles vs fp32 weight: %d/4 products differ\n", name, differing);
  CHECK(differing == 0);
}

static void check_kernels(const char* name, GemmKernels kern) {
  const int64_t M = 37, N = 45, K = 53;  // not multiples of any tile
  std::vector<float> A(M * K), Bnt(N * K), Bkn(K * N), At(K * M);
  fill_uniform(A, 1), fill_uniform(Bnt, 2), fill_uniform(Bkn, 3), fill_uniform(At, 4);
  std::vector<uint16_t> Bnt16(N * K), Bkn16(K * N);
  for (size_t i = 0; i < Bnt.size(); ++i) Bnt16[i] = f32_to_bf16(Bnt[i]), Bnt[i] = bf16_to_f32(Bnt16[i]);
  for (size_t i = 0; i < Bkn.size(); ++i) Bkn16[i] = f32_to_bf16(Bkn[i]), Bkn[i] = bf16_to_f32(Bkn16[i]);
  std::vector<double> ref_nt(M * N), ref_nn(M * N), ref_tn(M * N);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double a = 0, b = 0, c = 0;
      for (int64_t k = 0; k < K; ++k) {
        a += static_cast<double>(A[m * K + k]) * Bnt[n * K + k];
        b += static_cast<double>(A[m * K + k]) * Bkn[k * N + n];
        c += static_cast<double>(At[k * M + m]) * Bkn[k * N + n];
      }
      ref_nt[m * N + n] = a, ref_nn[m * N + n] = b, ref_tn[m * N + n] = c;
    }
  std::vector<float> C(M * N);
  double worst = 0;
  for (int bf = 0; bf < 2; ++bf) {
    WeightView bnt = bf ? WeightView{Bnt16.data(), DType::BF16} : f32_view(Bnt.data());
    WeightView bkn = bf ? WeightView{Bkn16.data(), DType::BF16} : f32_view(Bkn.data());
    kern.nt(C.data(), A.data(), bnt, M, N, K, false, 0, M, 0, N);
    worst = std::fmax(worst, gradcheck::max_abs_diff(C, ref_nt));
    kern.xn(C.data(), A.data(), K, 1, bkn, M, N, K, false, 0, M, 0, N);
    worst = std::fmax(worst, gradcheck::max_abs_diff(C, ref_nn));
    kern.xn(C.data(), At.data(), 1, M, bkn, M, N, K, false, 0, M, 0, N);
    worst = std::fmax(worst, gradcheck::max_abs_diff(C, ref_tn));
    // accumulate adds onto what is there
    std::vector<float> C2(M * N, 1.0f);
    kern.nt(C2.data(), A.data(), bnt, M, N, K, true, 0, M, 0, N);
    for (size_t i = 0; i < C2.size(); ++i) worst = std::fmax(worst, std::fabs(C2[i] - 1.0 - ref_nt[i]));
  }
  std::printf("  gemm %-8s max abs err vs double %.3e\n", name, worst);
  CHECK(worst < 1e-4);
  check_tiles(name, kern);
}

static void test_threads_bitwise() {
  const int64_t M = 130, N = 150, K = 70;
  std::vector<float> A(M * K), B(N * K), C1(M * N), C2(M * N), T1(N * K), T2(N * K);
  fill_uniform(A, 5), fill_uniform(B, 6);
  ThreadPool one(1), two(2);
  matmul_nt(&one, C1.data(), A.data(), f32_view(B.data()), M, N, K, false);
  matmul_nt(&two, C2.data(), A.data(), f32_view(B.data()), M, N, K, false);
  CHECK(C1 == C2);
  std::vector<float> row(N);  // one row alone (decode) == the same row inside a full tile, bitwise
  matmul_nt(&two, row.data(), A.data() + 5 * K, f32_view(B.data()), 1, N, K, false);
  CHECK(std::equal(row.begin(), row.end(), C1.begin() + 5 * N));
  matmul_tn(&one, T1.data(), C1.data(), A.data(), N, K, M, false);
  matmul_tn(&two, T2.data(), C2.data(), A.data(), N, K, M, false);
  CHECK(T1 == T2);
}

static void test_adamw() {
  // two steps by hand with torch.optim.AdamW's formulas, in double
  std::vector<float> p = {0.5f, -1.0f, 2.0f}, m(3, 0), v(3, 0);
  std::vector<float> g1 = {0.1f, -0.2f, 0.3f}, g2 = {-0.05f, 0.4f, 0.0f};
  std::vector<double> pr(p.begin(), p.end()), mr(3, 0), vr(3, 0);
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
  for (int step = 1; step <= 2; ++step) {
    const auto& g = step == 1 ? g1 : g2;
    AdamWHyper h;
    h.lr = lr, h.beta1 = b1, h.beta2 = b2, h.eps = eps, h.weight_decay = wd, h.step = step;
    adamw_update(nullptr, p.data(), m.data(), v.data(), g.data(), 3, h);
    for (int i = 0; i < 3; ++i) {
      pr[i] *= 1 - lr * wd;
      mr[i] = b1 * mr[i] + (1 - b1) * g[i];
      vr[i] = b2 * vr[i] + (1 - b2) * g[i] * g[i];
      double mhat = mr[i] / (1 - std::pow(b1, step)), vhat = vr[i] / (1 - std::pow(b2, step));
      pr[i] -= lr * mhat / (std::sqrt(vhat) + eps);
    }
  }
  for (int i = 0; i < 3; ++i) CHECK_NEAR(p[i], pr[i], 1e-6);
}

static void test_sgd() {
  std::vector<float> p = {1.0f, -2.0f}, buf(2, 0);
  std::vector<float> g = {0.5f, 0.25f};
  SgdHyper h;
  h.lr = 0.1f, h.momentum = 0.9f, h.weight_decay = 0.01f, h.first_step = true;
  sgd_update(nullptr, p.data(), buf.data(), g.data(), 2, h);
  // torch: d = g + wd*p; buf = d; p -= lr*buf
  double d0 = 0.5 + 0.01 * 1.0, p0 = 1.0 - 0.1 * d0;
  CHECK_NEAR(p[0], p0, 1e-7);
  h.first_step = false;
  sgd_update(nullptr, p.data(), buf.data(), g.data(), 2, h);
  double d1 = 0.5 + 0.01 * p0, b1 = 0.9 * d0 + d1;
  CHECK_NEAR(p[0], p0 - 0.1 * b1, 1e-6);
}

static void test_dropout() {
  const int64_t B = 2, T = 50, C = 40;
  std::vector<float> x(B * T * C, 1.0f), y(B * T * C), y2(B * T * C);
  std::vector<int64_t> ids(B * T);
  std::vector<int32_t> pos(B * T);
  for (int64_t n = 0; n < B * T; ++n) ids[n] = n < T ? 7 : 9, pos[n] = static_cast<int32_t>(n % T);
  DropoutKey key{1337, 3, 17, ids.data(), pos.data()};
  ThreadPool pool(2);
  dropout_forward(&pool, y.data(), x.data(), key, 0.25f, B * T, C);
  dropout_forward(nullptr, y2.data(), x.data(), key, 0.25f, B * T, C);
  CHECK(y == y2);
  double kept = 0, mean = 0;
  for (float f : y) kept += f != 0.0f, mean += f;
  kept /= y.size(), mean /= y.size();
  std::printf("  dropout p=0.25: kept %.3f, mean %.3f\n", kept, mean);
  CHECK(std::fabs(kept - 0.75) < 0.03);
  CHECK(std::fabs(mean - 1.0) < 0.05);
  key.step = 4;  // another step gives another mask
  dropout_forward(&pool, y2.data(), x.data(), key, 0.25f, B * T, C);
  CHECK(y != y2);
  // backward applies the same mask: sum(dy * dropout(x)) == sum(dropout^T(dy) * x)
  key.step = 3;
  std::vector<float> dx(B * T * C, 0.0f), dy(B * T * C);
  fill_uniform(dy, 8);
  dropout_backward(&pool, dx.data(), dy.data(), key, 0.25f, B * T, C);
  double lhs = 0, rhs = 0;
  for (size_t i = 0; i < dy.size(); ++i) lhs += dy[i] * y[i], rhs += dx[i] * x[i];
  CHECK_NEAR(lhs, rhs, 1e-3);
  // every build of the vectorized row kernel == the scalar definition keep <=> rng_uniform01(h) >= p,
  // element by element, assigning and accumulating, for p at and between representable steps (C not a
  // multiple of 8)
  const int64_t C2 = 1003;
  std::vector<float> src(C2), ref(C2), got(C2);
  std::vector<uint8_t> ref_keep(C2);
  fill_uniform(src, 9);
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  int mismatches = 0;
  for (float pr : {0.05f, 0.1f, 0.25f, 0.5f, 1e-7f, 0.999f, 3.0f / 16777216.0f}) {
    for (uint64_t row_key : {uint64_t(1), uint64_t(0x9e3779b97f4a7c15ull), dropout_row_key(key, 5)}) {
      const float ks = 1.0f / (1.0f - pr);
      for (int64_t i = 0; i < C2; ++i) {
        ref_keep[i] = rng_uniform01(splitmix64(row_key ^ static_cast<uint64_t>(i))) >= pr;
        ref[i] = ref_keep[i] ? src[i] * ks : 0.0f;
      }
      const uint64_t threshold = static_cast<uint64_t>(std::ceil(static_cast<double>(pr) * 16777216.0));
      for (DropoutRowKernel kern : {dropout_kernel_generic(), dropout_kernel_avx2(), dropout_kernel_avx512()}) {
        if ((kern == dropout_kernel_avx2() && !avx2) || (kern == dropout_kernel_avx512() && !avx512)) continue;
        std::vector<float> ones(C2, 1.0f);  // accumulate onto 1.0f: 1 + v, v rounded first
        kern(ones.data(), nullptr, src.data(), row_key, C2, threshold, ks, true);
        for (int64_t i = 0; i < C2; ++i) mismatches += ones[i] != 1.0f + ref[i];
        std::vector<uint8_t> keep(C2);
        kern(got.data(), keep.data(), src.data(), row_key, C2, threshold, ks, false);
        mismatches += got != ref || keep != ref_keep;
      }
      dropout_row(got.data(), nullptr, src.data(), row_key, C2, pr, false);  // the dispatched one
      mismatches += got != ref;
    }
  }
  CHECK(mismatches == 0);
}

// residual_rmsnorm_forward (in place, as the model calls it) == residual_add then rmsnorm_forward,
// bitwise, for 1 and 2 threads; rmsnorm_apply with the saved rstd == the forward's output, bitwise;
// the fused backward == rmsnorm_backward accumulated into the residual gradient, bitwise.
static void test_residual_rmsnorm_fused() {
  const int64_t N = 37, C = 299;  // rows past a 16-row task, channels past a multiple of 8
  std::vector<float> x(N * C), y(N * C), w(C), g(N * C), d0(N * C);
  fill_uniform(x, 51), fill_uniform(y, 52), fill_uniform(w, 53, 0.5, 1.5), fill_uniform(g, 54), fill_uniform(d0, 55);
  ThreadPool one(1), two(2);
  std::vector<float> ref_x = x, ref_out(N * C), ref_rstd(N);
  residual_add<float>(&one, ref_x.data(), y.data(), N * C);
  rmsnorm_forward<float>(&one, ref_out.data(), ref_rstd.data(), ref_x.data(), w.data(), N, C, 1e-6f);
  for (ThreadPool* pool : {&one, &two}) {
    std::vector<float> xo = x, out(N * C), rstd(N);
    residual_rmsnorm_forward<float>(pool, xo.data(), out.data(), rstd.data(), xo.data(), y.data(), w.data(), N, C, 1e-6f);
    CHECK(xo == ref_x);
    CHECK(out == ref_out);
    CHECK(rstd == ref_rstd);
    std::vector<float> applied(N * C);
    rmsnorm_apply<float>(pool, applied.data(), xo.data(), w.data(), rstd.data(), N, C);
    CHECK(applied == ref_out);
  }
  std::vector<float> ref_d = d0, ref_dw(C, 0.0f);
  rmsnorm_backward<float>(&one, ref_d.data(), ref_dw.data(), g.data(), ref_x.data(), w.data(), ref_rstd.data(), N, C);
  std::vector<float> d = d0, dw(C, 0.0f);
  residual_rmsnorm_backward<float>(&two, d.data(), dw.data(), g.data(), ref_x.data(), w.data(), ref_rstd.data(), N, C);
  CHECK(d == ref_d);
  CHECK(dw == ref_dw);
}

// lora_fused_* == dropout_forward + lora_forward and lora_backward + dropout_backward on the same
// mask: bitwise for out, su (= scale * u), dB, du and dinp; dA (summed over 256-row blocks) within
// 1e-6 relative; without dropout everything bitwise; 1 and 2 threads bitwise.
static void test_lora_fused() {
  const int64_t N = 600, IC = 77, OC = 50, R = 8;  // three dropout blocks, the last partial
  const float scale = 2.0f, p = 0.2f;
  std::vector<int64_t> ids(N);
  std::vector<int32_t> pos(N);
  for (int64_t n = 0; n < N; ++n) ids[n] = 3 + n / 200, pos[n] = static_cast<int32_t>(n % 200);
  const DropoutKey key{1337, 5, 35, ids.data(), pos.data()};
  std::vector<float> x(N * IC), A(R * IC), B(OC * R), dout(N * OC), out0(N * OC), dinp0(N * IC);
  fill_uniform(x, 71), fill_uniform(A, 72), fill_uniform(B, 73), fill_uniform(dout, 74), fill_uniform(out0, 75);
  fill_uniform(dinp0, 76);
  ThreadPool one(1), two(2);
  for (bool with_dropout : {true, false}) {
    // unfused
    std::vector<float> xd = x, out = out0, u(N * R), dA(R * IC, 0.0f), dB(OC * R, 0.0f), du(N * R), dxd(N * IC, 0.0f);
    std::vector<float> dinp = dinp0;
    if (with_dropout) dropout_forward(&two, xd.data(), x.data(), key, p, N, IC);
    lora_forward(&two, out.data(), u.data(), xd.data(), A.data(), B.data(), scale, N, IC, OC, R);
    lora_backward(&two, with_dropout ? dxd.data() : dinp.data(), dA.data(), dB.data(), du.data(), dout.data(), xd.data(),
                  u.data(), A.data(), B.data(), scale, N, IC, OC, R);
    if (with_dropout) dropout_backward(&two, dinp.data(), dxd.data(), key, p, N, IC);
    std::vector<float> su = u;
    for (float& v : su) v *= scale;
    std::vector<std::vector<float>> runs;
    for (ThreadPool* pool : {&one, &two}) {
      std::vector<float> fout = out0, fsu(N * R), fdA(R * IC, 0.0f), fdB(OC * R, 0.0f), fdu(N * R), fdinp = dinp0;
      std::vector<float> tile(lora_dropout_block_rows(N) * IC, 5.0f);
      std::vector<uint8_t> mask(tile.size(), 1);
      const LoraDropout drop{key, p, tile.data(), mask.data()};
      lora_fused_forward(pool, fout.data(), fsu.data(), x.data(), A.data(), B.data(), scale, N, IC, OC, R,
                         with_dropout ? &drop : nullptr);
      lora_fused_backward(pool, fdinp.data(), fdA.data(), fdB.data(), fdu.data(), dout.data(), x.data(), fsu.data(),
                          A.data(), B.data(), scale, N, IC, OC, R, with_dropout ? &drop : nullptr);
      CHECK(fout == out);
      CHECK(fsu == su);
      CHECK(fdB == dB);
      CHECK(fdu == du);
      CHECK(fdinp == dinp);
      double worst = 0, top = 0;
      for (size_t i = 0; i < dA.size(); ++i) worst = std::fmax(worst, std::fabs(fdA[i] - dA[i])), top = std::fmax(top, std::fabs(dA[i]));
      CHECK(worst <= 1e-6 * top);
      if (!with_dropout) CHECK(fdA == dA);
      std::vector<float> all = fout;
      all.insert(all.end(), fdA.begin(), fdA.end());
      all.insert(all.end(), fdinp.begin(), fdinp.end());
      runs.push_back(all);
    }
    CHECK(runs[0] == runs[1]);
  }
}

// The plain and AVX2 builds of the attention kernels agree (the dispatched one is also checked
// against fp64 in test_ops_grad).
static void check_attention_builds() {
  const int64_t B = 2, T = 7, NH = 4, NKV = 2, HD = 12, QD = NH * HD, KD = NKV * HD;
  std::vector<float> q(B * T * QD), k(B * T * KD), v(B * T * KD), dout(B * T * QD);
  fill_uniform(q, 31), fill_uniform(k, 32), fill_uniform(v, 33), fill_uniform(dout, 34);
  std::vector<int32_t> lengths = {7, 4};
  double worst = 0;
  std::vector<std::vector<float>> outs;
  for (AttentionKernels kern : {attention_kernels_generic(), attention_kernels_avx2()}) {
    std::vector<float> out(B * T * QD), lse(B * NH * T), dq(q.size()), dk(k.size()), dv(v.size()), scores(T);
    for (int64_t t = 0; t < B * NH; ++t)
      kern.forward(t, out.data(), lse.data(), q.data(), k.data(), v.data(), lengths.data(), B, T, NH, NKV, HD, scores.data());
    for (int64_t t = 0; t < B * NKV; ++t)
      kern.backward(t, dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(), out.data(),
                    lse.data(), lengths.data(), B, T, NH, NKV, HD);
    std::vector<float> all = out;
    all.insert(all.end(), dq.begin(), dq.end());
    all.insert(all.end(), dk.begin(), dk.end());
    all.insert(all.end(), dv.begin(), dv.end());
    outs.push_back(all);
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) break;
  }
  if (outs.size() == 2) worst = gradcheck::max_abs_diff(outs[0], outs[1]);
  std::printf("  attention plain vs avx2 builds: max abs diff %.2e\n", worst);
  CHECK(worst < 1e-5);
}

// The tiled fp32 backward (what the engine runs) against the per-pair plain kernel: several 64-row
// tiles and a partial one, GQA, padded rows (the second row's length ends inside a tile); and bitwise
// equal for 1 and 2 threads. HD 20 packs the values per product; HD 48 reads them in place.
static void check_attention_tiled(int64_t T, int64_t HD, int32_t len2) {
  const int64_t B = 2, NH = 6, NKV = 2, QD = NH * HD, KD = NKV * HD;
  std::vector<float> q(B * T * QD), k(B * T * KD), v(B * T * KD), dout(B * T * QD);
  fill_uniform(q, 41), fill_uniform(k, 42), fill_uniform(v, 43), fill_uniform(dout, 44);
  std::vector<int32_t> lengths = {static_cast<int32_t>(T), len2};
  std::vector<float> out(B * T * QD), lse(B * NH * T);
  attention_forward<float>(nullptr, out.data(), lse.data(), q.data(), k.data(), v.data(), lengths.data(), B, T, NH,
                           NKV, HD);
  std::vector<float> rq(q.size()), rk(k.size()), rv(v.size());
  AttentionKernels plain = attention_kernels_generic();
  for (int64_t t = 0; t < B * NKV; ++t)
    plain.backward(t, rq.data(), rk.data(), rv.data(), dout.data(), q.data(), k.data(), v.data(), out.data(),
                   lse.data(), lengths.data(), B, T, NH, NKV, HD);
  std::vector<float> dq1(q.size(), 7.0f), dk1(k.size(), 7.0f), dv1(v.size(), 7.0f);  // fully overwritten
  std::vector<float> dq2(q.size()), dk2(k.size()), dv2(v.size());
  ThreadPool one(1), two(2);
  attention_backward<float>(&one, dq1.data(), dk1.data(), dv1.data(), dout.data(), q.data(), k.data(), v.data(),
                            out.data(), lse.data(), lengths.data(), B, T, NH, NKV, HD);
  // the engine's way: a caller-owned scratch of the advertised size, holding garbage from an earlier use
  std::vector<float> scratch(attention_backward_scratch_floats(B, T, NH, NKV, HD), 9.0f);
  attention_backward<float>(&two, dq2.data(), dk2.data(), dv2.data(), dout.data(), q.data(), k.data(), v.data(),
                            out.data(), lse.data(), lengths.data(), B, T, NH, NKV, HD, scratch.data());
  double worst = std::fmax(gradcheck::max_abs_diff(dq1, rq),
                           std::fmax(gradcheck::max_abs_diff(dk1, rk), gradcheck::max_abs_diff(dv1, rv)));
  std::printf("  attention backward tiled vs per-pair (T %d, HD %d): max abs diff %.2e\n", static_cast<int>(T),
              static_cast<int>(HD), worst);
  CHECK(worst < 1e-5);
  CHECK(dq1 == dq2 && dk1 == dk2 && dv1 == dv2);
  std::vector<float> out2(out.size()), lse2(lse.size()), fscratch(attention_forward_scratch_floats(B, T, NH, NKV, HD), 9.0f);
  attention_forward<float>(&two, out2.data(), lse2.data(), q.data(), k.data(), v.data(), lengths.data(), B, T, NH, NKV,
                           HD, fscratch.data());
  CHECK(out2 == out && lse2 == lse);
  double padded = 0;  // keys past a row's length get no gradient
  for (int64_t t = len2; t < T; ++t)
    for (int64_t d = 0; d < KD; ++d) padded = std::fmax(padded, std::fabs(dk1[(T + t) * KD + d]) + std::fabs(dv1[(T + t) * KD + d]));
  CHECK(padded == 0.0);
}

// The tiled fp32 forward and backward against the fp64 reference over edge shapes: one row and one
// key, head dims from 8 to 128 (whole vectors read in place, partial ones packed), T below, at and
// past one 64-row tile, GQA and multi-query, rows padded to other lengths; the caller's scratch is
// NaN-filled, so a value read before it is written shows.
static void check_attention_shapes() {
  struct Shape {
    int64_t B, T, NH, NKV, HD;
  };
  double worst = 0;
  for (const Shape c : {Shape{1, 1, 1, 1, 16}, Shape{2, 2, 4, 2, 8}, Shape{3, 17, 6, 3, 80}, Shape{2, 64, 2, 1, 64},
                        Shape{1, 65, 3, 3, 48}, Shape{2, 129, 8, 2, 128}, Shape{4, 300, 9, 3, 64}}) {
    const int64_t B = c.B, T = c.T, NH = c.NH, NKV = c.NKV, HD = c.HD;
    std::vector<float> q(B * T * NH * HD), k(B * T * NKV * HD), v(k.size()), dout(q.size());
    fill_uniform(q, 61, -2, 2), fill_uniform(k, 62, -2, 2), fill_uniform(v, 63, -2, 2), fill_uniform(dout, 64, -2, 2);
    std::vector<int32_t> lengths(B);
    for (int64_t b = 0; b < B; ++b) lengths[b] = static_cast<int32_t>(b == 0 ? T : std::max<int64_t>(1, T * (b + 1) / (B + 2)));
    std::vector<float> out(q.size()), lse(B * NH * T), dq(q.size()), dk(k.size()), dv(v.size());
    std::vector<float> fs(attention_forward_scratch_floats(B, T, NH, NKV, HD), NAN);
    std::vector<float> bs(attention_backward_scratch_floats(B, T, NH, NKV, HD), NAN);
    ThreadPool two(2);
    attention_forward<float>(&two, out.data(), lse.data(), q.data(), k.data(), v.data(), lengths.data(), B, T, NH, NKV,
                             HD, fs.data());
    attention_backward<float>(&two, dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(),
                              out.data(), lse.data(), lengths.data(), B, T, NH, NKV, HD, bs.data());
    auto wide = [](const std::vector<float>& x) { return std::vector<double>(x.begin(), x.end()); };
    const auto q6 = wide(q), k6 = wide(k), v6 = wide(v), do6 = wide(dout);
    std::vector<double> o6(out.size()), l6(lse.size()), dq6(dq.size()), dk6(dk.size()), dv6(dv.size());
    attention_forward<double>(nullptr, o6.data(), l6.data(), q6.data(), k6.data(), v6.data(), lengths.data(), B, T,
                              NH, NKV, HD);
    attention_backward<double>(nullptr, dq6.data(), dk6.data(), dv6.data(), do6.data(), q6.data(), k6.data(),
                               v6.data(), o6.data(), l6.data(), lengths.data(), B, T, NH, NKV, HD);
    for (auto [got, want] : {std::pair{&out, &o6}, {&lse, &l6}, {&dq, &dq6}, {&dk, &dk6}, {&dv, &dv6}})
      for (size_t i = 0; i < got->size(); ++i) {
        const double d = std::fabs((*got)[i] - (*want)[i]);
        worst = std::isnan(d) ? INFINITY : std::fmax(worst, d);
      }
  }
  std::printf("  attention tiled vs fp64 over 7 edge shapes (inputs in [-2, 2]): max abs diff %.2e\n", worst);
  CHECK(worst < 2e-5);
}

int main() {
  std::printf("gemm path: %s\n", simd_path_name(simd_path()));
  check_kernels("scalar", gemm_kernels_generic());
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) check_kernels("avx2", gemm_kernels_avx2());
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq"))
    check_kernels("avx512", gemm_kernels_avx512());
  check_attention_builds();
  check_attention_tiled(150, 20, 70);
  check_attention_tiled(200, 48, 137);
  check_attention_shapes();
  test_threads_bitwise();
  test_adamw();
  test_sgd();
  test_dropout();
  test_residual_rmsnorm_fused();
  test_lora_fused();
  return test_summary("test_ops_kernels");
}
