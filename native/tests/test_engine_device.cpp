// ctest (label cpu): Engine::load's device dispatch on any machine. Bad device names ("gpu",
// "cuda:x", "cuda:") are refused with E_DEVICE_INVALID naming the value; "cuda:99" is refused with
// E_NO_CUDA naming the device and saying to use device: cpu; without a usable CUDA device (or in a
// build without CUDA) plain "cuda" is refused the same way with the reason; "cpu" and "auto" load the
// CPU engine.
#include <cstdio>
#include <string>

#include "device.h"
#include "engine.h"
#include "test_options.h"
#include "test_util.h"
#include "tiny_model.h"

using namespace loralab;

namespace {
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

EngineOptions with_device(const std::string& device) {
  EngineOptions o = test_engine_options();
  o.device = device;
  o.threads = 1;
  return o;
}
}  // namespace

int main() {
  try {
    const std::string dir = tiny::write_model(tiny::make_temp_dir("engine_device"), tiny::Spec{});
    for (const char* bad : {"gpu", "cuda:x", "cuda:", "CUDA", "cuda:-1", "cuda0"}) {
      std::string msg = expect_error("E_DEVICE_INVALID", [&] { Engine::load(dir, with_device(bad)); });
      std::printf("device '%s': %s\n", bad, msg.c_str());
      CHECK(contains(msg, std::string("'") + bad + "'"));
      CHECK(contains(msg, "cuda:N"));
    }
    std::string msg = expect_error("E_NO_CUDA", [&] { Engine::load(dir, with_device("cuda:99")); });
    std::printf("device 'cuda:99': %s\n", msg.c_str());
    CHECK(contains(msg, "'cuda:99'"));
    CHECK(contains(msg, "use device: cpu"));

    const CudaInfo cuda = detect_cuda();
    if (cuda.devices.empty()) {
      for (const char* dev : {"cuda", "cuda:0"}) {
        msg = expect_error("E_NO_CUDA", [&] { Engine::load(dir, with_device(dev)); });
        std::printf("device '%s' (no usable CUDA device here): %s\n", dev, msg.c_str());
        CHECK(contains(msg, std::string("'") + dev + "'"));
        CHECK(contains(msg, "use device: cpu"));
        if (!cuda.built_with_cuda) CHECK(contains(msg, "no CUDA support"));
      }
    } else {
      std::printf("a CUDA device is present (%s): 'cuda' loading is covered by test_engine_cuda\n",
                  cuda.devices[0].name.c_str());
    }
    for (const char* dev : {"cpu", "auto", ""}) {
      auto e = Engine::load(dir, with_device(dev));
      CHECK(e->compute_path().rfind("cpu-", 0) == 0);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "test_engine_device: %s: %s (%s)\n", e.code().c_str(), e.what(), e.where().c_str());
    return 1;
  }
  return test_summary("test_engine_device");
}
