// LoRA creation with PEFT's init, the one implementation that the CPU model (LlamaModel::init_lora,
// into its parameters) and the CUDA engine (a host adapter that it uploads) both use, so their
// adapters start bitwise equal. Legend: R rank, IN input features, OUT output features.
#pragma once
#include <cstdint>
#include <vector>

#include "io/peft_adapter.h"
#include "model/config.h"

namespace loralab {

// One adapted linear of a model: its module, layer (-1 for lm_head) and weight shape (OUT, IN).
struct LoraSite {
  PeftModule module = PeftModule::Q;
  int layer = -1;
  int64_t in = 0, out = 0;
};

// The linears that `lora` adapts on `model`, in parameter order: lm_head first, then each layer's
// modules in PeftModule order (the order of the grad-norm sums). E_CONFIG_INVALID for r <= 0, a
// dropout outside [0, 1) or an r larger than a module.
std::vector<LoraSite> lora_sites(const ModelConfig& model, const PeftAdapterConfig& lora);

// PEFT's init of A (R, IN) for `site`: kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(IN), 1/sqrt(IN)),
// from the counter-based RNG keyed by (seed, layer+1, module, index). B starts at zero.
void init_lora_a(float* A, const LoraSite& site, int64_t R, uint64_t seed);

// A fresh adapter in host memory: init_lora_a for every site, B = 0.
PeftAdapter init_peft_adapter(const ModelConfig& model, const PeftAdapterConfig& lora, uint64_t seed);

}  // namespace loralab
