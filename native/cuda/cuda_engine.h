// Factory of the CUDA Engine (cuda_engine.cu), for Engine::load (src/engine_dispatch.cpp) when
// built with CUDA (LORALAB_WITH_CUDA). Plain C++.
#pragma once
#include <memory>
#include <string>

#include "engine.h"

namespace loralab {

// Loads <folder> on CUDA device `device` (the N of "cuda:N"). E_NO_CUDA (naming the device, the
// runtime's reason and "use device: cpu") when that device cannot be used; E_CONFIG_UNSUPPORTED /
// E_PRECISION_UNSUPPORTED for options the CUDA engine does not implement.
std::unique_ptr<Engine> make_cuda_engine(const std::string& folder, const EngineOptions& options, int device);

}  // namespace loralab
