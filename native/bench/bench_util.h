// Helpers shared by the benchmark programs: wall clock and process CPU time (meaningful next to
// wall clock on a shared, loaded machine), in seconds.
#pragma once
#include <chrono>
#include <ctime>

inline double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}
