// Thread pool implementation: a run state word (generation, accepting, workers inside) admits the
// workers, each thread claims tasks from its own contiguous share and steals from the others'
// when done; waits spin briefly before blocking. Which thread runs a task never changes what the
// task computes.
#include "threadpool.h"

#include <algorithm>
#include <chrono>

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

namespace {
// Waits first spin (a futex wake-up costs ~36 us per call on these VMs, where a sleeping vCPU
// needs an interrupt to wake: 16k calls took 0.58 s of an 8-step stories15M run), then block.
constexpr auto kSpin = std::chrono::microseconds(100);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// Calls ready() until it returns true or kSpin has passed; returns its last answer.
template <typename F>
bool spin_until(const F& ready) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (int i = 1;; ++i) {
    if (ready()) return true;
    cpu_relax();
    if (i % 64 == 0) {
      if (std::chrono::steady_clock::now() > until) return ready();
      sched_yield();  // a thread of this or another process waiting for this core runs now
    }
  }
}

constexpr uint64_t kAccepting = uint64_t(1) << 31, kActiveMask = kAccepting - 1;
inline uint32_t generation(uint64_t state) { return static_cast<uint32_t>(state >> 32); }
inline uint64_t pack(int64_t begin, int64_t end) { return static_cast<uint64_t>(begin) << 32 | static_cast<uint64_t>(end); }
inline int64_t begin_of(uint64_t r) { return static_cast<int64_t>(r >> 32); }
inline int64_t end_of(uint64_t r) { return static_cast<int64_t>(r & 0xffffffffu); }
}  // namespace

ThreadPool::ThreadPool(int threads) : shares_(threads <= 0 ? usable_cores() : threads) {
  for (int i = 1; i < static_cast<int>(shares_.size()); ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

// Wakes the threads blocked on cv. Taking mutex_ first orders the wake after a sleeper's check of
// its condition (made under mutex_), so a thread about to block cannot miss it.
void ThreadPool::notify(std::condition_variable& cv) {
  { std::lock_guard<std::mutex> lock(mutex_); }
  cv.notify_all();
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

// Scheduling: a run's tasks are cut into one contiguous share per thread, which its owner works
// through in order, so each thread keeps long contiguous stretches of the task grid (neighbouring
// GEMM column blocks, consecutive K ranges: their rows continue where the last task ended, which
// the prefetchers follow). A thread whose share is empty steals the back half of the largest one
// left (a late or preempted thread's work is taken over). Which thread runs a task never changes
// what the task computes.
bool ThreadPool::claim(int slot, int64_t* task) {
  std::atomic<uint64_t>& own = shares_[slot].range;
  uint64_t r = own.load();
  while (begin_of(r) < end_of(r))
    if (own.compare_exchange_weak(r, pack(begin_of(r) + 1, end_of(r)))) {
      *task = begin_of(r);
      return true;
    }
  for (;;) {
    int victim = -1;
    uint64_t vr = 0;
    for (int s = 0; s < static_cast<int>(shares_.size()); ++s) {
      if (s == slot) continue;
      const uint64_t x = shares_[s].range.load();
      if (end_of(x) - begin_of(x) > end_of(vr) - begin_of(vr)) victim = s, vr = x;
    }
    if (victim < 0) return false;
    const int64_t b = begin_of(vr), e = end_of(vr), m = b + (e - b) / 2;  // the victim keeps [b, m)
    if (!shares_[victim].range.compare_exchange_strong(vr, pack(b, m))) continue;
    own.store(pack(m + 1, e));  // own share was empty: nobody else changes it
    *task = m;
    return true;
  }
}

void ThreadPool::finish_task() {
  if (left_.fetch_sub(1) == 1 && caller_sleeps_.load()) {
    notify(done_);
  }
}

void ThreadPool::drain(int slot) {
  int64_t task = 0;
  while (claim(slot, &task)) {
    try {
      (*job_)(task);
    } catch (...) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      for (Share& sh : shares_) {  // skip the tasks not yet claimed
        const uint64_t r = sh.range.exchange(pack(0, 0));
        if (end_of(r) > begin_of(r)) left_.fetch_sub(end_of(r) - begin_of(r));
      }
    }
    finish_task();
  }
}

namespace {
thread_local const ThreadPool* t_pool = nullptr;  // the pool this thread is a worker of (ThreadPool::slot())
thread_local int t_slot = 0;
}  // namespace
int ThreadPool::slot() const { return t_pool == this ? t_slot : 0; }

void ThreadPool::worker_loop(int slot) {
  t_pool = this;
  t_slot = slot;
  set_flush_denormals();
  uint32_t seen = 0;
  for (;;) {
    uint64_t st = state_.load();
    if (generation(st) == seen) {  // wait for the next run
      const auto next = [&] { return stop_.load() || generation(state_.load()) != seen; };
      if (!spin_until(next)) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, next);
        sleepers_.fetch_sub(1);
      }
      if (stop_.load()) return;
      continue;
    }
    seen = generation(st);
    bool joined = false;
    while (generation(st) == seen && (st & kAccepting) && !(joined = state_.compare_exchange_weak(st, st + 1))) {
    }
    if (!joined) continue;  // that run has ended (or a newer one began: seen differs from it)
    drain(slot);
    if (((state_.fetch_sub(1) - 1) & kActiveMask) == 0 && caller_sleeps_.load()) {
      notify(done_);
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
  constexpr int64_t kMaxRun = int64_t(1) << 30;  // a share's bounds are 32-bit
  if (n_tasks > kMaxRun) {
    for (int64_t t0 = 0; t0 < n_tasks; t0 += kMaxRun)
      run(std::min(kMaxRun, n_tasks - t0), [&](int64_t i) { fn(t0 + i); });
    return;
  }
  std::lock_guard<std::mutex> run_lock(run_mutex_);
  job_ = &fn;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = nullptr;
  }
  left_.store(n_tasks);
  const int64_t T = threads();
  for (int64_t s = 0; s < T; ++s) shares_[s].range.store(pack(s * n_tasks / T, (s + 1) * n_tasks / T));
  const uint32_t gen = generation(state_.load()) + 1;
  state_.store(static_cast<uint64_t>(gen) << 32 | kAccepting);  // publishes job_, shares_, left_
  if (sleepers_.load() > 0) {
    notify(wake_);
  }
  drain(0);
  // Close the run once every task is done and no worker is inside it.
  const auto over = [&] { return left_.load() == 0 && (state_.load() & kActiveMask) == 0; };
  for (;;) {
    if (!spin_until(over)) {
      std::unique_lock<std::mutex> lock(mutex_);
      caller_sleeps_.store(true);
      done_.wait(lock, over);
      caller_sleeps_.store(false);
    }
    uint64_t open = static_cast<uint64_t>(gen) << 32 | kAccepting;
    if (state_.compare_exchange_strong(open, static_cast<uint64_t>(gen) << 32)) break;  // else a worker just joined
  }
  std::exception_ptr err;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    err = error_;
    error_ = nullptr;
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace loralab
