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
  // The calling thread's slot in this pool: i on its worker i, 0 on any other thread (the caller of
  // run(), or a worker of another pool), so a task can index per-thread state of threads() entries.
  int slot() const;

 private:
  // One thread's share of a run's tasks, [begin, end) packed as begin << 32 | end: the owner
  // claims from the front, a thread whose share is empty steals the back half (threadpool.cpp).
  struct alignas(64) Share {
    std::atomic<uint64_t> range{0};
  };
  void worker_loop(int slot);
  void drain(int slot);
  bool claim(int slot, int64_t* task);
  void finish_task();
  void notify(std::condition_variable& cv);
  std::vector<std::thread> workers_;
  std::vector<Share> shares_;  // slot 0: the caller of run(), slot i: worker i
  const std::function<void(int64_t)>* job_ = nullptr;
  // Run state, one word: generation << 32 | accepting << 31 | workers inside the run. A worker
  // joins (and claims tasks) only while its run accepts, so one that wakes after the run ended
  // cannot take a task of a later run; the caller closes the run when all its tasks are done and
  // no worker is inside.
  alignas(64) std::atomic<uint64_t> state_{0};
  alignas(64) std::atomic<int64_t> left_{0};  // tasks of the run not yet finished
  std::atomic<int> sleepers_{0};              // workers blocked on wake_ (or about to be)
  std::atomic<bool> caller_sleeps_{false};    // the caller blocked on done_ (or about to be)
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;  // guarded by mutex_
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
