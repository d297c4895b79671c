// N-API export `deviceReport()`: the engine's view of this machine (see src/device.h).
#include <napi.h>

#include "device.h"

namespace loralab_binding {

Napi::Value DeviceReport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto report = loralab::device_report();
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("model", report.cpu.model);
  cpu.Set("logicalCores", report.cpu.logical_cores);
  cpu.Set("totalMemoryBytes", static_cast<double>(report.cpu.total_memory_bytes));
  cpu.Set("availableMemoryBytes", static_cast<double>(report.cpu.available_memory_bytes));
  Napi::Object simd = Napi::Object::New(env);
  simd.Set("sse42", report.cpu.sse42);
  simd.Set("avx", report.cpu.avx);
  simd.Set("avx2", report.cpu.avx2);
  simd.Set("fma", report.cpu.fma);
  simd.Set("f16c", report.cpu.f16c);
  simd.Set("avx512f", report.cpu.avx512f);
  simd.Set("avx512bw", report.cpu.avx512bw);
  simd.Set("avx512vl", report.cpu.avx512vl);
  simd.Set("avx512dq", report.cpu.avx512dq);
  simd.Set("avx512bf16", report.cpu.avx512bf16);
  cpu.Set("simd", simd);

  Napi::Object cuda = Napi::Object::New(env);
  cuda.Set("builtWithCuda", report.cuda.built_with_cuda);
  cuda.Set("driverVersion", report.cuda.driver_version);
  cuda.Set("runtimeVersion", report.cuda.runtime_version);
  Napi::Array devices = Napi::Array::New(env, report.cuda.devices.size());
  for (size_t i = 0; i < report.cuda.devices.size(); ++i) {
    const auto& d = report.cuda.devices[i];
    Napi::Object dev = Napi::Object::New(env);
    dev.Set("index", d.index);
    dev.Set("name", d.name);
    dev.Set("totalMemoryBytes", static_cast<double>(d.total_memory_bytes));
    dev.Set("freeMemoryBytes", static_cast<double>(d.free_memory_bytes));
    dev.Set("computeCapability", std::to_string(d.compute_major) + "." + std::to_string(d.compute_minor));
    dev.Set("multiprocessors", d.multiprocessors);
    devices.Set(static_cast<uint32_t>(i), dev);
  }
  cuda.Set("devices", devices);
  if (!report.cuda.unavailable_reason.empty()) cuda.Set("unavailableReason", report.cuda.unavailable_reason);

  Napi::Object out = Napi::Object::New(env);
  out.Set("engineVersion", loralab::engine_version());
  out.Set("simdPath", report.simd_path);
  out.Set("cpu", cpu);
  out.Set("cuda", cuda);
  return out;
}

}  // namespace loralab_binding
