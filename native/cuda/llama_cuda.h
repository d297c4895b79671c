// A Llama-family model (Llama / Mistral layout, no attention bias) on CUDA for LoRA training, built
// only from the launchers of cuda_ops.h: bf16 frozen weights and activations, fp32 LoRA masters,
// gradients and AdamW moments, every activation of a micro-batch kept (no checkpointing), the head
// and cross-entropy over all N tokens at once (small vocabularies / verification runs). QLoRA:
// with a quantize scheme the block linears are NF4/FP4 codes (the CPU engine's quantize(), so the
// same codes) dequantized to a bf16 scratch right before each GEMM (no fused NF4 GEMM yet).
// Header-only host code (plain C++): the verification driver and the tests include it. Not yet
// wired into the Engine facade (engine.cpp still refuses device "cuda"); no LoRA dropout.
// Legend: B rows, T seq, N = B*T, C hidden, F intermediate, L layers, NH/NKV heads, HD head dim,
// QD = NH*HD, KD = NKV*HD, V vocab, R LoRA rank.
#pragma once
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "cuda_alloc.h"
#include "cuda_check.h"
#include "cuda_ops.h"
#include "dtype.h"
#include "io/peft_adapter.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "ops/adamw.h"
#include "ops/rope.h"
#include "quant/quant.h"
#include "quant_cuda.h"

namespace loralab {
namespace cuda {

struct LoraCuda {  // one adapted linear: A (R,IN), B (OUT,R) with grads and AdamW moments
  PeftModule module = PeftModule::Q;
  int layer = 0;
  int64_t in = 0, out = 0;
  DeviceBuffer<float> A, B, dA, dB, mA, vA, mB, vB;
};

struct LayerCuda {
  DeviceBuffer<bf16> attn_norm, q, k, v, o, mlp_norm, gate, up, down;  // HF shapes
  LoraCuda* lora[7] = {};                                              // by PeftModule Q..Down
  QuantWeightDevice qw[7];                                             // QLoRA codes (rows == 0: bf16 weight)
  // saved activations (N rows)
  DeviceBuffer<bf16> x_in, xn1, qa, ka, va, att, x_mid, xn2, ga, ua, h;
  DeviceBuffer<float> rstd1, rstd2, lse;
  DeviceBuffer<float> u[7];  // (N,R) LoRA intermediates
};

class LlamaCuda {
 public:
  LlamaCuda(const std::string& folder, MemTracker* tracker, int device = 0, Quantize quantize = Quantize::None)
      : cfg_(load_model_config(folder)), alloc_(tracker, device) {
    quantized_ = quant_scheme(quantize, &quant_type_, &double_quant_);
    LORALAB_CHECK(!cfg_.attention_bias, "E_CONFIG_UNSUPPORTED", "the CUDA model has no attention biases yet");
    LORALAB_CUDA_CHECK(cudaSetDevice(device));
    LORALAB_CUDA_CHECK(cudaStreamCreate(&stream_));
    auto ckpt = CheckpointReader::open(folder);
    C_ = cfg_.hidden_size, F_ = cfg_.intermediate_size, V_ = cfg_.vocab_size, HD_ = cfg_.head_dim;
    QD_ = cfg_.num_heads * HD_, KD_ = cfg_.num_kv_heads * HD_;
    embed_ = upload(*ckpt, "model.embed_tokens.weight", {V_, C_});
    final_norm_ = upload(*ckpt, "model.norm.weight", {C_});
    if (!cfg_.tie_word_embeddings) head_ = upload(*ckpt, "lm_head.weight", {V_, C_});
    layers_.resize(cfg_.num_layers);
    for (int l = 0; l < cfg_.num_layers; ++l) {
      LayerCuda& y = layers_[l];
      y.attn_norm = upload(*ckpt, layer_tensor_name(l, "input_layernorm.weight"), {C_});
      linear(y, 0, y.q, *ckpt, layer_tensor_name(l, "self_attn.q_proj.weight"), {QD_, C_});
      linear(y, 1, y.k, *ckpt, layer_tensor_name(l, "self_attn.k_proj.weight"), {KD_, C_});
      linear(y, 2, y.v, *ckpt, layer_tensor_name(l, "self_attn.v_proj.weight"), {KD_, C_});
      linear(y, 3, y.o, *ckpt, layer_tensor_name(l, "self_attn.o_proj.weight"), {C_, QD_});
      y.mlp_norm = upload(*ckpt, layer_tensor_name(l, "post_attention_layernorm.weight"), {C_});
      linear(y, 4, y.gate, *ckpt, layer_tensor_name(l, "mlp.gate_proj.weight"), {F_, C_});
      linear(y, 5, y.up, *ckpt, layer_tensor_name(l, "mlp.up_proj.weight"), {F_, C_});
      linear(y, 6, y.down, *ckpt, layer_tensor_name(l, "mlp.down_proj.weight"), {C_, F_});
    }
  }
  ~LlamaCuda() {
    if (stream_) cudaStreamDestroy(stream_);
  }
  const ModelConfig& config() const { return cfg_; }
  cudaStream_t stream() const { return stream_; }
  const PeftAdapterConfig& lora_config() const { return lora_cfg_; }

  // Installs a PEFT adapter (block linears only; lm_head adapters and dropout are refused).
  void install_adapter(const PeftAdapter& adapter) {
    check_adapter_fits(adapter, cfg_);
    LORALAB_CHECK(adapter.config.lora_dropout == 0.0, "E_CONFIG_UNSUPPORTED", "the CUDA model has no LoRA dropout yet");
    lora_cfg_ = adapter.config;
    scale_ = static_cast<float>(adapter.config.scale());
    lora_.clear();
    for (auto& y : layers_)
      for (auto*& p : y.lora) p = nullptr;
    const int64_t R = adapter.config.r;
    for (const PeftLoraPair& p : adapter.pairs) {
      LORALAB_CHECK(p.layer >= 0, "E_CONFIG_UNSUPPORTED", "the CUDA model has no lm_head adapter yet");
      auto lc = std::make_unique<LoraCuda>();
      lc->module = p.module, lc->layer = p.layer, lc->in = p.in_features, lc->out = p.out_features;
      lc->A = f32_buffer(MemCategory::LoraParams, p.A);
      lc->B = f32_buffer(MemCategory::LoraParams, p.B);
      lc->dA = zero_f32(MemCategory::Grads, R * lc->in), lc->dB = zero_f32(MemCategory::Grads, lc->out * R);
      lc->mA = zero_f32(MemCategory::OptimizerState, R * lc->in), lc->vA = zero_f32(MemCategory::OptimizerState, R * lc->in);
      lc->mB = zero_f32(MemCategory::OptimizerState, lc->out * R), lc->vB = zero_f32(MemCategory::OptimizerState, lc->out * R);
      layers_[p.layer].lora[static_cast<int>(p.module)] = lc.get();
      lora_.push_back(std::move(lc));
    }
  }

  // Forward of B right-padded rows of T tokens (host ids, validated here; targets already shifted,
  // -100 ignored; lengths (B) or empty for full rows). Keeps the activations and the logits (N,V) on
  // the device for backward / logits(); returns the mean cross-entropy over the targets.
  double forward_loss(const std::vector<int32_t>& tokens, const std::vector<int32_t>& targets, int B, int T,
                      const std::vector<int32_t>& lengths = {}) {
    ensure(B, T);
    std::vector<int32_t> lens = lengths.empty() ? std::vector<int32_t>(B, T) : lengths;
    LORALAB_CHECK(static_cast<int>(lens.size()) == B, "E_BATCH_SHAPE", "lengths must have one entry per row");
    copy_in(lengths_.data(), lens.data(), 4 * B);
    const int64_t N = int64_t(B) * T;
    for (int64_t n = 0; n < N; ++n) {
      LORALAB_CHECK(tokens[n] >= 0 && tokens[n] < V_, "E_TOKEN_RANGE", "token id " + std::to_string(tokens[n]) + " outside the vocabulary");
      LORALAB_CHECK(targets[n] == -100 || (targets[n] >= 0 && targets[n] < V_), "E_TOKEN_RANGE",
                    "target id " + std::to_string(targets[n]) + " outside the vocabulary");
    }
    std::vector<int32_t> pos(N);
    for (int64_t n = 0; n < N; ++n) pos[n] = static_cast<int32_t>(n % T);
    copy_in(tokens_.data(), tokens.data(), 4 * N);
    copy_in(targets_.data(), targets.data(), 4 * N);
    copy_in(positions_.data(), pos.data(), 4 * N);
    embedding_forward(resid_.data(), tokens_.data(), embed_.data(), N, C_, V_, stream_);
    for (int l = 0; l < cfg_.num_layers; ++l) layer_forward(layers_[l], N, B, T);
    rmsnorm_forward(xn_f_.data(), rstd_f_.data(), resid_.data(), final_norm_.data(), N, C_, cfg_.rms_norm_eps, stream_);
    matmul_nt<bf16, bf16, bf16>(logits_.data(), xn_f_.data(), head_w(), N, V_, C_, false, stream_);
    cross_entropy_forward(losses_.data(), logits_.data(), targets_.data(), N, V_, stream_);
    std::vector<float> losses(N);
    copy_out(losses.data(), losses_.data(), 4 * N);  // the one host synchronisation of a step
    double sum = 0;
    int64_t count = 0;
    for (int64_t n = 0; n < N; ++n)
      if (targets[n] != -100) sum += losses[n], ++count;
    count_ = count;
    return count ? sum / count : 0.0;
  }
  // Logits (N,V) of the last forward as fp32 (before backward turns them into gradients).
  std::vector<float> logits() {
    const int64_t n = N_ * V_;
    std::vector<uint16_t> bits(n);
    copy_out(bits.data(), logits_.data(), 2 * n);
    std::vector<float> out(n);
    for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(bits[i]);
    return out;
  }
  // Backward of the mean loss of the last forward: LoRA gradients accumulate into dA / dB.
  void backward(int B, int T) {
    const int64_t N = int64_t(B) * T;
    const float dloss = count_ ? 1.0f / static_cast<float>(count_) : 0.0f;
    cross_entropy_backward(logits_.data(), logits_.data(), targets_.data(), dloss, N, V_, stream_);
    matmul_nn<bf16, bf16, bf16>(dxn_.data(), logits_.data(), head_w(), N, C_, V_, false, stream_);
    LORALAB_CUDA_CHECK(cudaMemsetAsync(dresid_.data(), 0, 2 * N * C_, stream_));
    rmsnorm_backward(dresid_.data(), nullptr, dxn_.data(), resid_.data(), final_norm_.data(), rstd_f_.data(), N, C_,
                     stream_);
    for (int l = cfg_.num_layers - 1; l >= 0; --l) layer_backward(layers_[l], N, B, T);
  }
  void zero_grads() {
    for (auto& p : lora_) {
      LORALAB_CUDA_CHECK(cudaMemsetAsync(p->dA.data(), 0, p->dA.bytes(), stream_));
      LORALAB_CUDA_CHECK(cudaMemsetAsync(p->dB.data(), 0, p->dB.bytes(), stream_));
    }
  }
  void adamw_step(const AdamWHyper& h) {
    for (auto& p : lora_) {
      adamw_update(p->A.data(), p->mA.data(), p->vA.data(), p->dA.data(), p->A.size(), h, stream_);
      adamw_update(p->B.data(), p->mB.data(), p->vB.data(), p->dB.data(), p->B.size(), h, stream_);
    }
  }
  // The adapter as host pairs (sorted as installed); with grads=true the gradients instead of the weights.
  PeftAdapter adapter(bool grads) {
    PeftAdapter a;
    a.config = lora_cfg_;
    for (auto& p : lora_) {
      PeftLoraPair q;
      q.module = p->module, q.layer = p->layer, q.in_features = p->in, q.out_features = p->out;
      q.A.resize(p->A.size());
      q.B.resize(p->B.size());
      copy_out(q.A.data(), grads ? p->dA.data() : p->A.data(), p->A.bytes());
      copy_out(q.B.data(), grads ? p->dB.data() : p->B.data(), p->B.bytes());
      a.pairs.push_back(std::move(q));
    }
    return a;
  }

 private:
  const bf16* head_w() const { return cfg_.tie_word_embeddings ? embed_.data() : head_.data(); }
  DeviceBuffer<bf16> upload(const CheckpointReader& ckpt, const std::string& name, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<float> f(n);
    ckpt.read_f32(name, shape, f.data());
    std::vector<uint16_t> bits(n);
    for (int64_t i = 0; i < n; ++i) bits[i] = f32_to_bf16(f[i]);
    DeviceBuffer<bf16> d(&alloc_, MemCategory::Weights, n);
    copy_in(d.data(), bits.data(), 2 * n);
    return d;
  }
  // A block linear: bf16 storage, or (QLoRA) the codes of quantize() on its fp32 values
  void linear(LayerCuda& y, int m, DeviceBuffer<bf16>& w, const CheckpointReader& ckpt, const std::string& name,
              std::vector<int64_t> shape) {
    if (!quantized_) {
      w = upload(ckpt, name, shape);
      return;
    }
    std::vector<float> f(shape[0] * shape[1]);
    ckpt.read_f32(name, shape, f.data());
    y.qw[m] = upload_quantized(&alloc_, quantize(f.data(), shape[0], shape[1], quant_type_, double_quant_), stream_);
    max_weight_ = std::max<int64_t>(max_weight_, shape[0] * shape[1]);
  }
  // The bf16 (OUT,IN) weight of linear m: its storage, or its codes dequantized into the scratch
  const bf16* weight(LayerCuda& y, int m, const DeviceBuffer<bf16>& w) {
    if (y.qw[m].rows == 0) return w.data();
    need(ws_weight_, MemCategory::Workspace, max_weight_);
    dequantize_rows(ws_weight_.data(), y.qw[m], 0, y.qw[m].rows, stream_);
    return ws_weight_.data();
  }
  DeviceBuffer<float> f32_buffer(MemCategory c, const std::vector<float>& v) {
    DeviceBuffer<float> d(&alloc_, c, v.size());
    copy_in(d.data(), v.data(), 4 * v.size());
    return d;
  }
  DeviceBuffer<float> zero_f32(MemCategory c, int64_t n) {
    DeviceBuffer<float> d(&alloc_, c, n);
    LORALAB_CUDA_CHECK(cudaMemsetAsync(d.data(), 0, 4 * n, stream_));
    return d;
  }
  void copy_in(void* dst, const void* src, size_t bytes) {
    LORALAB_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_));
    LORALAB_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  void copy_out(void* dst, const void* src, size_t bytes) {
    LORALAB_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
    LORALAB_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  template <typename T>
  void need(DeviceBuffer<T>& b, MemCategory c, int64_t n) {
    if (static_cast<int64_t>(b.size()) != n) b = DeviceBuffer<T>(&alloc_, c, n);
  }
  // (Re)allocates activations and workspace for N = B*T rows and the rope tables for T positions.
  void ensure(int B, int T) {
    const int64_t N = int64_t(B) * T, R = lora_cfg_.r;
    N_ = N;
    const auto A = MemCategory::Activations, W = MemCategory::Workspace;
    need(tokens_, W, N), need(targets_, W, N), need(positions_, W, N), need(lengths_, W, B);
    need(resid_, A, N * C_), need(xn_f_, A, N * C_), need(rstd_f_, A, N), need(logits_, MemCategory::Logits, N * V_);
    need(losses_, W, N), need(dresid_, W, N * C_), need(dxn_, W, N * C_), need(dmid_, W, N * std::max(F_, QD_));
    need(dgate_, W, N * F_), need(dup_, W, N * F_), need(dq_, W, N * QD_), need(dk_, W, N * KD_), need(dv_, W, N * KD_);
    need(du_, W, N * std::max<int64_t>(R, 1));
    for (auto& y : layers_) {
      need(y.x_in, A, N * C_), need(y.xn1, A, N * C_), need(y.qa, A, N * QD_), need(y.ka, A, N * KD_);
      need(y.va, A, N * KD_), need(y.att, A, N * QD_), need(y.x_mid, A, N * C_), need(y.xn2, A, N * C_);
      need(y.ga, A, N * F_), need(y.ua, A, N * F_), need(y.h, A, N * F_);
      need(y.rstd1, A, N), need(y.rstd2, A, N), need(y.lse, A, int64_t(B) * cfg_.num_heads * T);
      for (int m = 0; m < 7; ++m)
        if (y.lora[m]) need(y.u[m], A, N * R);
    }
    if (rope_T_ < T) {
      std::vector<float> cos_t, sin_t;
      rope_tables(cos_t, sin_t, rope_inv_freq(cfg_), T);
      rope_cos_ = f32_buffer(W, cos_t), rope_sin_ = f32_buffer(W, sin_t);
      rope_T_ = T;
    }
  }
  // out (N,OUT) = inp (N,IN) W^T (+ LoRA)
  void lin_fwd(LayerCuda& y, int m, const DeviceBuffer<bf16>& w, bf16* out, const bf16* inp, int64_t N, int64_t IN,
               int64_t OUT) {
    matmul_nt<bf16, bf16, bf16>(out, inp, weight(y, m, w), N, OUT, IN, false, stream_);
    if (LoraCuda* p = y.lora[m])
      lora_forward(out, y.u[m].data(), inp, p->A.data(), p->B.data(), scale_, N, IN, OUT, lora_cfg_.r, stream_);
  }
  // dinp (N,IN) (+)= dout (N,OUT) W (+ LoRA grads)
  void lin_bwd(LayerCuda& y, int m, const DeviceBuffer<bf16>& w, bf16* dinp, const bf16* dout, const bf16* inp,
               int64_t N, int64_t IN, int64_t OUT, bool accumulate) {
    matmul_nn<bf16, bf16, bf16>(dinp, dout, weight(y, m, w), N, IN, OUT, accumulate, stream_);
    if (LoraCuda* p = y.lora[m])
      lora_backward(dinp, p->dA.data(), p->dB.data(), du_.data(), dout, inp, y.u[m].data(), p->A.data(), p->B.data(),
                    scale_, N, IN, OUT, lora_cfg_.r, stream_);
  }
  // resid_ (N,C) in: x_in; out: x_out
  void layer_forward(LayerCuda& y, int64_t N, int B, int T) {
    const int NH = cfg_.num_heads, NKV = cfg_.num_kv_heads;
    LORALAB_CUDA_CHECK(cudaMemcpyAsync(y.x_in.data(), resid_.data(), 2 * N * C_, cudaMemcpyDeviceToDevice, stream_));
    rmsnorm_forward(y.xn1.data(), y.rstd1.data(), y.x_in.data(), y.attn_norm.data(), N, C_, cfg_.rms_norm_eps, stream_);
    lin_fwd(y, 0, y.q, y.qa.data(), y.xn1.data(), N, C_, QD_);
    lin_fwd(y, 1, y.k, y.ka.data(), y.xn1.data(), N, C_, KD_);
    lin_fwd(y, 2, y.v, y.va.data(), y.xn1.data(), N, C_, KD_);
    rope_forward(y.qa.data(), positions_.data(), rope_cos_.data(), rope_sin_.data(), N, NH, HD_, stream_);
    rope_forward(y.ka.data(), positions_.data(), rope_cos_.data(), rope_sin_.data(), N, NKV, HD_, stream_);
    attention_forward(y.att.data(), y.lse.data(), y.qa.data(), y.ka.data(), y.va.data(), lengths_.data(), B, T, NH,
                      NKV, HD_, stream_);
    lin_fwd(y, 3, y.o, dxn_.data(), y.att.data(), N, QD_, C_);  // dxn_ as scratch (N,C)
    residual_add(resid_.data(), dxn_.data(), N * C_, stream_);
    LORALAB_CUDA_CHECK(cudaMemcpyAsync(y.x_mid.data(), resid_.data(), 2 * N * C_, cudaMemcpyDeviceToDevice, stream_));
    rmsnorm_forward(y.xn2.data(), y.rstd2.data(), y.x_mid.data(), y.mlp_norm.data(), N, C_, cfg_.rms_norm_eps, stream_);
    lin_fwd(y, 4, y.gate, y.ga.data(), y.xn2.data(), N, C_, F_);
    lin_fwd(y, 5, y.up, y.ua.data(), y.xn2.data(), N, C_, F_);
    swiglu_forward(y.h.data(), y.ga.data(), y.ua.data(), N, F_, stream_);
    lin_fwd(y, 6, y.down, dxn_.data(), y.h.data(), N, F_, C_);
    residual_add(resid_.data(), dxn_.data(), N * C_, stream_);
  }
  // dresid_ (N,C) in: d x_out; out: d x_in
  void layer_backward(LayerCuda& y, int64_t N, int B, int T) {
    const int NH = cfg_.num_heads, NKV = cfg_.num_kv_heads;
    bf16* dh = dmid_.data();
    lin_bwd(y, 6, y.down, dh, dresid_.data(), y.h.data(), N, F_, C_, false);
    swiglu_backward(dgate_.data(), dup_.data(), dh, y.ga.data(), y.ua.data(), N, F_, stream_);
    lin_bwd(y, 4, y.gate, dxn_.data(), dgate_.data(), y.xn2.data(), N, C_, F_, false);
    lin_bwd(y, 5, y.up, dxn_.data(), dup_.data(), y.xn2.data(), N, C_, F_, true);
    rmsnorm_backward(dresid_.data(), nullptr, dxn_.data(), y.x_mid.data(), y.mlp_norm.data(), y.rstd2.data(), N, C_,
                     stream_);
    bf16* datt = dmid_.data();
    lin_bwd(y, 3, y.o, datt, dresid_.data(), y.att.data(), N, QD_, C_, false);
    attention_backward(dq_.data(), dk_.data(), dv_.data(), datt, y.qa.data(), y.ka.data(), y.va.data(), y.att.data(),
                       y.lse.data(), lengths_.data(), B, T, NH, NKV, HD_, stream_);
    rope_backward(dq_.data(), positions_.data(), rope_cos_.data(), rope_sin_.data(), N, NH, HD_, stream_);
    rope_backward(dk_.data(), positions_.data(), rope_cos_.data(), rope_sin_.data(), N, NKV, HD_, stream_);
    lin_bwd(y, 0, y.q, dxn_.data(), dq_.data(), y.xn1.data(), N, C_, QD_, false);
    lin_bwd(y, 1, y.k, dxn_.data(), dk_.data(), y.xn1.data(), N, C_, KD_, true);
    lin_bwd(y, 2, y.v, dxn_.data(), dv_.data(), y.xn1.data(), N, C_, KD_, true);
    rmsnorm_backward(dresid_.data(), nullptr, dxn_.data(), y.x_in.data(), y.attn_norm.data(), y.rstd1.data(), N, C_,
                     stream_);
  }

  ModelConfig cfg_;
  CudaAllocator alloc_;
  cudaStream_t stream_ = nullptr;
  int64_t C_ = 0, F_ = 0, V_ = 0, HD_ = 0, QD_ = 0, KD_ = 0, N_ = 0, count_ = 0;
  int rope_T_ = 0;
  bool quantized_ = false, double_quant_ = false;
  QuantType quant_type_ = QuantType::NF4;
  int64_t max_weight_ = 0;
  float scale_ = 0.0f;
  PeftAdapterConfig lora_cfg_;
  DeviceBuffer<bf16> embed_, final_norm_, head_;
  std::vector<LayerCuda> layers_;
  std::vector<std::unique_ptr<LoraCuda>> lora_;
  DeviceBuffer<int32_t> tokens_, targets_, positions_, lengths_;
  DeviceBuffer<float> rope_cos_, rope_sin_, rstd_f_, losses_, du_;
  DeviceBuffer<bf16> ws_weight_;  // (max OUT*IN) dequantized QLoRA weight
  DeviceBuffer<bf16> resid_, xn_f_, logits_, dresid_, dxn_, dmid_, dgate_, dup_, dq_, dk_, dv_;
};

}  // namespace cuda
}  // namespace loralab
