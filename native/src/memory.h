// Memory accounting: one tracker per engine counts current and peak bytes per MemCategory, and
// Buffer<T> is the only way engine tensors are allocated (64-byte aligned, zero-filled, tracked).
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>

#include "engine.h"

namespace loralab {

class MemTracker {
 public:
  void add(MemCategory c, uint64_t bytes);
  void sub(MemCategory c, uint64_t bytes);
  MemoryReport report() const;
  void reset_peaks();  // peaks := current (e.g. after load, to measure one run)

 private:
  mutable std::mutex mutex_;
  MemoryReport r_;
};

void* tracked_alloc(MemTracker* tracker, MemCategory c, size_t bytes);  // zero-filled, 64-aligned
void tracked_free(MemTracker* tracker, MemCategory c, void* p, size_t bytes);

// An owned, tracked array of n elements of T. Move-only.
template <typename T>
class Buffer {
 public:
  Buffer() = default;
  Buffer(MemTracker* tracker, MemCategory c, size_t n) { allocate(tracker, c, n); }
  ~Buffer() { release(); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept { swap(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      release();
      swap(o);
    }
    return *this;
  }
  void allocate(MemTracker* tracker, MemCategory c, size_t n) {
    release();
    tracker_ = tracker;
    cat_ = c;
    n_ = n;
    ptr_ = n ? static_cast<T*>(tracked_alloc(tracker, c, n * sizeof(T))) : nullptr;
  }
  // Keeps the allocation when it is already large enough (contents are then not cleared).
  void ensure(MemTracker* tracker, MemCategory c, size_t n) {
    if (n_ < n || tracker_ != tracker || cat_ != c) allocate(tracker, c, n);
  }
  void release() {
    if (ptr_) tracked_free(tracker_, cat_, ptr_, n_ * sizeof(T));
    ptr_ = nullptr;
    n_ = 0;
  }
  void zero();
  T* data() { return ptr_; }
  const T* data() const { return ptr_; }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  T& operator[](size_t i) { return ptr_[i]; }
  const T& operator[](size_t i) const { return ptr_[i]; }

 private:
  void swap(Buffer& o) {
    std::swap(ptr_, o.ptr_);
    std::swap(n_, o.n_);
    std::swap(tracker_, o.tracker_);
    std::swap(cat_, o.cat_);
  }
  T* ptr_ = nullptr;
  size_t n_ = 0;
  MemTracker* tracker_ = nullptr;
  MemCategory cat_ = MemCategory::Workspace;
};

void zero_bytes(void* p, size_t bytes);
template <typename T>
void Buffer<T>::zero() {
  if (ptr_) zero_bytes(ptr_, n_ * sizeof(T));
}

}  // namespace loralab
