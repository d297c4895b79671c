// ctest: the thread pool under back-to-back runs. Many short runs whose tasks the caller can finish
// alone, so workers often wake after their run has ended: every task of every run must execute
// exactly once (a late worker must not claim an index of the next run: that task would run twice,
// or the ended run's destroyed function would be called and crash the test), and exceptions must
// reach the caller. Each thread works through one contiguous share of the tasks, so neighbouring
// tasks (a GEMM's neighbouring column blocks) stay on one core, and a thread that has finished its
// share takes over the rest of a busy thread's share (stealing).
#include <atomic>
#include <mutex>
#include <set>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"
#include "threadpool.h"

using namespace loralab;

namespace {

// `runs` runs alternating between `tasks` and 8 x `tasks` tasks (a worker that joins a finished
// small run late must not take an index of the next, larger run); every task counts its index in
// an array that lives on the caller's stack for the duration of its run only.
int64_t miscounted_tasks(ThreadPool& pool, int runs, int small_tasks) {
  int64_t bad = 0;
  for (int r = 0; r < runs; ++r) {
    const int tasks = r % 2 ? 8 * small_tasks : small_tasks;
    std::vector<std::atomic<int>> hits(tasks);
    for (auto& h : hits) h.store(0);
    pool.run(tasks, [&hits](int64_t i) { hits[i].fetch_add(1); });
    for (int i = 0; i < tasks; ++i) bad += hits[i].load() != 1;
  }
  return bad;
}

// Number of places in [0, tasks) where task i and i+1 ran on different threads; each task spins
// for ~5 us, so every thread of the pool gets work.
int owner_changes(ThreadPool& pool, int tasks) {
  std::vector<std::thread::id> owner(tasks);
  pool.run(tasks, [&owner](int64_t i) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(5);
    while (std::chrono::steady_clock::now() < until) {
    }
    owner[i] = std::this_thread::get_id();
  });
  int changes = 0;
  for (int i = 1; i < tasks; ++i) changes += owner[i] != owner[i - 1];
  return changes;
}

}  // namespace

int main() {
  for (int threads : {2, 3, 4, 8}) {
    ThreadPool pool(threads);
    for (int tasks : {2, 3, 5}) {
      const int64_t bad = miscounted_tasks(pool, 150000, tasks);
      std::printf("  %d threads, runs of %2d and %3d tasks x 150000: %lld tasks not run exactly once\n", threads, tasks, 8 * tasks,
                  static_cast<long long>(bad));
      CHECK(bad == 0);
    }
  }
  {  // exceptions reach the caller and the pool stays usable
    ThreadPool pool(4);
    bool caught = false;
    try {
      pool.run(64, [](int64_t i) {
        if (i == 13) throw std::runtime_error("task 13");
      });
    } catch (const std::runtime_error& e) {
      caught = std::string(e.what()) == "task 13";
    }
    CHECK(caught);
    CHECK(miscounted_tasks(pool, 1000, 7) == 0);
  }
  {  // one share per thread, and a steal takes the back half of what is left: a few stretches at 2
     // threads (claiming one index at a time would change owner ~1000 times here)
    ThreadPool pool(2);
    const int changes = owner_changes(pool, 2000);
    std::printf("  2 threads, 2000 tasks: the owning thread changes %d times along the task order\n", changes);
    CHECK(changes <= 24);
  }
  for (int threads : {2, 3, 8}) {  // a thread held up by one task: the others run every other task,
                                   // its own share included (else task 0 would wait forever)
    ThreadPool pool(threads);
    const int tasks = 64;
    std::atomic<int> others{0};
    bool waited = true;
    pool.run(tasks, [&](int64_t i) {
      if (i != 0) {
        others.fetch_add(1);
        return;
      }
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (others.load() < tasks - 1)
        if (std::chrono::steady_clock::now() > give_up) {
          waited = false;
          return;
        }
    });
    std::printf("  %d threads: while task 0 ran, the other threads ran %d of the %d other tasks\n", threads,
                others.load(), tasks - 1);
    CHECK(waited && others.load() == tasks - 1);
  }
  {  // slot(): each thread of a pool has its own index below threads(), the caller 0; a worker of
     // another pool that runs a task of this one counts as this pool's caller (slot 0)
    ThreadPool outer(3), inner(2);
    std::mutex m;
    std::set<std::thread::id> ids[3];
    bool in_range = true;
    outer.run(48, [&](int64_t) {
      const int s = outer.slot();
      bool inner_ok = true;
      if (s != 0)
        inner.run(4, [&](int64_t) {
          const int t = inner.slot();
          if (t < 0 || t >= inner.threads()) inner_ok = false;
        });
      std::lock_guard<std::mutex> lock(m);
      in_range = in_range && inner_ok && s >= 0 && s < outer.threads() && inner.slot() == 0;
      ids[s].insert(std::this_thread::get_id());
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    });
    bool one_thread_per_slot = true;
    for (const auto& set : ids) one_thread_per_slot = one_thread_per_slot && set.size() <= 1;
    std::printf("  slot(): indices in range %s, one thread per slot %s\n", in_range ? "yes" : "no",
                one_thread_per_slot ? "yes" : "no");
    CHECK(in_range && one_thread_per_slot && ids[0].count(std::this_thread::get_id()) == ids[0].size());
  }
  return test_summary("test_threadpool");
}
