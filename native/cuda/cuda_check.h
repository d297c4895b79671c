// Error handling for the CUDA part of the engine: every runtime call and every kernel launch is
// checked, and a failure becomes a loralab::Error (code E_CUDA) carrying the C++ file:line; library
// code never calls exit(). Plain C++ (no CUDA-only syntax): host tests include it too.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "error.h"

namespace loralab {
namespace cuda {
[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* what, const char* file, int line) {
  cudaGetLastError();  // clear a sticky-free error so the next call starts clean
  throw ::loralab::Error("E_CUDA", std::string(what) + " failed: " + cudaGetErrorName(err) + " (" +
                                       cudaGetErrorString(err) + ")",
                         file, line);
}
}  // namespace cuda
}  // namespace loralab

// LORALAB_CUDA_CHECK(cudaMemcpyAsync(...)): throws E_CUDA naming the call and the runtime's message.
#define LORALAB_CUDA_CHECK(call)                                                      \
  do {                                                                                \
    cudaError_t loralab_cuda_err_ = (call);                                           \
    if (loralab_cuda_err_ != cudaSuccess)                                             \
      ::loralab::cuda::throw_cuda_error(loralab_cuda_err_, #call, __FILE__, __LINE__); \
  } while (0)

// After every <<<...>>>: a bad configuration or a launch failure becomes E_CUDA with the kernel name.
#define LORALAB_CUDA_LAUNCH_CHECK(kernel_name)                                                          \
  do {                                                                                                  \
    cudaError_t loralab_cuda_err_ = cudaGetLastError();                                                 \
    if (loralab_cuda_err_ != cudaSuccess)                                                               \
      ::loralab::cuda::throw_cuda_error(loralab_cuda_err_, "launch of " kernel_name, __FILE__, __LINE__); \
  } while (0)

// Shape / argument checks of the launchers (host side, before anything is launched).
#define LORALAB_CUDA_ASSERT(cond, msg) LORALAB_CHECK((cond), "E_CUDA_SHAPE", std::string(msg))
