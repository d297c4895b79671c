// Per-op time of a training step, for the step benchmark only: with LORALAB_OP_PROFILE=1 in the
// environment, every OpTimer scope adds its wall and process-CPU time (all threads) to a table kept
// per label; op_profile_report() prints it. Off (the default), a scope costs one branch.
#pragma once
#include <cstdio>

namespace loralab {

bool op_profile_enabled();  // LORALAB_OP_PROFILE set (read once)

class OpTimer {
 public:
  explicit OpTimer(const char* label);
  ~OpTimer();
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  const char* label_ = nullptr;  // null when profiling is off
  double wall0_ = 0, cpu0_ = 0;
};

// Consecutive phases of one function: phase("a") ... phase("b") ... times a up to b, b up to the
// next phase or the end of the scope.
class OpPhases {
 public:
  OpPhases() = default;
  ~OpPhases() { end(); }
  OpPhases(const OpPhases&) = delete;
  OpPhases& operator=(const OpPhases&) = delete;
  void operator()(const char* label);
  void end();

 private:
  const char* label_ = nullptr;
  double wall0_ = 0, cpu0_ = 0;
};

// Prints label, calls, wall ms, CPU ms and share of the profiled CPU time, largest first; resets.
void op_profile_report(std::FILE* out);
void op_profile_reset();

}  // namespace loralab
