// Thread pool implementation: a generation counter wakes the workers, tasks are claimed with an
// atomic counter while the run accepts workers; which thread runs a task never changes what the
// task computes.
#include "threadpool.h"

#include <algorithm>

#include <sched.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace loralab {

static unsigned read_csr() {
#if defined(__x86_64__) || defined(__i386__)
  return _mm_getcsr();
#else
  return 0;
#endif
}
static void write_csr(unsigned v) {
#if defined(__x86_64__) || defined(__i386__)
  _mm_setcsr(v);
#else
  (void)v;
#endif
}

void set_flush_denormals() { write_csr(read_csr() | 0x8040u); }  // FTZ (bit 15) | DAZ (bit 6)
FlushDenormalsScope::FlushDenormalsScope() : saved_(read_csr()) { set_flush_denormals(); }
FlushDenormalsScope::~FlushDenormalsScope() { write_csr(saved_); }

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  int n = 0;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) n = CPU_COUNT(&set);
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  return n > 0 ? n : 1;
}

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = usable_cores();
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

// Guided self-scheduling: each claim takes a run of consecutive tasks, remaining / (2 x threads)
// long (at least one), so each thread works through long contiguous stretches of the task grid.
// Claiming one task at a time interleaved neighbouring tasks between the cores: a GEMM's 64-column
// tasks then wrote neighbouring cache lines of the same C rows from both cores, and ran at 120
// instead of 160 GFLOP/s per CPU-second (head logits, 2 threads). Which thread runs a task still
// never changes what the task computes.
void ThreadPool::drain() {
  const int64_t share = 2 * static_cast<int64_t>(threads());
  for (;;) {
    int64_t i = next_.load(), n = 0;
    do {
      if (i >= n_tasks_) return;
      n = std::max<int64_t>(1, (n_tasks_ - i) / share);
    } while (!next_.compare_exchange_weak(i, i + n));
    try {
      for (int64_t j = i; j < i + n; ++j) (*job_)(j);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      next_.store(n_tasks_);  // skip the remaining tasks
    }
  }
}

void ThreadPool::worker_loop() {
  set_flush_denormals();
  int64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (!accepting_) continue;  // woke after that run ended: nothing of it is left to claim
      ++active_;
    }
    drain();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--active_ == 0) done_.notify_all();
    }
  }
}

void ThreadPool::run(int64_t n_tasks, const std::function<void(int64_t)>& fn) {
  if (n_tasks <= 0) return;
  FlushDenormalsScope ftz;
  if (workers_.empty() || n_tasks == 1) {
    for (int64_t i = 0; i < n_tasks; ++i) fn(i);
    return;
  }
  std::lock_guard<std::mutex> run_lock(run_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    n_tasks_ = n_tasks;
    next_.store(0);
    error_ = nullptr;
    accepting_ = true;
    ++generation_;
  }
  wake_.notify_all();
  drain();
  std::exception_ptr err;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return active_ == 0 && next_.load() >= n_tasks_; });
    accepting_ = false;  // every task claimed and no worker inside drain(): the run is over
    err = error_;
    error_ = nullptr;
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace loralab
