// ctest: the device report finds at least one core, some memory and the SIMD path that the kernels
// use (one choice, simd_path(): `doctor` cannot report another), LORALAB_SIMD included.
#include <cstdlib>
#include <cstring>

#include "device.h"
#include "simd_path.h"
#include "test_util.h"

using loralab::SimdPath;

static void choose_simd_path_rules() {
  loralab::CpuInfo none;
  CHECK(loralab::choose_simd_path(none, nullptr) == SimdPath::Scalar);
  loralab::CpuInfo avx2 = none;
  avx2.avx = avx2.avx2 = avx2.fma = avx2.f16c = true;
  CHECK(loralab::choose_simd_path(avx2, nullptr) == SimdPath::AVX2);
  CHECK(loralab::choose_simd_path(avx2, "scalar") == SimdPath::Scalar);
  loralab::CpuInfo no_f16c = avx2;  // the AVX2 kernels are compiled with -mf16c
  no_f16c.f16c = false;
  CHECK(loralab::choose_simd_path(no_f16c, nullptr) == SimdPath::Scalar);
  loralab::CpuInfo avx512 = avx2;
  avx512.avx512f = avx512.avx512bw = avx512.avx512vl = avx512.avx512dq = true;
  CHECK(loralab::choose_simd_path(avx512, nullptr) == SimdPath::AVX512);
  CHECK(loralab::choose_simd_path(avx512, "avx2") == SimdPath::AVX2);
  CHECK(loralab::choose_simd_path(avx512, "scalar") == SimdPath::Scalar);
  CHECK(loralab::choose_simd_path(avx512, "avx512") == SimdPath::AVX512);
  CHECK(loralab::choose_simd_path(avx2, "avx512") == SimdPath::AVX2);  // forcing never raises the path
  loralab::CpuInfo no_fma = avx512;
  no_fma.fma = false;
  CHECK(loralab::choose_simd_path(no_fma, nullptr) == SimdPath::Scalar);
}

int main() {
  auto report = loralab::device_report();
  CHECK(report.cpu.logical_cores >= 1);
  CHECK(report.cpu.total_memory_bytes > 0);
  CHECK(!report.cpu.model.empty());
  CHECK(report.simd_path == loralab::simd_path_name(loralab::simd_path()));
  CHECK(loralab::simd_path() == loralab::choose_simd_path(report.cpu, std::getenv("LORALAB_SIMD")));
  if (report.simd_path == "avx512") CHECK(report.cpu.avx512f && report.cpu.fma);
  if (report.simd_path == "avx2") CHECK(report.cpu.avx2 && report.cpu.fma);
  // test_simd_paths runs this program with LORALAB_SIMD=scalar / avx2: the report follows the kernels
  const char* forced = std::getenv("LORALAB_SIMD");
  if (forced && std::strcmp(forced, "scalar") == 0) CHECK(report.simd_path == "scalar");
  if (forced && std::strcmp(forced, "avx2") == 0) CHECK(report.simd_path != "avx512");
  choose_simd_path_rules();
  if (!report.cuda.built_with_cuda || report.cuda.devices.empty()) CHECK(!report.cuda.unavailable_reason.empty());
  std::printf("cpu: %s, %d cores, simd %s, cuda devices %zu (%s)\n", report.cpu.model.c_str(),
              report.cpu.logical_cores, report.simd_path.c_str(), report.cuda.devices.size(),
              report.cuda.unavailable_reason.c_str());
  return test_summary("test_device");
}
