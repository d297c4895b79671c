// Factory of the CPU Engine (engine.cpp), for Engine::load in engine_dispatch.cpp. Plain C++, like
// the CUDA engine's cuda/cuda_engine.h: the dispatch file is the one place that sees both.
#pragma once
#include <memory>
#include <string>

#include "engine.h"

namespace loralab {

// Loads <folder> on the CPU; options.device must be "", "cpu" or "auto" (E_INTERNAL otherwise).
std::unique_ptr<Engine> make_cpu_engine(const std::string& folder, const EngineOptions& options);

}  // namespace loralab
