// LlamaModel parameters: loading from a Hugging Face checkpoint into frozen bf16/fp32 storage, NF4/FP4
// codes (QLoRA: the block linears, quantized from the mapped file) or fp32 trainable masters, LoRA parameters (PEFT's init from
// model/lora_init.h), installing loaded adapters, parameter counts, and the buffers (rope tables, activations, KV cache) sized on demand.
#include <algorithm>
#include <string>

#include "error.h"
#include "io/safetensors.h"
#include "model/llama.h"
#include "model/lora_init.h"
#include "ops/rope.h"
#include "quant/dynamic8.h"

namespace loralab {

LlamaModel::LlamaModel(const ModelConfig& config, const EngineOptions& options, const CheckpointReader& checkpoint,
                       MemTracker* mem, ThreadPool* pool, const std::atomic<bool>* abort_flag)
    : cfg_(config), opt_(options), mem_(mem), pool_(pool), abort_(abort_flag) {
  LORALAB_CHECK(cfg_.num_heads > 0 && cfg_.num_kv_heads > 0 && cfg_.num_heads % cfg_.num_kv_heads == 0,
                "E_CONFIG_UNSUPPORTED",
                "config.json: num_attention_heads " + std::to_string(cfg_.num_heads) +
                    " is not a multiple of num_key_value_heads " + std::to_string(cfg_.num_kv_heads));
  if (cfg_.head_dim <= 0) cfg_.head_dim = cfg_.hidden_size / cfg_.num_heads;
  C_ = cfg_.hidden_size;
  F_ = cfg_.intermediate_size;
  QD_ = static_cast<int64_t>(cfg_.num_heads) * cfg_.head_dim;
  KD_ = static_cast<int64_t>(cfg_.num_kv_heads) * cfg_.head_dim;
  V_ = cfg_.vocab_size;
  inv_freq_ = rope_inv_freq(cfg_);
  load_params(checkpoint);
  if (opt_.method == Method::LoRA) {
    init_lora(lora_config_from_options(opt_, cfg_.family), opt_.seed);
  } else {
    collect_trainable();
  }
}

PeftAdapterConfig lora_config_from_options(const EngineOptions& o, ModelFamily family) {
  PeftAdapterConfig lcfg;
  lcfg.r = o.lora_r;
  lcfg.lora_alpha = o.lora_alpha;
  lcfg.lora_dropout = o.lora_dropout;
  lcfg.use_rslora = o.rslora;
  lcfg.family = family;
  const LoraTargets& t = o.targets;
  auto add = [&](PeftModule m) {
    const char* name = peft_module_name(m, family);
    if (*name) lcfg.target_modules.push_back(name);
  };
  if (family == ModelFamily::Falcon) {
    if (t.query || t.key || t.value) add(PeftModule::Q);  // the fused query_key_value
  } else {
    if (t.query) add(PeftModule::Q);
    if (t.key) add(PeftModule::K);
    if (t.value) add(PeftModule::V);
  }
  if (t.projection) add(PeftModule::O);
  if (t.mlp) {
    add(PeftModule::Gate);
    add(PeftModule::Up);
    add(PeftModule::Down);
  }
  if (t.head) add(PeftModule::Head);
  return lcfg;
}

void LlamaModel::make_param(Param& p, const std::string& name, std::vector<int64_t> shape,
                            const CheckpointReader* ckpt, bool matrix) {
  p.name = name;
  p.shape = std::move(shape);
  p.trainable = opt_.method == Method::Full;
  const bool bf16 = opt_.precision == Precision::BF16True || opt_.precision == Precision::BF16Mixed;
  const int64_t n = p.numel();
  std::vector<float> tmp(static_cast<size_t>(n));
  ckpt->read_f32(name, p.shape, tmp.data());
  if (!p.trainable && bf16 && matrix) {
    p.dtype = DType::BF16;
    p.storage.allocate(mem_, MemCategory::Weights, n * 2);
    auto* dst = reinterpret_cast<uint16_t*>(p.storage.data());
    for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_bf16(tmp[i]);
  } else {
    p.dtype = DType::F32;
    p.storage.allocate(mem_, MemCategory::Weights, n * 4);
    float* dst = p.f32();
    for (int64_t i = 0; i < n; ++i) dst[i] = (!p.trainable && bf16) ? bf16_to_f32(f32_to_bf16(tmp[i])) : tmp[i];
  }
}

QuantStorage::QuantStorage(QuantizedWeight q, MemTracker* tracker) : w(std::move(q)), mem(tracker) {
  mem->add(MemCategory::Weights, w.bytes_codes());
  mem->add(MemCategory::QuantConstants, w.bytes_constants());
}

QuantStorage::~QuantStorage() {
  mem->sub(MemCategory::Weights, w.bytes_codes());
  mem->sub(MemCategory::QuantConstants, w.bytes_constants());
}

void LlamaModel::make_linear(Param& p, const std::string& name, std::vector<int64_t> shape,
                             const CheckpointReader& ckpt) {
  QuantType type;
  bool dq = false;
  if (!quant_scheme(opt_.quantize, &type, &dq)) return make_param(p, name, std::move(shape), &ckpt, true);
  LORALAB_CHECK(opt_.method == Method::LoRA, "E_CONFIG_INVALID",
                "model.quantize needs train.method 'lora' (quantized weights cannot be fully finetuned)");
  p.name = name;
  p.shape = std::move(shape);  // (OC, IC)
  p.trainable = false;
  const TensorView& view = ckpt.get(name);  // F32, BF16 or F16 (the dtypes safetensors.cpp accepts)
  if (view.shape != p.shape) {
    std::string found;
    for (int64_t d : view.shape) found += (found.empty() ? "" : ", ") + std::to_string(d);
    LORALAB_THROW("E_TENSOR_SHAPE", ckpt.folder() + ": tensor '" + name + "' has shape [" + found +
                                        "], the config implies [" + std::to_string(p.shape[0]) + ", " +
                                        std::to_string(p.shape[1]) + "]");
  }
  // Streams 64 values at a time from the mapped bytes in their stored dtype (as bitsandbytes
  // quantizes the loaded weight): the full-precision layer is never resident.
  p.quant = std::make_unique<QuantStorage>(
      quantize_tensor(view.data, view.dtype, p.shape[0], p.shape[1], type, dq, pool_), mem_);
}

void LlamaModel::load_params(const CheckpointReader& ckpt) {
  if (parallel()) return load_parallel_params(ckpt);
  make_param(embed_, "model.embed_tokens.weight", {V_, C_}, &ckpt, true);
  layers_.resize(cfg_.num_layers);
  for (int l = 0; l < cfg_.num_layers; ++l) {
    LlamaLayer& L = layers_[l];
    make_param(L.attn_norm, layer_tensor_name(l, "input_layernorm.weight"), {C_}, &ckpt, false);
    make_linear(L.q, layer_tensor_name(l, "self_attn.q_proj.weight"), {QD_, C_}, ckpt);
    make_linear(L.k, layer_tensor_name(l, "self_attn.k_proj.weight"), {KD_, C_}, ckpt);
    make_linear(L.v, layer_tensor_name(l, "self_attn.v_proj.weight"), {KD_, C_}, ckpt);
    if (cfg_.attention_bias) {
      make_param(L.q_bias, layer_tensor_name(l, "self_attn.q_proj.bias"), {QD_}, &ckpt, false);
      make_param(L.k_bias, layer_tensor_name(l, "self_attn.k_proj.bias"), {KD_}, &ckpt, false);
      make_param(L.v_bias, layer_tensor_name(l, "self_attn.v_proj.bias"), {KD_}, &ckpt, false);
    }
    make_linear(L.o, layer_tensor_name(l, "self_attn.o_proj.weight"), {C_, QD_}, ckpt);
    make_param(L.mlp_norm, layer_tensor_name(l, "post_attention_layernorm.weight"), {C_}, &ckpt, false);
    make_linear(L.gate, layer_tensor_name(l, "mlp.gate_proj.weight"), {F_, C_}, ckpt);
    make_linear(L.up, layer_tensor_name(l, "mlp.up_proj.weight"), {F_, C_}, ckpt);
    make_linear(L.down, layer_tensor_name(l, "mlp.down_proj.weight"), {C_, F_}, ckpt);
  }
  make_param(final_norm_, "model.norm.weight", {C_}, &ckpt, false);
  if (!cfg_.tie_word_embeddings) make_param(head_, "lm_head.weight", {V_, C_}, &ckpt, true);
}

void LlamaModel::init_lora(const PeftAdapterConfig& lcfg, uint64_t seed) {
  LORALAB_CHECK(opt_.method == Method::LoRA, "E_METHOD", "LoRA adapters need method 'lora' (the engine is in full finetuning)");
  const std::vector<LoraSite> sites = lora_sites(cfg_, lcfg);  // checks r and dropout
  lora_.clear();
  head_lora_ = nullptr;
  for (auto& L : layers_)
    for (auto& p : L.lora) p = nullptr;
  lora_cfg_ = lcfg;
  lora_scale_ = static_cast<float>(lcfg.scale());
  const int64_t R = lcfg.r;
  // state_precision bf16: the trainable masters are bf16 (rounded to nearest from the fp32 init)
  const bool bf16 = opt_.training && opt_.state_precision == StatePrecision::BF16;
  for (const LoraSite& site : sites) {
    auto pair = std::make_unique<LoraPair>();
    pair->module = site.module;
    pair->layer = site.layer;
    pair->in = site.in;
    pair->out = site.out;
    for (char which : {'A', 'B'}) {
      Param& p = which == 'A' ? pair->A : pair->B;
      p.name = peft_tensor_key(site.module, site.layer, which, lcfg.family);
      p.shape = which == 'A' ? std::vector<int64_t>{R, site.in} : std::vector<int64_t>{site.out, R};
      p.dtype = bf16 ? DType::BF16 : DType::F32;
      p.trainable = true;
      p.storage.allocate(mem_, MemCategory::LoraParams, p.numel() * dtype_size(p.dtype));  // zeroed: B = 0
    }
    std::vector<float> a(static_cast<size_t>(pair->A.numel()));
    init_lora_a(a.data(), site, R, seed);  // the CUDA engine's init too (model/lora_init.h)
    set_param_values(pair->A, a.data());
    if (site.layer == -1) head_lora_ = pair.get();
    else layers_[site.layer].lora[static_cast<int>(site.module)] = pair.get();
    lora_.push_back(std::move(pair));
  }
  collect_trainable();
}

void LlamaModel::install_adapter(const PeftAdapter& adapter) {
  check_adapter_fits(adapter, cfg_);
  PeftAdapterConfig lcfg = adapter.config;
  lcfg.family = cfg_.family;  // check_adapter_fits: the same module paths under this model's names
  init_lora(lcfg, opt_.seed);
  for (const auto& src : adapter.pairs) {
    LoraPair* dst = src.layer < 0 ? head_lora_ : layers_.at(src.layer).lora[static_cast<int>(src.module)];
    LORALAB_CHECK(dst, "E_ADAPTER_MISMATCH",
                  std::string("adapter tensor for ") + peft_module_path(src.module, src.layer, cfg_.family) +
                      " is not among the adapter's target_modules");
    LORALAB_CHECK(static_cast<int64_t>(src.A.size()) == dst->A.numel() &&
                      static_cast<int64_t>(src.B.size()) == dst->B.numel(),
                  "E_ADAPTER_MISMATCH", "adapter tensor " + dst->A.name + " has the wrong size for this model");
    set_param_values(dst->A, src.A.data());
    set_param_values(dst->B, src.B.data());
  }
}

std::vector<LoraPair*> LlamaModel::lora_pairs() {
  std::vector<LoraPair*> out;
  for (auto& p : lora_) out.push_back(p.get());
  return out;
}

void LlamaModel::collect_trainable() {
  trainable_.clear();
  if (opt_.method == Method::LoRA) {
    for (auto& p : lora_) {
      trainable_.push_back(&p->A);
      trainable_.push_back(&p->B);
    }
  } else {
    trainable_.push_back(&embed_);
    for (auto& L : layers_) {  // HF order within a layer; params a family lacks stay empty
      for (Param* p : {&L.attn_norm, &L.attn_norm_bias, &L.q, &L.q_bias, &L.k, &L.k_bias, &L.v, &L.v_bias, &L.qkv,
                       &L.qkv_bias, &L.o, &L.o_bias, &L.mlp_norm, &L.mlp_norm_bias, &L.gate, &L.up, &L.up_bias, &L.down,
                       &L.down_bias})
        if (!p->storage.empty()) trainable_.push_back(p);
    }
    trainable_.push_back(&final_norm_);
    if (!final_norm_bias_.storage.empty()) trainable_.push_back(&final_norm_bias_);
    if (!cfg_.tie_word_embeddings) trainable_.push_back(&head_);
    if (!head_bias_.storage.empty()) trainable_.push_back(&head_bias_);
  }
  if (!opt_.training) return;
  const auto os = MemCategory::OptimizerState;
  for (Param* p : trainable_) {
    const int64_t n = p->numel();
    const bool bf16 = p->bf16_master();
    if (bf16) p->grad16.allocate(mem_, MemCategory::Grads, n);
    else p->grad.allocate(mem_, MemCategory::Grads, n);
    // 8-bit codes + absmax for large tensors; the state precision's moments otherwise
    const bool q8 = is_8bit(opt_.optimizer) && n >= kMin8bitNumel;
    const bool two = is_adamw(opt_.optimizer);
    if (q8) {
      p->mq.allocate(mem_, os, n);
      p->m_absmax.allocate(mem_, os, dynamic_blocks(n));
      if (two) p->vq.allocate(mem_, os, n);
      if (two) p->v_absmax.allocate(mem_, os, dynamic_blocks(n));
    } else if (bf16) {
      p->m16.allocate(mem_, os, n);
      if (two) p->v16.allocate(mem_, os, n);
    } else {
      p->m.allocate(mem_, os, n);
      if (two) p->v.allocate(mem_, os, n);
    }
  }
}

void set_param_values(Param& p, const float* values) {
  const int64_t n = p.numel();
  if (p.dtype == DType::F32) {
    std::copy(values, values + n, p.f32());
    return;
  }
  LORALAB_CHECK(p.dtype == DType::BF16 && p.trainable, "E_INTERNAL", p.name + ": set_param_values on frozen storage");
  auto* d = reinterpret_cast<uint16_t*>(p.storage.data());
  for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(values[i]);
}

void param_values_f32(const Param& p, float* out) {
  const int64_t n = p.numel();
  for (int64_t i = 0; i < n; ++i) out[i] = load_as_f32(p.storage.data(), p.dtype, static_cast<size_t>(i));
}

ParamCounts count_parameters(const ModelConfig& config, const PeftAdapterConfig* lora) {
  ModelConfig cfg = config;
  if (cfg.head_dim <= 0) cfg.head_dim = cfg.hidden_size / cfg.num_heads;
  const int64_t C = cfg.hidden_size, F = cfg.intermediate_size, V = cfg.vocab_size;
  const int64_t QD = static_cast<int64_t>(cfg.num_heads) * cfg.head_dim, KD = static_cast<int64_t>(cfg.num_kv_heads) * cfg.head_dim;
  const int64_t qkv_bias = cfg.attention_bias ? 1 : 0, bias = cfg.linear_bias ? 1 : 0;
  const int64_t head = cfg.tie_word_embeddings ? 0 : V * C + (cfg.head_bias ? V : 0);
  int64_t per_target[8];  // by PeftModule: each weight with its bias (0 where the family has no such linear)
  int64_t norms_per_layer = 2 * C;
  if (cfg.family == ModelFamily::Llama) {
    const int64_t t[] = {QD * C + qkv_bias * QD, KD * C + qkv_bias * KD, KD * C + qkv_bias * KD, C * QD, F * C, F * C, C * F, head};
    std::copy(t, t + 8, per_target);
  } else {
    const int64_t q = cfg.family == ModelFamily::Falcon ? (QD + 2 * KD) * (C + bias) : QD * (C + bias);
    const int64_t kv = cfg.family == ModelFamily::Falcon ? 0 : KD * (C + bias);
    const int64_t t[] = {q, kv, kv, C * QD + bias * C, 0, F * C + bias * F, C * F + bias * C, head};
    std::copy(t, t + 8, per_target);
    norms_per_layer = 2 * C * cfg.parallel_norms;  // LayerNorm weight + bias
  }
  static const char* kTargetKeys[] = {"q", "k", "v", "o", "gate", "up", "down", "head"};
  const int64_t L = cfg.num_layers;
  const int64_t final_norm = cfg.family == ModelFamily::Llama ? C : 2 * C;
  const int64_t norms = L * norms_per_layer + final_norm, embed = V * C;
  ParamCounts pc;
  pc.total = embed + norms + per_target[7];
  for (int m = 0; m < 7; ++m) pc.total += L * per_target[m];
  if (!lora) {
    pc.trainable = pc.total;
    for (int m = 0; m < 8; ++m)  // the linears the family has (a tied head too, as 0)
      if (*peft_module_name(static_cast<PeftModule>(m), cfg.family))
        pc.trainable_by_target[kTargetKeys[m]] = (m == 7 ? 1 : L) * per_target[m];
    pc.trainable_by_target["embed"] = embed;
    pc.trainable_by_target["norm"] = norms;
    return pc;
  }
  PeftAdapterConfig lcfg = *lora;
  lcfg.family = cfg.family;
  for (int m = 0; m < 8; ++m) {
    if (!lcfg.targets(static_cast<PeftModule>(m))) continue;
    int64_t out = 0, in = 0;
    peft_module_shape(cfg, static_cast<PeftModule>(m), &out, &in);
    const int64_t n = (m == 7 ? 1 : L) * static_cast<int64_t>(lora->r) * (in + out);
    pc.trainable_by_target[kTargetKeys[m]] = n;
    pc.trainable += n;
  }
  pc.total += pc.trainable;
  return pc;
}

ParamCounts LlamaModel::param_counts() const {
  return count_parameters(cfg_, opt_.method == Method::LoRA ? &lora_cfg_ : nullptr);
}

void LlamaModel::ensure_rope(int64_t positions) {
  if (positions <= rope_positions_) return;
  int64_t P = std::max<int64_t>(positions, 2 * rope_positions_);
  rope_tables(rope_cos_, rope_sin_, inv_freq_, P);
  rope_positions_ = P;
}

void LlamaModel::ensure_acts(LayerActs& a, int64_t B, int64_t T) {
  const int64_t N = B * T;
  const auto act = MemCategory::Activations;
  a.rstd1.ensure(mem_, act, N);
  a.q.ensure(mem_, act, N * QD_);
  a.k.ensure(mem_, act, N * KD_);
  a.v.ensure(mem_, act, N * KD_);
  a.att.ensure(mem_, act, N * QD_);
  a.lse.ensure(mem_, act, B * cfg_.num_heads * T);
  a.x_mid.ensure(mem_, act, N * C_);  // Phi / Falcon: the attention branch's output
  if (!parallel() || cfg_.parallel_norms == 2) a.rstd2.ensure(mem_, act, N);
  a.gate.ensure(mem_, act, N * F_);
  if (parallel()) {
    a.mean1.ensure(mem_, act, N);
    if (cfg_.parallel_norms == 2) a.mean2.ensure(mem_, act, N);
    if (cfg_.family == ModelFamily::Falcon) ws_qkv_.ensure(mem_, MemCategory::Workspace, N * QKV_);
  } else {
    a.up.ensure(mem_, act, N * F_);
  }
  ws_xn_.ensure(mem_, MemCategory::Workspace, N * C_);
  ws_hmid_.ensure(mem_, MemCategory::Workspace, N * F_);
  if (!lora_.empty())
    for (auto& u : a.lora_u) u.ensure(mem_, act, N * lora_cfg_.r);
}

void LlamaModel::allocate_cache(KvCache& cache, int64_t capacity) {
  cache.k.allocate(mem_, MemCategory::KvCache, static_cast<size_t>(cfg_.num_layers) * capacity * KD_);
  cache.v.allocate(mem_, MemCategory::KvCache, static_cast<size_t>(cfg_.num_layers) * capacity * KD_);
  cache.capacity = capacity;
}

void LlamaModel::check_abort() const {
  if (abort_ && abort_->load()) LORALAB_THROW("E_ABORTED", "aborted by request");
}

}  // namespace loralab
