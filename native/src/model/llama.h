// The Llama-family model on the CPU: parameters (frozen bf16/fp32 or trainable fp32 masters),
// LoRA adapters on any linear, forward for training / evaluation / KV-cache generation, the
// chunked head + cross-entropy, and backward. Optimizer, state and the Engine facade live in
// llama_optim.cpp, llama_state.cpp and engine.cpp.
// Legend: B rows, T seq, N = B*T tokens, C hidden, F intermediate, L layers, NH/NKV heads,
// HD head dim, QD = NH*HD, KD = NKV*HD, V vocab, R LoRA rank, P cache positions.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine.h"
#include "io/peft_adapter.h"
#include "memory.h"
#include "model/config.h"
#include "ops/dropout.h"
#include "ops/lora_fused.h"
#include "ops/matmul.h"
#include "quant/quant.h"
#include "threadpool.h"

namespace loralab {

class CheckpointReader;

// A frozen block linear quantized at load (QLoRA, model.quantize): its codes count under Weights and
// its constants under QuantConstants for as long as it lives.
struct QuantStorage {
  QuantizedWeight w;
  MemTracker* mem = nullptr;
  QuantStorage(QuantizedWeight q, MemTracker* tracker);
  ~QuantStorage();
  QuantStorage(const QuantStorage&) = delete;
  QuantStorage& operator=(const QuantStorage&) = delete;
};

// One named tensor of the model: frozen storage (F32 or BF16), NF4/FP4 codes (quant, storage empty),
// or a trainable fp32 master with its gradient and optimizer moments.
struct Param {
  std::string name;              // HF key, or PEFT key for LoRA tensors
  std::vector<int64_t> shape;
  DType dtype = DType::F32;
  Buffer<uint8_t> storage;       // numel * dtype_size bytes
  Buffer<float> grad;            // trainable only (Grads); fp32 state precision
  Buffer<float> m, v;            // optimizer state (v: AdamW only): fp32 moments
  // state_precision bf16 (LoRA): storage holds the bf16 master (dtype BF16), grad16 the gradient and
  // m16 / v16 the moments of adamw / sgd. adamw8bit / sgd8bit on tensors of >= kMin8bitNumel elements:
  // mq / vq the 8-bit codes and m_absmax / v_absmax their per-256-block absmax (quant/dynamic8.h).
  Buffer<uint16_t> grad16, m16, v16;
  Buffer<uint8_t> mq, vq;
  Buffer<float> m_absmax, v_absmax;
  std::unique_ptr<QuantStorage> quant;  // QLoRA: the frozen (OC, IC) weight as 4-bit codes
  bool trainable = false;
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  bool bf16_master() const { return trainable && dtype == DType::BF16; }
  float* f32() { return reinterpret_cast<float*>(storage.data()); }
  const float* f32() const { return reinterpret_cast<const float*>(storage.data()); }
  WeightView view() const { return WeightView{storage.data(), dtype}; }
};

// Writes n = p.numel() fp32 values into p's storage (bf16 masters round to nearest).
void set_param_values(Param& p, const float* values);
// p's values widened to fp32 (out: numel floats).
void param_values_f32(const Param& p, float* out);

struct LoraPair {
  PeftModule module = PeftModule::Q;
  int layer = -1;                 // -1: lm_head
  int64_t in = 0, out = 0;
  Param A;                        // (R, in)
  Param B;                        // (out, R)
};

struct LlamaLayer {
  Param attn_norm, q, k, v, o, mlp_norm, gate, up, down;  // HF shapes: q (QD,C), k/v (KD,C), o (C,QD), ...
  Param q_bias, k_bias, v_bias;                           // (QD), (KD), (KD) when attention_bias
  // Phi / Falcon (model/parallel_block.cpp): o = dense, up = fc1 / dense_h_to_4h, down = fc2 / dense_4h_to_h;
  // LayerNorm biases (C); linear biases when linear_bias; Falcon's fused query_key_value (QKV,C) in qkv.
  Param attn_norm_bias, mlp_norm_bias, o_bias, up_bias, down_bias, qkv, qkv_bias;
  LoraPair* lora[7] = {};                                 // by PeftModule Q..Down
};

// Saved activations of one layer for one micro-batch (N tokens). The normed inputs and the SwiGLU
// output are not kept: backward recomputes them from x_in / x_mid / gate / up (cheap, exact).
struct LayerActs {
  Buffer<float> rstd1;                // (N)
  Buffer<float> mean1, mean2;         // (N) LayerNorm means (Phi / Falcon)
  Buffer<float> q, k, v;              // (N,QD), (N,KD), (N,KD) after rope
  Buffer<float> att, lse;             // (N,QD), (B,NH,T)
  Buffer<float> x_mid, rstd2;         // (N,C), (N)
  Buffer<float> gate, up;             // (N,F) x2 (Phi / Falcon: gate holds fc1's pre-activation, up unused)
  Buffer<float> lora_u[7];            // (N,R) per adapted linear: scale * dropout(x) A^T
};

struct KvCache {
  Buffer<float> k, v;  // (L, P, KD)
  int64_t capacity = 0;
};

// What a forward pass is for.
struct PassContext {
  int B = 0, T = 0;
  const int32_t* tokens = nullptr;    // (B,T)
  const int32_t* lengths = nullptr;   // (B)
  const int64_t* example_ids = nullptr;  // (B)
  std::vector<int32_t> positions;     // (N) position of each token row
  std::vector<int64_t> row_examples;  // (N) example id of each token row (dropout key)
  bool training = false;              // dropout on, activations saved per layer
  uint64_t step = 0;                  // dropout key
  // generation: KV cache positions [start, start+N) with B = 1
  KvCache* cache = nullptr;
  int64_t start = 0;
};

// The PEFT adapter config that EngineOptions describe (targets, r, alpha, dropout, rsLoRA), in the
// family's module names (Falcon: any of query / key / value targets the fused query_key_value).
PeftAdapterConfig lora_config_from_options(const EngineOptions& options, ModelFamily family = ModelFamily::Llama);
// Parameter counts from shapes alone (what LlamaModel::param_counts reports): the base model, plus
// LoRA A (r, in) + B (out, r) per adapted linear when lora is given (LoRA mode); every weight is
// trainable in full mode (lora null). Full mode adds "embed" and "norm" entries to the per-target map.
ParamCounts count_parameters(const ModelConfig& config, const PeftAdapterConfig* lora);

class LlamaModel {
 public:
  LlamaModel(const ModelConfig& config, const EngineOptions& options, const CheckpointReader& checkpoint,
             MemTracker* mem, ThreadPool* pool, const std::atomic<bool>* abort_flag);

  const ModelConfig& config() const { return cfg_; }
  ParamCounts param_counts() const;
  std::vector<Param*>& trainable() { return trainable_; }
  float lora_scale() const { return lora_scale_; }
  const PeftAdapterConfig& lora_config() const { return lora_cfg_; }
  std::vector<LoraPair*> lora_pairs();

  // (Re)creates LoRA pairs for the targets in `lcfg` with PEFT init (A uniform, B zero).
  void init_lora(const PeftAdapterConfig& lcfg, uint64_t seed);
  void set_seed(uint64_t seed) { opt_.seed = seed; }  // dropout key (restored with the training state)
  // Installs a loaded adapter (its config decides targets, rank and scale).
  void install_adapter(const PeftAdapter& adapter);
  // false: every adapted linear computes W x alone (base model outputs); the adapter stays loaded.
  void set_lora_enabled(bool enabled) { lora_enabled_ = enabled; }
  bool lora_enabled() const { return lora_enabled_; }

  // Forward through the layers: fills resid_[L] then the final norm xn_f_. Saves activations when
  // ctx.training (per layer, or only the residual stream with gradient checkpointing).
  void forward(PassContext& ctx);
  // Head + cross-entropy over the targets (B,T) in token chunks. Returns the summed loss; with
  // dloss != 0 also accumulates head gradients and the gradient into dxn_f_. losses_out (N) optional.
  double head_loss(PassContext& ctx, const int32_t* targets, float dloss, float* losses_out);
  // Logits (N,V) for all tokens of the last forward (rows [row0, row0+rows) of xn_f_).
  void head_logits(PassContext& ctx, float* out, int64_t row0, int64_t rows);
  // Backward from dxn_f_ through the final norm and the layers, accumulating parameter grads.
  void backward(PassContext& ctx);

  // Generation / scoring: runs tokens (n) at cache positions [start, start+n) and writes the logits of
  // the last `rows` tokens (rows, V).
  void forward_cached(KvCache& cache, const int32_t* tokens, int64_t n, int64_t start, float* logits, int64_t rows = 1);
  void allocate_cache(KvCache& cache, int64_t capacity);

  void check_abort() const;

 private:
  void load_params(const CheckpointReader& ckpt);
  void load_parallel_params(const CheckpointReader& ckpt);  // Phi / Falcon (model/parallel_block.cpp)
  void make_param(Param& p, const std::string& name, std::vector<int64_t> shape, const CheckpointReader* ckpt,
                  bool matrix);  // matrix: stored bf16 when frozen under bf16 precision
  // A block linear (q,k,v,o,gate,up,down): quantized straight from the mapped checkpoint when
  // options.quantize is set, else make_param(..., matrix = true).
  void make_linear(Param& p, const std::string& name, std::vector<int64_t> shape, const CheckpointReader& ckpt);
  // The RMSNorm that reads a layer's output (the next layer's attn_norm or the final norm), fused with
  // the layer's last residual add: weight, normed output (N,C) and rstd (N).
  struct NextNorm {
    const Param* weight = nullptr;
    float* out = nullptr;
    float* rstd = nullptr;
  };
  // pre_normed: ws_xn_ and a.rstd1 already hold this layer's normed input (the previous layer's
  // NextNorm); next.weight null: x_out is left un-normed. x_out null: recomputation for backward under
  // checkpointing, which stops after gate/up (the SwiGLU output and Down are recomputed by backward).
  void layer_forward(int l, PassContext& ctx, const float* x_in, LayerActs& a, float* x_out, bool pre_normed,
                     const NextNorm& next);
  // recomputed: a was refilled by layer_forward(x_out null), so Down's LoRA su is computed here.
  void layer_backward(int l, PassContext& ctx, const float* x_in, LayerActs& a, float* dresid, bool recomputed);
  // Phi / Falcon block: x_out = x_in + dense(attn(norm(x_in))) + fc2(gelu(fc1(norm'(x_in)))). x_out null:
  // recomputation for backward, which stops after fc1 (as layer_forward stops after gate/up).
  void parallel_layer_forward(int l, PassContext& ctx, const float* x_in, LayerActs& a, float* x_out);
  // dresid holds d x_out on entry and d x_in on return.
  void parallel_layer_backward(int l, PassContext& ctx, const float* x_in, LayerActs& a, float* dresid, bool recomputed);
  // q, k, v projections (separate, or Falcon's fused query_key_value split by qkv_src_) and their backward.
  void qkv_forward(int l, PassContext& ctx, const float* xn, LayerActs& a);
  void qkv_backward(int l, PassContext& ctx, const float* xn, LayerActs& a, float* dxn);
  bool parallel() const { return cfg_.family != ModelFamily::Llama; }
  // A linear layer with its optional LoRA path; rows (N) identify tokens for the dropout key.
  struct Rows {
    const int64_t* examples;  // (N)
    const int32_t* positions; // (N)
  };
  void linear_fwd(const PassContext& ctx, const Rows& rows, int site, const Param& w, const Param* bias,
                  LoraPair* lora, float* out, const float* inp, int64_t N, float* u);
  // dinp (N,IC) += dout W (+ the LoRA path's), or = with dinp_overwrite (no zero-filled buffer needed)
  void linear_bwd(const PassContext& ctx, const Rows& rows, int site, Param& w, Param* bias, LoraPair* lora,
                  float* dinp, const float* dout, const float* inp, const float* u, int64_t N,
                  bool dinp_overwrite = false);
  // The LoRA dropout of one adapted linear call (its key, and the block scratch in ws_lora_tile_/mask_).
  LoraDropout lora_dropout(const PassContext& ctx, const Rows& rows, int site, float p, int64_t N, int64_t IC);
  // The su (N,R) a linear_fwd of this adapter would save, without the linear (recomputation).
  void lora_su(const PassContext& ctx, const Rows& rows, int site, LoraPair& lora, float* u, const float* inp,
               int64_t N);
  void ensure_rope(int64_t positions);
  void ensure_acts(LayerActs& a, int64_t B, int64_t T);
  // A and B of a pair as fp32: the masters themselves, or (bf16 state) widened into ws_lora_ab_.
  std::pair<const float*, const float*> lora_ab(const LoraPair& lora);
  const Param& head_weight() const { return cfg_.tie_word_embeddings ? embed_ : head_; }
  Param& head_weight() { return cfg_.tie_word_embeddings ? embed_ : head_; }
  void collect_trainable();

  ModelConfig cfg_;
  EngineOptions opt_;
  MemTracker* mem_;
  ThreadPool* pool_;
  const std::atomic<bool>* abort_;
  int64_t C_, F_, QD_, KD_, V_;

  Param embed_, final_norm_, head_;
  Param final_norm_bias_, head_bias_;  // Phi / Falcon LayerNorm bias (C); Phi's lm_head bias (V)
  std::vector<int32_t> qkv_src_;       // Falcon: per head-dim block of query_key_value, q head h (h), k (NH+g) or v (NH+NKV+g)
  int64_t QKV_ = 0;                    // Falcon's fused width (NH + 2 NKV) * HD
  std::vector<LlamaLayer> layers_;
  std::vector<std::unique_ptr<LoraPair>> lora_;
  LoraPair* head_lora_ = nullptr;
  PeftAdapterConfig lora_cfg_;
  float lora_scale_ = 0.0f;
  bool lora_enabled_ = true;
  std::vector<Param*> trainable_;

  std::vector<float> inv_freq_, rope_cos_, rope_sin_;
  int64_t rope_positions_ = 0;

  // activations of the current pass
  int64_t acts_B_ = 0, acts_T_ = 0;
  std::vector<Buffer<float>> resid_;   // L+1 x (N,C)
  std::vector<LayerActs> acts_;        // L (training without checkpointing) or 1 (scratch)
  Buffer<float> rstd_f_, xn_f_, dxn_f_;  // (N), (N,C), (N,C)
  Buffer<float> mean_f_;                 // (N) final LayerNorm mean (Phi / Falcon)
  Buffer<float> ws_qkv_;                 // (N,QKV) Falcon's fused projection output / its gradient
  // workspace (Workspace category) reused by every layer
  Buffer<float> ws_xn_, ws_hmid_;                 // (N,C), (N,F): normed input / SwiGLU output of the layer at hand
  Buffer<float> ws_dresid_, ws_dxn_;              // (N,C) x2: gradient of the residual stream / normed input
  Buffer<float> ws_dh_, ws_dgate_, ws_dup_;       // (N,F) x3
  Buffer<float> ws_datt_, ws_dq_, ws_dk_, ws_dv_;  // (N,QD), (N,QD), (N,KD), (N,KD)
  Buffer<float> ws_du_;                           // (N,R): LoRA dU
  Buffer<float> ws_lora_ab_, ws_lora_dab_;        // (R*IC + OC*R) x2: bf16 masters widened / their fp32 gradient
  Buffer<float> ws_lora_tile_;                    // (block,IC): LoRA dropout input / its gradient, a block of rows
  Buffer<uint8_t> ws_lora_mask_;                  // (block,IC): that block's dropout mask
  Buffer<float> ws_att_scores_;                   // (B,NH,T) attention score rows (cached: (NH,P))
  Buffer<float> ws_att_bwd_;                      // attention backward tiles (attention_backward_scratch_floats)
  Buffer<float> ws_chunk_in_, ws_chunk_dx_;       // (chunk,C) x2: head input rows and their gradient
  Buffer<float> ws_chunk_u_, ws_losses_;          // (chunk,R), (chunk)
  Buffer<float> logits_chunk_;                    // (chunk,V) in the Logits category
};

}  // namespace loralab
