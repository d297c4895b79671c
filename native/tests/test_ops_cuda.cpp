// ctest (label cuda): every CUDA op against the CPU reference of native/src/ops on random inputs,
// printing the worst difference per tensor. bf16 outputs must match within rtol 2^-7 plus an atol
// of 1/500 of the tensor's largest magnitude (bf16 keeps 8 significant bits); fp32 outputs of
// reductions within 1e-4 relative; gathers, scatters, optimizer updates and NF4/FP4 dequantization
// bitwise. Also: allocator accounting and its out-of-memory error, shape errors, determinism.
// Without a CUDA build or without a device it prints why and exits 77 (skipped).
#include <cstdio>

#ifndef LORALAB_WITH_CUDA
int main() {
  std::printf("test_ops_cuda: skipped: this build has no CUDA (configure with -DLORALAB_CUDA=ON and nvcc)\n");
  return 77;
}
#else
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda_ops.h"
#include "cuda_test.h"
#include "ops/adamw.h"
#include "ops/attention.h"
#include "ops/cross_entropy.h"
#include "ops/embedding.h"
#include "ops/lora.h"
#include "ops/matmul.h"
#include "ops/residual.h"
#include "ops/rmsnorm.h"
#include "ops/rope.h"
#include "ops/sgd.h"
#include "ops/swiglu.h"
#include "quant/quant.h"
#include "quant_cuda.h"
#include "test_util.h"

using namespace loralab;
using namespace loralab::cuda_test;

namespace {
std::mt19937 rng(1234);

Vec random_vec(size_t n, float scale, bool bf16_exact = true) {
  std::normal_distribution<float> d(0.0f, scale);
  Vec v(n);
  for (auto& x : v) x = bf16_exact ? round_bf16(d(rng)) : d(rng);
  return v;
}

void test_embedding() {
  std::printf("embedding\n");
  const int64_t N = 37, C = 300, V = 50;
  Vec table = random_vec(V * C, 1.0f);
  std::vector<int32_t> tokens(N);
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % V);
  tokens[5] = tokens[9] = tokens[20];  // repeated ids in the scatter
  auto table_bits = bits_of(table);
  Vec cpu_out(N * C);
  embedding_forward(nullptr, cpu_out.data(), tokens.data(), WeightView{table_bits.data(), DType::BF16}, N, C, V);
  Dev *dt = up_bf16(table), *dtok = up_i32(tokens), out(2 * N * C);
  cuda::embedding_forward(out.b(), dtok->i(), dt->b(), N, C, V, stream);
  compare_exact("embedding_forward out", down_bf16(out.p, N * C), cpu_out);

  Vec dout = random_vec(N * C, 1.0f), dtable = random_vec(V * C, 0.1f, false);
  Dev* ddtable = up_f32(dtable);
  Dev* ddout = up_bf16(dout);
  embedding_backward<float>(nullptr, dtable.data(), dout.data(), tokens.data(), N, C);
  cuda::embedding_backward(ddtable->f(), ddout->b(), dtok->i(), N, C, V, stream);
  compare_exact("embedding_backward dtable", down_f32(ddtable->p, V * C), dtable);
  delete dt; delete dtok; delete ddtable; delete ddout;
}

void test_rmsnorm() {
  std::printf("rmsnorm\n");
  const int64_t N = 33, C = 520;
  Vec inp = random_vec(N * C, 2.0f), weight = random_vec(C, 1.0f);
  Vec out(N * C), rstd(N);
  rmsnorm_forward<float>(nullptr, out.data(), rstd.data(), inp.data(), weight.data(), N, C, 1e-5f);
  Dev *di = up_bf16(inp), *dw = up_bf16(weight), dout_(2 * N * C), drstd(4 * N);
  cuda::rmsnorm_forward(dout_.b(), drstd.f(), di->b(), dw->b(), N, C, 1e-5f, stream);
  compare_bf16("rmsnorm_forward out", down_bf16(dout_.p, N * C), out);
  compare_f32("rmsnorm_forward rstd", down_f32(drstd.p, N), rstd);

  Vec dout = random_vec(N * C, 1.0f), dinp = random_vec(N * C, 0.5f), dweight = random_vec(C, 0.5f, false);
  Dev *ddo = up_bf16(dout), *ddi = up_bf16(dinp), *ddw = up_f32(dweight), *dr = up_f32(rstd);
  rmsnorm_backward<float>(nullptr, dinp.data(), dweight.data(), dout.data(), inp.data(), weight.data(), rstd.data(), N,
                          C);
  cuda::rmsnorm_backward(ddi->b(), ddw->f(), ddo->b(), di->b(), dw->b(), dr->f(), N, C, stream);
  compare_bf16("rmsnorm_backward dinp", down_bf16(ddi->p, N * C), dinp);
  compare_f32("rmsnorm_backward dweight", down_f32(ddw->p, C), dweight);
  delete di; delete dw; delete ddo; delete ddi; delete ddw; delete dr;
}

void test_rope() {
  std::printf("rope\n");
  const int64_t N = 29, H = 3, HD = 48, P = 64;
  std::vector<float> inv_freq(HD / 2), cos_t, sin_t;
  for (int64_t i = 0; i < HD / 2; ++i) inv_freq[i] = static_cast<float>(1.0 / std::pow(10000.0, 2.0 * i / HD));
  rope_tables(cos_t, sin_t, inv_freq, P);
  std::vector<int32_t> pos(N);
  for (auto& p : pos) p = static_cast<int32_t>(rng() % P);
  Vec x = random_vec(N * H * HD, 1.0f);
  Dev *dx = up_bf16(x), *dp = up_i32(pos), *dc = up_f32(cos_t), *ds = up_f32(sin_t);
  rope_forward<float>(nullptr, x.data(), pos.data(), cos_t.data(), sin_t.data(), N, H, HD);
  cuda::rope_forward(dx->b(), dp->i(), dc->f(), ds->f(), N, H, HD, stream);
  compare_bf16("rope_forward x", down_bf16(dx->p, N * H * HD), x);
  Vec g = random_vec(N * H * HD, 1.0f);
  Dev* dg = up_bf16(g);
  rope_backward<float>(nullptr, g.data(), pos.data(), cos_t.data(), sin_t.data(), N, H, HD);
  cuda::rope_backward(dg->b(), dp->i(), dc->f(), ds->f(), N, H, HD, stream);
  compare_bf16("rope_backward dx", down_bf16(dg->p, N * H * HD), g);
  delete dx; delete dp; delete dc; delete ds; delete dg;
}

void test_swiglu_residual() {
  std::printf("swiglu, residual\n");
  const int64_t N = 17, F = 333;
  Vec gate = random_vec(N * F, 2.0f), up = random_vec(N * F, 1.0f), out(N * F);
  swiglu_forward<float>(nullptr, out.data(), gate.data(), up.data(), N, F);
  Dev *dgt = up_bf16(gate), *dup = up_bf16(up), dout(2 * N * F);
  cuda::swiglu_forward(dout.b(), dgt->b(), dup->b(), N, F, stream);
  compare_bf16("swiglu_forward out", down_bf16(dout.p, N * F), out);
  Vec g = random_vec(N * F, 1.0f), dgate(N * F), dupv(N * F);
  swiglu_backward<float>(nullptr, dgate.data(), dupv.data(), g.data(), gate.data(), up.data(), N, F);
  Dev *dg = up_bf16(g), ddg(2 * N * F), ddu(2 * N * F);
  cuda::swiglu_backward(ddg.b(), ddu.b(), dg->b(), dgt->b(), dup->b(), N, F, stream);
  compare_bf16("swiglu_backward dgate", down_bf16(ddg.p, N * F), dgate);
  compare_bf16("swiglu_backward dup", down_bf16(ddu.p, N * F), dupv);
  Vec x = random_vec(N * F, 1.0f), y = random_vec(N * F, 1.0f);
  Dev *dx = up_bf16(x), *dy = up_bf16(y);
  residual_add<float>(nullptr, x.data(), y.data(), N * F);
  cuda::residual_add(dx->b(), dy->b(), N * F, stream);
  Vec x_rounded = x;
  for (auto& v : x_rounded) v = round_bf16(v);  // one fp32 add rounded once: exactly the CPU sum in bf16
  compare_exact("residual_add x", down_bf16(dx->p, N * F), x_rounded);
  delete dgt; delete dup; delete dg; delete dx; delete dy;
}

void test_matmul_lora() {
  std::printf("matmul, linear, lora\n");
  const int64_t N = 67, IC = 130, OC = 45, R = 8;
  Vec inp = random_vec(N * IC, 1.0f), weight = random_vec(OC * IC, 0.1f), bias = random_vec(OC, 0.5f);
  auto wbits = bits_of(weight);
  const WeightView wv{wbits.data(), DType::BF16};
  Vec out(N * OC);
  linear_forward(nullptr, out.data(), inp.data(), wv, bias.data(), N, IC, OC);
  Dev *di = up_bf16(inp), *dw = up_bf16(weight), *db = up_bf16(bias), dout_(2 * N * OC);
  cuda::linear_forward(dout_.b(), di->b(), dw->b(), db->b(), N, IC, OC, stream);
  compare_bf16("linear_forward out", down_bf16(dout_.p, N * OC), out);

  Vec dout = random_vec(N * OC, 1.0f), dinp = random_vec(N * IC, 0.5f), dweight = random_vec(OC * IC, 0.5f, false);
  Vec dbias = random_vec(OC, 0.5f, false);
  Dev *ddo = up_bf16(dout), *ddi = up_bf16(dinp), *ddw = up_f32(dweight), *ddb = up_f32(dbias);
  linear_backward(nullptr, dinp.data(), dweight.data(), dbias.data(), dout.data(), inp.data(), wv, N, IC, OC);
  cuda::linear_backward(ddi->b(), ddw->f(), ddb->f(), ddo->b(), di->b(), dw->b(), N, IC, OC, stream);
  compare_bf16("linear_backward dinp", down_bf16(ddi->p, N * IC), dinp);
  compare_f32("linear_backward dweight", down_f32(ddw->p, OC * IC), dweight);
  compare_f32("linear_backward dbias", down_f32(ddb->p, OC), dbias);

  // fp32 GEMMs of the three layouts with a long K
  const int64_t M = 70, NN = 90, K = 1000;
  Vec a = random_vec(M * K, 1.0f, false), bnt = random_vec(NN * K, 1.0f, false), bnn = random_vec(K * NN, 1.0f, false);
  Vec at = random_vec(K * M, 1.0f, false);
  Dev *da = up_f32(a), *dbnt = up_f32(bnt), *dbnn = up_f32(bnn), *dat = up_f32(at), dc(4 * M * NN);
  Vec c(M * NN);
  matmul_nt(nullptr, c.data(), a.data(), f32_view(bnt.data()), M, NN, K, false);
  cuda::matmul_nt<float, float, float>(dc.f(), da->f(), dbnt->f(), M, NN, K, false, stream);
  compare_f32("matmul_nt fp32", down_f32(dc.p, M * NN), c);
  matmul_nn(nullptr, c.data(), a.data(), f32_view(bnn.data()), M, NN, K, false);
  cuda::matmul_nn<float, float, float>(dc.f(), da->f(), dbnn->f(), M, NN, K, false, stream);
  compare_f32("matmul_nn fp32", down_f32(dc.p, M * NN), c);
  matmul_tn(nullptr, c.data(), at.data(), bnn.data(), M, NN, K, false);
  cuda::matmul_tn<float, float, float>(dc.f(), dat->f(), dbnn->f(), M, NN, K, false, stream);
  compare_f32("matmul_tn fp32", down_f32(dc.p, M * NN), c);
  Vec first = down_f32(dc.p, M * NN);
  cuda::matmul_tn<float, float, float>(dc.f(), dat->f(), dbnn->f(), M, NN, K, false, stream);
  compare_exact("matmul_tn repeat (determinism)", down_f32(dc.p, M * NN), first);

  // bf16 x bf16 GEMMs (the tensor-core path) over several 128 x 128 tiles, fp32 out, all three layouts
  {
    const int64_t M2 = 300, N2 = 260, K2 = 520;
    Vec a2 = random_vec(M2 * K2, 1.0f), bt = random_vec(N2 * K2, 1.0f), bn = random_vec(K2 * N2, 1.0f);
    Vec at2 = random_vec(K2 * M2, 1.0f), c2(M2 * N2);
    auto bt_bits = bits_of(bt), bn_bits = bits_of(bn);
    Dev *da2 = up_bf16(a2), *dbt = up_bf16(bt), *dbn = up_bf16(bn), *dat2 = up_bf16(at2), dc2(4 * M2 * N2);
    matmul_nt(nullptr, c2.data(), a2.data(), WeightView{bt_bits.data(), DType::BF16}, M2, N2, K2, false);
    cuda::matmul_nt<float, bf16, bf16>(dc2.f(), da2->b(), dbt->b(), M2, N2, K2, false, stream);
    compare_f32("matmul_nt bf16 (300x260x520)", down_f32(dc2.p, M2 * N2), c2);
    matmul_nn(nullptr, c2.data(), a2.data(), WeightView{bn_bits.data(), DType::BF16}, M2, N2, K2, false);
    cuda::matmul_nn<float, bf16, bf16>(dc2.f(), da2->b(), dbn->b(), M2, N2, K2, false, stream);
    compare_f32("matmul_nn bf16", down_f32(dc2.p, M2 * N2), c2);
    matmul_tn(nullptr, c2.data(), at2.data(), bn.data(), M2, N2, K2, false);
    cuda::matmul_tn<float, bf16, bf16>(dc2.f(), dat2->b(), dbn->b(), M2, N2, K2, false, stream);
    compare_f32("matmul_tn bf16", down_f32(dc2.p, M2 * N2), c2);
    Vec again = down_f32(dc2.p, M2 * N2);
    cuda::matmul_tn<float, bf16, bf16>(dc2.f(), dat2->b(), dbn->b(), M2, N2, K2, false, stream);
    compare_exact("matmul_tn bf16 repeat", down_f32(dc2.p, M2 * N2), again);
    delete da2; delete dbt; delete dbn; delete dat2;
  }

  // LoRA: out += s (xd A^T) B^T and its backward
  const float scale = 2.0f;
  Vec A = random_vec(R * IC, 0.1f, false), B = random_vec(OC * R, 0.1f, false), base = random_vec(N * OC, 1.0f);
  Vec u(N * R), lo = base;
  lora_forward(nullptr, lo.data(), u.data(), inp.data(), A.data(), B.data(), scale, N, IC, OC, R);
  Dev *dA = up_f32(A), *dB = up_f32(B), *dlo = up_bf16(base), du(4 * N * R);
  cuda::lora_forward(dlo->b(), du.f(), di->b(), dA->f(), dB->f(), scale, N, IC, OC, R, stream);
  compare_f32("lora_forward u", down_f32(du.p, N * R), u);
  compare_bf16("lora_forward out", down_bf16(dlo->p, N * OC), lo);
  Vec gA = random_vec(R * IC, 0.1f, false), gB = random_vec(OC * R, 0.1f, false), gx = random_vec(N * IC, 0.5f);
  Vec gu(N * R);
  Dev *dgA = up_f32(gA), *dgB = up_f32(gB), *dgx = up_bf16(gx), *du_cpu = up_f32(u), dgu(4 * N * R);
  lora_backward(nullptr, gx.data(), gA.data(), gB.data(), gu.data(), dout.data(), inp.data(), u.data(), A.data(),
                B.data(), scale, N, IC, OC, R);
  cuda::lora_backward(dgx->b(), dgA->f(), dgB->f(), dgu.f(), ddo->b(), di->b(), du_cpu->f(), dA->f(), dB->f(), scale, N,
                      IC, OC, R, stream);
  compare_f32("lora_backward du", down_f32(dgu.p, N * R), gu);
  compare_f32("lora_backward dA", down_f32(dgA->p, R * IC), gA);
  compare_f32("lora_backward dB", down_f32(dgB->p, OC * R), gB);
  compare_bf16("lora_backward dxd", down_bf16(dgx->p, N * IC), gx);
  for (Dev* d : {di, dw, db, ddo, ddi, ddw, ddb, da, dbnt, dbnn, dat, dA, dB, dlo, dgA, dgB, dgx, du_cpu}) delete d;
}

void test_attention(int64_t B, int64_t T, int64_t NH, int64_t NKV, int64_t HD, bool padded) {
  std::printf("attention B=%lld T=%lld NH=%lld NKV=%lld HD=%lld %s\n", (long long)B, (long long)T, (long long)NH,
              (long long)NKV, (long long)HD, padded ? "padded" : "full");
  const int64_t QD = NH * HD, KD = NKV * HD;
  Vec q = random_vec(B * T * QD, 1.0f), k = random_vec(B * T * KD, 1.0f), v = random_vec(B * T * KD, 1.0f);
  std::vector<int32_t> lengths(B, static_cast<int32_t>(T));
  if (padded) lengths[0] = static_cast<int32_t>(T / 2 + 1);
  const int32_t* lcpu = padded ? lengths.data() : nullptr;
  Vec out(B * T * QD), lse(B * NH * T);
  attention_forward<float>(nullptr, out.data(), lse.data(), q.data(), k.data(), v.data(), lcpu, B, T, NH, NKV, HD);
  Dev *dq = up_bf16(q), *dk = up_bf16(k), *dv = up_bf16(v), *dl = up_i32(lengths), dout_(2 * out.size()),
      dlse(4 * lse.size());
  const int32_t* lgpu = padded ? dl->i() : nullptr;
  cuda::attention_forward(dout_.b(), dlse.f(), dq->b(), dk->b(), dv->b(), lgpu, B, T, NH, NKV, HD, stream);
  Vec gout = down_bf16(dout_.p, out.size()), glse = down_f32(dlse.p, lse.size());
  compare_bf16("attention_forward out", gout, out);
  compare_f32("attention_forward lse", glse, lse);
  // backward from the same (gpu) out and lse on both sides, so only the backward kernels are compared
  Vec g = random_vec(out.size(), 1.0f), gq(q.size()), gk(k.size()), gv(v.size());
  attention_backward<float>(nullptr, gq.data(), gk.data(), gv.data(), g.data(), q.data(), k.data(), v.data(),
                            gout.data(), glse.data(), lcpu, B, T, NH, NKV, HD);
  Dev *dg = up_bf16(g), dgq(2 * q.size()), dgk(2 * k.size()), dgv(2 * v.size());
  cuda::attention_backward(dgq.b(), dgk.b(), dgv.b(), dg->b(), dq->b(), dk->b(), dv->b(), dout_.b(), dlse.f(), lgpu, B,
                           T, NH, NKV, HD, stream);
  Vec first = down_bf16(dgk.p, k.size());
  compare_bf16("attention_backward dq", down_bf16(dgq.p, q.size()), gq);
  compare_bf16("attention_backward dk", first, gk);
  compare_bf16("attention_backward dv", down_bf16(dgv.p, v.size()), gv);
  cuda::attention_backward(dgq.b(), dgk.b(), dgv.b(), dg->b(), dq->b(), dk->b(), dv->b(), dout_.b(), dlse.f(), lgpu, B,
                           T, NH, NKV, HD, stream);
  compare_exact("attention_backward repeat", down_bf16(dgk.p, k.size()), first);
  delete dq; delete dk; delete dv; delete dl; delete dg;
}

void test_cross_entropy() {
  std::printf("cross_entropy\n");
  const int64_t N = 9, V = 5003;
  Vec logits = random_vec(N * V, 3.0f);
  std::vector<int32_t> targets(N);
  for (auto& t : targets) t = static_cast<int32_t>(rng() % V);
  targets[2] = targets[7] = kIgnoreIndex;
  Vec losses(N), dlogits(N * V);
  cross_entropy_forward<float>(nullptr, losses.data(), logits.data(), targets.data(), N, V);
  Dev *dlg = up_bf16(logits), *dt = up_i32(targets), dls(4 * N);
  cuda::cross_entropy_forward(dls.f(), dlg->b(), dt->i(), N, V, stream);
  compare(  "cross_entropy_forward losses", down_f32(dls.p, N), losses, 1e-5, 1e-5);
  const float dloss = 1.0f / 7;
  cross_entropy_backward<float>(nullptr, dlogits.data(), logits.data(), targets.data(), dloss, N, V);
  cuda::cross_entropy_backward(dlg->b(), dlg->b(), dt->i(), dloss, N, V, stream);  // in place, as the model does
  compare_bf16("cross_entropy_backward dlogits", down_bf16(dlg->p, N * V), dlogits);
  delete dlg; delete dt;
}

void test_optimizers() {
  std::printf("adamw, sgd\n");
  const int64_t n = 10007;
  Vec p = random_vec(n, 1.0f, false), m(n, 0.0f), v(n, 0.0f);
  Dev *dp = up_f32(p), *dm = up_f32(m), *dv = up_f32(v);
  AdamWHyper h;
  h.lr = 1e-3f;
  h.weight_decay = 0.01f;
  h.grad_scale = 0.5f;
  for (int step = 1; step <= 3; ++step) {
    Vec g = random_vec(n, 1.0f, false);
    Dev* dg = up_f32(g);
    h.step = step;
    adamw_update(nullptr, p.data(), m.data(), v.data(), g.data(), n, h);
    cuda::adamw_update(dp->f(), dm->f(), dv->f(), dg->f(), n, h, stream);
    delete dg;
  }
  compare_exact("adamw param (3 steps)", down_f32(dp->p, n), p);
  compare_exact("adamw m", down_f32(dm->p, n), m);
  compare_exact("adamw v", down_f32(dv->p, n), v);
  Vec sp = random_vec(n, 1.0f, false), buf(n, 0.0f);
  Dev *dsp = up_f32(sp), *dbuf = up_f32(buf);
  SgdHyper s;
  s.lr = 0.1f;
  s.weight_decay = 0.01f;
  for (int step = 0; step < 3; ++step) {
    Vec g = random_vec(n, 1.0f, false);
    Dev* dg = up_f32(g);
    s.first_step = step == 0;
    sgd_update(nullptr, sp.data(), buf.data(), g.data(), n, s);
    cuda::sgd_update(dsp->f(), dbuf->f(), dg->f(), n, s, stream);
    delete dg;
  }
  compare_exact("sgd param (3 steps)", down_f32(dsp->p, n), sp);
  compare_exact("sgd momentum buffer", down_f32(dbuf->p, n), buf);
  delete dp; delete dm; delete dv; delete dsp; delete dbuf;
}

void test_dequant(QuantType type, bool dq, int64_t OC, int64_t IC) {
  Vec w = random_vec(OC * IC, 0.05f, false);
  QuantizedWeight q = quantize(w.data(), OC, IC, type, dq);
  cuda::QuantWeightDevice d = cuda::upload_quantized(alloc, q, stream);
  const int64_t r0 = 3, n = OC - 5;
  Vec cpu(n * IC), cpu_bf16(n * IC);
  dequantize_rows(cpu.data(), q, r0, n);
  for (size_t i = 0; i < cpu.size(); ++i) cpu_bf16[i] = round_bf16(cpu[i]);
  Dev of(4 * n * IC), ob(2 * n * IC);
  cuda::dequantize_rows(of.f(), d, r0, n, stream);
  cuda::dequantize_rows(ob.b(), d, r0, n, stream);
  std::string label = std::string("dequantize ") + quant_type_name(type) + (dq ? "-dq" : "");
  compare_exact((label + " fp32").c_str(), down_f32(of.p, n * IC), cpu);
  compare_exact((label + " bf16").c_str(), down_bf16(ob.p, n * IC), cpu_bf16);
}

void test_allocator_and_errors() {
  std::printf("allocator, errors\n");
  MemTracker t;
  cuda::CudaAllocator a(&t, 0);
  void* p = a.alloc(MemCategory::Activations, 1000);
  CHECK(t.report().current[static_cast<int>(MemCategory::Activations)] == 1024);
  a.free(p);
  CHECK(t.report().current[static_cast<int>(MemCategory::Activations)] == 0);
  CHECK(a.cached_bytes() == 1024);
  void* p2 = a.alloc(MemCategory::Grads, 900);  // reuses the cached block
  CHECK(p2 == p);
  CHECK(t.report().current[static_cast<int>(MemCategory::Grads)] == 1024);
  a.free(p2);
  bool oom = false;
  try {
    a.alloc(MemCategory::Weights, size_t(1) << 50);
  } catch (const Error& e) {
    oom = e.code() == "E_OUT_OF_MEMORY" && std::string(e.what()).find("free") != std::string::npos;
    std::printf("  out of memory: %s (%s)\n", e.what(), e.where().c_str());
  }
  CHECK(oom);
  bool shape = false;
  try {
    cuda::attention_forward(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 1, 4, 3, 2, 64, stream);
  } catch (const Error& e) {
    shape = e.code() == "E_CUDA_SHAPE";
    std::printf("  shape error: %s (%s)\n", e.what(), e.where().c_str());
  }
  CHECK(shape);
}
}  // namespace

int main() {
  return run_op_test("test_ops_cuda", [] {
    test_embedding();
    test_rmsnorm();
    test_rope();
    test_swiglu_residual();
    test_matmul_lora();
    test_attention(2, 37, 4, 2, 40, true);
    test_attention(1, 70, 8, 8, 64, false);
    test_attention(2, 16, 6, 2, 128, true);
    test_cross_entropy();
    test_optimizers();
    std::printf("dequantize\n");
    test_dequant(QuantType::NF4, false, 37, 100);
    test_dequant(QuantType::FP4, false, 37, 100);
    test_dequant(QuantType::NF4, true, 130, 200);
    test_dequant(QuantType::FP4, true, 130, 200);
    test_allocator_and_errors();
  });
}
#endif
