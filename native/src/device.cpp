// CPU detection for the device report: cpuid feature bits (with OS support for the AVX state),
// /proc/cpuinfo for the model name, the affinity mask for cores, /proc/meminfo for memory.
#include "device.h"
#include "simd_path.h"

#include <sched.h>

#include <fstream>
#include <sstream>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace loralab {

namespace {

uint64_t meminfo_kib(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) == 0 && line.size() > key.size() && line[key.size()] == ':') {
      std::istringstream fields(line.substr(key.size() + 1));
      uint64_t kib = 0;
      fields >> kib;
      return kib;
    }
  }
  return 0;
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto name = line.substr(colon + 1);
        auto first = name.find_first_not_of(" \t");
        return first == std::string::npos ? std::string() : name.substr(first);
      }
    }
  }
  return "unknown CPU";
}

}  // namespace

CpuInfo detect_cpu() {
  CpuInfo info;
  info.model = cpu_model_name();
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) info.logical_cores = CPU_COUNT(&set);
  if (info.logical_cores <= 0) info.logical_cores = static_cast<int>(std::thread::hardware_concurrency());
  if (info.logical_cores <= 0) info.logical_cores = 1;
  info.total_memory_bytes = meminfo_kib("MemTotal") * 1024;
  info.available_memory_bytes = meminfo_kib("MemAvailable") * 1024;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    info.sse42 = c & bit_SSE4_2;
    info.fma = c & bit_FMA;
    info.f16c = c & bit_F16C;
    bool osxsave = c & bit_OSXSAVE;
    bool avx_hw = c & bit_AVX;
    unsigned long long xcr0 = 0;
    if (osxsave) {
      unsigned lo = 0, hi = 0;
      __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
      xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
    }
    bool ymm_enabled = (xcr0 & 0x6) == 0x6;
    bool zmm_enabled = (xcr0 & 0xe6) == 0xe6;
    info.avx = avx_hw && ymm_enabled;
    if (!info.avx) info.fma = info.f16c = false;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
      info.avx2 = info.avx && (b & bit_AVX2);
      if (zmm_enabled) {
        info.avx512f = b & bit_AVX512F;
        info.avx512bw = b & bit_AVX512BW;
        info.avx512vl = b & bit_AVX512VL;
        info.avx512dq = b & bit_AVX512DQ;
      }
    }
    if (zmm_enabled && __get_cpuid_count(7, 1, &a, &b, &c, &d)) info.avx512bf16 = a & (1u << 5);
  }
#endif
  return info;
}

#ifndef LORALAB_WITH_CUDA
CudaInfo detect_cuda() {
  CudaInfo info;
  info.built_with_cuda = false;
  info.unavailable_reason =
      "this engine was built without CUDA (no nvcc was found when it was compiled); "
      "rebuild with nvcc on PATH or LORALAB_CUDA=ON";
  return info;
}
#endif

DeviceReport device_report() {
  DeviceReport report;
  report.cpu = detect_cpu();
  report.cuda = detect_cuda();
  report.simd_path = simd_path_name(simd_path());  // the path the kernels use, LORALAB_SIMD included
  return report;
}

std::string engine_version() { return LORALAB_VERSION; }  // from package.json (CMakeLists.txt)

}  // namespace loralab
