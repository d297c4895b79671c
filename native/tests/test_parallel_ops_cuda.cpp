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

#include "cuda_alloc.h"
#include "cuda_check.h"
#include "cuda_ops.h"
#include "dtype.h"
#include "model/config.h"
#include "model/family.h"
#include "ops/gelu.h"
#include "ops/layernorm.h"
#include "ops/rope.h"
#include "test_util.h"

using namespace loralab;
using cuda::bf16;
using Vec = std::vector<float>;

namespace {
std::mt19937 rng(4321);
cudaStream_t stream = nullptr;
MemTracker tracker;
cuda::CudaAllocator* alloc = nullptr;

float round_bf16(float x) { return bf16_to_f32(f32_to_bf16(x)); }
Vec random_vec(size_t n, float scale, float offset = 0.0f) {
  std::normal_distribution<float> d(offset, scale);
  Vec v(n);
  for (auto& x : v) x = round_bf16(d(rng));
  return v;
}
struct Dev {  // a device copy of bf16-exact floats (bf16), fp32 or int32 values
  void* p = nullptr;
  explicit Dev(size_t bytes) : p(alloc->alloc(MemCategory::Workspace, std::max<size_t>(bytes, 1))) {}
  ~Dev() { alloc->free(p); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  bf16* b() { return static_cast<bf16*>(p); }
  float* f() { return static_cast<float*>(p); }
  int32_t* i() { return static_cast<int32_t*>(p); }
};
void put_bf16(Dev& d, const Vec& v) {
  std::vector<uint16_t> bits(v.size());
  for (size_t i = 0; i < v.size(); ++i) bits[i] = f32_to_bf16(v[i]);
  LORALAB_CUDA_CHECK(cudaMemcpy(d.p, bits.data(), 2 * v.size(), cudaMemcpyHostToDevice));
}
void put_raw(Dev& d, const void* src, size_t bytes) { LORALAB_CUDA_CHECK(cudaMemcpy(d.p, src, bytes, cudaMemcpyHostToDevice)); }
Vec get_bf16(Dev& d, size_t n) {
  LORALAB_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<uint16_t> bits(n);
  LORALAB_CUDA_CHECK(cudaMemcpy(bits.data(), d.p, 2 * n, cudaMemcpyDeviceToHost));
  Vec v(n);
  for (size_t i = 0; i < n; ++i) v[i] = bf16_to_f32(bits[i]);
  return v;
}
Vec get_f32(Dev& d, size_t n) {
  LORALAB_CUDA_CHECK(cudaStreamSynchronize(stream));
  Vec v(n);
  LORALAB_CUDA_CHECK(cudaMemcpy(v.data(), d.p, 4 * n, cudaMemcpyDeviceToHost));
  return v;
}

// |gpu - cpu| <= atol_frac * max|cpu| + rtol * |cpu| everywhere; prints the worst element.
void compare(const char* what, const Vec& gpu, const Vec& cpu, double rtol, double atol_frac) {
  CHECK(gpu.size() == cpu.size());
  double maxabs = 0, worst = 0, worst_diff = 0;
  for (float c : cpu) maxabs = std::max(maxabs, std::fabs(double(c)));
  size_t at = 0, bad = 0;
  for (size_t i = 0; i < cpu.size() && i < gpu.size(); ++i) {
    const double diff = std::fabs(double(gpu[i]) - cpu[i]), allowed = atol_frac * maxabs + rtol * std::fabs(double(cpu[i]));
    if (!(diff <= allowed)) ++bad;
    const double ratio = allowed > 0 ? diff / allowed : (diff > 0 ? INFINITY : 0);
    if (ratio > worst || std::isnan(diff)) worst = ratio, worst_diff = diff, at = i;
  }
  std::printf("  %-34s n=%-6zu max|cpu|=%-10.4g worst |diff|=%-10.3g at %zu %s\n", what, cpu.size(), maxabs, worst_diff, at,
              bad ? "FAIL" : "ok");
  CHECK(bad == 0);
}
void compare_bf16(const char* what, const Vec& gpu, const Vec& cpu) { compare(what, gpu, cpu, 1.0 / 128, 1.0 / 500); }
void compare_f32(const char* what, const Vec& gpu, const Vec& cpu) { compare(what, gpu, cpu, 1e-4, 1e-5); }
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
  compare_bf16("layernorm_forward out", get_bf16(dy, N * C), out);
  compare_f32("layernorm_forward mean", get_f32(dmean, N), mean);
  compare_f32("layernorm_forward rstd", get_f32(drstd, N), rstd);
  // backward: dinp accumulates onto a start value, dweight / dbias onto theirs
  Vec din0 = random_vec(N * C, 0.5f), dw0 = random_vec(C, 0.5f, 0.0f), db0 = random_vec(C, 0.5f);
  Vec din = din0, dwv = dw0, dbv = db0;
  layernorm_backward(nullptr, din.data(), dwv.data(), dbv.data(), dout.data(), x.data(), w.data(), mean.data(), rstd.data(), N, C);
  put_bf16(ddin, din0), put_raw(ddw, dw0.data(), 4 * C), put_raw(ddb, db0.data(), 4 * C);
  cuda::layernorm_backward(ddin.b(), ddw.f(), ddb.f(), dg.b(), dx.b(), dw.b(), dmean.f(), drstd.f(), N, C, stream);
  const Vec gin = get_bf16(ddin, N * C), gw = get_f32(ddw, C), gb = get_f32(ddb, C);
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
  compare_bf16("gelu_forward out", get_bf16(dy, n), out);
  cuda::gelu_backward(dd.b(), dg.b(), dx.b(), n, kind, stream);
  const Vec gd = get_bf16(dd, n);
  compare_bf16("gelu_backward dinp", gd, din);
  cuda::gelu_backward(dg.b(), dg.b(), dx.b(), n, kind, stream);  // in place (dinp aliases dout)
  compare("gelu_backward in place == out of place", get_bf16(dg, n), gd, 0, 0);
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
  const Vec gx = get_bf16(dx, N * H * HD);
  compare_bf16("rope_forward (RD 8 of 16)", gx, x);
  bool pass_through = true;  // the dims past RD are copied unchanged
  for (int64_t r = 0; r < N * H; ++r)
    for (int64_t d = RD; d < HD; ++d) pass_through = pass_through && gx[r * HD + d] == x0[r * HD + d];
  std::printf("  dims past RD unchanged: %s\n", pass_through ? "yes" : "NO");
  CHECK(pass_through);
  rope_backward<float>(nullptr, g.data(), pos.data(), cos_t.data(), sin_t.data(), N, H, HD, RD);
  cuda::rope_backward(dgr.b(), dp.i(), dc.f(), ds.f(), N, H, HD, RD, stream);
  compare_bf16("rope_backward (RD 8 of 16)", get_bf16(dgr, N * H * HD), g);
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
  compare("qkv_split q", get_bf16(dq, q.size()), q, 0, 0);
  compare("qkv_split k", get_bf16(dk, k.size()), k, 0, 0);
  compare("qkv_split v", get_bf16(dv, v.size()), v, 0, 0);
  cuda::qkv_merge(back.b(), dq.b(), dk.b(), dv.b(), dsrc.i(), N, NH, NKV, HD, stream);
  compare("qkv_merge(qkv_split(x)) == x", get_bf16(back, qkv.size()), qkv, 0, 0);
}
}  // namespace

int main() {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    std::printf("test_parallel_ops_cuda: skipped: no CUDA device (%s)\n",
                err != cudaSuccess ? cudaGetErrorString(err) : "the driver reports no device");
    return 77;
  }
  try {
    LORALAB_CUDA_CHECK(cudaStreamCreate(&stream));
    cuda::CudaAllocator allocator(&tracker, 0);
    alloc = &allocator;
    test_layernorm(37, 300, false);
    test_layernorm(5, 2053, false);
    test_layernorm(3, 40, true);
    test_gelu(GeluKind::Tanh, "tanh (gelu_new, Phi)");
    test_gelu(GeluKind::Erf, "erf (gelu, Falcon)");
    test_partial_rope();
    test_qkv_split(QkvLayout::MultiQuery, 5, 1, "multi-query (falcon-7b)");
    test_qkv_split(QkvLayout::Grouped, 8, 2, "grouped (falcon-40b)");
    test_qkv_split(QkvLayout::Interleaved, 3, 3, "interleaved");
    alloc = nullptr;
  } catch (const Error& e) {
    std::fprintf(stderr, "test_parallel_ops_cuda: %s: %s (%s)\n", e.code().c_str(), e.what(), e.where().c_str());
    return 1;
  }
  return test_summary("test_parallel_ops_cuda");
}
#endif
