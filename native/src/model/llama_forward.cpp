// LlamaModel forward: embedding, decoder layers (RMSNorm, q/k/v with LoRA, rope, GQA attention or
// the KV-cache variant, o, residual + RMSNorm fused, SwiGLU MLP, residual fused with the next layer's
// norm or the final norm); then the LM head in token chunks with cross-entropy (and its gradient), or
// as plain logits. Phi / Falcon blocks: model/parallel_block.cpp.
#include <algorithm>
#include <cstring>
#include <string>

#include "error.h"
#include "model/llama.h"
#include "model/op_profile.h"
#include "ops/attention.h"
#include "ops/cross_entropy.h"
#include "ops/embedding.h"
#include "ops/layernorm.h"
#include "ops/lora_fused.h"
#include "ops/residual.h"
#include "ops/residual_rmsnorm.h"
#include "ops/rmsnorm.h"
#include "ops/rope.h"
#include "ops/swiglu.h"

namespace loralab {

namespace {
// at most 32 MiB of fp32 logits at once: 262 rows of a 32000 vocabulary (16 MiB, 131 rows, made
// the stories15M q,v bf16 step 3-4% slower: each chunk packs the head's panels once)
constexpr int64_t kLogitsChunkFloats = int64_t(1) << 23;
constexpr int kHeadSite = 15;                              // dropout site index of the head (layer -1)
}  // namespace

void LlamaModel::linear_fwd(const PassContext& ctx, const Rows& rows, int site, const Param& w, const Param* bias,
                            LoraPair* lora, float* out, const float* inp, int64_t N, float* u) {
  const int64_t OC = w.shape[0], IC = w.shape[1];
  const float* b = bias && !bias->storage.empty() ? bias->f32() : nullptr;  // (OC) or null
  if (w.quant) quant_linear_forward(pool_, out, inp, w.quant->w, b, N);  // QLoRA: tiles dequantized in the matmul
  else linear_forward(pool_, out, inp, w.view(), b, N, IC, OC);
  if (!lora || !lora_enabled_) return;
  const float p = static_cast<float>(lora_cfg_.lora_dropout);
  LoraDropout drop;
  if (ctx.training && p > 0.0f) drop = lora_dropout(ctx, rows, site, p, N, IC);
  OpTimer t_("x/lora_fwd");
  const auto ab = lora_ab(*lora);
  lora_fused_forward(pool_, out, u, inp, ab.first, ab.second, lora_scale_, N, IC, OC, lora_cfg_.r,
                     ctx.training && p > 0.0f ? &drop : nullptr);
}

std::pair<const float*, const float*> LlamaModel::lora_ab(const LoraPair& lora) {
  if (!lora.A.bf16_master()) return {lora.A.f32(), lora.B.f32()};
  const int64_t nA = lora.A.numel(), nB = lora.B.numel();
  ws_lora_ab_.ensure(mem_, MemCategory::Workspace, nA + nB);
  param_values_f32(lora.A, ws_lora_ab_.data());
  param_values_f32(lora.B, ws_lora_ab_.data() + nA);
  return {ws_lora_ab_.data(), ws_lora_ab_.data() + nA};
}

void LlamaModel::lora_su(const PassContext& ctx, const Rows& rows, int site, LoraPair& lora, float* u, const float* inp,
                         int64_t N) {
  const float p = static_cast<float>(lora_cfg_.lora_dropout);
  LoraDropout drop;
  if (ctx.training && p > 0.0f) drop = lora_dropout(ctx, rows, site, p, N, lora.in);
  lora_fused_su(pool_, u, inp, lora_ab(lora).first, lora_scale_, N, lora.in, lora_cfg_.r,
                ctx.training && p > 0.0f ? &drop : nullptr);
}

LoraDropout LlamaModel::lora_dropout(const PassContext& ctx, const Rows& rows, int site, float p, int64_t N,
                                     int64_t IC) {
  const int64_t block = lora_dropout_block_rows(N) * IC;
  ws_lora_tile_.ensure(mem_, MemCategory::Workspace, block);
  ws_lora_mask_.ensure(mem_, MemCategory::Workspace, block);
  LoraDropout d;
  d.key = DropoutKey{opt_.seed, ctx.step, static_cast<uint64_t>(site), rows.examples, rows.positions};
  d.p = p;
  d.tile = ws_lora_tile_.data();
  d.mask = ws_lora_mask_.data();
  return d;
}

void LlamaModel::layer_forward(int l, PassContext& ctx, const float* x_in, LayerActs& a, float* x_out, bool pre_normed,
                               const NextNorm& next) {
  LlamaLayer& L = layers_[l];
  const int64_t B = ctx.B, T = ctx.T, N = B * T, NH = cfg_.num_heads, NKV = cfg_.num_kv_heads, HD = cfg_.head_dim;
  const Rows rows{ctx.row_examples.data(), ctx.positions.data()};
  auto site = [&](PeftModule m) { return l * 16 + static_cast<int>(m); };
  auto lora_u = [&](PeftModule m) { return L.lora[static_cast<int>(m)] ? a.lora_u[static_cast<int>(m)].data() : nullptr; };
  // attention block
  OpPhases ph;
  ph("fwd/norm1");
  float* xn = ws_xn_.data();  // (N,C) normed input, recomputed by backward
  if (!pre_normed) rmsnorm_forward<float>(pool_, xn, a.rstd1.data(), x_in, L.attn_norm.f32(), N, C_, cfg_.rms_norm_eps);
  ph("fwd/qkv");
  linear_fwd(ctx, rows, site(PeftModule::Q), L.q, &L.q_bias, L.lora[0], a.q.data(), xn, N, lora_u(PeftModule::Q));
  linear_fwd(ctx, rows, site(PeftModule::K), L.k, &L.k_bias, L.lora[1], a.k.data(), xn, N, lora_u(PeftModule::K));
  linear_fwd(ctx, rows, site(PeftModule::V), L.v, &L.v_bias, L.lora[2], a.v.data(), xn, N, lora_u(PeftModule::V));
  ph("fwd/rope");
  rope_forward<float>(pool_, a.q.data(), ctx.positions.data(), rope_cos_.data(), rope_sin_.data(), N, NH, HD);
  rope_forward<float>(pool_, a.k.data(), ctx.positions.data(), rope_cos_.data(), rope_sin_.data(), N, NKV, HD);
  ph("fwd/attention");
  if (ctx.cache) {
    float* kc = ctx.cache->k.data() + static_cast<int64_t>(l) * ctx.cache->capacity * KD_;
    float* vc = ctx.cache->v.data() + static_cast<int64_t>(l) * ctx.cache->capacity * KD_;
    std::memcpy(kc + ctx.start * KD_, a.k.data(), sizeof(float) * N * KD_);
    std::memcpy(vc + ctx.start * KD_, a.v.data(), sizeof(float) * N * KD_);
    ws_att_scores_.ensure(mem_, MemCategory::Workspace, attention_cached_scratch_floats(ctx.cache->capacity, NH));
    attention_forward_cached(pool_, a.att.data(), a.q.data(), kc, vc, ctx.start, N, NH, NKV, HD, ws_att_scores_.data());
  } else {
    ws_att_scores_.ensure(mem_, MemCategory::Workspace, attention_forward_scratch_floats(B, T, NH, NKV, HD));
    attention_forward<float>(pool_, a.att.data(), a.lse.data(), a.q.data(), a.k.data(), a.v.data(), ctx.lengths, B, T,
                             NH, NKV, HD, ws_att_scores_.data());
  }
  ph("fwd/o");
  linear_fwd(ctx, rows, site(PeftModule::O), L.o, nullptr, L.lora[3], a.x_mid.data(), a.att.data(), N, lora_u(PeftModule::O));
  ph("fwd/resid_norm2");
  // MLP block: x_mid += x_in and its norm in one pass
  residual_rmsnorm_forward<float>(pool_, a.x_mid.data(), xn, a.rstd2.data(), a.x_mid.data(), x_in, L.mlp_norm.f32(), N,
                                  C_, cfg_.rms_norm_eps);
  ph("fwd/gate_up");
  linear_fwd(ctx, rows, site(PeftModule::Gate), L.gate, nullptr, L.lora[4], a.gate.data(), xn, N, lora_u(PeftModule::Gate));
  linear_fwd(ctx, rows, site(PeftModule::Up), L.up, nullptr, L.lora[5], a.up.data(), xn, N, lora_u(PeftModule::Up));
  if (!x_out) return;  // recomputation: backward recomputes the SwiGLU output and Down's LoRA su itself
  ph("fwd/swiglu");
  float* hmid = ws_hmid_.data();  // (N,F) SwiGLU output, recomputed by backward
  swiglu_forward<float>(pool_, hmid, a.gate.data(), a.up.data(), N, F_);
  ph("fwd/down");
  linear_fwd(ctx, rows, site(PeftModule::Down), L.down, nullptr, L.lora[6], x_out, hmid, N, lora_u(PeftModule::Down));
  ph("fwd/resid_norm_next");
  if (next.weight)  // x_out += x_mid and the next norm in one pass
    residual_rmsnorm_forward<float>(pool_, x_out, next.out, next.rstd, x_out, a.x_mid.data(), next.weight->f32(), N, C_,
                                    cfg_.rms_norm_eps);
  else
    residual_add<float>(pool_, x_out, a.x_mid.data(), N * C_);
}

void LlamaModel::forward(PassContext& ctx) {
  OpTimer t_("forward");
  const int64_t B = ctx.B, T = ctx.T, N = B * T;
  LORALAB_CHECK(B > 0 && T > 0, "E_BATCH", "batch has no tokens (rows " + std::to_string(B) + ", seq_len " + std::to_string(T) + ")");
  const int64_t span = ctx.cache ? ctx.start + T : T;
  if (cfg_.sliding_window > 0 && span > cfg_.sliding_window)
    LORALAB_THROW("E_CONFIG_UNSUPPORTED", "config.json: sliding_window " + std::to_string(cfg_.sliding_window) +
                                              " is shorter than the sequence (" + std::to_string(span) +
                                              " tokens); sliding-window attention is not implemented");
  ctx.positions.resize(N);
  ctx.row_examples.resize(N);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      ctx.positions[b * T + t] = static_cast<int32_t>(ctx.cache ? ctx.start + t : t);
      ctx.row_examples[b * T + t] = ctx.example_ids ? ctx.example_ids[b] : b;
    }
  ensure_rope(span);
  const int L = cfg_.num_layers;
  const bool keep_all = ctx.training && !opt_.gradient_checkpointing;
  if (static_cast<int>(acts_.size()) != (keep_all ? L : 1)) acts_ = std::vector<LayerActs>(keep_all ? L : 1);
  for (auto& a : acts_) ensure_acts(a, B, T);
  if (static_cast<int>(resid_.size()) != L + 1) resid_ = std::vector<Buffer<float>>(L + 1);
  for (auto& r : resid_) r.ensure(mem_, MemCategory::Activations, N * C_);
  rstd_f_.ensure(mem_, MemCategory::Activations, N);
  xn_f_.ensure(mem_, MemCategory::Activations, N * C_);
  acts_B_ = B, acts_T_ = T;
  embedding_forward(pool_, resid_[0].data(), ctx.tokens, embed_.view(), N, C_, V_);
  if (parallel()) {  // Phi / Falcon: each block norms its own input; the final LayerNorm after the last
    mean_f_.ensure(mem_, MemCategory::Activations, N);
    for (int l = 0; l < L; ++l) {
      check_abort();
      parallel_layer_forward(l, ctx, resid_[l].data(), acts_[keep_all ? l : 0], resid_[l + 1].data());
    }
    layernorm_forward(pool_, xn_f_.data(), mean_f_.data(), rstd_f_.data(), resid_[L].data(), final_norm_.f32(),
                      final_norm_bias_.f32(), N, C_, cfg_.rms_norm_eps);
    return;
  }
  // each layer's last residual add is fused with the norm that reads its output: the next layer's
  // attn_norm (into ws_xn_ and that layer's rstd1) or, after the last layer, the final norm
  for (int l = 0; l < L; ++l) {
    check_abort();
    NextNorm next{&final_norm_, xn_f_.data(), rstd_f_.data()};
    if (l + 1 < L) next = NextNorm{&layers_[l + 1].attn_norm, ws_xn_.data(), acts_[keep_all ? l + 1 : 0].rstd1.data()};
    layer_forward(l, ctx, resid_[l].data(), acts_[keep_all ? l : 0], resid_[l + 1].data(), l > 0, next);
  }
}

double LlamaModel::head_loss(PassContext& ctx, const int32_t* targets, float dloss, float* losses_out) {
  OpTimer t_("head_loss");
  const int64_t N = static_cast<int64_t>(ctx.B) * ctx.T;
  std::vector<int64_t> rows_idx;
  for (int64_t n = 0; n < N; ++n)
    if (targets[n] != kIgnoreIndex) rows_idx.push_back(n);
  if (losses_out) std::fill(losses_out, losses_out + N, 0.0f);
  const bool grad = dloss != 0.0f;
  if (grad) {
    dxn_f_.ensure(mem_, MemCategory::Activations, N * C_);
    dxn_f_.zero();
  }
  const int64_t count = static_cast<int64_t>(rows_idx.size());
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(std::max<int64_t>(count, 1), kLogitsChunkFloats / V_));
  logits_chunk_.ensure(mem_, MemCategory::Logits, chunk * V_);
  ws_chunk_in_.ensure(mem_, MemCategory::Workspace, chunk * C_);
  ws_chunk_dx_.ensure(mem_, MemCategory::Workspace, chunk * C_);
  ws_chunk_u_.ensure(mem_, MemCategory::Workspace, chunk * std::max(1, lora_cfg_.r));
  ws_losses_.ensure(mem_, MemCategory::Workspace, chunk);
  std::vector<int32_t> tgt(chunk), pos(chunk);
  std::vector<int64_t> ex(chunk);
  Param& W = head_weight();
  double total = 0.0;
  for (int64_t c0 = 0; c0 < count; c0 += chunk) {
    check_abort();
    const int64_t nc = std::min(chunk, count - c0);
    OpPhases ph;
    ph("head/gather");
    for (int64_t i = 0; i < nc; ++i) {
      int64_t n = rows_idx[c0 + i];
      std::memcpy(ws_chunk_in_.data() + i * C_, xn_f_.data() + n * C_, sizeof(float) * C_);
      tgt[i] = targets[n], pos[i] = ctx.positions[n], ex[i] = ctx.row_examples[n];
    }
    const Rows rows{ex.data(), pos.data()};
    ph("head/logits");
    linear_fwd(ctx, rows, kHeadSite, W, &head_bias_, head_lora_, logits_chunk_.data(), ws_chunk_in_.data(), nc,
               ws_chunk_u_.data());
    ph("head/cross_entropy");
    if (grad)  // loss and its gradient in one pass over the logits (in place)
      cross_entropy_forward_backward<float>(pool_, ws_losses_.data(), logits_chunk_.data(), logits_chunk_.data(),
                                            tgt.data(), dloss, nc, V_);
    else
      cross_entropy_forward<float>(pool_, ws_losses_.data(), logits_chunk_.data(), tgt.data(), nc, V_);
    for (int64_t i = 0; i < nc; ++i) {
      total += ws_losses_[i];
      if (losses_out) losses_out[rows_idx[c0 + i]] = ws_losses_[i];
    }
    if (!grad) continue;
    ph("head/input_grad");
    linear_bwd(ctx, rows, kHeadSite, W, &head_bias_, head_lora_, ws_chunk_dx_.data(), logits_chunk_.data(),
               ws_chunk_in_.data(), ws_chunk_u_.data(), nc, true);
    ph("head/scatter");
    for (int64_t i = 0; i < nc; ++i) {
      float* dst = dxn_f_.data() + rows_idx[c0 + i] * C_;
      const float* src = ws_chunk_dx_.data() + i * C_;
      for (int64_t j = 0; j < C_; ++j) dst[j] += src[j];
    }
  }
  return total;
}

void LlamaModel::head_logits(PassContext& ctx, float* out, int64_t row0, int64_t rows_n) {
  const int64_t chunk = std::max<int64_t>(1, kLogitsChunkFloats / V_);
  ws_chunk_u_.ensure(mem_, MemCategory::Workspace, std::min(chunk, rows_n) * std::max(1, lora_cfg_.r));
  for (int64_t c0 = 0; c0 < rows_n; c0 += chunk) {
    check_abort();
    const int64_t nc = std::min(chunk, rows_n - c0);
    const Rows rows{ctx.row_examples.data() + row0 + c0, ctx.positions.data() + row0 + c0};
    linear_fwd(ctx, rows, kHeadSite, head_weight(), &head_bias_, head_lora_, out + c0 * V_,
               xn_f_.data() + (row0 + c0) * C_, nc, ws_chunk_u_.data());
  }
}

void LlamaModel::forward_cached(KvCache& cache, const int32_t* tokens, int64_t n, int64_t start, float* logits,
                                int64_t rows) {
  LORALAB_CHECK(start + n <= cache.capacity, "E_KV_CACHE",
                "KV cache holds " + std::to_string(cache.capacity) + " positions; " + std::to_string(start + n) +
                    " requested");
  PassContext ctx;
  ctx.B = 1;
  ctx.T = static_cast<int>(n);
  ctx.tokens = tokens;
  ctx.cache = &cache;
  ctx.start = start;
  LORALAB_CHECK(rows >= 1 && rows <= n, "E_INTERNAL",
                "forward_cached: logits of " + std::to_string(rows) + " rows of " + std::to_string(n));
  forward(ctx);
  head_logits(ctx, logits, n - rows, rows);
}

}  // namespace loralab
