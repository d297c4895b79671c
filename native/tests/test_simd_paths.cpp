// ctest: every other CPU test program (the test_* executables next to this one, CUDA ones
// excluded) run again with each lower SIMD path forced (LORALAB_SIMD=avx2 where the CPU has
// AVX2+FMA, LORALAB_SIMD=scalar always), so the GEMM, attention and quantized kernels of every
// dispatch path pass the same op, model, golden and determinism checks. The default (best) path is
// what plain ctest already runs.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <string>
#include <vector>

#include "test_util.h"

static std::string self_dir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/'));
}

// Runs dir/name with LORALAB_SIMD=path, output discarded unless it fails; returns the exit status.
static int run_forced(const std::string& dir, const std::string& name, const char* path) {
  std::string log = "/tmp/loralab_simd_" + std::to_string(getpid()) + "_" + name + "_" + path + ".log";
  std::fflush(stdout);  // or the child would flush our buffered lines again
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    setenv("LORALAB_SIMD", path, 1);
    FILE* f = std::freopen(log.c_str(), "w", stdout);
    (void)f;
    dup2(fileno(stdout), 2);
    std::string exe = dir + "/" + name;
    execl(exe.c_str(), exe.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (rc != 0) {
    std::printf("---- %s with LORALAB_SIMD=%s exited %d; its output:\n", name.c_str(), path, rc);
    if (FILE* f = std::fopen(log.c_str(), "r")) {
      char line[1024];
      while (std::fgets(line, sizeof(line), f)) std::fputs(line, stdout);
      std::fclose(f);
    }
  }
  std::remove(log.c_str());
  return rc;
}

int main() {
  const std::string dir = self_dir();
  std::vector<std::string> programs;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind("test_", 0) != 0 || n == "test_simd_paths" || n.find('.') != std::string::npos) continue;
      if (n.size() >= 5 && n.compare(n.size() - 5, 5, "_cuda") == 0) continue;
      if (access((dir + "/" + n).c_str(), X_OK) == 0) programs.push_back(n);
    }
    closedir(d);
  }
  std::sort(programs.begin(), programs.end());
  CHECK(programs.size() >= 5);  // the op, model, train, golden and qlora programs are there
  __builtin_cpu_init();
  std::vector<const char*> paths = {"scalar"};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) paths.insert(paths.begin(), "avx2");
  for (const char* path : paths) {
    for (const std::string& p : programs) {
      int rc = run_forced(dir, p, path);
      std::printf("  %-28s LORALAB_SIMD=%-6s %s\n", p.c_str(), path, rc == 0 ? "ok" : "FAILED");
      CHECK(rc == 0);
    }
  }
  return test_summary("test_simd_paths");
}
