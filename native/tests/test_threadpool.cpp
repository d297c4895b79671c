// ctest: the thread pool under back-to-back runs. Many short runs whose tasks the caller can finish
// alone, so workers often wake after their run has ended: every task of every run must execute
// exactly once (a late worker must not claim an index of the next run: that task would run twice,
// or the ended run's destroyed function would be called and crash the test), and exceptions must
// reach the caller.
#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <string>
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
  return test_summary("test_threadpool");
}
