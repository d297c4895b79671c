// A Llama-family model (Llama / Mistral / Qwen2 with q/k/v biases) on CUDA for LoRA training (or full
// finetuning: fp32 masters + moments for every weight, bf16 copies for compute), built
// only from the launchers of cuda_ops.h: bf16 frozen weights and activations, fp32 LoRA masters,
// gradients and AdamW / SGD moments, every activation of a micro-batch kept, or with gradient
// checkpointing only each layer's input (backward recomputes the layer, bitwise the same). LoRA
// on any block linear and on lm_head, LoRA dropout with the CPU's counter-based mask, the head and
// cross-entropy in row chunks (the (N,V) logits are never all resident), per-token losses and the
// squared gradient norm reduced on the device (the engine reads them back once per step). QLoRA:
// with a quantize scheme the block linears are NF4/FP4 codes (the CPU engine's quantize(), so the
// same codes) dequantized to a bf16 scratch right before each GEMM (no fused NF4 GEMM yet).
// The parallel-block families (Phi, Falcon: LayerNorm, GELU MLP, partial rotary, fused query_key_value)
// share everything but the block and the norms, which live in parallel_block_cuda.h (included below).
// Header-only host code (plain C++): the CUDA engine (cuda_engine.cu) and the tests include it.
// Legend: B rows, T seq, N = B*T, C hidden, F intermediate, L layers, NH/NKV heads, HD head dim,
// QD = NH*HD, KD = NKV*HD, V vocab, R LoRA rank.
#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine_checks.h"
#include "cuda_alloc.h"
#include "cuda_check.h"
#include "cuda_ops.h"
#include "cuda_staging.h"
#include "dtype.h"
#include "engine.h"
#include "io/peft_adapter.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "ops/adamw.h"
#include "ops/rope.h"
#include "ops/sgd.h"
#include "quant/quant.h"
#include "quant_cuda.h"

namespace loralab {
namespace cuda {

struct LoraCuda {  // one adapted linear: A (R,IN), B (OUT,R) with grads and optimizer moments
  PeftModule module = PeftModule::Q;
  int layer = 0;  // -1: lm_head
  int64_t in = 0, out = 0;
  DeviceBuffer<float> A, B, dA, dB, mA, vA, mB, vB;  // grads / moments empty without training (v: AdamW only)
};

struct LayerCuda {
  DeviceBuffer<bf16> attn_norm, q, k, v, o, mlp_norm, gate, up, down;  // HF shapes
  DeviceBuffer<bf16> q_bias, k_bias, v_bias;                           // (QD), (KD), (KD) with attention_bias
  // Phi / Falcon (parallel_block_cuda.h): LayerNorm biases, Falcon's fused (QKV,C) query_key_value, the
  // other linears' biases (dense (C), fc1 (F), fc2 (C)); mlp_norm is ln_mlp (falcon-40b) or empty
  DeviceBuffer<bf16> attn_norm_bias, mlp_norm_bias, qkv, qkv_bias, o_bias, up_bias, down_bias;
  LoraCuda* lora[7] = {};                                              // by PeftModule Q..Down
  QuantWeightDevice qw[7];                                             // QLoRA codes (rows == 0: bf16 weight)
  DeviceBuffer<bf16> x_in;  // (N,C) the layer's input, saved by every forward (checkpointing recomputes from it)
};

// The activations of one layer for one micro-batch (N rows): one set per layer when training keeps
// everything, one shared set for inference and under gradient checkpointing.
struct ActsCuda {
  DeviceBuffer<bf16> xn1, qa, ka, va, att, x_mid, xn2, ga, ua, h;
  DeviceBuffer<float> rstd1, rstd2, lse;
  DeviceBuffer<float> mean1, mean2;  // LayerNorm (Phi / Falcon)
  DeviceBuffer<float> u[7];  // (N,R) LoRA intermediates
};

// Full finetuning: a weight's fp32 master with its gradient and optimizer moments; the GEMMs and
// norms read its bf16 copy, refreshed after every update.
struct FullParam {
  std::string name;  // HF key
  std::vector<int64_t> shape;
  DeviceBuffer<bf16>* copy = nullptr;
  DeviceBuffer<float> w, g, m, v;  // v: AdamW only
};

struct LlamaCudaOptions {
  Quantize quantize = Quantize::None;
  bool full = false;                          // train every weight (method full); no LoRA
  bool training = true;                       // false: no gradients or optimizer moments
  OptimizerKind optimizer = OptimizerKind::AdamW;
  uint64_t seed = 0;                          // dropout key
  bool checkpointing = false;                 // keep only each layer's input; backward recomputes the layer
  const std::atomic<bool>* abort = nullptr;   // checked between layers and head chunks (E_ABORTED)
};

// One micro-batch as host arrays (validated by the engine; ids are range-checked here).
struct PassInput {
  int B = 0, T = 0;
  const int32_t* tokens = nullptr;       // (B,T)
  const int32_t* targets = nullptr;      // (B,T) or null (logits / generation)
  const int32_t* lengths = nullptr;      // (B) or null: full rows
  const int64_t* example_ids = nullptr;  // (B) or null: row index (dropout key)
  bool training = false;                 // dropout on, gradients possible
  uint64_t step = 0;                     // dropout key
};

class LlamaCuda {
 public:
  static constexpr int kHeadSite = 15;                          // dropout site of lm_head (the CPU's)
  static constexpr int64_t kLogitsChunkElems = int64_t(1) << 25;  // bf16 logits of one head chunk (64 MiB)

  LlamaCuda(const std::string& folder, MemTracker* tracker, int device = 0, Quantize quantize = Quantize::None)
      : LlamaCuda(folder, tracker, device, LlamaCudaOptions{quantize}) {}
  LlamaCuda(const std::string& folder, MemTracker* tracker, int device, const LlamaCudaOptions& options)
      : cfg_(load_model_config(folder)), opt_(options), alloc_(tracker, device) {
    quantized_ = quant_scheme(opt_.quantize, &quant_type_, &double_quant_);
    check_cuda_supports(cfg_);  // what the CUDA engine does not implement, refused by key
    LORALAB_CHECK(cfg_.num_heads > 0 && cfg_.num_kv_heads > 0 && cfg_.num_heads % cfg_.num_kv_heads == 0,
                  "E_CONFIG_UNSUPPORTED",
                  "config.json: num_attention_heads " + std::to_string(cfg_.num_heads) +
                      " is not a multiple of num_key_value_heads " + std::to_string(cfg_.num_kv_heads));
    if (cfg_.head_dim <= 0) cfg_.head_dim = cfg_.hidden_size / cfg_.num_heads;
    LORALAB_CUDA_CHECK(cudaSetDevice(device));
    LORALAB_CUDA_CHECK(cudaStreamCreate(&stream_));
    auto ckpt = CheckpointReader::open(folder);
    C_ = cfg_.hidden_size, F_ = cfg_.intermediate_size, V_ = cfg_.vocab_size, HD_ = cfg_.head_dim;
    QD_ = cfg_.num_heads * HD_, KD_ = cfg_.num_kv_heads * HD_;
    parallel_ = cfg_.family != ModelFamily::Llama;
    if (parallel_) load_parallel(*ckpt);
    else load_llama(*ckpt);
    if (opt_.full && opt_.training) make_full_params(*ckpt);
    stats_ = DeviceBuffer<double>(&alloc_, MemCategory::Workspace, 2);
    LORALAB_CUDA_CHECK(cudaMemsetAsync(stats_.data(), 0, stats_.bytes(), stream_));
    LORALAB_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  ~LlamaCuda() {
    cudaSetDevice(alloc_.device());
    if (stream_) cudaStreamSynchronize(stream_), cudaStreamDestroy(stream_);
    cudaGetLastError();
  }
  const ModelConfig& config() const { return cfg_; }
  cudaStream_t stream() const { return stream_; }
  const PeftAdapterConfig& lora_config() const { return lora_cfg_; }
  float lora_scale() const { return scale_; }
  void set_lora_enabled(bool enabled) { lora_enabled_ = enabled; }
  bool lora_enabled() const { return lora_enabled_; }
  void set_seed(uint64_t seed) { opt_.seed = seed; }
  // Installed pairs in install order (the adapter's pairs order).
  std::vector<LoraCuda*> lora_pairs() {
    std::vector<LoraCuda*> out;
    for (auto& p : lora_) out.push_back(p.get());
    return out;
  }

  // Installs a PEFT adapter (block linears and lm_head); gradients and moments start at zero.
  void install_adapter(const PeftAdapter& adapter) {
    check_adapter_fits(adapter, cfg_);
    LORALAB_CHECK(adapter.config.r > 0, "E_CONFIG_INVALID", "lora.r must be positive");
    LORALAB_CHECK(adapter.config.lora_dropout >= 0 && adapter.config.lora_dropout < 1, "E_CONFIG_INVALID",
                  "lora.dropout must be in [0, 1) (got " + std::to_string(adapter.config.lora_dropout) + ")");
    LORALAB_CUDA_CHECK(cudaStreamSynchronize(stream_));
    lora_cfg_ = adapter.config;
    lora_cfg_.family = cfg_.family;  // saved adapters and state keys use this model's module names
    scale_ = static_cast<float>(adapter.config.scale());
    lora_.clear();
    head_lora_ = nullptr;
    for (auto& y : layers_)
      for (auto*& p : y.lora) p = nullptr;
    const int64_t R = adapter.config.r;
    const bool adamw = opt_.optimizer == OptimizerKind::AdamW;
    for (const PeftLoraPair& p : adapter.pairs) {
      auto lc = std::make_unique<LoraCuda>();
      lc->module = p.module, lc->layer = p.layer, lc->in = p.in_features, lc->out = p.out_features;
      lc->A = f32_buffer(MemCategory::LoraParams, p.A);
      lc->B = f32_buffer(MemCategory::LoraParams, p.B);
      if (opt_.training) {
        lc->dA = zero_f32(MemCategory::Grads, R * lc->in), lc->dB = zero_f32(MemCategory::Grads, lc->out * R);
        lc->mA = zero_f32(MemCategory::OptimizerState, R * lc->in);
        lc->mB = zero_f32(MemCategory::OptimizerState, lc->out * R);
        if (adamw) {
          lc->vA = zero_f32(MemCategory::OptimizerState, R * lc->in);
          lc->vB = zero_f32(MemCategory::OptimizerState, lc->out * R);
        }
      }
      if (p.layer < 0) head_lora_ = lc.get();
      else layers_[p.layer].lora[static_cast<int>(p.module)] = lc.get();
      lora_.push_back(std::move(lc));
    }
    build_grad_table();
    layers_acts_N_ = -1;  // u buffers follow the new adapter
  }
  // Full finetuning: the trainable weights in the CPU's order (empty in LoRA mode).
  std::vector<FullParam*> full_params() {
    std::vector<FullParam*> out;
    for (auto& p : full_) out.push_back(p.get());
    return out;
  }

  // Sizes the inference buffers for B rows of T tokens up front (generation grows T one token at a time).
  void reserve_inference(int B, int T) {
    training_ = keep_all_ = false;
    ensure(B, T);
  }
  // Starts a public call: waits for the stream (so staged uploads of earlier calls are consumed).
  // Also selects this model's device on the calling thread (the addon calls from worker threads).
  void begin_call() {
    LORALAB_CUDA_CHECK(cudaSetDevice(alloc_.device()));
    staging_.reset(stream_);
  }
  // stats: [0] summed loss of the head passes, [1] squared gradient norm (after grad_sumsq())
  void zero_stats() { LORALAB_CUDA_CHECK(cudaMemsetAsync(stats_.data(), 0, stats_.bytes(), stream_)); }
  void grad_sumsq() {
    sum_of_squares(stats_.data() + 1, partial_.data(), grad_ptrs_.data(), grad_sizes_.data(), grad_count_, stream_);
  }
  // The one host synchronisation of a step / eval: reads [loss sum, squared grad norm].
  void read_stats(double* loss_sum, double* sumsq) {
    double h[2];
    copy_out(h, stats_.data(), sizeof h);
    if (loss_sum) *loss_sum = h[0];
    if (sumsq) *sumsq = h[1];
  }

  // Forward of one micro-batch through the final norm (xn_f_ kept for the head). Uploads the ids,
  // lengths, positions and dropout keys through the pinned staging in one async copy.
  void forward(const PassInput& in) {
    const int B = in.B, T = in.T;
    LORALAB_CHECK(B > 0 && T > 0, "E_BATCH", "batch has no tokens (rows " + std::to_string(B) + ", seq_len " + std::to_string(T) + ")");
    if (cfg_.sliding_window > 0 && T > cfg_.sliding_window)
      LORALAB_THROW("E_CONFIG_UNSUPPORTED", "config.json: sliding_window " + std::to_string(cfg_.sliding_window) +
                                                " is shorter than the sequence (" + std::to_string(T) +
                                                " tokens); sliding-window attention is not implemented");
    const int64_t N = int64_t(B) * T;
    for (int64_t n = 0; n < N; ++n) {
      LORALAB_CHECK(in.tokens[n] >= 0 && in.tokens[n] < V_, "E_TOKEN_RANGE",
                    "token id " + std::to_string(in.tokens[n]) + " at position " + std::to_string(n) +
                        " is outside the vocabulary [0, " + std::to_string(V_) + ")");
      if (in.targets)
        LORALAB_CHECK(in.targets[n] == -100 || (in.targets[n] >= 0 && in.targets[n] < V_), "E_TOKEN_RANGE",
                      "target id " + std::to_string(in.targets[n]) + " is outside the vocabulary [0, " +
                          std::to_string(V_) + ")");
    }
    training_ = in.training;
    keep_all_ = in.training && !opt_.checkpointing;
    ensure(B, T);
    step_ = in.step;
    // one staged block: row_examples (N int64) | tokens | targets | positions (N int32 each) | lengths (B)
    const size_t bytes = 8 * N + 4 * (3 * N + B);
    uint8_t* h = static_cast<uint8_t*>(staging_.take(bytes, stream_));
    int64_t* ex = reinterpret_cast<int64_t*>(h);
    int32_t* tok = reinterpret_cast<int32_t*>(h + 8 * N);
    int32_t* tgt = tok + N;
    int32_t* pos = tgt + N;
    int32_t* len = pos + N;
    std::memcpy(tok, in.tokens, 4 * N);
    if (in.targets) std::memcpy(tgt, in.targets, 4 * N);
    else std::fill(tgt, tgt + N, -100);
    for (int b = 0; b < B; ++b) {
      len[b] = in.lengths ? in.lengths[b] : T;
      for (int t = 0; t < T; ++t) {
        ex[int64_t(b) * T + t] = in.example_ids ? in.example_ids[b] : b;
        pos[int64_t(b) * T + t] = t;
      }
    }
    has_targets_.assign(N, 0);
    for (int64_t n = 0; n < N; ++n) has_targets_[n] = in.targets && in.targets[n] != -100;
    LORALAB_CUDA_CHECK(cudaMemcpyAsync(pass_dev_.data(), h, bytes, cudaMemcpyHostToDevice, stream_));
    embedding_forward(resid_.data(), tokens_, embed_.data(), N, C_, V_, stream_);
    for (int l = 0; l < cfg_.num_layers; ++l) {
      check_abort();
      layer_forward(layers_[l], acts_[keep_all_ ? l : 0], N, B, T);
    }
    if (parallel_)
      layernorm_forward(xn_f_.data(), mean_f_.data(), rstd_f_.data(), resid_.data(), final_norm_.data(), final_norm_bias_.data(),
                        N, C_, cfg_.rms_norm_eps, stream_);
    else
      rmsnorm_forward(xn_f_.data(), rstd_f_.data(), resid_.data(), final_norm_.data(), N, C_, cfg_.rms_norm_eps, stream_);
  }

  // Head + cross-entropy over the rows of the last forward in chunks: per-token losses into losses_
  // (0 at -100), their sum added to stats [0]; with dloss != 0 also the head LoRA gradients and the
  // gradient at the final norm's output (dxn_f_) for backward().
  void head_loss(float dloss) {
    const int64_t N = N_;
    const bool grad = dloss != 0.0f;
    LORALAB_CHECK(!grad || (training_ && opt_.training), "E_INTERNAL", "head_loss with gradients needs a training forward");
    const int64_t chunk = head_chunk_rows();
    need(logits_, MemCategory::Logits, chunk * V_);
    LORALAB_CUDA_CHECK(cudaMemsetAsync(losses_.data(), 0, 4 * N, stream_));
    if (grad) LORALAB_CUDA_CHECK(cudaMemsetAsync(dxn_f_.data(), 0, 2 * N * C_, stream_));
    for (int64_t c0 = 0; c0 < N; c0 += chunk) {
      const int64_t nc = std::min(chunk, N - c0);
      if (std::none_of(has_targets_.begin() + c0, has_targets_.begin() + c0 + nc, [](char c) { return c != 0; }))
        continue;  // no target in these rows: loss 0, no gradient
      check_abort();
      const bf16* xin = xn_f_.data() + c0 * C_;
      lin_fwd(head_w(), head_bias_.data(), head_lora_, head_u_.data(), kHeadSite, c0, logits_.data(), xin, nc, C_, V_);
      cross_entropy_forward(losses_.data() + c0, logits_.data(), targets_ + c0, nc, V_, stream_);
      if (!grad) continue;
      cross_entropy_backward(logits_.data(), logits_.data(), targets_ + c0, dloss, nc, V_, stream_);
      lin_bwd(head_w(), head_lora_, head_u_.data(), kHeadSite, c0, dxn_f_.data() + c0 * C_, logits_.data(), xin, nc,
              C_, V_, false, dgrad(cfg_.tie_word_embeddings ? embed_ : head_), dgrad(head_bias_));
    }
    accumulate_sum(stats_.data(), losses_.data(), N, stream_);
  }
  // Per-token losses (N) of the last head_loss (synchronises).
  std::vector<float> losses() {
    std::vector<float> out(N_);
    copy_out(out.data(), losses_.data(), 4 * N_);
    return out;
  }
  // fp32 logits of rows [row0, row0+rows) of the last forward into host memory (rows, V); no dropout.
  void head_logits(float* host_out, int64_t row0, int64_t rows) {
    const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(rows, kLogitsChunkElems / 2 / V_));
    need(logits_f32_, MemCategory::Logits, chunk * V_);
    const int64_t R = lora_cfg_.r;
    for (int64_t c0 = 0; c0 < rows; c0 += chunk) {
      check_abort();
      const int64_t nc = std::min(chunk, rows - c0);
      const bf16* xin = xn_f_.data() + (row0 + c0) * C_;
      gemm<float, bf16, bf16>(logits_f32_.data(), xin, C_, 1, head_w(), 1, C_, head_bias_.data(), nc, V_, C_, 1.0f, false,
                              stream_);  // x W^T (+ the head bias, Phi)
      if (head_lora_ && lora_enabled_) {  // out += scale * (x A^T) B^T in fp32
        matmul_nt<float, bf16, float>(head_u_.data(), xin, head_lora_->A.data(), nc, R, C_, false, stream_);
        gemm<float, float, float>(logits_f32_.data(), head_u_.data(), R, 1, head_lora_->B.data(), 1, R, nullptr, nc,
                                  V_, R, scale_, true, stream_);
      }
      copy_out(host_out + c0 * V_, logits_f32_.data(), 4 * nc * V_);
    }
  }

  // Backward from dxn_f_ (head_loss with dloss != 0) through the final norm and the adapted layers.
  void backward() {
    const int64_t N = N_;
    LORALAB_CHECK(training_ && opt_.training, "E_INTERNAL", "backward without a training forward");
    LORALAB_CUDA_CHECK(cudaMemsetAsync(dresid_.data(), 0, 2 * N * C_, stream_));
    if (parallel_)
      layernorm_backward(dresid_.data(), dgrad(final_norm_), dgrad(final_norm_bias_), dxn_f_.data(), resid_.data(),
                         final_norm_.data(), mean_f_.data(), rstd_f_.data(), N, C_, stream_);
    else
      rmsnorm_backward(dresid_.data(), dgrad(final_norm_), dxn_f_.data(), resid_.data(), final_norm_.data(),
                       rstd_f_.data(), N, C_, stream_);
    int lowest = full_.empty() ? cfg_.num_layers : 0;  // LoRA: layers below the lowest adapted one need no gradient
    for (int l = 0; l < cfg_.num_layers && lowest == cfg_.num_layers; ++l)
      for (auto* p : layers_[l].lora)
        if (p) lowest = l;
    for (int l = cfg_.num_layers - 1; l >= lowest; --l) {
      check_abort();
      LayerCuda& y = layers_[l];
      ActsCuda& a = acts_[keep_all_ ? l : 0];
      if (!keep_all_) {  // checkpointing: recompute the layer from its saved input (resid_ is free by now)
        LORALAB_CUDA_CHECK(cudaMemcpyAsync(resid_.data(), y.x_in.data(), 2 * N * C_, cudaMemcpyDeviceToDevice, stream_));
        layer_forward(y, a, N, B_, T_);
      }
      layer_backward(y, a, N, B_, T_);
    }
    if (float* de = dgrad(embed_)) embedding_backward(de, dresid_.data(), tokens_, N, C_, V_, stream_);
  }
  void zero_grads() {
    for (auto& p : lora_) {
      if (p->dA.data()) LORALAB_CUDA_CHECK(cudaMemsetAsync(p->dA.data(), 0, p->dA.bytes(), stream_));
      if (p->dB.data()) LORALAB_CUDA_CHECK(cudaMemsetAsync(p->dB.data(), 0, p->dB.bytes(), stream_));
    }
    for (auto& p : full_) LORALAB_CUDA_CHECK(cudaMemsetAsync(p->g.data(), 0, p->g.bytes(), stream_));
  }
  // One AdamW update of every trainable tensor (h.grad_scale: the clipping coefficient).
  void adamw_step(const AdamWHyper& h) {
    for (auto& p : lora_) {
      adamw_update(p->A.data(), p->mA.data(), p->vA.data(), p->dA.data(), p->A.size(), h, stream_);
      adamw_update(p->B.data(), p->mB.data(), p->vB.data(), p->dB.data(), p->B.size(), h, stream_);
    }
    for (auto& p : full_) adamw_update(p->w.data(), p->m.data(), p->v.data(), p->g.data(), p->w.size(), h, stream_);
    refresh_copies();
  }
  // One SGD update of every trainable tensor (momentum buffers in mA / mB / m).
  void sgd_step(const SgdHyper& h) {
    for (auto& p : lora_) {
      sgd_update(p->A.data(), p->mA.data(), p->dA.data(), p->A.size(), h, stream_);
      sgd_update(p->B.data(), p->mB.data(), p->dB.data(), p->B.size(), h, stream_);
    }
    for (auto& p : full_) sgd_update(p->w.data(), p->m.data(), p->g.data(), p->w.size(), h, stream_);
    refresh_copies();
  }
  // Full finetuning: the bf16 copies from the fp32 masters (after an update or a loaded state).
  void refresh_copies() {
    for (auto& p : full_) cast_f32_to_bf16(p->copy->data(), p->w.data(), static_cast<int64_t>(p->w.size()), stream_);
  }

  // ---- verification API (test_llama_cuda): one micro-batch, mean loss over its own targets ----
  double forward_loss(const std::vector<int32_t>& tokens, const std::vector<int32_t>& targets, int B, int T,
                      const std::vector<int32_t>& lengths = {}) {
    LORALAB_CHECK(lengths.empty() || static_cast<int>(lengths.size()) == B, "E_BATCH_SHAPE",
                  "lengths must have one entry per row");
    begin_call();
    PassInput in;
    in.B = B, in.T = T, in.tokens = tokens.data(), in.targets = targets.data();
    in.lengths = lengths.empty() ? nullptr : lengths.data();
    in.training = opt_.training;
    forward(in);
    zero_stats();
    head_loss(0.0f);
    double sum = 0;
    read_stats(&sum, nullptr);
    count_ = std::count_if(targets.begin(), targets.end(), [](int32_t t) { return t != -100; });
    return count_ ? sum / count_ : 0.0;
  }
  // fp32 logits (N,V) of the last forward.
  std::vector<float> logits() {
    std::vector<float> out(N_ * V_);
    head_logits(out.data(), 0, N_);
    return out;
  }
  // Gradients of the mean loss of the last forward_loss accumulate into dA / dB.
  void backward(int B, int T) {
    LORALAB_CHECK(int64_t(B) * T == N_, "E_INTERNAL", "backward(B, T) of another shape than the last forward");
    head_loss(count_ ? 1.0f / static_cast<float>(count_) : 0.0f);
    backward();
  }
  // The adapter as host pairs (in install order); with grads=true the gradients instead of the weights.
  PeftAdapter adapter(bool grads) {
    PeftAdapter a;
    a.config = lora_cfg_;
    for (auto& p : lora_) {
      PeftLoraPair q;
      q.module = p->module, q.layer = p->layer, q.in_features = p->in, q.out_features = p->out;
      q.A = download(grads ? p->dA : p->A);
      q.B = download(grads ? p->dB : p->B);
      a.pairs.push_back(std::move(q));
    }
    return a;
  }
  std::vector<float> download(const DeviceBuffer<float>& b) {
    std::vector<float> out(b.size());
    copy_out(out.data(), b.data(), b.bytes());
    return out;
  }
  void upload_f32(DeviceBuffer<float>& b, const float* src, size_t n) {
    LORALAB_CHECK(n == b.size(), "E_INTERNAL", "upload of " + std::to_string(n) + " floats into a buffer of " + std::to_string(b.size()));
    copy_in(b.data(), src, 4 * n);
  }

 private:
  // The Llama family's tensors (Phi / Falcon: load_parallel)
  void load_llama(const CheckpointReader& ckpt_ref) {
    const CheckpointReader* ckpt = &ckpt_ref;
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
      if (cfg_.attention_bias) {  // frozen; bf16 like the CPU's rounding of frozen weights under bf16
        y.q_bias = upload(*ckpt, layer_tensor_name(l, "self_attn.q_proj.bias"), {QD_});
        y.k_bias = upload(*ckpt, layer_tensor_name(l, "self_attn.k_proj.bias"), {KD_});
        y.v_bias = upload(*ckpt, layer_tensor_name(l, "self_attn.v_proj.bias"), {KD_});
      }
      linear(y, 3, y.o, *ckpt, layer_tensor_name(l, "self_attn.o_proj.weight"), {C_, QD_});
      y.mlp_norm = upload(*ckpt, layer_tensor_name(l, "post_attention_layernorm.weight"), {C_});
      linear(y, 4, y.gate, *ckpt, layer_tensor_name(l, "mlp.gate_proj.weight"), {F_, C_});
      linear(y, 5, y.up, *ckpt, layer_tensor_name(l, "mlp.up_proj.weight"), {F_, C_});
      linear(y, 6, y.down, *ckpt, layer_tensor_name(l, "mlp.down_proj.weight"), {C_, F_});
    }
  }
  // Full finetuning: the fp32 gradient of a weight, by its bf16 copy (null: frozen / LoRA mode)
  float* dgrad(const DeviceBuffer<bf16>& copy) {
    if (full_.empty() || !copy.data()) return nullptr;
    auto it = full_by_copy_.find(copy.data());
    return it == full_by_copy_.end() ? nullptr : it->second->g.data();
  }
  // fp32 masters (the checkpoint's values, unrounded, as the CPU's trainable params) with gradients
  // and moments for every weight, in the CPU's trainable order (collect_trainable).
  void make_full_params(const CheckpointReader& ckpt) {
    LORALAB_CHECK(!quantized_, "E_CONFIG_INVALID",
                  "model.quantize needs train.method 'lora' (quantized weights cannot be fully finetuned)");
    if (parallel_) make_parallel_full_params(ckpt);
    else make_llama_full_params(ckpt);
    refresh_copies();  // the copies become bf16(master), as uploaded
    build_grad_table();
  }
  // one trainable weight: its fp32 master from the checkpoint, gradient and moments; `copy` its bf16 copy
  void add_full(const CheckpointReader& ckpt, const std::string& name, std::vector<int64_t> shape, DeviceBuffer<bf16>& copy) {
    auto p = std::make_unique<FullParam>();
    p->name = name, p->shape = shape, p->copy = &copy;
    int64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<float> f(n);
    ckpt.read_f32(name, shape, f.data());
    p->w = f32_buffer(MemCategory::Weights, f);
    p->g = zero_f32(MemCategory::Grads, n);
    p->m = zero_f32(MemCategory::OptimizerState, n);
    if (opt_.optimizer == OptimizerKind::AdamW) p->v = zero_f32(MemCategory::OptimizerState, n);
    full_by_copy_[copy.data()] = p.get();
    full_.push_back(std::move(p));
  }
  void make_llama_full_params(const CheckpointReader& ckpt) {
    auto add = [&](const std::string& name, std::vector<int64_t> shape, DeviceBuffer<bf16>& copy) { add_full(ckpt, name, shape, copy); };
    add("model.embed_tokens.weight", {V_, C_}, embed_);
    for (int l = 0; l < cfg_.num_layers; ++l) {
      LayerCuda& y = layers_[l];
      auto name = [&](const char* s) { return layer_tensor_name(l, s); };
      add(name("input_layernorm.weight"), {C_}, y.attn_norm);
      add(name("self_attn.q_proj.weight"), {QD_, C_}, y.q);
      add(name("self_attn.k_proj.weight"), {KD_, C_}, y.k);
      add(name("self_attn.v_proj.weight"), {KD_, C_}, y.v);
      if (cfg_.attention_bias) {
        add(name("self_attn.q_proj.bias"), {QD_}, y.q_bias);
        add(name("self_attn.k_proj.bias"), {KD_}, y.k_bias);
        add(name("self_attn.v_proj.bias"), {KD_}, y.v_bias);
      }
      add(name("self_attn.o_proj.weight"), {C_, QD_}, y.o);
      add(name("post_attention_layernorm.weight"), {C_}, y.mlp_norm);
      add(name("mlp.gate_proj.weight"), {F_, C_}, y.gate);
      add(name("mlp.up_proj.weight"), {F_, C_}, y.up);
      add(name("mlp.down_proj.weight"), {C_, F_}, y.down);
    }
    add("model.norm.weight", {C_}, final_norm_);
    if (!cfg_.tie_word_embeddings) add("lm_head.weight", {V_, C_}, head_);
  }
  // The gradient table of the grad-norm reduction: dA, dB of every LoRA pair, then every full param.
  void build_grad_table() {
    std::vector<const float*> ptrs;
    std::vector<int64_t> sizes;
    if (opt_.training) {
      for (auto& p : lora_) {
        ptrs.push_back(p->dA.data()), sizes.push_back(static_cast<int64_t>(p->dA.size()));
        ptrs.push_back(p->dB.data()), sizes.push_back(static_cast<int64_t>(p->dB.size()));
      }
      for (auto& p : full_) ptrs.push_back(p->g.data()), sizes.push_back(static_cast<int64_t>(p->g.size()));
    }
    grad_count_ = static_cast<int>(ptrs.size());
    grad_ptrs_ = DeviceBuffer<const float*>(&alloc_, MemCategory::Workspace, ptrs.size());
    grad_sizes_ = DeviceBuffer<int64_t>(&alloc_, MemCategory::Workspace, sizes.size());
    partial_ = DeviceBuffer<double>(&alloc_, MemCategory::Workspace, static_cast<size_t>(sumsq_partial_count(grad_count_)));
    if (grad_count_) {
      copy_in(grad_ptrs_.data(), ptrs.data(), sizeof(const float*) * ptrs.size());
      copy_in(grad_sizes_.data(), sizes.data(), sizeof(int64_t) * sizes.size());
    }
  }
  void check_abort() const {
    if (opt_.abort && opt_.abort->load()) LORALAB_THROW("E_ABORTED", "aborted by request");
  }
  const bf16* head_w() const { return cfg_.tie_word_embeddings ? embed_.data() : head_.data(); }
  int64_t head_chunk_rows() const { return std::max<int64_t>(1, std::min<int64_t>(N_, kLogitsChunkElems / V_)); }
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
  // synchronous copies from / to pageable host memory (load time, readouts)
  void copy_in(void* dst, const void* src, size_t bytes) {
    LORALAB_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_));
    LORALAB_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  void copy_out(void* dst, const void* src, size_t bytes) {
    LORALAB_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
    LORALAB_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  // Grow-only like the CPU's Buffer::ensure (kernels get their sizes explicitly): passes of varying
  // shapes, e.g. generation's growing sequence after reserve(), do not churn the allocator.
  template <typename T>
  void need(DeviceBuffer<T>& b, MemCategory c, int64_t n) {
    if (static_cast<int64_t>(b.size()) < n) b = DeviceBuffer<T>(&alloc_, c, n);
  }
  // (Re)allocates activations and workspace for N = B*T rows and the rope tables for T positions.
  void ensure(int B, int T) {
    const int64_t N = int64_t(B) * T, R = std::max(lora_cfg_.r, 1);
    B_ = B, T_ = T, N_ = N;
    const auto A = MemCategory::Activations, W = MemCategory::Workspace;
    need(pass_dev_, W, (8 * N + 4 * (3 * N + B) + 7) / 8);
    uint8_t* base = reinterpret_cast<uint8_t*>(pass_dev_.data());
    row_examples_ = reinterpret_cast<int64_t*>(base);
    tokens_ = reinterpret_cast<int32_t*>(base + 8 * N);
    targets_ = tokens_ + N, positions_ = targets_ + N, lengths_ = positions_ + N;
    need(resid_, A, N * C_), need(xn_f_, A, N * C_), need(rstd_f_, A, N), need(dxn_f_, W, N * C_);
    need(losses_, W, N), need(dresid_, W, N * C_), need(dxn_, W, N * C_), need(dmid_, W, N * std::max(F_, QD_));
    need(dgate_, W, N * F_), need(dup_, W, N * F_), need(dq_, W, N * QD_), need(dk_, W, N * KD_), need(dv_, W, N * KD_);
    need(du_, W, N * R), need(head_u_, W, head_chunk_rows() * R);
    if (parallel_) need(mean_f_, A, N), need(ws_datt_, W, N * QD_);
    if (QKV_) need(ws_qkv_, W, N * QKV_);  // Falcon: the fused projection (forward) and its gradient (backward)
    if (lora_cfg_.lora_dropout > 0 && opt_.training) {
      const int64_t widest = std::max<int64_t>(std::max(C_, F_), QD_);
      need(ws_xd_, W, N * widest), need(ws_dxd_, W, N * widest);
    }
    const int sets = keep_all_ ? cfg_.num_layers : 1;
    if (layers_acts_N_ != N || static_cast<int>(acts_.size()) != sets) {
      acts_.resize(sets);
      for (auto& y : layers_) need(y.x_in, A, N * C_);
      for (int i = 0; i < sets; ++i) {
        ActsCuda& a = acts_[i];
        need(a.xn1, A, N * C_), need(a.qa, A, N * QD_), need(a.ka, A, N * KD_);
        need(a.va, A, N * KD_), need(a.att, A, N * QD_), need(a.x_mid, A, N * C_);
        need(a.ga, A, N * F_), need(a.h, A, N * F_), need(a.rstd1, A, N);
        // Phi / Falcon: no up projection (ua); a second norm (xn2, its statistics) only with ln_mlp
        const bool second_norm = !parallel_ || cfg_.parallel_norms == 2;
        if (!parallel_) need(a.ua, A, N * F_);
        if (second_norm) need(a.xn2, A, N * C_), need(a.rstd2, A, N);
        if (parallel_) need(a.mean1, A, N);
        if (parallel_ && second_norm) need(a.mean2, A, N);
        for (int m = 0; m < 7; ++m) {  // a shared set serves every layer: u where any layer has the adapter
          bool adapted = false;
          for (int l = 0; l < cfg_.num_layers; ++l) adapted = adapted || ((sets == 1 || l == i) && layers_[l].lora[m]);
          if (adapted) need(a.u[m], A, N * R);
          else a.u[m].release();
        }
      }
      layers_acts_N_ = N;
    }
    for (auto& a : acts_) need(a.lse, A, int64_t(B) * cfg_.num_heads * T);
    if (rope_T_ < T) {
      std::vector<float> cos_t, sin_t;
      rope_tables(cos_t, sin_t, rope_inv_freq(cfg_), T);
      rope_cos_ = f32_buffer(W, cos_t), rope_sin_ = f32_buffer(W, sin_t);
      rope_T_ = T;
    }
  }
  DropoutKeyCuda dropout_key(int site, int64_t row0) const {
    DropoutKeyCuda k;
    k.seed = opt_.seed, k.step = step_, k.site = static_cast<uint64_t>(site);
    k.row_examples = row_examples_ + row0, k.row_positions = positions_ + row0;
    return k;
  }
  bool dropout_on() const { return training_ && lora_cfg_.lora_dropout > 0; }
  // out (N,OUT) = inp (N,IN) W^T (+ bias) (+ LoRA on dropout(inp)); rows start at row0 of the pass
  void lin_fwd(const bf16* w, const bf16* bias, LoraCuda* p, float* u, int site, int64_t row0, bf16* out,
               const bf16* inp, int64_t N, int64_t IN, int64_t OUT) {
    linear_forward(out, inp, w, bias, N, IN, OUT, stream_);
    if (!p || !lora_enabled_) return;
    const bf16* xd = inp;
    if (dropout_on()) {
      dropout_forward(ws_xd_.data(), inp, dropout_key(site, row0), static_cast<float>(lora_cfg_.lora_dropout), N, IN,
                      stream_);
      xd = ws_xd_.data();
    }
    lora_forward(out, u, xd, p->A.data(), p->B.data(), scale_, N, IN, OUT, lora_cfg_.r, stream_);
  }
  // dinp (N,IN) (+)= dout (N,OUT) W (+ LoRA input gradient through the same dropout mask); LoRA grads;
  // full finetuning: dW (OUT,IN) += dout^T inp and dbias (OUT) += column sums of dout (null: frozen)
  void lin_bwd(const bf16* w, LoraCuda* p, const float* u, int site, int64_t row0, bf16* dinp, const bf16* dout,
               const bf16* inp, int64_t N, int64_t IN, int64_t OUT, bool accumulate, float* dW = nullptr,
               float* dbias = nullptr) {
    matmul_nn<bf16, bf16, bf16>(dinp, dout, w, N, IN, OUT, accumulate, stream_);
    if (dW || dbias) linear_backward(nullptr, dW, dbias, dout, inp, w, N, IN, OUT, stream_);
    if (!p) return;
    if (dropout_on()) {
      const float prob = static_cast<float>(lora_cfg_.lora_dropout);
      const DropoutKeyCuda key = dropout_key(site, row0);
      dropout_forward(ws_xd_.data(), inp, key, prob, N, IN, stream_);  // the same mask as forward
      LORALAB_CUDA_CHECK(cudaMemsetAsync(ws_dxd_.data(), 0, 2 * N * IN, stream_));
      lora_backward(ws_dxd_.data(), p->dA.data(), p->dB.data(), du_.data(), dout, ws_xd_.data(), u, p->A.data(),
                    p->B.data(), scale_, N, IN, OUT, lora_cfg_.r, stream_);
      dropout_backward(dinp, ws_dxd_.data(), key, prob, N, IN, stream_);
    } else {
      lora_backward(dinp, p->dA.data(), p->dB.data(), du_.data(), dout, inp, u, p->A.data(), p->B.data(), scale_, N,
                    IN, OUT, lora_cfg_.r, stream_);
    }
  }
  static int site(int layer, int m) { return layer * 16 + m; }
  void layer_forward(LayerCuda& y, ActsCuda& a, int64_t N, int B, int T) {
    if (parallel_) parallel_layer_forward(y, a, N, B, T);
    else llama_layer_forward(y, a, N, B, T);
  }
  void layer_backward(LayerCuda& y, ActsCuda& a, int64_t N, int B, int T) {
    if (parallel_) parallel_layer_backward(y, a, N, B, T);
    else llama_layer_backward(y, a, N, B, T);
  }
  // Phi / Falcon (parallel_block_cuda.h)
  GeluKind gelu_kind() const;
  void load_parallel(const CheckpointReader& ckpt);
  void make_parallel_full_params(const CheckpointReader& ckpt);
  void parallel_layer_forward(LayerCuda& y, ActsCuda& a, int64_t N, int B, int T);
  void parallel_layer_backward(LayerCuda& y, ActsCuda& a, int64_t N, int B, int T);
  // resid_ (N,C) in: x_in; out: x_out
  void llama_layer_forward(LayerCuda& y, ActsCuda& a, int64_t N, int B, int T) {
    const int NH = cfg_.num_heads, NKV = cfg_.num_kv_heads, l = static_cast<int>(&y - layers_.data());
    LORALAB_CUDA_CHECK(cudaMemcpyAsync(y.x_in.data(), resid_.data(), 2 * N * C_, cudaMemcpyDeviceToDevice, stream_));
    rmsnorm_forward(a.xn1.data(), a.rstd1.data(), y.x_in.data(), y.attn_norm.data(), N, C_, cfg_.rms_norm_eps, stream_);
    lin_fwd(weight(y, 0, y.q), y.q_bias.data(), y.lora[0], a.u[0].data(), site(l, 0), 0, a.qa.data(), a.xn1.data(), N, C_, QD_);
    lin_fwd(weight(y, 1, y.k), y.k_bias.data(), y.lora[1], a.u[1].data(), site(l, 1), 0, a.ka.data(), a.xn1.data(), N, C_, KD_);
    lin_fwd(weight(y, 2, y.v), y.v_bias.data(), y.lora[2], a.u[2].data(), site(l, 2), 0, a.va.data(), a.xn1.data(), N, C_, KD_);
    rope_forward(a.qa.data(), positions_, rope_cos_.data(), rope_sin_.data(), N, NH, HD_, stream_);
    rope_forward(a.ka.data(), positions_, rope_cos_.data(), rope_sin_.data(), N, NKV, HD_, stream_);
    attention_forward(a.att.data(), a.lse.data(), a.qa.data(), a.ka.data(), a.va.data(), lengths_, B, T, NH, NKV, HD_,
                      stream_);
    lin_fwd(weight(y, 3, y.o), nullptr, y.lora[3], a.u[3].data(), site(l, 3), 0, dxn_.data(), a.att.data(), N, QD_, C_);
    residual_add(resid_.data(), dxn_.data(), N * C_, stream_);  // dxn_ as scratch (N,C)
    LORALAB_CUDA_CHECK(cudaMemcpyAsync(a.x_mid.data(), resid_.data(), 2 * N * C_, cudaMemcpyDeviceToDevice, stream_));
    rmsnorm_forward(a.xn2.data(), a.rstd2.data(), a.x_mid.data(), y.mlp_norm.data(), N, C_, cfg_.rms_norm_eps, stream_);
    lin_fwd(weight(y, 4, y.gate), nullptr, y.lora[4], a.u[4].data(), site(l, 4), 0, a.ga.data(), a.xn2.data(), N, C_, F_);
    lin_fwd(weight(y, 5, y.up), nullptr, y.lora[5], a.u[5].data(), site(l, 5), 0, a.ua.data(), a.xn2.data(), N, C_, F_);
    swiglu_forward(a.h.data(), a.ga.data(), a.ua.data(), N, F_, stream_);
    lin_fwd(weight(y, 6, y.down), nullptr, y.lora[6], a.u[6].data(), site(l, 6), 0, dxn_.data(), a.h.data(), N, F_, C_);
    residual_add(resid_.data(), dxn_.data(), N * C_, stream_);
  }
  // dresid_ (N,C) in: d x_out; out: d x_in
  void llama_layer_backward(LayerCuda& y, ActsCuda& a, int64_t N, int B, int T) {
    const int NH = cfg_.num_heads, NKV = cfg_.num_kv_heads, l = static_cast<int>(&y - layers_.data());
    bf16* dh = dmid_.data();
    lin_bwd(weight(y, 6, y.down), y.lora[6], a.u[6].data(), site(l, 6), 0, dh, dresid_.data(), a.h.data(), N, F_, C_, false,
            dgrad(y.down));
    swiglu_backward(dgate_.data(), dup_.data(), dh, a.ga.data(), a.ua.data(), N, F_, stream_);
    lin_bwd(weight(y, 4, y.gate), y.lora[4], a.u[4].data(), site(l, 4), 0, dxn_.data(), dgate_.data(), a.xn2.data(), N, C_, F_, false,
            dgrad(y.gate));
    lin_bwd(weight(y, 5, y.up), y.lora[5], a.u[5].data(), site(l, 5), 0, dxn_.data(), dup_.data(), a.xn2.data(), N, C_, F_, true,
            dgrad(y.up));
    rmsnorm_backward(dresid_.data(), dgrad(y.mlp_norm), dxn_.data(), a.x_mid.data(), y.mlp_norm.data(), a.rstd2.data(),
                     N, C_, stream_);
    bf16* datt = dmid_.data();
    lin_bwd(weight(y, 3, y.o), y.lora[3], a.u[3].data(), site(l, 3), 0, datt, dresid_.data(), a.att.data(), N, QD_, C_, false,
            dgrad(y.o));
    attention_backward(dq_.data(), dk_.data(), dv_.data(), datt, a.qa.data(), a.ka.data(), a.va.data(), a.att.data(),
                       a.lse.data(), lengths_, B, T, NH, NKV, HD_, stream_);
    rope_backward(dq_.data(), positions_, rope_cos_.data(), rope_sin_.data(), N, NH, HD_, stream_);
    rope_backward(dk_.data(), positions_, rope_cos_.data(), rope_sin_.data(), N, NKV, HD_, stream_);
    lin_bwd(weight(y, 0, y.q), y.lora[0], a.u[0].data(), site(l, 0), 0, dxn_.data(), dq_.data(), a.xn1.data(), N, C_, QD_, false,
            dgrad(y.q), dgrad(y.q_bias));
    lin_bwd(weight(y, 1, y.k), y.lora[1], a.u[1].data(), site(l, 1), 0, dxn_.data(), dk_.data(), a.xn1.data(), N, C_, KD_, true,
            dgrad(y.k), dgrad(y.k_bias));
    lin_bwd(weight(y, 2, y.v), y.lora[2], a.u[2].data(), site(l, 2), 0, dxn_.data(), dv_.data(), a.xn1.data(), N, C_, KD_, true,
            dgrad(y.v), dgrad(y.v_bias));
    rmsnorm_backward(dresid_.data(), dgrad(y.attn_norm), dxn_.data(), y.x_in.data(), y.attn_norm.data(), a.rstd1.data(),
                     N, C_, stream_);
  }

  ModelConfig cfg_;
  LlamaCudaOptions opt_;
  CudaAllocator alloc_;
  cudaStream_t stream_ = nullptr;
  PinnedStaging staging_;
  int64_t C_ = 0, F_ = 0, V_ = 0, HD_ = 0, QD_ = 0, KD_ = 0, QKV_ = 0, N_ = 0, count_ = 0, layers_acts_N_ = -1;
  int B_ = 0, T_ = 0, rope_T_ = 0, grad_count_ = 0;
  bool quantized_ = false, double_quant_ = false, training_ = false, keep_all_ = false;
  bool parallel_ = false;  // Phi / Falcon: LayerNorm, parallel attention + GELU MLP (parallel_block_cuda.h)
  uint64_t step_ = 0;
  QuantType quant_type_ = QuantType::NF4;
  int64_t max_weight_ = 0;
  float scale_ = 0.0f;
  PeftAdapterConfig lora_cfg_;
  DeviceBuffer<bf16> embed_, final_norm_, head_;
  DeviceBuffer<bf16> final_norm_bias_, head_bias_;  // Phi / Falcon's final LayerNorm bias; Phi's lm_head.bias
  DeviceBuffer<int32_t> qkv_src_;                   // Falcon: falcon_qkv_sources() on the device
  DeviceBuffer<float> mean_f_;                      // (N) the final LayerNorm's means
  DeviceBuffer<bf16> ws_qkv_, ws_datt_;             // (N,QKV) Falcon's fused projection; (N,QD) d attention (parallel)
  std::vector<LayerCuda> layers_;
  std::vector<ActsCuda> acts_;  // L sets (training without checkpointing) or 1
  std::vector<std::unique_ptr<LoraCuda>> lora_;
  LoraCuda* head_lora_ = nullptr;
  bool lora_enabled_ = true;  // false: adapted linears compute W x alone (set_lora_enabled)
  std::vector<std::unique_ptr<FullParam>> full_;                  // full finetuning only
  std::unordered_map<const void*, FullParam*> full_by_copy_;      // bf16 copy -> its param
  std::vector<char> has_targets_;  // (N) host: rows with a target (the head skips chunks without)
  // the pass's uploaded ids in one device block: row_examples (N) | tokens | targets | positions | lengths
  DeviceBuffer<int64_t> pass_dev_;
  int64_t* row_examples_ = nullptr;
  int32_t *tokens_ = nullptr, *targets_ = nullptr, *positions_ = nullptr, *lengths_ = nullptr;
  DeviceBuffer<double> stats_, partial_;
  DeviceBuffer<const float*> grad_ptrs_;
  DeviceBuffer<int64_t> grad_sizes_;
  DeviceBuffer<float> rope_cos_, rope_sin_, rstd_f_, losses_, du_, head_u_, logits_f32_;
  DeviceBuffer<bf16> ws_weight_;  // (max OUT*IN) dequantized QLoRA weight
  DeviceBuffer<bf16> ws_xd_, ws_dxd_;  // (N, widest IN) LoRA dropout input and its gradient
  DeviceBuffer<bf16> resid_, xn_f_, dxn_f_, logits_, dresid_, dxn_, dmid_, dgate_, dup_, dq_, dk_, dv_;
};

}  // namespace cuda
}  // namespace loralab

#include "parallel_block_cuda.h"  // NOLINT(build/include): the Phi / Falcon members of LlamaCuda
