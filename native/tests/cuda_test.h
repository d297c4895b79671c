// Scaffolding shared by the CUDA ctest programs (label cuda; included only in CUDA builds): the skip
// when there is no device (exit 77), and for the op tests (test_ops_cuda, test_parallel_ops_cuda)
// the stream and allocator they run on, device buffers with bf16 / fp32 / int32 upload and download,
// and compare (|gpu - cpu| <= atol_frac * max|cpu| + rtol * |cpu| everywhere, worst element printed).
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <vector>

#include "cuda_alloc.h"
#include "cuda_check.h"
#include "cuda_ops.h"
#include "dtype.h"
#include "error.h"
#include "memory.h"
#include "test_util.h"

namespace loralab {
namespace cuda_test {

// False (after printing why `test` is skipped) when the driver reports no usable device.
inline bool have_device(const char* test) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err == cudaSuccess && count > 0) return true;
  std::printf("%s: skipped: no CUDA device (%s)\n", test, err != cudaSuccess ? cudaGetErrorString(err) : "the driver reports no device");
  return false;
}

using Vec = std::vector<float>;
using cuda::bf16;
inline cudaStream_t stream = nullptr;
inline MemTracker tracker;
inline cuda::CudaAllocator* alloc = nullptr;

inline float round_bf16(float x) { return bf16_to_f32(f32_to_bf16(x)); }
inline std::vector<uint16_t> bits_of(const Vec& v) {
  std::vector<uint16_t> b(v.size());
  for (size_t i = 0; i < v.size(); ++i) b[i] = f32_to_bf16(v[i]);
  return b;
}

struct Dev {  // a device buffer from `alloc`: bf16 (of bf16-exact floats), fp32 or int32 values
  void* p = nullptr;
  explicit Dev(size_t bytes) : p(alloc->alloc(MemCategory::Workspace, std::max<size_t>(bytes, 1))) {}
  ~Dev() { alloc->free(p); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  bf16* b() { return static_cast<bf16*>(p); }
  float* f() { return static_cast<float*>(p); }
  int32_t* i() { return static_cast<int32_t*>(p); }
};
inline void put_raw(Dev& d, const void* src, size_t bytes) { LORALAB_CUDA_CHECK(cudaMemcpy(d.p, src, bytes, cudaMemcpyHostToDevice)); }
inline void put_bf16(Dev& d, const Vec& v) {
  const std::vector<uint16_t> bits = bits_of(v);
  put_raw(d, bits.data(), 2 * v.size());
}
// New buffers holding v (the caller deletes them).
inline Dev* up_bf16(const Vec& v) {
  Dev* d = new Dev(2 * v.size());
  put_bf16(*d, v);
  return d;
}
inline Dev* up_f32(const Vec& v) {
  Dev* d = new Dev(4 * v.size());
  put_raw(*d, v.data(), 4 * v.size());
  return d;
}
inline Dev* up_i32(const std::vector<int32_t>& v) {
  Dev* d = new Dev(4 * v.size());
  put_raw(*d, v.data(), 4 * v.size());
  return d;
}
// n values from device memory p, after the stream's work.
inline Vec down_bf16(const void* p, size_t n) {
  LORALAB_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<uint16_t> bits(n);
  LORALAB_CUDA_CHECK(cudaMemcpy(bits.data(), p, 2 * n, cudaMemcpyDeviceToHost));
  Vec v(n);
  for (size_t i = 0; i < n; ++i) v[i] = bf16_to_f32(bits[i]);
  return v;
}
inline Vec down_f32(const void* p, size_t n) {
  LORALAB_CUDA_CHECK(cudaStreamSynchronize(stream));
  Vec v(n);
  LORALAB_CUDA_CHECK(cudaMemcpy(v.data(), p, 4 * n, cudaMemcpyDeviceToHost));
  return v;
}

// |gpu - cpu| <= atol_frac * max|cpu| + rtol * |cpu| everywhere (NaN fails); prints the worst element.
inline void compare(const char* what, const Vec& gpu, const Vec& cpu, double rtol, double atol_frac) {
  CHECK(gpu.size() == cpu.size());
  double maxabs = 0;
  for (float c : cpu) maxabs = std::max(maxabs, std::fabs(static_cast<double>(c)));
  const double atol = atol_frac * maxabs;
  double worst = 0, worst_diff = 0;
  size_t at = 0, bad = 0;
  const size_t n = std::min(cpu.size(), gpu.size());
  for (size_t i = 0; i < n; ++i) {
    const double diff = std::fabs(static_cast<double>(gpu[i]) - cpu[i]);
    const double allowed = atol + rtol * std::fabs(static_cast<double>(cpu[i]));
    if (!(diff <= allowed)) ++bad;
    const double ratio = allowed > 0 ? diff / allowed : (diff > 0 ? INFINITY : 0);
    if (ratio > worst || std::isnan(diff)) worst = ratio, worst_diff = diff, at = i;
  }
  std::printf("  %-34s n=%-7zu max|cpu|=%-10.4g worst |diff|=%-10.3g at %zu (gpu %.6g, cpu %.6g) %s\n", what, cpu.size(), maxabs,
              worst_diff, at, n ? gpu[at] : 0.0, n ? cpu[at] : 0.0, bad ? "FAIL" : "ok");
  CHECK(bad == 0);
}
inline void compare_bf16(const char* what, const Vec& gpu, const Vec& cpu) { compare(what, gpu, cpu, 1.0 / 128, 1.0 / 500); }
inline void compare_f32(const char* what, const Vec& gpu, const Vec& cpu) { compare(what, gpu, cpu, 1e-4, 1e-5); }
inline void compare_exact(const char* what, const Vec& gpu, const Vec& cpu) { compare(what, gpu, cpu, 0, 0); }

// An op test's main: skipped without a device; else `body` on a fresh stream and allocator, a
// loralab::Error failing the test with its code; the CHECK summary.
inline int run_op_test(const char* test, const std::function<void()>& body) {
  if (!have_device(test)) return 77;
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  std::printf("%s on %s (sm_%d%d)\n", test, prop.name, prop.major, prop.minor);
  try {
    LORALAB_CUDA_CHECK(cudaStreamCreate(&stream));
    cuda::CudaAllocator allocator(&tracker, 0);
    alloc = &allocator;
    body();
    LORALAB_CUDA_CHECK(cudaStreamSynchronize(stream));
    alloc = nullptr;
  } catch (const Error& e) {
    alloc = nullptr;
    std::fprintf(stderr, "%s: %s: %s (%s)\n", test, e.code().c_str(), e.what(), e.where().c_str());
    return 1;
  }
  return test_summary(test);
}

}  // namespace cuda_test
}  // namespace loralab
