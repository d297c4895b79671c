// ctest: LoRA creation has one implementation (model/lora_init.h). A fresh CPU engine's adapter is
// bitwise init_peft_adapter's (the host adapter that the CUDA engine uploads), for every target set,
// rank and seed tried; A follows PEFT's U(-1/sqrt(IN), 1/sqrt(IN)), B is zero, the order is lm_head
// first, then each layer's modules; bad ranks and dropouts are refused.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine.h"
#include "io/peft_adapter.h"
#include "model/llama.h"
#include "model/lora_init.h"
#include "test_options.h"
#include "test_util.h"
#include "tiny_model.h"

using namespace loralab;

static bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

static void engine_matches_shared_init(const std::string& model, const LoraTargets& targets, int r, uint64_t seed) {
  EngineOptions o = test_engine_options();
  o.precision = Precision::FP32True;
  o.targets = targets;
  o.lora_r = r;
  o.seed = seed;
  o.threads = 1;
  auto engine = Engine::load(model, o);
  const std::string dir = make_temp_dir("lora-init");
  engine->save_adapter(dir, "tiny");
  const PeftAdapter saved = load_peft_adapter(dir);
  const PeftAdapter shared = init_peft_adapter(engine->config(), lora_config_from_options(o), seed);
  CHECK(saved.pairs.size() == shared.pairs.size());
  for (const PeftLoraPair& s : shared.pairs) {
    const PeftLoraPair* e = saved.find(s.module, s.layer);
    CHECK(e != nullptr);
    if (!e) continue;
    CHECK(same_bits(e->A, s.A));
    CHECK(same_bits(e->B, s.B));
    const double bound = 1.0 / std::sqrt(static_cast<double>(s.in_features));
    bool in_range = true, b_zero = true;
    for (float v : s.A) in_range = in_range && std::fabs(v) <= bound && v != 0.0f;
    for (float v : s.B) b_zero = b_zero && v == 0.0f;
    CHECK(in_range);
    CHECK(b_zero);
  }
}

int main() {
  const std::string model = tiny::write_model(make_temp_dir("lora-init-model"), tiny::Spec{});
  engine_matches_shared_init(model, LoraTargets{true, false, true, false, false, false}, 8, 1337);
  engine_matches_shared_init(model, LoraTargets{true, true, true, true, true, true}, 4, 7);

  const ModelConfig cfg = load_model_config(model);
  PeftAdapterConfig all;
  all.r = 4, all.lora_alpha = 8;
  all.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"};
  const std::vector<LoraSite> sites = lora_sites(cfg, all);
  CHECK(sites.size() == 1 + 7 * static_cast<size_t>(cfg.num_layers));
  CHECK(sites.front().module == PeftModule::Head && sites.front().layer == -1);
  CHECK(sites[1].module == PeftModule::Q && sites[1].layer == 0);
  CHECK(sites.back().module == PeftModule::Down && sites.back().layer == cfg.num_layers - 1);
  // seeds and sites key the values: another seed, another module, another layer give other numbers
  const PeftAdapter a = init_peft_adapter(cfg, all, 1), b = init_peft_adapter(cfg, all, 2);
  CHECK(!same_bits(a.pairs[1].A, b.pairs[1].A));
  CHECK(a.pairs[1].A[0] != a.pairs[2].A[0]);
  CHECK(a.pairs[1].A[0] != a.pairs[8].A[0]);
  CHECK(same_bits(a.pairs[1].A, init_peft_adapter(cfg, all, 1).pairs[1].A));

  PeftAdapterConfig bad = all;
  bad.r = 0;
  CHECK(expect_error("E_CONFIG_INVALID", [&] { lora_sites(cfg, bad); }).find("lora.r") != std::string::npos);
  bad.r = 4096;
  CHECK(expect_error("E_CONFIG_INVALID", [&] { lora_sites(cfg, bad); }).find("larger than") != std::string::npos);
  bad = all;
  bad.lora_dropout = 1.0;
  CHECK(expect_error("E_CONFIG_INVALID", [&] { lora_sites(cfg, bad); }).find("lora.dropout") != std::string::npos);
  return test_summary("test_lora_init");
}
