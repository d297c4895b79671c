// Minimal test helpers for the ctest programs: CHECK / CHECK_NEAR record failures and keep going;
// test_summary prints "N passed, N failed" and returns the exit code. Exit 77 means "skipped".
#pragma once
#include <cmath>
#include <cstdio>

namespace test_detail {
inline int& passed() { static int n = 0; return n; }
inline int& failed() { static int n = 0; return n; }
}  // namespace test_detail

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (cond) {                                                                  \
      ++test_detail::passed();                                                   \
    } else {                                                                     \
      ++test_detail::failed();                                                   \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                            \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                            \
  do {                                                                                   \
    double va_ = (a), vb_ = (b);                                                         \
    if (std::fabs(va_ - vb_) <= (tol)) {                                                 \
      ++test_detail::passed();                                                           \
    } else {                                                                             \
      ++test_detail::failed();                                                           \
      std::fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s=%.9g %s=%.9g tol=%g\n", __FILE__, \
                   __LINE__, #a, va_, #b, vb_, (double)(tol));                           \
    }                                                                                    \
  } while (0)

inline int test_summary(const char* name) {
  std::printf("%s: %d passed, %d failed\n", name, test_detail::passed(), test_detail::failed());
  return test_detail::failed() == 0 ? 0 : 1;
}
