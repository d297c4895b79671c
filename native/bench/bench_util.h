// Helpers shared by the benchmark programs: process CPU time (meaningful next to wall clock on a
// shared, loaded machine).
#pragma once
#include <ctime>

inline double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}
