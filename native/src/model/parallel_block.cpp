// The parallel-block families on the CPU (PhiForCausalLM, FalconForCausalLM) as LlamaModel members:
// loading their tensors, q/k/v (separate with biases, or Falcon's fused query_key_value split per
// head-dim block), and the block x_out = x_in + dense(attn(LN(x_in))) + fc2(gelu(fc1(LN'(x_in)))),
// LN' = LN (phi, falcon-7b) or ln_mlp (falcon-40b), forward and backward. Attention, rope (partial
// for Phi), the KV cache, LoRA and the head are Llama's.
// Legend: as model/llama.h; QKV = (NH + 2 NKV) HD, Falcon's fused width.
#include <algorithm>
#include <cstring>
#include <string>

#include "error.h"
#include "io/safetensors.h"
#include "model/family.h"
#include "model/llama.h"
#include "ops/attention.h"
#include "ops/gelu.h"
#include "ops/layernorm.h"
#include "ops/residual.h"
#include "ops/rope.h"

namespace loralab {

void LlamaModel::load_parallel_params(const CheckpointReader& ckpt) {
  const ModelFamily f = cfg_.family;
  refuse_remote_code_phi(ckpt, f);
  if (f == ModelFamily::Falcon) {
    qkv_src_ = falcon_qkv_sources(cfg_);
    QKV_ = static_cast<int64_t>(qkv_src_.size()) * cfg_.head_dim;
  }
  auto vec = [&](Param& p, const std::string& name, int64_t n) { make_param(p, name, {n}, &ckpt, false); };
  make_param(embed_, embed_tensor_name(f), {V_, C_}, &ckpt, true);
  layers_.resize(cfg_.num_layers);
  for (int l = 0; l < cfg_.num_layers; ++l) {
    LlamaLayer& L = layers_[l];
    const std::string p = block_prefix(f, l), attn = p + (f == ModelFamily::Falcon ? "self_attention." : "self_attn.");
    vec(L.attn_norm, attn_norm_name(cfg_, l) + ".weight", C_);
    vec(L.attn_norm_bias, attn_norm_name(cfg_, l) + ".bias", C_);
    if (cfg_.parallel_norms == 2) {
      vec(L.mlp_norm, mlp_norm_name(cfg_, l) + ".weight", C_);
      vec(L.mlp_norm_bias, mlp_norm_name(cfg_, l) + ".bias", C_);
    }
    if (f == ModelFamily::Falcon) {
      make_linear(L.qkv, attn + "query_key_value.weight", {QKV_, C_}, ckpt);
      if (cfg_.linear_bias) vec(L.qkv_bias, attn + "query_key_value.bias", QKV_);
    } else {
      make_linear(L.q, attn + "q_proj.weight", {QD_, C_}, ckpt);
      vec(L.q_bias, attn + "q_proj.bias", QD_);
      make_linear(L.k, attn + "k_proj.weight", {KD_, C_}, ckpt);
      vec(L.k_bias, attn + "k_proj.bias", KD_);
      make_linear(L.v, attn + "v_proj.weight", {KD_, C_}, ckpt);
      vec(L.v_bias, attn + "v_proj.bias", KD_);
    }
    make_linear(L.o, attn + "dense.weight", {C_, QD_}, ckpt);
    if (cfg_.linear_bias) vec(L.o_bias, attn + "dense.bias", C_);
    const std::string up = f == ModelFamily::Falcon ? "mlp.dense_h_to_4h" : "mlp.fc1";
    const std::string down = f == ModelFamily::Falcon ? "mlp.dense_4h_to_h" : "mlp.fc2";
    make_linear(L.up, p + up + ".weight", {F_, C_}, ckpt);
    if (cfg_.linear_bias) vec(L.up_bias, p + up + ".bias", F_);
    make_linear(L.down, p + down + ".weight", {C_, F_}, ckpt);
    if (cfg_.linear_bias) vec(L.down_bias, p + down + ".bias", C_);
  }
  vec(final_norm_, final_norm_name(f) + ".weight", C_);
  vec(final_norm_bias_, final_norm_name(f) + ".bias", C_);
  if (!cfg_.tie_word_embeddings) make_param(head_, "lm_head.weight", {V_, C_}, &ckpt, true);
  if (cfg_.head_bias) vec(head_bias_, "lm_head.bias", V_);
}

void LlamaModel::qkv_forward(int l, PassContext& ctx, const float* xn, LayerActs& a) {
  LlamaLayer& L = layers_[l];
  const int64_t N = static_cast<int64_t>(ctx.B) * ctx.T, HD = cfg_.head_dim;
  const Rows rows{ctx.row_examples.data(), ctx.positions.data()};
  auto site = [&](PeftModule m) { return l * 16 + static_cast<int>(m); };
  auto u = [&](PeftModule m) { return L.lora[static_cast<int>(m)] ? a.lora_u[static_cast<int>(m)].data() : nullptr; };
  if (cfg_.family != ModelFamily::Falcon) {
    linear_fwd(ctx, rows, site(PeftModule::Q), L.q, &L.q_bias, L.lora[0], a.q.data(), xn, N, u(PeftModule::Q));
    linear_fwd(ctx, rows, site(PeftModule::K), L.k, &L.k_bias, L.lora[1], a.k.data(), xn, N, u(PeftModule::K));
    linear_fwd(ctx, rows, site(PeftModule::V), L.v, &L.v_bias, L.lora[2], a.v.data(), xn, N, u(PeftModule::V));
    return;
  }
  float* qkv = ws_qkv_.data();  // (N,QKV)
  linear_fwd(ctx, rows, site(PeftModule::Q), L.qkv, &L.qkv_bias, L.lora[0], qkv, xn, N, u(PeftModule::Q));
  const int64_t NH = cfg_.num_heads, NKV = cfg_.num_kv_heads, J = static_cast<int64_t>(qkv_src_.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < J; ++j) {
      const int64_t s = qkv_src_[j];
      float* dst = s < NH         ? a.q.data() + (n * NH + s) * HD
                   : s < NH + NKV ? a.k.data() + (n * NKV + s - NH) * HD
                                  : a.v.data() + (n * NKV + s - NH - NKV) * HD;
      std::memcpy(dst, qkv + (n * J + j) * HD, sizeof(float) * HD);
    }
}

void LlamaModel::qkv_backward(int l, PassContext& ctx, const float* xn, LayerActs& a, float* dxn) {
  LlamaLayer& L = layers_[l];
  const int64_t N = static_cast<int64_t>(ctx.B) * ctx.T, HD = cfg_.head_dim;
  const Rows rows{ctx.row_examples.data(), ctx.positions.data()};
  auto site = [&](PeftModule m) { return l * 16 + static_cast<int>(m); };
  auto u = [&](PeftModule m) { return a.lora_u[static_cast<int>(m)].data(); };
  if (cfg_.family != ModelFamily::Falcon) {
    linear_bwd(ctx, rows, site(PeftModule::Q), L.q, &L.q_bias, L.lora[0], dxn, ws_dq_.data(), xn, u(PeftModule::Q), N);
    linear_bwd(ctx, rows, site(PeftModule::K), L.k, &L.k_bias, L.lora[1], dxn, ws_dk_.data(), xn, u(PeftModule::K), N);
    linear_bwd(ctx, rows, site(PeftModule::V), L.v, &L.v_bias, L.lora[2], dxn, ws_dv_.data(), xn, u(PeftModule::V), N);
    return;
  }
  ws_qkv_.ensure(mem_, MemCategory::Workspace, N * QKV_);
  float* dqkv = ws_qkv_.data();  // gathered back into the fused layout
  const int64_t NH = cfg_.num_heads, NKV = cfg_.num_kv_heads, J = static_cast<int64_t>(qkv_src_.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < J; ++j) {
      const int64_t s = qkv_src_[j];
      const float* src = s < NH         ? ws_dq_.data() + (n * NH + s) * HD
                         : s < NH + NKV ? ws_dk_.data() + (n * NKV + s - NH) * HD
                                        : ws_dv_.data() + (n * NKV + s - NH - NKV) * HD;
      std::memcpy(dqkv + (n * J + j) * HD, src, sizeof(float) * HD);
    }
  linear_bwd(ctx, rows, site(PeftModule::Q), L.qkv, &L.qkv_bias, L.lora[0], dxn, dqkv, xn, u(PeftModule::Q), N);
}

void LlamaModel::parallel_layer_forward(int l, PassContext& ctx, const float* x_in, LayerActs& a, float* x_out) {
  LlamaLayer& L = layers_[l];
  const int64_t B = ctx.B, T = ctx.T, N = B * T, NH = cfg_.num_heads, NKV = cfg_.num_kv_heads, HD = cfg_.head_dim;
  const int64_t RD = cfg_.rotary_dim;
  const Rows rows{ctx.row_examples.data(), ctx.positions.data()};
  auto site = [&](PeftModule m) { return l * 16 + static_cast<int>(m); };
  auto u = [&](PeftModule m) { return L.lora[static_cast<int>(m)] ? a.lora_u[static_cast<int>(m)].data() : nullptr; };
  float* xn = ws_xn_.data();  // (N,C) normed input, recomputed by backward
  layernorm_forward(pool_, xn, a.mean1.data(), a.rstd1.data(), x_in, L.attn_norm.f32(), L.attn_norm_bias.f32(), N, C_, cfg_.rms_norm_eps);
  qkv_forward(l, ctx, xn, a);
  rope_forward<float>(pool_, a.q.data(), ctx.positions.data(), rope_cos_.data(), rope_sin_.data(), N, NH, HD, RD);
  rope_forward<float>(pool_, a.k.data(), ctx.positions.data(), rope_cos_.data(), rope_sin_.data(), N, NKV, HD, RD);
  if (ctx.cache) {
    float* kc = ctx.cache->k.data() + static_cast<int64_t>(l) * ctx.cache->capacity * KD_;
    float* vc = ctx.cache->v.data() + static_cast<int64_t>(l) * ctx.cache->capacity * KD_;
    std::memcpy(kc + ctx.start * KD_, a.k.data(), sizeof(float) * N * KD_);
    std::memcpy(vc + ctx.start * KD_, a.v.data(), sizeof(float) * N * KD_);
    ws_att_scores_.ensure(mem_, MemCategory::Workspace, attention_cached_scratch_floats(ctx.cache->capacity, NH));
    attention_forward_cached(pool_, a.att.data(), a.q.data(), kc, vc, ctx.start, N, NH, NKV, HD, ws_att_scores_.data());
  } else {
    ws_att_scores_.ensure(mem_, MemCategory::Workspace, attention_forward_scratch_floats(B, T, NH, NKV, HD));
    attention_forward<float>(pool_, a.att.data(), a.lse.data(), a.q.data(), a.k.data(), a.v.data(), ctx.lengths, B, T, NH, NKV, HD,
                             ws_att_scores_.data());
  }
  // the attention branch's output (dense) in x_mid
  linear_fwd(ctx, rows, site(PeftModule::O), L.o, &L.o_bias, L.lora[3], a.x_mid.data(), a.att.data(), N, u(PeftModule::O));
  if (cfg_.parallel_norms == 2)  // falcon-40b: ln_mlp (attention's xn is no longer needed)
    layernorm_forward(pool_, xn, a.mean2.data(), a.rstd2.data(), x_in, L.mlp_norm.f32(), L.mlp_norm_bias.f32(), N, C_, cfg_.rms_norm_eps);
  linear_fwd(ctx, rows, site(PeftModule::Up), L.up, &L.up_bias, L.lora[5], a.gate.data(), xn, N, u(PeftModule::Up));
  if (!x_out) return;             // recomputation: backward recomputes the GELU output and fc2's LoRA su itself
  float* hmid = ws_hmid_.data();  // (N,F) gelu(fc1), recomputed by backward
  gelu_forward(pool_, hmid, a.gate.data(), N * F_, gelu_kind(cfg_));
  linear_fwd(ctx, rows, site(PeftModule::Down), L.down, &L.down_bias, L.lora[6], x_out, hmid, N, u(PeftModule::Down));
  residual_add<float>(pool_, x_out, a.x_mid.data(), N * C_);
  residual_add<float>(pool_, x_out, x_in, N * C_);
}

void LlamaModel::parallel_layer_backward(int l, PassContext& ctx, const float* x_in, LayerActs& a, float* dresid, bool recomputed) {
  LlamaLayer& L = layers_[l];
  const int64_t B = ctx.B, T = ctx.T, N = B * T, NH = cfg_.num_heads, NKV = cfg_.num_kv_heads, HD = cfg_.head_dim;
  const int64_t RD = cfg_.rotary_dim;
  const Rows rows{ctx.row_examples.data(), ctx.positions.data()};
  const auto ws = MemCategory::Workspace;
  auto site = [&](PeftModule m) { return l * 16 + static_cast<int>(m); };
  auto u = [&](PeftModule m) { return a.lora_u[static_cast<int>(m)].data(); };
  auto zeroed = [&](Buffer<float>& b, int64_t n) {
    b.ensure(mem_, ws, n);
    std::fill(b.data(), b.data() + n, 0.0f);
    return b.data();
  };
  auto grad = [](Param& p) { return p.trainable && !p.storage.empty() ? p.grad.data() : nullptr; };
  // Both branches read d x_out (dresid) first; the norms' input gradients are added to it last.
  float* hmid = ws_hmid_.data();
  gelu_forward(pool_, hmid, a.gate.data(), N * F_, gelu_kind(cfg_));
  if (recomputed && L.lora[6]) lora_su(ctx, rows, site(PeftModule::Down), *L.lora[6], u(PeftModule::Down), hmid, N);
  float* dh = zeroed(ws_dh_, N * F_);
  linear_bwd(ctx, rows, site(PeftModule::Down), L.down, &L.down_bias, L.lora[6], dh, dresid, hmid, u(PeftModule::Down), N);
  float* datt = zeroed(ws_datt_, N * QD_);
  linear_bwd(ctx, rows, site(PeftModule::O), L.o, &L.o_bias, L.lora[3], datt, dresid, a.att.data(), u(PeftModule::O), N);
  ws_dgate_.ensure(mem_, ws, N * F_);
  gelu_backward(pool_, ws_dgate_.data(), dh, a.gate.data(), N * F_, gelu_kind(cfg_));
  float* xn = ws_xn_.data();
  const bool two = cfg_.parallel_norms == 2;
  if (two)
    layernorm_apply(pool_, xn, x_in, L.mlp_norm.f32(), L.mlp_norm_bias.f32(), a.mean2.data(), a.rstd2.data(), N, C_);
  else
    layernorm_apply(pool_, xn, x_in, L.attn_norm.f32(), L.attn_norm_bias.f32(), a.mean1.data(), a.rstd1.data(), N, C_);
  float* dxn = zeroed(ws_dxn_, N * C_);
  linear_bwd(ctx, rows, site(PeftModule::Up), L.up, &L.up_bias, L.lora[5], dxn, ws_dgate_.data(), xn, u(PeftModule::Up), N);
  if (two) {  // ln_mlp's gradient now; attention gets its own dxn
    layernorm_backward(pool_, dresid, grad(L.mlp_norm), grad(L.mlp_norm_bias), dxn, x_in, L.mlp_norm.f32(), a.mean2.data(), a.rstd2.data(),
                       N, C_);
    dxn = zeroed(ws_dxn_, N * C_);
    layernorm_apply(pool_, xn, x_in, L.attn_norm.f32(), L.attn_norm_bias.f32(), a.mean1.data(), a.rstd1.data(), N, C_);
  }
  ws_dq_.ensure(mem_, ws, N * QD_);
  ws_dk_.ensure(mem_, ws, N * KD_);
  ws_dv_.ensure(mem_, ws, N * KD_);
  ws_att_bwd_.ensure(mem_, ws, attention_backward_scratch_floats(B, T, NH, NKV, HD));
  attention_backward<float>(pool_, ws_dq_.data(), ws_dk_.data(), ws_dv_.data(), datt, a.q.data(), a.k.data(), a.v.data(), a.att.data(),
                            a.lse.data(), ctx.lengths, B, T, NH, NKV, HD, ws_att_bwd_.data());
  rope_backward<float>(pool_, ws_dq_.data(), ctx.positions.data(), rope_cos_.data(), rope_sin_.data(), N, NH, HD, RD);
  rope_backward<float>(pool_, ws_dk_.data(), ctx.positions.data(), rope_cos_.data(), rope_sin_.data(), N, NKV, HD, RD);
  qkv_backward(l, ctx, xn, a, dxn);
  layernorm_backward(pool_, dresid, grad(L.attn_norm), grad(L.attn_norm_bias), dxn, x_in, L.attn_norm.f32(), a.mean1.data(), a.rstd1.data(),
                     N, C_);
}

}  // namespace loralab
