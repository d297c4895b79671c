// Engine::load: sends options.device to the CPU engine (engine.cpp) or, when built with CUDA, to the
// CUDA engine (cuda/cuda_engine.cu). The one file above both engines: the core does not include CUDA
// headers (CMakeLists.txt builds this file apart from the core, with the cuda/ include folder).
#include <memory>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "cpu_engine.h"
#include "engine_checks.h"
#include "model/config.h"
#include "engine.h"
#include "error.h"
#if defined(LORALAB_WITH_CUDA)
#include "cuda_engine.h"
#endif

namespace loralab {

namespace {

// options.device: "", "cpu" or "auto" (the C++ facade maps auto to the CPU; the trainer resolves
// auto from the device report) -> -1; "cuda" -> 0; "cuda:N" -> N. Anything else: E_DEVICE_INVALID.
int cuda_device_index(const std::string& device) {
  if (device.empty() || device == "cpu" || device == "auto") return -1;
  if (device == "cuda") return 0;
  const std::string digits = device.compare(0, 5, "cuda:") == 0 ? device.substr(5) : std::string();
  const bool number = !digits.empty() && digits.size() <= 4 &&
                      digits.find_first_not_of("0123456789") == std::string::npos;
  LORALAB_CHECK(number, "E_DEVICE_INVALID",
                "device '" + device + "' is not a device name: use cpu, auto, cuda or cuda:N (N the GPU index, e.g. cuda:0)");
  return std::stoi(digits);
}

}  // namespace

std::unique_ptr<Engine> Engine::load(const std::string& folder, const EngineOptions& options) {
#if defined(__GLIBC__)
  // Pin glibc's mmap threshold: otherwise it grows after the loader frees its large temporaries,
  // later large buffers come from the heap, and the process high-water mark drifts above what the
  // engine (and the estimator) account for.
  static const bool pinned = mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1;
  (void)pinned;
#endif
  const int cuda_index = cuda_device_index(options.device);
  if (cuda_index < 0) return make_cpu_engine(folder, options);
  check_cuda_supports(load_model_config(folder));  // a family CUDA lacks: refused before any device work
#if defined(LORALAB_WITH_CUDA)
  return make_cuda_engine(folder, options, cuda_index);
#else
  LORALAB_THROW("E_NO_CUDA", "device '" + options.device +
                                 "': this build of the engine has no CUDA support (it was compiled without nvcc / "
                                 "LORALAB_CUDA=OFF); use device: cpu, or rebuild the native engine on a machine with "
                                 "the CUDA toolkit");
#endif
}

}  // namespace loralab
