// Pinned host staging for host -> device uploads without a host synchronisation per copy: a call
// writes each upload into its own region of one page-locked buffer and enqueues cudaMemcpyAsync
// from it; regions are only reused after reset(), which first waits for the stream (so no copy
// still reads them). Plain C++ (cuda_runtime.h): host tests include it.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "cuda_check.h"

namespace loralab {
namespace cuda {

class PinnedStaging {
 public:
  PinnedStaging() = default;
  ~PinnedStaging() {
    if (host_) cudaFreeHost(host_);
    cudaGetLastError();
  }
  PinnedStaging(const PinnedStaging&) = delete;
  PinnedStaging& operator=(const PinnedStaging&) = delete;

  // Waits for `stream` (every earlier copy has read its region), then hands out regions from the start.
  void reset(cudaStream_t stream) {
    LORALAB_CUDA_CHECK(cudaStreamSynchronize(stream));
    used_ = 0;
  }
  // A region of `bytes` (8-byte aligned) that stays untouched until the next reset(). Growing the
  // buffer waits for the stream first, since pending copies may still read the old one.
  void* take(size_t bytes, cudaStream_t stream) {
    const size_t need = (bytes + 7) / 8 * 8;
    if (used_ + need > capacity_) {
      LORALAB_CUDA_CHECK(cudaStreamSynchronize(stream));
      if (host_) LORALAB_CUDA_CHECK(cudaFreeHost(host_));
      host_ = nullptr;
      capacity_ = std::max<size_t>(std::max<size_t>(2 * capacity_, need), size_t(1) << 16);
      LORALAB_CUDA_CHECK(cudaMallocHost(&host_, capacity_));
      used_ = 0;
    }
    void* p = static_cast<uint8_t*>(host_) + used_;
    used_ += need;
    return p;
  }

 private:
  void* host_ = nullptr;
  size_t capacity_ = 0, used_ = 0;
};

}  // namespace cuda
}  // namespace loralab
