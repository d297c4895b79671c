// LoRA creation with PEFT's init, shared by the CPU and CUDA engines (see lora_init.h).
#include "model/lora_init.h"

#include <cmath>
#include <string>

#include "error.h"
#include "rng.h"

namespace loralab {

std::vector<LoraSite> lora_sites(const ModelConfig& model, const PeftAdapterConfig& lora) {
  LORALAB_CHECK(lora.r > 0, "E_CONFIG_INVALID", "lora.r must be positive (got " + std::to_string(lora.r) + ")");
  LORALAB_CHECK(lora.lora_dropout >= 0 && lora.lora_dropout < 1, "E_CONFIG_INVALID",
                "lora.dropout must be in [0, 1) (got " + std::to_string(lora.lora_dropout) + ")");
  std::vector<LoraSite> sites;
  for (int l = -1; l < model.num_layers; ++l)
    for (int mi = 0; mi < static_cast<int>(PeftModule::Count); ++mi) {
      const auto m = static_cast<PeftModule>(mi);
      if ((m == PeftModule::Head) != (l == -1) || !lora.targets(m)) continue;
      LoraSite site;
      site.module = m, site.layer = l;
      peft_module_shape(model, m, &site.out, &site.in);
      LORALAB_CHECK(lora.r <= site.in && lora.r <= site.out, "E_CONFIG_INVALID",
                    "lora.r " + std::to_string(lora.r) + " is larger than " + peft_module_name(m) + " (" +
                        std::to_string(site.out) + " x " + std::to_string(site.in) + ")");
      sites.push_back(site);
    }
  return sites;
}

void init_lora_a(float* A, const LoraSite& site, int64_t R, uint64_t seed) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(site.in));
  const int64_t n = R * site.in;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t h = rng_hash(seed, kRngLoraInit, static_cast<uint64_t>(site.layer + 1),
                                static_cast<uint64_t>(site.module), static_cast<uint64_t>(i));
    A[i] = static_cast<float>((2.0 * rng_uniform01_f64(h) - 1.0) * bound);
  }
}

PeftAdapter init_peft_adapter(const ModelConfig& model, const PeftAdapterConfig& lora, uint64_t seed) {
  PeftAdapter a;
  a.config = lora;
  for (const LoraSite& site : lora_sites(model, lora)) {
    PeftLoraPair p;
    p.module = site.module, p.layer = site.layer;
    p.in_features = site.in, p.out_features = site.out;
    p.A.resize(static_cast<size_t>(lora.r * site.in));
    p.B.assign(static_cast<size_t>(site.out * lora.r), 0.0f);
    init_lora_a(p.A.data(), site, lora.r, seed);
    a.pairs.push_back(std::move(p));
  }
  return a;
}

}  // namespace loralab
