// Device report: what this machine can compute with (CPU model, cores, SIMD detected at run time,
// memory) and the CUDA devices when the engine was built with CUDA, or why there are none.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace loralab {

struct CpuInfo {
  std::string model;           // "AMD EPYC 7B13", from /proc/cpuinfo
  int logical_cores = 0;       // usable by this process (affinity mask)
  bool sse42 = false, avx = false, avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512bf16 = false;
  uint64_t total_memory_bytes = 0;
  uint64_t available_memory_bytes = 0;
};

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  uint64_t total_memory_bytes = 0;
  uint64_t free_memory_bytes = 0;
  int compute_major = 0, compute_minor = 0;
  int multiprocessors = 0;
};

struct CudaInfo {
  bool built_with_cuda = false;
  int driver_version = 0;   // e.g. 12040 for 12.4; 0 when no driver
  int runtime_version = 0;
  std::vector<CudaDeviceInfo> devices;
  std::string unavailable_reason;  // empty when at least one device is usable
};

struct DeviceReport {
  CpuInfo cpu;
  CudaInfo cuda;
  std::string simd_path;  // the CPU kernel path the engine picks: "avx512", "avx2" or "scalar"
};

CpuInfo detect_cpu();
CudaInfo detect_cuda();  // defined in cuda/device_cuda.cu when built with CUDA
DeviceReport device_report();
std::string engine_version();

}  // namespace loralab
