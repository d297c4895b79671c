// The caching device allocator (see cuda_alloc.h): exact-fit-ish reuse of freed blocks (a cached
// block is reused when it is at most twice the request), MemTracker accounting of the rounded size.
#include "cuda_alloc.h"

#include <cuda_runtime.h>

#include <string>

#include "cuda_check.h"

namespace loralab {
namespace cuda {

namespace {
size_t round_request(size_t bytes) {
  const size_t unit = bytes > (size_t(1) << 20) ? (size_t(1) << 20) : 512;
  return (bytes + unit - 1) / unit * unit;
}
}  // namespace

CudaAllocator::CudaAllocator(MemTracker* tracker, int device) : tracker_(tracker), device_(device) {}

CudaAllocator::~CudaAllocator() {
  cudaSetDevice(device_);
  for (auto& kv : live_) {
    if (tracker_) tracker_->sub(kv.second.category, kv.second.bytes);
    cudaFree(kv.first);
  }
  for (auto& kv : cached_) cudaFree(kv.second);
  cudaGetLastError();  // a destructor never throws
}

void* CudaAllocator::alloc(MemCategory c, size_t bytes) {
  if (bytes == 0) return nullptr;
  const size_t rounded = round_request(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  void* p = nullptr;
  auto it = cached_.lower_bound(rounded);
  if (it != cached_.end() && it->first <= 2 * rounded) {
    p = it->second;
    const size_t have = it->first;
    cached_.erase(it);
    cached_bytes_ -= have;
    live_[p] = Block{have, c};
    if (tracker_) tracker_->add(c, have);
    return p;
  }
  LORALAB_CUDA_CHECK(cudaSetDevice(device_));
  cudaError_t err = cudaMalloc(&p, rounded);
  if (err != cudaSuccess) {  // give the cache back and try once more
    cudaGetLastError();
    for (auto& kv : cached_) cudaFree(kv.second);
    cached_.clear();
    cached_bytes_ = 0;
    err = cudaMalloc(&p, rounded);
  }
  if (err != cudaSuccess) {
    cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    LORALAB_THROW("E_OUT_OF_MEMORY", "could not allocate " + std::to_string(bytes) + " bytes of GPU memory for " +
                                         mem_category_name(c) + " on CUDA device " + std::to_string(device_) + ": " +
                                         std::to_string(free_bytes) + " of " + std::to_string(total_bytes) +
                                         " bytes free (" + cudaGetErrorString(err) + ")");
  }
  live_[p] = Block{rounded, c};
  if (tracker_) tracker_->add(c, rounded);
  return p;
}

void CudaAllocator::free(void* p) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(p);
  LORALAB_CHECK(it != live_.end(), "E_CUDA", "CudaAllocator::free of a pointer this allocator did not hand out");
  if (tracker_) tracker_->sub(it->second.category, it->second.bytes);
  cached_.emplace(it->second.bytes, p);
  cached_bytes_ += it->second.bytes;
  live_.erase(it);
}

void CudaAllocator::release_cached() {
  std::lock_guard<std::mutex> lock(mutex_);
  cudaSetDevice(device_);
  for (auto& kv : cached_) LORALAB_CUDA_CHECK(cudaFree(kv.second));
  cached_.clear();
  cached_bytes_ = 0;
}

uint64_t CudaAllocator::cached_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cached_bytes_;
}

}  // namespace cuda
}  // namespace loralab
