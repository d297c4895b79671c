// Quantized linear kernels: forward (inp . W^T) and input gradient (dout . W) against a double
// matmul of the dequantized weight, on every instruction set present, and bitwise determinism
// across thread counts. Legend: N tokens, IC input features, OC output features.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "ops/matmul.h"
#include "quant/quant.h"
#include "quant/quant_kernels.h"
#include "test_util.h"
#include "simd_path.h"
#include "threadpool.h"

using namespace loralab;

namespace {

std::vector<float> uniform(int64_t n, uint64_t seed) {  // in [-1, 1)
  std::vector<float> v(static_cast<size_t>(n));
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  for (auto& x : v) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    x = static_cast<float>(static_cast<double>(s >> 11) / 4503599627370496.0 - 1.0);
  }
  return v;
}

// |got - want| <= 1e-5 * sum |terms| for every element (relative to the magnitude of the sum).
bool close(const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& scale,
           const char* what) {
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::fmax(worst, std::fabs(got[i] - want[i]) / (scale[i] + 1e-30));
  std::printf("%s: worst |diff| / sum|terms| = %.3g\n", what, worst);
  return worst <= 1e-5;
}

// out (N, OC) = inp (N, IC) . Wd^T and dinp (N, IC) = dout (N, OC) . Wd in double, Wd (OC, IC).
void reference(std::vector<double>& out, std::vector<double>& out_scale, std::vector<double>& dinp,
               std::vector<double>& dinp_scale, const std::vector<float>& inp, const std::vector<float>& dout,
               const std::vector<float>& wd, int64_t N, int64_t IC, int64_t OC) {
  out.assign(N * OC, 0);
  out_scale.assign(N * OC, 0);
  dinp.assign(N * IC, 0);
  dinp_scale.assign(N * IC, 0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < OC; ++o)
      for (int64_t k = 0; k < IC; ++k) {
        double t = double(inp[n * IC + k]) * wd[o * IC + k];
        out[n * OC + o] += t;
        out_scale[n * OC + o] += std::fabs(t);
        double g = double(dout[n * OC + o]) * wd[o * IC + k];
        dinp[n * IC + k] += g;
        dinp_scale[n * IC + k] += std::fabs(g);
      }
}

void test_against_reference(int64_t N, int64_t IC, int64_t OC, QuantType type, bool dq) {
  std::vector<float> w = uniform(OC * IC, 1 + N + IC);
  QuantizedWeight q = quantize(w.data(), OC, IC, type, dq);
  std::vector<float> wd(OC * IC);
  dequantize_rows(wd.data(), q, 0, OC);
  std::vector<float> inp = uniform(N * IC, 2 + OC), dout = uniform(N * OC, 3 + IC);
  std::vector<double> out_ref, out_scale, dinp_ref, dinp_scale;
  reference(out_ref, out_scale, dinp_ref, dinp_scale, inp, dout, wd, N, IC, OC);
  ThreadPool pool(2);
  char what[128];
  std::snprintf(what, sizeof(what), "N=%lld IC=%lld OC=%lld %s%s %s", (long long)N, (long long)IC, (long long)OC,
                quant_type_name(type), dq ? "-dq" : "", simd_path_name(simd_path()));

  std::vector<float> out(N * OC, 123.0f);
  quant_linear_forward(&pool, out.data(), inp.data(), q, nullptr, N, false);
  CHECK(close(out, out_ref, out_scale, (std::string("forward ") + what).c_str()));
  // accumulate with a bias: out += inp . W^T + bias on top of 0.5
  std::vector<float> acc(N * OC, 0.5f), bias = uniform(OC, 4);
  std::vector<double> acc_ref(out_ref), acc_scale(out_scale);
  for (size_t i = 0; i < acc_ref.size(); ++i)
    acc_ref[i] += 0.5 + bias[i % OC], acc_scale[i] += 0.5 + std::fabs(bias[i % OC]);
  quant_linear_forward(&pool, acc.data(), inp.data(), q, bias.data(), N, true);
  CHECK(close(acc, acc_ref, acc_scale, "forward accumulate + bias"));

  std::vector<float> dinp(N * IC, -7.0f);
  quant_linear_backward_input(&pool, dinp.data(), dout.data(), q, N, false);
  CHECK(close(dinp, dinp_ref, dinp_scale, (std::string("backward_input ") + what).c_str()));
  std::vector<float> dacc(N * IC, 0.25f);
  for (size_t i = 0; i < dinp_ref.size(); ++i) dinp_ref[i] += 0.25, dinp_scale[i] += 0.25;
  quant_linear_backward_input(&pool, dacc.data(), dout.data(), q, N, true);
  CHECK(close(dacc, dinp_ref, dinp_scale, "backward_input accumulate"));
}

// Every kernel build the CPU can run, on one tile each, against the double reference.
void test_each_instruction_set() {
  const int64_t N = 9, IC = 77, OC = 13;
  std::vector<float> inp = uniform(N * IC, 5), dout = uniform(N * OC, 6), S = uniform(OC * IC, 7);
  std::vector<double> out_ref, out_scale, dinp_ref, dinp_scale;
  reference(out_ref, out_scale, dinp_ref, dinp_scale, inp, dout, S, N, IC, OC);
  __builtin_cpu_init();
  std::vector<std::pair<const char*, QuantKernels>> sets = {{"scalar", quant_kernels_generic()}};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) sets.push_back({"avx2", quant_kernels_avx2()});
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq"))
    sets.push_back({"avx512", quant_kernels_avx512()});
  // The SIMD dequantization equals dequantize_tile() bitwise, on tiles with odd starts and block
  // segments of every length, for both types with double quantization.
  const int64_t R = 29, Cw = 151;
  std::vector<float> w = uniform(R * Cw, 8);
  for (QuantType type : {QuantType::NF4, QuantType::FP4}) {
    QuantizedWeight q = quantize(w.data(), R, Cw, type, true);
    for (auto& [name, k] : sets) {
      int differing = 0;
      for (int64_t t = 0; t < 40; ++t) {
        const int64_t o0 = (t * 7) % R, o1 = std::min(R, o0 + 1 + t % 5);
        const int64_t k0 = (t * 13) % Cw, k1 = std::min(Cw, k0 + 1 + (t * 37) % 140);
        std::vector<float> want((o1 - o0) * (k1 - k0)), got(want.size(), -1.0f);
        dequantize_tile(want.data(), q, o0, o1, k0, k1);
        k.dequantize(got.data(), q, o0, o1, k0, k1);
        differing += std::memcmp(want.data(), got.data(), want.size() * 4) != 0;
      }
      std::printf("%s dequantize (%s): %d/40 tiles differ\n", name, quant_type_name(type), differing);
      CHECK(differing == 0);
    }
  }
  for (auto& [name, k] : sets) {
    std::vector<float> out(N * OC), dinp(N * IC);
    k.forward(out.data(), inp.data(), S.data(), N, IC, OC, 0, OC, 0, IC, false);
    CHECK(close(out, out_ref, out_scale, name));
    k.backward_input(dinp.data(), dout.data(), S.data(), N, IC, OC, 0, OC, 0, IC, false);
    CHECK(close(dinp, dinp_ref, dinp_scale, name));
  }
}

// From 192 tokens on the products run on the dense GEMM with the weight dequantized into its panels:
// bitwise matmul_nt / matmul_nn of the dequantized fp32 weight, and bitwise the same for any thread count.
void test_panel_path_bitwise() {
  const int64_t N = 400, IC = 300, OC = 150;  // two row blocks (384 + 16), partial panels and K slices
  for (QuantType type : {QuantType::NF4, QuantType::FP4}) {
    std::vector<float> w = uniform(OC * IC, 13), inp = uniform(N * IC, 14), dout = uniform(N * OC, 15);
    QuantizedWeight q = quantize(w.data(), OC, IC, type, true);
    std::vector<float> wd(OC * IC);
    dequantize_rows(wd.data(), q, 0, OC);
    ThreadPool pool2(2);
    std::vector<float> out_ref(N * OC), dinp_ref(N * IC, 0.25f);
    matmul_nt(&pool2, out_ref.data(), inp.data(), f32_view(wd.data()), N, OC, IC, false);
    matmul_nn(&pool2, dinp_ref.data(), dout.data(), f32_view(wd.data()), N, IC, OC, true);
    for (int threads : {0, 1, 3}) {
      ThreadPool pool(threads > 0 ? threads : 1);
      ThreadPool* p = threads > 0 ? &pool : nullptr;
      std::vector<float> out(N * OC, 9.0f), dinp(N * IC, 0.25f);
      quant_linear_forward(p, out.data(), inp.data(), q, nullptr, N, false);
      quant_linear_backward_input(p, dinp.data(), dout.data(), q, N, true);
      std::printf("panel path %s, %d threads: forward %s, backward_input %s\n", quant_type_name(type), threads,
                  std::memcmp(out.data(), out_ref.data(), out.size() * 4) == 0 ? "bitwise matmul_nt" : "DIFFERS",
                  std::memcmp(dinp.data(), dinp_ref.data(), dinp.size() * 4) == 0 ? "bitwise matmul_nn" : "DIFFERS");
      CHECK(std::memcmp(out.data(), out_ref.data(), out.size() * 4) == 0);
      CHECK(std::memcmp(dinp.data(), dinp_ref.data(), dinp.size() * 4) == 0);
    }
  }
}

void test_thread_determinism() {
  const int64_t N = 23, IC = 600, OC = 150;  // several tasks, K chunks and row chunks; partial blocks
  std::vector<float> w = uniform(OC * IC, 9), inp = uniform(N * IC, 10), dout = uniform(N * OC, 11), bias = uniform(OC, 12);
  QuantizedWeight q = quantize(w.data(), OC, IC, QuantType::NF4, true);
  std::vector<float> out0(N * OC), dinp0(N * IC);
  quant_linear_forward(nullptr, out0.data(), inp.data(), q, bias.data(), N, false);
  quant_linear_backward_input(nullptr, dinp0.data(), dout.data(), q, N, false);
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    std::vector<float> out(N * OC), dinp(N * IC);
    quant_linear_forward(&pool, out.data(), inp.data(), q, bias.data(), N, false);
    quant_linear_backward_input(&pool, dinp.data(), dout.data(), q, N, false);
    CHECK(std::memcmp(out.data(), out0.data(), out.size() * 4) == 0);
    CHECK(std::memcmp(dinp.data(), dinp0.data(), dinp.size() * 4) == 0);
  }
}

}  // namespace

int main() {
  test_each_instruction_set();
  // partial blocks (OC*IC % 64 != 0), blocks straddling rows, IC over one 256 chunk, OC over one 32 chunk
  test_against_reference(7, 200, 45, QuantType::NF4, false);
  test_against_reference(33, 300, 70, QuantType::NF4, true);
  test_against_reference(5, 9, 3, QuantType::FP4, false);
  // the panel path (>= 192 tokens): dense GEMM tiles, partial panels, a second row block
  test_against_reference(200, 300, 70, QuantType::NF4, true);
  test_against_reference(390, 130, 45, QuantType::FP4, false);
  test_panel_path_bitwise();
  test_against_reference(17, 513, 37, QuantType::FP4, true);
  test_against_reference(1, 64, 1, QuantType::NF4, false);
  test_thread_determinism();
  return test_summary("test_quant_matmul");
}
