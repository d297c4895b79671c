// The engine options the native tests and benchmarks start from (each sets what it varies). These
// are test fixtures, not defaults: the config schema (language-server/src/config/schema.ts) is the
// one source of defaults, and EngineOptions (engine.h) has none. The goldens were recorded with
// these values (note lora_dropout 0, unlike the schema's 0.05: the goldens need no dropout).
#pragma once
#include "engine.h"

inline loralab::EngineOptions test_engine_options() {
  using namespace loralab;
  EngineOptions o;
  o.precision = Precision::BF16True;
  o.quantize = Quantize::None;
  o.method = Method::LoRA;
  o.targets = LoraTargets{true, false, true, false, false, false};  // query, value
  o.lora_r = 8;
  o.lora_alpha = 16.0f;
  o.lora_dropout = 0.0f;
  o.rslora = false;
  o.optimizer = OptimizerKind::AdamW;
  o.learning_rate = 3e-4f;
  o.weight_decay = 0.01f;
  o.beta1 = 0.9f, o.beta2 = 0.999f, o.eps = 1e-8f;
  o.momentum = 0.9f;
  o.lr_schedule = LrSchedule::Cosine;
  o.warmup_steps = 100;
  o.total_steps = 1000;
  o.min_lr = 0.0f;
  o.grad_clip = 1.0f;
  o.gradient_checkpointing = false;
  o.seed = 1337;
  o.threads = 0;
  o.device = "cpu";
  o.training = true;
  return o;
}
