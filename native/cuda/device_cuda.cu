// CUDA part of the device report: driver and runtime versions, every visible device with its
// name, memory and compute capability, or the runtime's own reason when none can be used.
#include <cuda_runtime.h>

#include "device.h"

namespace loralab {

CudaInfo detect_cuda() {
  CudaInfo info;
  info.built_with_cuda = true;
  cudaDriverGetVersion(&info.driver_version);
  cudaRuntimeGetVersion(&info.runtime_version);
  if (info.driver_version == 0) {
    info.unavailable_reason = "no NVIDIA driver is installed (libcuda could not be loaded)";
    return info;
  }
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    info.unavailable_reason = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(err);
    cudaGetLastError();
    return info;
  }
  if (count == 0) {
    info.unavailable_reason = "the NVIDIA driver reports no CUDA device";
    return info;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    CudaDeviceInfo dev;
    dev.index = i;
    dev.name = prop.name;
    dev.total_memory_bytes = prop.totalGlobalMem;
    dev.compute_major = prop.major;
    dev.compute_minor = prop.minor;
    dev.multiprocessors = prop.multiProcessorCount;
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaSetDevice(i) == cudaSuccess && cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess)
      dev.free_memory_bytes = free_bytes;
    cudaGetLastError();
    info.devices.push_back(dev);
  }
  if (info.devices.empty()) info.unavailable_reason = "no CUDA device could be queried";
  return info;
}

}  // namespace loralab
