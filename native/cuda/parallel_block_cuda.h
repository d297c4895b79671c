// The parallel-block families (PhiForCausalLM, FalconForCausalLM) on CUDA as LlamaCuda members,
// mirroring the CPU's native/src/model/parallel_block.cpp: loading their tensors (family names,
// LayerNorm weight + bias, q/k/v with biases (Phi) or Falcon's fused query_key_value split by
// falcon_qkv_sources, dense / fc1 / fc2 biases, the head bias), the block
// x_out = x_in + (fc2(gelu(fc1(LN'(x_in)))) + dense(attn(LN(x_in)))), LN' = LN (phi, falcon-7b) or
// ln_mlp (falcon-40b), partial rotary, forward and backward with LoRA (the CPU's PEFT slots: Q (or
// the fused query_key_value), K, V, O = dense, Up = fc1 / dense_h_to_4h, Down = fc2 / dense_4h_to_h),
// LoRA dropout sites, QLoRA codes and full finetuning (the CPU's trainable order). Included at the
// end of llama_cuda.h. Legend: as llama_cuda.h; QKV = (NH + 2 NKV) HD, Falcon's fused width.
#pragma once
#include "llama_cuda.h"
#include "model/family.h"

namespace loralab {
namespace cuda {

inline GeluKind LlamaCuda::gelu_kind() const { return loralab::gelu_kind(cfg_); }

inline void LlamaCuda::load_parallel(const CheckpointReader& ckpt) {
  const ModelFamily f = cfg_.family;
  refuse_remote_code_phi(ckpt, f);  // the CPU's refusal of the remote-code layout
  if (f == ModelFamily::Falcon) {
    const std::vector<int32_t> src = falcon_qkv_sources(cfg_);
    QKV_ = static_cast<int64_t>(src.size()) * HD_;
    qkv_src_ = DeviceBuffer<int32_t>(&alloc_, MemCategory::Workspace, src.size());
    copy_in(qkv_src_.data(), src.data(), 4 * src.size());
  }
  embed_ = upload(ckpt, embed_tensor_name(f), {V_, C_});
  layers_.resize(cfg_.num_layers);
  for (int l = 0; l < cfg_.num_layers; ++l) {
    LayerCuda& y = layers_[l];
    const std::string p = block_prefix(f, l), attn = p + (f == ModelFamily::Falcon ? "self_attention." : "self_attn.");
    y.attn_norm = upload(ckpt, attn_norm_name(cfg_, l) + ".weight", {C_});
    y.attn_norm_bias = upload(ckpt, attn_norm_name(cfg_, l) + ".bias", {C_});
    if (cfg_.parallel_norms == 2) {
      y.mlp_norm = upload(ckpt, mlp_norm_name(cfg_, l) + ".weight", {C_});
      y.mlp_norm_bias = upload(ckpt, mlp_norm_name(cfg_, l) + ".bias", {C_});
    }
    if (f == ModelFamily::Falcon) {
      linear(y, 0, y.qkv, ckpt, attn + "query_key_value.weight", {QKV_, C_});
      if (cfg_.linear_bias) y.qkv_bias = upload(ckpt, attn + "query_key_value.bias", {QKV_});
    } else {
      linear(y, 0, y.q, ckpt, attn + "q_proj.weight", {QD_, C_});
      y.q_bias = upload(ckpt, attn + "q_proj.bias", {QD_});
      linear(y, 1, y.k, ckpt, attn + "k_proj.weight", {KD_, C_});
      y.k_bias = upload(ckpt, attn + "k_proj.bias", {KD_});
      linear(y, 2, y.v, ckpt, attn + "v_proj.weight", {KD_, C_});
      y.v_bias = upload(ckpt, attn + "v_proj.bias", {KD_});
    }
    linear(y, 3, y.o, ckpt, attn + "dense.weight", {C_, QD_});
    if (cfg_.linear_bias) y.o_bias = upload(ckpt, attn + "dense.bias", {C_});
    const std::string up = f == ModelFamily::Falcon ? "mlp.dense_h_to_4h" : "mlp.fc1";
    const std::string down = f == ModelFamily::Falcon ? "mlp.dense_4h_to_h" : "mlp.fc2";
    linear(y, 5, y.up, ckpt, p + up + ".weight", {F_, C_});
    if (cfg_.linear_bias) y.up_bias = upload(ckpt, p + up + ".bias", {F_});
    linear(y, 6, y.down, ckpt, p + down + ".weight", {C_, F_});
    if (cfg_.linear_bias) y.down_bias = upload(ckpt, p + down + ".bias", {C_});
  }
  final_norm_ = upload(ckpt, final_norm_name(f) + ".weight", {C_});
  final_norm_bias_ = upload(ckpt, final_norm_name(f) + ".bias", {C_});
  if (!cfg_.tie_word_embeddings) head_ = upload(ckpt, "lm_head.weight", {V_, C_});
  if (cfg_.head_bias) head_bias_ = upload(ckpt, "lm_head.bias", {V_});
}

// The CPU's collect_trainable order: embed; per layer attn norm (w, b), q, q bias, k, k bias, v, v bias,
// query_key_value (+ bias), dense (+ bias), ln_mlp (w, b), fc1 (+ bias), fc2 (+ bias); final norm (w, b);
// lm_head (untied), its bias.
inline void LlamaCuda::make_parallel_full_params(const CheckpointReader& ckpt) {
  const ModelFamily f = cfg_.family;
  add_full(ckpt, embed_tensor_name(f), {V_, C_}, embed_);
  for (int l = 0; l < cfg_.num_layers; ++l) {
    LayerCuda& y = layers_[l];
    const std::string p = block_prefix(f, l), attn = p + (f == ModelFamily::Falcon ? "self_attention." : "self_attn.");
    add_full(ckpt, attn_norm_name(cfg_, l) + ".weight", {C_}, y.attn_norm);
    add_full(ckpt, attn_norm_name(cfg_, l) + ".bias", {C_}, y.attn_norm_bias);
    if (f == ModelFamily::Falcon) {
      add_full(ckpt, attn + "query_key_value.weight", {QKV_, C_}, y.qkv);
      if (cfg_.linear_bias) add_full(ckpt, attn + "query_key_value.bias", {QKV_}, y.qkv_bias);
    } else {
      add_full(ckpt, attn + "q_proj.weight", {QD_, C_}, y.q);
      add_full(ckpt, attn + "q_proj.bias", {QD_}, y.q_bias);
      add_full(ckpt, attn + "k_proj.weight", {KD_, C_}, y.k);
      add_full(ckpt, attn + "k_proj.bias", {KD_}, y.k_bias);
      add_full(ckpt, attn + "v_proj.weight", {KD_, C_}, y.v);
      add_full(ckpt, attn + "v_proj.bias", {KD_}, y.v_bias);
    }
    add_full(ckpt, attn + "dense.weight", {C_, QD_}, y.o);
    if (cfg_.linear_bias) add_full(ckpt, attn + "dense.bias", {C_}, y.o_bias);
    if (cfg_.parallel_norms == 2) {
      add_full(ckpt, mlp_norm_name(cfg_, l) + ".weight", {C_}, y.mlp_norm);
      add_full(ckpt, mlp_norm_name(cfg_, l) + ".bias", {C_}, y.mlp_norm_bias);
    }
    const std::string up = f == ModelFamily::Falcon ? "mlp.dense_h_to_4h" : "mlp.fc1";
    const std::string down = f == ModelFamily::Falcon ? "mlp.dense_4h_to_h" : "mlp.fc2";
    add_full(ckpt, p + up + ".weight", {F_, C_}, y.up);
    if (cfg_.linear_bias) add_full(ckpt, p + up + ".bias", {F_}, y.up_bias);
    add_full(ckpt, p + down + ".weight", {C_, F_}, y.down);
    if (cfg_.linear_bias) add_full(ckpt, p + down + ".bias", {C_}, y.down_bias);
  }
  add_full(ckpt, final_norm_name(f) + ".weight", {C_}, final_norm_);
  add_full(ckpt, final_norm_name(f) + ".bias", {C_}, final_norm_bias_);
  if (!cfg_.tie_word_embeddings) add_full(ckpt, "lm_head.weight", {V_, C_}, head_);
  if (cfg_.head_bias) add_full(ckpt, "lm_head.bias", {V_}, head_bias_);
}

// resid_ (N,C) in: x_in; out: x_out. Saves xn1 (and xn2 with ln_mlp), the LayerNorm statistics, q / k / v
// after rope, the attention output and lse, fc1's output (ga) and gelu(fc1) (h).
inline void LlamaCuda::parallel_layer_forward(LayerCuda& y, ActsCuda& a, int64_t N, int B, int T) {
  const int NH = cfg_.num_heads, NKV = cfg_.num_kv_heads, l = static_cast<int>(&y - layers_.data());
  const int64_t RD = cfg_.rotary_dim;
  const float eps = cfg_.rms_norm_eps;
  LORALAB_CUDA_CHECK(cudaMemcpyAsync(y.x_in.data(), resid_.data(), 2 * N * C_, cudaMemcpyDeviceToDevice, stream_));
  layernorm_forward(a.xn1.data(), a.mean1.data(), a.rstd1.data(), y.x_in.data(), y.attn_norm.data(), y.attn_norm_bias.data(), N, C_, eps,
                    stream_);
  if (cfg_.family == ModelFamily::Falcon) {
    lin_fwd(weight(y, 0, y.qkv), y.qkv_bias.data(), y.lora[0], a.u[0].data(), site(l, 0), 0, ws_qkv_.data(), a.xn1.data(), N, C_, QKV_);
    qkv_split(a.qa.data(), a.ka.data(), a.va.data(), ws_qkv_.data(), qkv_src_.data(), N, NH, NKV, HD_, stream_);
  } else {
    lin_fwd(weight(y, 0, y.q), y.q_bias.data(), y.lora[0], a.u[0].data(), site(l, 0), 0, a.qa.data(), a.xn1.data(), N, C_, QD_);
    lin_fwd(weight(y, 1, y.k), y.k_bias.data(), y.lora[1], a.u[1].data(), site(l, 1), 0, a.ka.data(), a.xn1.data(), N, C_, KD_);
    lin_fwd(weight(y, 2, y.v), y.v_bias.data(), y.lora[2], a.u[2].data(), site(l, 2), 0, a.va.data(), a.xn1.data(), N, C_, KD_);
  }
  rope_forward(a.qa.data(), positions_, rope_cos_.data(), rope_sin_.data(), N, NH, HD_, RD, stream_);
  rope_forward(a.ka.data(), positions_, rope_cos_.data(), rope_sin_.data(), N, NKV, HD_, RD, stream_);
  attention_forward(a.att.data(), a.lse.data(), a.qa.data(), a.ka.data(), a.va.data(), lengths_, B, T, NH, NKV, HD_, stream_);
  // the attention branch's output (dense) in x_mid
  lin_fwd(weight(y, 3, y.o), y.o_bias.data(), y.lora[3], a.u[3].data(), site(l, 3), 0, a.x_mid.data(), a.att.data(), N, QD_, C_);
  const bool two = cfg_.parallel_norms == 2;  // falcon-40b: ln_mlp
  if (two)
    layernorm_forward(a.xn2.data(), a.mean2.data(), a.rstd2.data(), y.x_in.data(), y.mlp_norm.data(), y.mlp_norm_bias.data(), N, C_, eps,
                      stream_);
  const bf16* xm = two ? a.xn2.data() : a.xn1.data();
  lin_fwd(weight(y, 5, y.up), y.up_bias.data(), y.lora[5], a.u[5].data(), site(l, 5), 0, a.ga.data(), xm, N, C_, F_);
  gelu_forward(a.h.data(), a.ga.data(), N * F_, gelu_kind(), stream_);
  lin_fwd(weight(y, 6, y.down), y.down_bias.data(), y.lora[6], a.u[6].data(), site(l, 6), 0, dxn_.data(), a.h.data(), N, F_, C_);
  residual_add(dxn_.data(), a.x_mid.data(), N * C_, stream_);  // (mlp + attn) + x_in, the CPU's order
  residual_add(resid_.data(), dxn_.data(), N * C_, stream_);
}

// dresid_ (N,C) in: d x_out; out: d x_in. Both branches read d x_out before the norms' input gradients
// are added to it.
inline void LlamaCuda::parallel_layer_backward(LayerCuda& y, ActsCuda& a, int64_t N, int B, int T) {
  const int NH = cfg_.num_heads, NKV = cfg_.num_kv_heads, l = static_cast<int>(&y - layers_.data());
  const int64_t RD = cfg_.rotary_dim;
  const bool two = cfg_.parallel_norms == 2;
  bf16* dh = dmid_.data();  // (N,F)
  lin_bwd(weight(y, 6, y.down), y.lora[6], a.u[6].data(), site(l, 6), 0, dh, dresid_.data(), a.h.data(), N, F_, C_, false, dgrad(y.down),
          dgrad(y.down_bias));
  bf16* datt = ws_datt_.data();  // (N,QD)
  lin_bwd(weight(y, 3, y.o), y.lora[3], a.u[3].data(), site(l, 3), 0, datt, dresid_.data(), a.att.data(), N, QD_, C_, false, dgrad(y.o),
          dgrad(y.o_bias));
  gelu_backward(dh, dh, a.ga.data(), N * F_, gelu_kind(), stream_);  // d fc1 output, in place
  const bf16* xm = two ? a.xn2.data() : a.xn1.data();
  lin_bwd(weight(y, 5, y.up), y.lora[5], a.u[5].data(), site(l, 5), 0, dxn_.data(), dh, xm, N, C_, F_, false, dgrad(y.up),
          dgrad(y.up_bias));
  if (two)  // ln_mlp's gradient now; attention gets its own dxn
    layernorm_backward(dresid_.data(), dgrad(y.mlp_norm), dgrad(y.mlp_norm_bias), dxn_.data(), y.x_in.data(), y.mlp_norm.data(),
                       a.mean2.data(), a.rstd2.data(), N, C_, stream_);
  const bool acc = !two;  // q / k / v add to fc1's input gradient when the norm is shared
  attention_backward(dq_.data(), dk_.data(), dv_.data(), datt, a.qa.data(), a.ka.data(), a.va.data(), a.att.data(), a.lse.data(), lengths_,
                     B, T, NH, NKV, HD_, stream_);
  rope_backward(dq_.data(), positions_, rope_cos_.data(), rope_sin_.data(), N, NH, HD_, RD, stream_);
  rope_backward(dk_.data(), positions_, rope_cos_.data(), rope_sin_.data(), N, NKV, HD_, RD, stream_);
  if (cfg_.family == ModelFamily::Falcon) {
    qkv_merge(ws_qkv_.data(), dq_.data(), dk_.data(), dv_.data(), qkv_src_.data(), N, NH, NKV, HD_, stream_);
    lin_bwd(weight(y, 0, y.qkv), y.lora[0], a.u[0].data(), site(l, 0), 0, dxn_.data(), ws_qkv_.data(), a.xn1.data(), N, C_, QKV_, acc,
            dgrad(y.qkv), dgrad(y.qkv_bias));
  } else {
    lin_bwd(weight(y, 0, y.q), y.lora[0], a.u[0].data(), site(l, 0), 0, dxn_.data(), dq_.data(), a.xn1.data(), N, C_, QD_, acc, dgrad(y.q),
            dgrad(y.q_bias));
    lin_bwd(weight(y, 1, y.k), y.lora[1], a.u[1].data(), site(l, 1), 0, dxn_.data(), dk_.data(), a.xn1.data(), N, C_, KD_, true, dgrad(y.k),
            dgrad(y.k_bias));
    lin_bwd(weight(y, 2, y.v), y.lora[2], a.u[2].data(), site(l, 2), 0, dxn_.data(), dv_.data(), a.xn1.data(), N, C_, KD_, true, dgrad(y.v),
            dgrad(y.v_bias));
  }
  layernorm_backward(dresid_.data(), dgrad(y.attn_norm), dgrad(y.attn_norm_bias), dxn_.data(), y.x_in.data(), y.attn_norm.data(),
                     a.mean1.data(), a.rstd1.data(), N, C_, stream_);
}

}  // namespace cuda
}  // namespace loralab
