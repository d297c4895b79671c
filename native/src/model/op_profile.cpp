// Per-op step profile (model/op_profile.h): a label -> (calls, wall, CPU) table behind a mutex;
// scopes nest (an outer scope's time includes its inner ones), the report lists every label.
#include "model/op_profile.h"

#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace loralab {

namespace {
struct Entry {
  long calls = 0;
  double wall = 0, cpu = 0;
};
std::mutex& table_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, Entry>& table() {
  static std::map<std::string, Entry> t;
  return t;
}
double clock_s(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

void add(const char* label, double wall0, double cpu0) {
  const double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0, wall = clock_s(CLOCK_MONOTONIC) - wall0;
  std::lock_guard<std::mutex> lock(table_mutex());
  Entry& e = table()[label];
  ++e.calls, e.wall += wall, e.cpu += cpu;
}
}  // namespace

bool op_profile_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("LORALAB_OP_PROFILE");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return on;
}

OpTimer::OpTimer(const char* label) {
  if (!op_profile_enabled()) return;
  label_ = label;
  wall0_ = clock_s(CLOCK_MONOTONIC);
  cpu0_ = clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

OpTimer::~OpTimer() {
  if (label_) add(label_, wall0_, cpu0_);
}

void OpPhases::operator()(const char* label) {
  if (!op_profile_enabled()) return;
  end();
  label_ = label;
  wall0_ = clock_s(CLOCK_MONOTONIC);
  cpu0_ = clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

void OpPhases::end() {
  if (label_) add(label_, wall0_, cpu0_);
  label_ = nullptr;
}

void op_profile_reset() {
  std::lock_guard<std::mutex> lock(table_mutex());
  table().clear();
}

void op_profile_report(std::FILE* out) {
  std::vector<std::pair<std::string, Entry>> rows;
  {
    std::lock_guard<std::mutex> lock(table_mutex());
    rows.assign(table().begin(), table().end());
    table().clear();
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.cpu > b.second.cpu; });
  double total = 0;
  for (const auto& r : rows)
    if (r.first.find('/') == std::string::npos) total += r.second.cpu;  // top-level labels only
  std::fprintf(out, "op profile (CPU ms all threads; %% of the top-level labels' CPU; nested labels contain '/')\n");
  for (const auto& r : rows)
    std::fprintf(out, "  %-28s %6ld calls %9.1f ms wall %9.1f ms CPU %5.1f%%\n", r.first.c_str(), r.second.calls, 1e3 * r.second.wall,
                 1e3 * r.second.cpu, total > 0 ? 100.0 * r.second.cpu / total : 0.0);
}

}  // namespace loralab
