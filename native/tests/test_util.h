// Minimal test helpers for the ctest programs: CHECK / CHECK_NEAR record failures and keep going;
// expect_error checks a loralab::Error code; make_temp_dir makes a fresh folder; test_summary prints
// "N passed, N failed" and returns the exit code. Exit 77 means "skipped".
#pragma once
#include <stdlib.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "error.h"

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

// A fresh folder /tmp/loralab-<tag>-XXXXXX.
inline std::string make_temp_dir(const char* tag) {
  std::string tmpl = std::string("/tmp/loralab-") + tag + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) std::abort();
  return buf.data();
}

// Runs fn, expecting loralab::Error with `code`; returns its message (empty when none was thrown).
template <class Fn>
std::string expect_error(const char* code, Fn fn) {
  try {
    fn();
  } catch (const loralab::Error& e) {
    if (e.code() != code) std::fprintf(stderr, "  got %s (%s), expected %s\n", e.code().c_str(), e.what(), code);
    CHECK(e.code() == code);
    return e.what();
  } catch (...) {
    CHECK(!"unexpected exception type");
    return "";
  }
  std::fprintf(stderr, "  expected %s, nothing thrown\n", code);
  CHECK(!"no error thrown");
  return "";
}
