// Memory accounting: per-category current/peak counters and the tracked aligned allocator.
#include "memory.h"

#include "device.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "error.h"

namespace loralab {

const char* mem_category_name(MemCategory c) {
  switch (c) {
    case MemCategory::Weights: return "weights";
    case MemCategory::QuantConstants: return "quant_constants";
    case MemCategory::LoraParams: return "lora_params";
    case MemCategory::Grads: return "grads";
    case MemCategory::OptimizerState: return "optimizer_state";
    case MemCategory::Activations: return "activations";
    case MemCategory::Logits: return "logits";
    case MemCategory::Workspace: return "workspace";
    case MemCategory::KvCache: return "kv_cache";
    default: return "unknown";
  }
}

void MemTracker::add(MemCategory c, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  int i = static_cast<int>(c);
  r_.current[i] += bytes;
  if (r_.current[i] > r_.peak[i]) r_.peak[i] = r_.current[i];
  r_.current_total += bytes;
  if (r_.current_total > r_.peak_total) r_.peak_total = r_.current_total;
}

void MemTracker::sub(MemCategory c, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  int i = static_cast<int>(c);
  r_.current[i] -= bytes;
  r_.current_total -= bytes;
}

MemoryReport MemTracker::report() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return r_;
}

void MemTracker::reset_peaks() {
  std::lock_guard<std::mutex> lock(mutex_);
  r_.peak = r_.current;
  r_.peak_total = r_.current_total;
}

void* tracked_alloc(MemTracker* tracker, MemCategory c, size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p)
    LORALAB_THROW("E_OUT_OF_MEMORY", std::string("could not allocate ") + std::to_string(bytes) + " bytes for " +
                                         mem_category_name(c) + " (" + std::to_string(detect_cpu().available_memory_bytes) +
                                         " bytes available; " + std::to_string(tracker ? tracker->report().current_total : 0) +
                                         " bytes already held by this engine)");
  std::memset(p, 0, rounded);
  if (tracker) tracker->add(c, bytes);
  return p;
}

void tracked_free(MemTracker* tracker, MemCategory c, void* p, size_t bytes) {
  std::free(p);
  if (tracker) tracker->sub(c, bytes);
}

void zero_bytes(void* p, size_t bytes) { std::memset(p, 0, bytes); }

}  // namespace loralab
