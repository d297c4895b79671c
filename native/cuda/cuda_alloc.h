// Device memory of the CUDA engine: one caching allocator per device over plain cudaMalloc (never
// managed memory), accounted per MemCategory in the engine's MemTracker exactly like host Buffer<T>.
// Freed blocks stay cached for reuse; when cudaMalloc fails the cache is released and the request
// retried once, then E_OUT_OF_MEMORY names the request, its category and the free/total bytes.
// Plain C++: host tests include it. Legend: n elements.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "engine.h"
#include "memory.h"

namespace loralab {
namespace cuda {

class CudaAllocator {
 public:
  CudaAllocator(MemTracker* tracker, int device);
  ~CudaAllocator();  // frees every block, cached or still handed out
  CudaAllocator(const CudaAllocator&) = delete;
  CudaAllocator& operator=(const CudaAllocator&) = delete;

  // bytes rounded up to 512 (1 MiB above 1 MiB); the block is NOT zeroed (use cudaMemsetAsync)
  void* alloc(MemCategory c, size_t bytes);
  void free(void* p);           // back to the cache; null is a no-op
  void release_cached();        // cudaFree every cached block
  uint64_t cached_bytes() const;  // idle bytes held by the cache (not in any category)
  int device() const { return device_; }

 private:
  struct Block {
    size_t bytes;
    MemCategory category;
  };
  MemTracker* tracker_;
  int device_;
  mutable std::mutex mutex_;
  std::unordered_map<void*, Block> live_;   // handed out
  std::multimap<size_t, void*> cached_;     // free, by size
  uint64_t cached_bytes_ = 0;
};

// An owned device array of n elements of T from a CudaAllocator. Move-only.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(CudaAllocator* alloc, MemCategory c, size_t n) : alloc_(alloc), n_(n) {
    ptr_ = n ? static_cast<T*>(alloc->alloc(c, n * sizeof(T))) : nullptr;
  }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept { swap(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      swap(o);
    }
    return *this;
  }
  void release() {
    if (ptr_) alloc_->free(ptr_);
    ptr_ = nullptr;
    n_ = 0;
  }
  T* data() { return ptr_; }
  const T* data() const { return ptr_; }
  size_t size() const { return n_; }
  size_t bytes() const { return n_ * sizeof(T); }

 private:
  void swap(DeviceBuffer& o) {
    std::swap(alloc_, o.alloc_);
    std::swap(ptr_, o.ptr_);
    std::swap(n_, o.n_);
  }
  CudaAllocator* alloc_ = nullptr;
  T* ptr_ = nullptr;
  size_t n_ = 0;
};

}  // namespace cuda
}  // namespace loralab
