// Benchmark of the CUDA ops at Llama shapes (1B-ish: C 2048, F 8192; 7B: C 4096, F 11008; seq 512,
// micro-batch 1 and 4): milliseconds per call by CUDA events (median of 10 after 3 warm-ups), with
// TFLOP/s for GEMMs / attention and GB/s for the memory-bound ops. Random inputs; prints a table.
// Usage: bench_cuda_ops [--quick]. Exits 77 when built without CUDA or without a device.
#include <cstdio>

#ifndef LORALAB_WITH_CUDA
int main() {
  std::printf("bench_cuda_ops: this build has no CUDA\n");
  return 77;
}
#else
#include <algorithm>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "cuda_alloc.h"
#include "cuda_check.h"
#include "cuda_ops.h"
#include "dtype.h"
#include "quant/quant.h"
#include "quant_cuda.h"

using namespace loralab;
using cuda::bf16;

namespace {
cudaStream_t stream;

double time_ms(const std::function<void()>& fn) {
  cudaEvent_t a, b;
  LORALAB_CUDA_CHECK(cudaEventCreate(&a));
  LORALAB_CUDA_CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i) fn();
  std::vector<float> ms;
  for (int i = 0; i < 10; ++i) {
    LORALAB_CUDA_CHECK(cudaEventRecord(a, stream));
    fn();
    LORALAB_CUDA_CHECK(cudaEventRecord(b, stream));
    LORALAB_CUDA_CHECK(cudaEventSynchronize(b));
    float t = 0;
    LORALAB_CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// device buffer of n bf16 filled with small random values
bf16* random_bf16(cuda::CudaAllocator& al, size_t n, float scale) {
  std::vector<uint16_t> h(n);
  std::mt19937 rng(7);
  std::normal_distribution<float> d(0.0f, scale);
  for (auto& x : h) x = f32_to_bf16(d(rng));
  bf16* p = static_cast<bf16*>(al.alloc(MemCategory::Workspace, 2 * n));
  LORALAB_CUDA_CHECK(cudaMemcpy(p, h.data(), 2 * n, cudaMemcpyHostToDevice));
  return p;
}
template <typename T>
T* zeros(cuda::CudaAllocator& al, size_t n) {
  T* p = static_cast<T*>(al.alloc(MemCategory::Workspace, sizeof(T) * n));
  LORALAB_CUDA_CHECK(cudaMemset(p, 0, sizeof(T) * n));
  return p;
}
void row(const char* op, const std::string& shape, double ms, double flops, double bytes) {
  std::printf("| %-26s | %-30s | %9.3f | %8.2f | %8.1f |\n", op, shape.c_str(), ms, flops / ms / 1e9, bytes / ms / 1e6);
}
}  // namespace

int main(int argc, char** argv) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    std::printf("bench_cuda_ops: no CUDA device\n");
    return 77;
  }
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  std::printf("bench_cuda_ops on %s (sm_%d%d), bf16 GEMMs on WMMA tensor cores, other type mixes on plain fp32 tiles\n\n", prop.name,
              prop.major, prop.minor);
  std::printf("| %-26s | %-30s | %9s | %8s | %8s |\n", "op", "shape", "ms", "TFLOP/s", "GB/s");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(28, '-').c_str(), std::string(32, '-').c_str(),
              std::string(11, '-').c_str(), std::string(10, '-').c_str(), std::string(10, '-').c_str());
  LORALAB_CUDA_CHECK(cudaStreamCreate(&stream));
  MemTracker tracker;
  try {
    cuda::CudaAllocator al(&tracker, 0);
    struct Shape { const char* name; int64_t C, F, NH, NKV; };
    std::vector<Shape> shapes = {{"1B", 2048, 8192, 32, 8}, {"7B", 4096, 11008, 32, 32}};
    std::vector<int64_t> batches = quick ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 4};
    const int64_t T = 512, HD = 128, V = 32000;
    for (const Shape& s : shapes)
      for (int64_t B : batches) {
        const int64_t N = B * T;
        const std::string tag = std::string(s.name) + " mb" + std::to_string(B) + " ";
        bf16* x = random_bf16(al, N * s.F, 1.0f);
        bf16* w = random_bf16(al, s.F * s.C, 0.02f);
        bf16* y = zeros<bf16>(al, N * s.F);
        float* dw = zeros<float>(al, s.F * s.C);
        double ms = time_ms([&] { cuda::linear_forward(y, x, w, nullptr, N, s.C, s.C, stream); });
        row("linear fwd (q proj)", tag + "N" + std::to_string(N) + " C" + std::to_string(s.C), ms, 2.0 * N * s.C * s.C, 0);
        ms = time_ms([&] { cuda::linear_forward(y, x, w, nullptr, N, s.C, s.F, stream); });
        row("linear fwd (gate proj)", tag + "F" + std::to_string(s.F), ms, 2.0 * N * s.C * s.F, 0);
        ms = time_ms([&] { cuda::linear_backward(x, nullptr, nullptr, y, x, w, N, s.C, s.F, stream); });
        row("linear bwd dinp (gate)", tag, ms, 2.0 * N * s.C * s.F, 0);
        ms = time_ms([&] { cuda::linear_backward(nullptr, dw, nullptr, y, x, w, N, s.C, s.F, stream); });
        row("linear bwd dW (full FT)", tag, ms, 2.0 * N * s.C * s.F, 0);
        float* u = zeros<float>(al, N * 8);
        float* A = zeros<float>(al, 8 * s.C);
        float* Bm = zeros<float>(al, s.C * 8);
        ms = time_ms([&] { cuda::lora_forward(y, u, x, A, Bm, 2.0f, N, s.C, s.C, 8, stream); });
        row("lora fwd r8", tag, ms, 4.0 * N * s.C * 8, 0);
        const int64_t QD = s.NH * HD, KD = s.NKV * HD;
        bf16* q = random_bf16(al, N * QD, 1.0f);
        bf16* k = random_bf16(al, N * KD, 1.0f);
        bf16* o = zeros<bf16>(al, N * QD);
        float* lse = zeros<float>(al, B * s.NH * T);
        const double attn_flops = 4.0 * B * s.NH * (T * (T + 1) / 2.0) * HD;
        ms = time_ms([&] { cuda::attention_forward(o, lse, q, k, k, nullptr, B, T, s.NH, s.NKV, HD, stream); });
        row("attention fwd", tag + "T512 HD128", ms, attn_flops, 0);
        bf16* dq = zeros<bf16>(al, N * QD);
        bf16* dk = zeros<bf16>(al, N * KD);
        bf16* dv = zeros<bf16>(al, N * KD);
        ms = time_ms(
            [&] { cuda::attention_backward(dq, dk, dv, o, q, k, k, o, lse, nullptr, B, T, s.NH, s.NKV, HD, stream); });
        row("attention bwd", tag, ms, 2.5 * attn_flops, 0);
        float* rstd = zeros<float>(al, N);
        ms = time_ms([&] { cuda::rmsnorm_forward(y, rstd, x, w, N, s.C, 1e-5f, stream); });
        row("rmsnorm fwd", tag, ms, 0, 4.0 * N * s.C);
        ms = time_ms([&] { cuda::swiglu_forward(y, x, x, N, s.F / 2, stream); });
        row("swiglu fwd", tag, ms, 0, 3.0 * N * s.F);
        for (void* p : {(void*)x, (void*)w, (void*)y, (void*)dw, (void*)u, (void*)A, (void*)Bm, (void*)q, (void*)k,
                        (void*)o, (void*)lse, (void*)dq, (void*)dk, (void*)dv, (void*)rstd})
          al.free(p);
      }
    // cross-entropy over a 512-token chunk of a 32000 vocabulary, and NF4 dequantization of a 7B MLP weight
    bf16* logits = random_bf16(al, 512 * V, 2.0f);
    int32_t* targets = zeros<int32_t>(al, 512);
    float* losses = zeros<float>(al, 512);
    double ms = time_ms([&] { cuda::cross_entropy_forward(losses, logits, targets, 512, V, stream); });
    row("cross_entropy fwd", "N512 V32000", ms, 0, 2.0 * 512 * V);
    ms = time_ms([&] { cuda::cross_entropy_backward(logits, logits, targets, 1.0f / 512, 512, V, stream); });
    row("cross_entropy bwd (in place)", "N512 V32000", ms, 0, 4.0 * 512 * V);
    const int64_t OC = 11008, IC = 4096;
    std::vector<float> wh(OC * IC);
    std::mt19937 rng(3);
    std::normal_distribution<float> d(0.0f, 0.02f);
    for (auto& v : wh) v = d(rng);
    QuantizedWeight qw = quantize(wh.data(), OC, IC, QuantType::NF4, true);
    cuda::QuantWeightDevice dqw = cuda::upload_quantized(&al, qw, stream);
    bf16* deq = zeros<bf16>(al, OC * IC);
    ms = time_ms([&] { cuda::dequantize_rows(deq, dqw, 0, OC, stream); });
    row("dequantize nf4-dq -> bf16", "11008 x 4096", ms, 0, 2.5 * OC * IC);
    al.free(logits);
    al.free(targets);
    al.free(losses);
    al.free(deq);
    MemoryReport r = tracker.report();
    std::printf("\npeak device bytes (allocator accounting): %llu\n", (unsigned long long)r.peak_total);
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_cuda_ops: %s: %s (%s)\n", e.code().c_str(), e.what(), e.where().c_str());
    return 1;
  }
  return 0;
}
#endif
