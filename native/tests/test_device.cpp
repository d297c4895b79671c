// ctest: the device report finds at least one core, some memory and a consistent SIMD path.
#include "device.h"
#include "test_util.h"

int main() {
  auto report = loralab::device_report();
  CHECK(report.cpu.logical_cores >= 1);
  CHECK(report.cpu.total_memory_bytes > 0);
  CHECK(!report.cpu.model.empty());
  if (report.simd_path == "avx512") CHECK(report.cpu.avx512f && report.cpu.fma);
  if (report.simd_path == "avx2") CHECK(report.cpu.avx2 && report.cpu.fma);
  if (!report.cuda.built_with_cuda || report.cuda.devices.empty()) CHECK(!report.cuda.unavailable_reason.empty());
  std::printf("cpu: %s, %d cores, simd %s, cuda devices %zu (%s)\n", report.cpu.model.c_str(),
              report.cpu.logical_cores, report.simd_path.c_str(), report.cuda.devices.size(),
              report.cuda.unavailable_reason.c_str());
  return test_summary("test_device");
}
