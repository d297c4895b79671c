// Finite-difference helpers for the op and model tests: random fill, a scalar objective
// L = sum(w * out), central differences and the worst relative error.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <vector>

#include "rng.h"

namespace gradcheck {

inline void fill_uniform(std::vector<double>& v, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  for (size_t i = 0; i < v.size(); ++i) v[i] = lo + (hi - lo) * loralab::rng_uniform01_f64(loralab::rng_hash(seed, i));
}
inline void fill_uniform(std::vector<float>& v, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<float>(lo + (hi - lo) * loralab::rng_uniform01_f64(loralab::rng_hash(seed, i)));
}

// Worst |fd - analytic| / max(1e-3, max|analytic|) over all elements of x (perturbed in place).
inline double fd_error(const char* name, std::vector<double>& x, const std::vector<double>& analytic,
                       const std::function<double()>& objective, double eps = 1e-6) {
  double max_grad = 0, worst = 0;
  for (double g : analytic) max_grad = std::fmax(max_grad, std::fabs(g));
  for (size_t i = 0; i < x.size(); ++i) {
    double keep = x[i];
    x[i] = keep + eps;
    double lp = objective();
    x[i] = keep - eps;
    double lm = objective();
    x[i] = keep;
    double fd = (lp - lm) / (2 * eps);
    worst = std::fmax(worst, std::fabs(fd - analytic[i]));
  }
  double rel = worst / std::fmax(1e-3, max_grad);
  std::printf("  %-28s fd max err %.3e (max |grad| %.3e, rel %.3e)\n", name, worst, max_grad, rel);
  return rel;
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

template <typename A, typename B>
double max_abs_diff(const A& a, const B& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::fmax(m, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  return m;
}

}  // namespace gradcheck
