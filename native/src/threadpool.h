// The engine's one thread pool (no OpenMP): run(n_tasks, fn) calls fn(task) for every task index
// on the workers and the caller. Work splits are chosen by the callers independently of the thread
// count, so results are bitwise identical for any number of threads. Workers run with FTZ/DAZ.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace loralab {

// Sets flush-to-zero and denormals-are-zero on this thread; restores the previous mode on scope exit.
class FlushDenormalsScope {
 public:
  FlushDenormalsScope();
  ~FlushDenormalsScope();

 private:
  unsigned saved_ = 0;
};
void set_flush_denormals();  // permanent, for worker threads

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads <= 0: all usable cores
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  // Calls fn(i) for i in [0, n_tasks); returns when all are done; rethrows the first exception.
  void run(int64_t n_tasks, const std::function<void(int64_t)>& fn);

 private:
  void worker_loop();
  void drain();
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t n_tasks_ = 0;
  std::atomic<int64_t> next_{0};
  int64_t generation_ = 0;
  int active_ = 0;
  // True from a run's publication until its caller has seen every task done: a worker joins (and
  // claims indices) only while its run accepts, so one that wakes after the run ended cannot take a
  // stale index that a later run's counter would also hand out.
  bool accepting_ = false;
  bool stop_ = false;
  std::exception_ptr error_;
  std::mutex run_mutex_;  // one run at a time
};

// Number of usable cores (affinity mask).
int usable_cores();

// Runs f(task) for every task on the pool, or serially when pool is null.
template <typename F>
void parallel_for(ThreadPool* pool, int64_t tasks, const F& f) {
  if (pool) pool->run(tasks, f);
  else for (int64_t t = 0; t < tasks; ++t) f(t);
}

}  // namespace loralab
