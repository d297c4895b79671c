// ctest (label cuda): the CUDA ops of the Phi / Falcon blocks against their CPU references: LayerNorm with
// bias (ops/layernorm), GELU tanh and erf (ops/gelu), partial rotary (ops/rope with RD < HD) and Falcon's
// query_key_value split / gather (the loop of LlamaModel::qkv_forward over falcon_qkv_sources, multi-query
// and grouped). bf16 outputs within rtol 2^-7 plus 1/500 of the tensor's largest magnitude (test_ops_cuda's
// rule), fp32 statistics within 1e-4, copies bitwise; each backward also against central finite differences
// of the CPU forward (fp32, relative to the gradient's largest magnitude: 2%). Exits 77 without CUDA or a device.
#include <cstdio>

#ifndef LORALAB_WITH_CUDA
int main() {
  std::printf("test_parallel_ops_cuda: skipped: this build has no CUDA (configure with -DLORALAB_CUDA=ON and nvcc)\n");
  return 77;
}
#else
#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "cuda_ops.h"
#include "cuda_test.h"
#include "model/config.h"
#include "model/family.h"
#include "ops/gelu.h"
#include "ops/layernorm.h"
#include "ops/rope.h"
#include "test_util.h"

using namespace loralab;
using namespace loralab::cuda_test;

namespace {
std::mt19937 rng(4321);

Vec random_vec(size_t n, float scale, float offset = 0.0f) {
  std::normal_distribution<float> d(offset, scale);
  Vec v(n);
  for (auto& x : v) x = round_bf16(d(rng));
  return v;
}
void compare_fd(const char* what, const Vec& gpu, const Vec& fd) { compare(what, gpu, fd, 0.0, 0.02); }

// d/dx_i of loss(x) = sum dout . f(x), central differences in fp32 (h relative to |x_i|)
Vec finite_diff(Vec x, const Vec& dout, const std::function<Vec(const Vec&)>& f) {
  Vec g(x.size());
  auto loss = [&](const Vec& v) {
    Vec y = f(v);
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += double(dout[i]) * y[i];
    return s;
  };
  for (size_t i = 0; i < x.size(); ++i) {
    const float x0 = x[i], h = 1e-2f * std::max(1.0f, std::fabs(x0));
    x[i] = x0 + h;
    const double lp = loss(x);
    x[i] = x0 - h;
    const double lm = loss(x);
    x[i] = x0;
    g[i] = static_cast<float>((lp - lm) / (2.0 * h));
  }
  return g;
}

void test_layernorm(int64_t N, int64_t C, bool fd) {
  std::printf("layernorm N=%lld C=%lld\n", (long long)N, (long long)C);
  const float eps = 1e-5f;
  Vec x = random_vec(N * C, 1.5f, 0.7f), w = random_vec(C, 0.3f, 1.0f), b = random_vec(C, 0.2f), dout = random_vec(N * C, 1.0f);
  Vec out(N * C), mean(N), rstd(N);
  layernorm_forward(nullptr, out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C, eps);
  Dev dx(2 * N * C), dw(2 * C), db(2 * C), dy(2 * N * C), dmean(4 * N), drstd(4 * N), dg(2 * N * C), ddin(2 * N * C), ddw(4 * C),
      ddb(4 * C);
  put_bf16(dx, x), put_bf16(dw, w), put_bf16(db, b), put_bf16(dg, dout);
  cuda::layernorm_forward(dy.b(), dmean.f(), drstd.f(), dx.b(), dw.b(), db.b(), N, C, eps, stream);
  compare_bf16("layernorm_forward out", down_bf16(dy.p, N * C), out);
  compare_f32("layernorm_forward mean", down_f32(dmean.p, N), mean);
  compare_f32("layernorm_forward rstd", down_f32(drstd.p, N), rstd);
  // backward: dinp accumulates onto a start value, dweight / dbias onto theirs
  Vec din0 = random_vec(N * C, 0.5f), dw0 = random_vec(C, 0.5f, 0.0f), db0 = random_vec(C, 0.5f);
  Vec din = din0, dwv = dw0, dbv = db0;
  layernorm_backward(nullptr, din.data(), dwv.data(), dbv.data(), dout.data(), x.data(), w.data(), mean.data(), rstd.data(), N, C);
  put_bf16(ddin, din0), put_raw(ddw, dw0.data(), 4 * C), put_raw(ddb, db0.data(), 4 * C);
  cuda::layernorm_backward(ddin.b(), ddw.f(), ddb.f(), dg.b(), dx.b(), dw.b(), dmean.f(), drstd.f(), N, C, stream);
  const Vec gin = down_bf16(ddin.p, N * C), gw = down_f32(ddw.p, C), gb = down_f32(ddb.p, C);
  compare_bf16("layernorm_backward dinp (+=)", gin, din);
  compare("layernorm_backward dweight (+=)", gw, dwv, 1e-3, 1e-4);
  compare("layernorm_backward dbias (+=)", gb, dbv, 1e-3, 1e-4);
  if (!fd) return;
  auto fwd = [&](const Vec& xv, const Vec& wv, const Vec& bv) {
    Vec y(N * C);
    layernorm_forward(nullptr, y.data(), nullptr, nullptr, xv.data(), wv.data(), bv.data(), N, C, eps);
    return y;
  };
  Vec gx(N * C), gwd(C), gbd(C);
  for (int64_t i = 0; i < N * C; ++i) gx[i] = gin[i] - round_bf16(din0[i]);
  for (int64_t i = 0; i < C; ++i) gwd[i] = gw[i] - dw0[i], gbd[i] = gb[i] - db0[i];
  compare_fd("layernorm dinp vs finite diff", gx, finite_diff(x, dout, [&](const Vec& v) { return fwd(v, w, b); }));
  compare_fd("layernorm dweight vs finite diff", gwd, finite_diff(w, dout, [&](const Vec& v) { return fwd(x, v, b); }));
  compare_fd("layernorm dbias vs finite diff", gbd, finite_diff(b, dout, [&](const Vec& v) { return fwd(x, w, v); }));
}

void test_gelu(GeluKind kind, const char* name) {
  std::printf("gelu %s\n", name);
  const int64_t n = 4099;
  Vec x = random_vec(n, 2.5f), dout = random_vec(n, 1.0f), out(n), din(n);
  gelu_forward(nullptr, out.data(), x.data(), n, kind);
  gelu_backward(nullptr, din.data(), dout.data(), x.data(), n, kind);
  Dev dx(2 * n), dy(2 * n), dg(2 * n), dd(2 * n);
  put_bf16(dx, x), put_bf16(dg, dout);
  cuda::gelu_forward(dy.b(), dx.b(), n, kind, stream);
  compare_bf16("gelu_forward out", down_bf16(dy.p, n), out);
  cuda::gelu_backward(dd.b(), dg.b(), dx.b(), n, kind, stream);
  const Vec gd = down_bf16(dd.p, n);
  compare_bf16("gelu_backward dinp", gd, din);
  cuda::gelu_backward(dg.b(), dg.b(), dx.b(), n, kind, stream);  // in place (dinp aliases dout)
  compare("gelu_backward in place == out of place", down_bf16(dg.p, n), gd, 0, 0);
  const int64_t m = 200;  // finite differences on the first elements (elementwise: one pass each)
  Vec xs(x.begin(), x.begin() + m), ds(dout.begin(), dout.begin() + m);
  compare_fd("gelu dinp vs finite diff", Vec(gd.begin(), gd.begin() + m), finite_diff(xs, ds, [&](const Vec& v) {
               Vec y(v.size());
               gelu_forward(nullptr, y.data(), v.data(), static_cast<int64_t>(v.size()), kind);
               return y;
             }));
}

void test_partial_rope() {
  std::printf("rope, partial rotary (RD < HD)\n");
  const int64_t N = 23, H = 3, HD = 16, RD = 8, P = 40;
  ModelConfig c;
  c.head_dim = HD, c.rotary_dim = RD, c.rope_theta = 10000.0f;
  std::vector<float> cos_t, sin_t;
  rope_tables(cos_t, sin_t, rope_inv_freq(c), P);
  std::vector<int32_t> pos(N);
  for (auto& p : pos) p = static_cast<int32_t>(rng() % P);
  Vec x = random_vec(N * H * HD, 1.0f), g = random_vec(N * H * HD, 1.0f);
  Dev dx(2 * N * H * HD), dgr(2 * N * H * HD), dp(4 * N), dc(4 * cos_t.size()), ds(4 * sin_t.size());
  put_bf16(dx, x), put_bf16(dgr, g), put_raw(dp, pos.data(), 4 * N), put_raw(dc, cos_t.data(), 4 * cos_t.size());
  put_raw(ds, sin_t.data(), 4 * sin_t.size());
  const Vec x0 = x;
  rope_forward<float>(nullptr, x.data(), pos.data(), cos_t.data(), sin_t.data(), N, H, HD, RD);
  cuda::rope_forward(dx.b(), dp.i(), dc.f(), ds.f(), N, H, HD, RD, stream);
  const Vec gx = down_bf16(dx.p, N * H * HD);
  compare_bf16("rope_forward (RD 8 of 16)", gx, x);
  bool pass_through = true;  // the dims past RD are copied unchanged
  for (int64_t r = 0; r < N * H; ++r)
    for (int64_t d = RD; d < HD; ++d) pass_through = pass_through && gx[r * HD + d] == x0[r * HD + d];
  std::printf("  dims past RD unchanged: %s\n", pass_through ? "yes" : "NO");
  CHECK(pass_through);
  rope_backward<float>(nullptr, g.data(), pos.data(), cos_t.data(), sin_t.data(), N, H, HD, RD);
  cuda::rope_backward(dgr.b(), dp.i(), dc.f(), ds.f(), N, H, HD, RD, stream);
  compare_bf16("rope_backward (RD 8 of 16)", down_bf16(dgr.p, N * H * HD), g);
}

void test_qkv_split(QkvLayout layout, int NH, int NKV, const char* name) {
  std::printf("qkv split / merge, %s (NH %d, NKV %d)\n", name, NH, NKV);
  ModelConfig c;
  c.num_heads = NH, c.num_kv_heads = NKV, c.qkv_layout = layout;
  const std::vector<int32_t> src = falcon_qkv_sources(c);
  const int64_t N = 9, HD = 8, J = static_cast<int64_t>(src.size());
  CHECK(J == NH + 2 * NKV);
  Vec qkv = random_vec(N * J * HD, 1.0f), q(N * NH * HD), k(N * NKV * HD), v(N * NKV * HD);
  for (int64_t n = 0; n < N; ++n)  // the CPU's loop (LlamaModel::qkv_forward)
    for (int64_t j = 0; j < J; ++j) {
      const int64_t s = src[j];
      float* dst = s < NH         ? q.data() + (n * NH + s) * HD
                   : s < NH + NKV ? k.data() + (n * NKV + s - NH) * HD
                                  : v.data() + (n * NKV + s - NH - NKV) * HD;
      std::copy(qkv.begin() + (n * J + j) * HD, qkv.begin() + (n * J + j + 1) * HD, dst);
    }
  Dev dqkv(2 * N * J * HD), dq(2 * q.size()), dk(2 * k.size()), dv(2 * v.size()), dsrc(4 * J), back(2 * N * J * HD);
  put_bf16(dqkv, qkv), put_raw(dsrc, src.data(), 4 * J);
  cuda::qkv_split(dq.b(), dk.b(), dv.b(), dqkv.b(), dsrc.i(), N, NH, NKV, HD, stream);
  compare("qkv_split q", down_bf16(dq.p, q.size()), q, 0, 0);
  compare("qkv_split k", down_bf16(dk.p, k.size()), k, 0, 0);
  compare("qkv_split v", down_bf16(dv.p, v.size()), v, 0, 0);
  cuda::qkv_merge(back.b(), dq.b(), dk.b(), dv.b(), dsrc.i(), N, NH, NKV, HD, stream);
  compare("qkv_merge(qkv_split(x)) == x", down_bf16(back.p, qkv.size()), qkv, 0, 0);
}
}  // namespace

int main() {
  return run_op_test("test_parallel_ops_cuda", [] {
    test_layernorm(37, 300, false);
    test_layernorm(5, 2053, false);
    test_layernorm(3, 40, true);
    test_gelu(GeluKind::Tanh, "tanh (gelu_new, Phi)");
    test_gelu(GeluKind::Erf, "erf (gelu, Falcon)");
    test_partial_rope();
    test_qkv_split(QkvLayout::MultiQuery, 5, 1, "multi-query (falcon-7b)");
    test_qkv_split(QkvLayout::Grouped, 8, 2, "grouped (falcon-40b)");
    test_qkv_split(QkvLayout::Interleaved, 3, 3, "interleaved");
  });
}
#endif
