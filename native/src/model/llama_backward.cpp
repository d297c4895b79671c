// LlamaModel backward: from the gradient at the final norm's output down through every layer
// (recomputing a layer's activations first under gradient checkpointing). One residual-gradient
// buffer carries d(resid) down the stack, each norm's gradient summed into it in the same row sweep;
// normed inputs are recomputed from the saved rstd; frozen weights get no weight gradient.
#include <algorithm>

#include "error.h"
#include "model/llama.h"
#include "model/op_profile.h"
#include "ops/attention.h"
#include "ops/embedding.h"
#include "ops/layernorm.h"
#include "ops/lora_fused.h"
#include "ops/matmul.h"
#include "ops/residual_rmsnorm.h"
#include "ops/rmsnorm.h"
#include "ops/rope.h"
#include "ops/swiglu.h"

namespace loralab {

void LlamaModel::linear_bwd(const PassContext& ctx, const Rows& rows, int site, Param& w, Param* bias,
                            LoraPair* lora, float* dinp, const float* dout, const float* inp, const float* u,
                            int64_t N, bool dinp_overwrite) {
  const int64_t OC = w.shape[0], IC = w.shape[1];
  float* dbias = bias && bias->trainable && !bias->storage.empty() ? bias->grad.data() : nullptr;
  if (w.quant) {  // QLoRA: frozen codes, only the input gradient (method full is refused at load)
    if (dinp) quant_linear_backward_input(pool_, dinp, dout, w.quant->w, N, !dinp_overwrite);
  } else if (dinp && dinp_overwrite) {
    matmul_nn(pool_, dinp, dout, w.view(), N, IC, OC, false);  // dinp = dout W
    linear_backward(pool_, nullptr, w.trainable ? w.grad.data() : nullptr, dbias, dout, inp, w.view(), N, IC, OC);
  } else {
    linear_backward(pool_, dinp, w.trainable ? w.grad.data() : nullptr, dbias, dout, inp, w.view(), N, IC, OC);
  }
  if (!lora) return;
  OpTimer t_("x/lora_bwd");
  const int64_t R = lora_cfg_.r;
  const float p = static_cast<float>(lora_cfg_.lora_dropout);
  ws_du_.ensure(mem_, MemCategory::Workspace, N * R);
  LoraDropout drop;
  if (ctx.training && p > 0.0f) drop = lora_dropout(ctx, rows, site, p, N, IC);  // the same masks as forward
  const auto ab = lora_ab(*lora);
  if (!lora->A.bf16_master()) {
    lora_fused_backward(pool_, dinp, lora->A.grad.data(), lora->B.grad.data(), ws_du_.data(), dout, inp, u, ab.first,
                        ab.second, lora_scale_, N, IC, OC, R, ctx.training && p > 0.0f ? &drop : nullptr);
    return;
  }
  // bf16 state: this call's gradient in fp32, then added into the bf16 gradients (rounded to nearest)
  const int64_t nA = lora->A.numel(), nB = lora->B.numel();
  ws_lora_dab_.ensure(mem_, MemCategory::Workspace, nA + nB);
  float* dab = ws_lora_dab_.data();
  std::fill(dab, dab + nA + nB, 0.0f);
  lora_fused_backward(pool_, dinp, dab, dab + nA, ws_du_.data(), dout, inp, u, ab.first, ab.second, lora_scale_, N, IC,
                      OC, R, ctx.training && p > 0.0f ? &drop : nullptr);
  OpTimer t2_("x/lora_bf16_grad_add");
  uint16_t* gA = lora->A.grad16.data();
  uint16_t* gB = lora->B.grad16.data();
  for (int64_t i = 0; i < nA; ++i) gA[i] = f32_to_bf16(bf16_to_f32(gA[i]) + dab[i]);
  for (int64_t i = 0; i < nB; ++i) gB[i] = f32_to_bf16(bf16_to_f32(gB[i]) + dab[nA + i]);
}

void LlamaModel::layer_backward(int l, PassContext& ctx, const float* x_in, LayerActs& a, float* dresid,
                                bool recomputed) {
  LlamaLayer& L = layers_[l];
  const int64_t B = ctx.B, T = ctx.T, N = B * T, NH = cfg_.num_heads, NKV = cfg_.num_kv_heads, HD = cfg_.head_dim;
  const Rows rows{ctx.row_examples.data(), ctx.positions.data()};
  const auto ws = MemCategory::Workspace;
  auto site = [&](PeftModule m) { return l * 16 + static_cast<int>(m); };
  auto lora_u = [&](PeftModule m) { return a.lora_u[static_cast<int>(m)].data(); };
  auto norm_grad = [](Param& p) { return p.trainable ? p.grad.data() : nullptr; };
  // MLP block: x_out = x_mid + down(silu(gate(xn2)) * up(xn2)); dresid holds d x_out
  OpPhases ph;
  ph("bwd/swiglu_recompute");
  // recompute silu(gate) * up and the normed inputs (exactly as forward); Down's input is read only by
  // its weight gradient and its LoRA path (a frozen, unadapted Down needs just dout W)
  float* hmid = ws_hmid_.data();
  if (L.down.trainable || L.lora[6]) swiglu_forward<float>(pool_, hmid, a.gate.data(), a.up.data(), N, F_);
  if (recomputed && L.lora[6]) lora_su(ctx, rows, site(PeftModule::Down), *L.lora[6], lora_u(PeftModule::Down), hmid, N);
  ph("bwd/down");
  ws_dh_.ensure(mem_, ws, N * F_);
  float* dh = ws_dh_.data();
  linear_bwd(ctx, rows, site(PeftModule::Down), L.down, nullptr, L.lora[6], dh, dresid, hmid, lora_u(PeftModule::Down), N,
             true);
  ph("bwd/swiglu");
  ws_dgate_.ensure(mem_, ws, N * F_);
  ws_dup_.ensure(mem_, ws, N * F_);
  swiglu_backward<float>(pool_, ws_dgate_.data(), ws_dup_.data(), dh, a.gate.data(), a.up.data(), N, F_);
  ph("bwd/norm2_apply");
  float* xn = ws_xn_.data();
  rmsnorm_apply<float>(pool_, xn, a.x_mid.data(), L.mlp_norm.f32(), a.rstd2.data(), N, C_);
  ph("bwd/gate_up");
  ws_dxn_.ensure(mem_, ws, N * C_);
  float* dxn = ws_dxn_.data();
  linear_bwd(ctx, rows, site(PeftModule::Gate), L.gate, nullptr, L.lora[4], dxn, ws_dgate_.data(), xn,
             lora_u(PeftModule::Gate), N, true);
  linear_bwd(ctx, rows, site(PeftModule::Up), L.up, nullptr, L.lora[5], dxn, ws_dup_.data(), xn,
             lora_u(PeftModule::Up), N);
  ph("bwd/norm2");
  residual_rmsnorm_backward<float>(pool_, dresid, norm_grad(L.mlp_norm), dxn, a.x_mid.data(), L.mlp_norm.f32(),
                                   a.rstd2.data(), N, C_);
  // attention block: x_mid = x_in + o(attn(rope(q(xn1)), rope(k(xn1)), v(xn1))); dresid holds d x_mid
  ph("bwd/o");
  ws_datt_.ensure(mem_, ws, N * QD_);
  float* datt = ws_datt_.data();
  linear_bwd(ctx, rows, site(PeftModule::O), L.o, nullptr, L.lora[3], datt, dresid, a.att.data(), lora_u(PeftModule::O), N,
             true);
  ph("bwd/attention");
  ws_dq_.ensure(mem_, ws, N * QD_);
  ws_dk_.ensure(mem_, ws, N * KD_);
  ws_dv_.ensure(mem_, ws, N * KD_);
  ws_att_bwd_.ensure(mem_, ws, attention_backward_scratch_floats(B, T, NH, NKV, HD));
  attention_backward<float>(pool_, ws_dq_.data(), ws_dk_.data(), ws_dv_.data(), datt, a.q.data(), a.k.data(),
                            a.v.data(), a.att.data(), a.lse.data(), ctx.lengths, B, T, NH, NKV, HD, ws_att_bwd_.data());
  ph("bwd/rope");
  rope_backward<float>(pool_, ws_dq_.data(), ctx.positions.data(), rope_cos_.data(), rope_sin_.data(), N, NH, HD);
  rope_backward<float>(pool_, ws_dk_.data(), ctx.positions.data(), rope_cos_.data(), rope_sin_.data(), N, NKV, HD);
  ph("bwd/norm1_apply");
  rmsnorm_apply<float>(pool_, xn, x_in, L.attn_norm.f32(), a.rstd1.data(), N, C_);
  ph("bwd/qkv");
  linear_bwd(ctx, rows, site(PeftModule::Q), L.q, &L.q_bias, L.lora[0], dxn, ws_dq_.data(), xn, lora_u(PeftModule::Q), N,
             true);
  linear_bwd(ctx, rows, site(PeftModule::K), L.k, &L.k_bias, L.lora[1], dxn, ws_dk_.data(), xn, lora_u(PeftModule::K), N);
  linear_bwd(ctx, rows, site(PeftModule::V), L.v, &L.v_bias, L.lora[2], dxn, ws_dv_.data(), xn, lora_u(PeftModule::V), N);
  ph("bwd/norm1");
  residual_rmsnorm_backward<float>(pool_, dresid, norm_grad(L.attn_norm), dxn, x_in, L.attn_norm.f32(), a.rstd1.data(),
                                   N, C_);
}

void LlamaModel::backward(PassContext& ctx) {
  OpTimer t_("backward");
  const int64_t N = static_cast<int64_t>(ctx.B) * ctx.T;
  const int L = cfg_.num_layers;
  LORALAB_CHECK(ctx.training && ctx.B == acts_B_ && ctx.T == acts_T_, "E_INTERNAL",
                "backward without a matching training forward");
  ws_dresid_.ensure(mem_, MemCategory::Workspace, N * C_);
  float* dresid = ws_dresid_.data();  // (N,C)
  std::fill(dresid, dresid + N * C_, 0.0f);
  if (parallel())
    layernorm_backward(pool_, dresid, final_norm_.trainable ? final_norm_.grad.data() : nullptr,
                       final_norm_bias_.trainable ? final_norm_bias_.grad.data() : nullptr, dxn_f_.data(),
                       resid_[L].data(), final_norm_.f32(), mean_f_.data(), rstd_f_.data(), N, C_);
  else
    residual_rmsnorm_backward<float>(pool_, dresid, final_norm_.trainable ? final_norm_.grad.data() : nullptr,
                                     dxn_f_.data(), resid_[L].data(), final_norm_.f32(), rstd_f_.data(), N, C_);
  // LoRA: layers below the lowest adapted one need no gradient
  int lowest = 0;
  if (opt_.method == Method::LoRA) {
    lowest = L;
    for (int l = 0; l < L && lowest == L; ++l)
      for (auto* p : layers_[l].lora)
        if (p) lowest = l;
  }
  const bool recompute = opt_.gradient_checkpointing;
  for (int l = L - 1; l >= lowest; --l) {
    check_abort();
    LayerActs& a = recompute ? acts_[0] : acts_[l];
    if (parallel()) {
      if (recompute) parallel_layer_forward(l, ctx, resid_[l].data(), a, nullptr);
      parallel_layer_backward(l, ctx, resid_[l].data(), a, dresid, recompute);
      continue;
    }
    if (recompute) layer_forward(l, ctx, resid_[l].data(), a, nullptr, false, NextNorm{});
    layer_backward(l, ctx, resid_[l].data(), a, dresid, recompute);
  }
  if (embed_.trainable) embedding_backward<float>(pool_, embed_.grad.data(), dresid, ctx.tokens, N, C_);
}

}  // namespace loralab
