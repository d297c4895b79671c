# An independent, plain PyTorch reference of the parallel-block families as Hugging Face transformers
# computes them (modeling_phi.py PhiForCausalLM, modeling_falcon.py FalconForCausalLM), with optional
# PEFT-style LoRA. Computes in float64 from the checkpoint's weights; shares no code with the engine.
# Legend: B batch rows, T sequence length, C hidden size, NH query heads, NKV kv heads, HD head dim,
# RD rotary dims per head.
import math

import torch

from llama_ref import linear, rotate_half  # the plain nn.Linear (+ LoRA) and rotate_half helpers

PHI_MODULES = ["q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2", "lm_head"]
FALCON_MODULES = ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h", "lm_head"]


def is_parallel(cfg):
    return cfg.get("model_type") in ("phi", "falcon")


def falcon_kv_heads(cfg):
    """transformers' FalconAttention: num_kv_heads if new_decoder_architecture or not multi_query, else 1."""
    nh = cfg["num_attention_heads"]
    if cfg.get("new_decoder_architecture", False) or not cfg.get("multi_query", True):
        return cfg.get("num_kv_heads") or nh
    return 1


def falcon_norms(cfg):
    """Number of LayerNorms per block: 2 (ln_attn, ln_mlp) for new_decoder_architecture unless
    num_ln_in_parallel_attn says 1; else 1 (input_layernorm)."""
    if not cfg.get("new_decoder_architecture", False):
        return 1
    n = cfg.get("num_ln_in_parallel_attn")
    return 2 if n is None else n


def embed_name(cfg):
    return "transformer.word_embeddings.weight" if cfg["model_type"] == "falcon" else "model.embed_tokens.weight"


def layer_norm(x, params, name, eps):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], params[name + ".weight"], params[name + ".bias"], eps)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def split_falcon_qkv(cfg, fused, bsz, seq, hd):
    """FalconAttention._split_heads: (B, T, QKV) -> q (B, NH, T, HD), k, v (B, NKV, T, HD)."""
    nh, nkv = cfg["num_attention_heads"], falcon_kv_heads(cfg)
    if cfg.get("new_decoder_architecture", False):
        qkv = fused.view(bsz, seq, nkv, nh // nkv + 2, hd)
        q = qkv[:, :, :, :-2].reshape(bsz, seq, nh, hd)
        k = qkv[:, :, :, -2]
        v = qkv[:, :, :, -1]
    elif not cfg.get("multi_query", True):
        qkv = fused.view(bsz, seq, nh, 3, hd)
        q, k, v = qkv[..., 0, :], qkv[..., 1, :], qkv[..., 2, :]
    else:
        qkv = fused.view(bsz, seq, nh + 2, hd)
        q, k, v = qkv[:, :, :-2], qkv[:, :, [-2]], qkv[:, :, [-1]]
    return q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)


def forward(cfg, params, tokens, lengths, lora=None, scale=1.0):
    """params: name -> float64 tensor; tokens (B, T) long; lengths (B,) valid prefix lengths.
    Returns logits (B, T, V). Keys at positions >= length are masked (padding)."""
    phi = cfg["model_type"] == "phi"
    bsz, seq = tokens.shape
    nh = cfg["num_attention_heads"]
    hd = cfg["hidden_size"] // nh
    if phi:
        nkv = cfg.get("num_key_value_heads") or nh
        rd = int(cfg.get("partial_rotary_factor", 0.5) * hd)
        eps = cfg.get("layer_norm_eps", 1e-5)
        assert cfg.get("hidden_act", "gelu_new") == "gelu_new" and not cfg.get("qk_layernorm", False)
    else:
        nkv = falcon_kv_heads(cfg)
        rd = hd
        eps = cfg.get("layer_norm_epsilon", 1e-5)
        assert not cfg.get("alibi", False) and cfg.get("parallel_attn", True)
    theta = cfg.get("rope_theta", 10000.0)
    inv_freq = 1.0 / (theta ** (torch.arange(0, rd, 2, dtype=torch.float64) / rd))
    freqs = torch.arange(seq, dtype=torch.float64)[:, None] * inv_freq[None, :]  # (T, RD/2)
    emb = torch.cat((freqs, freqs), dim=-1)
    dt = params[embed_name(cfg)].dtype
    cos, sin = emb.cos().to(dt), emb.sin().to(dt)  # (T, RD)
    qi = torch.arange(seq)[:, None]
    kj = torch.arange(seq)[None, :]
    allowed = (kj <= qi)[None, :, :] & (kj[None, :, :] < lengths[:, None, None])  # (B, T, T)

    def rope(x):  # rotary on the first RD dims of each head, the rest passes through
        rot, rest = x[..., :rd], x[..., rd:]
        return torch.cat((rot * cos + rotate_half(rot) * sin, rest), dim=-1)

    x = params[embed_name(cfg)][tokens]  # (B, T, C)
    for layer in range(cfg["num_hidden_layers"]):
        if phi:
            p = "model.layers.%d." % layer
            h = layer_norm(x, params, p + "input_layernorm", eps)
            q = linear(h, params, p + "self_attn.q_proj", lora, scale).view(bsz, seq, nh, hd).transpose(1, 2)
            k = linear(h, params, p + "self_attn.k_proj", lora, scale).view(bsz, seq, nkv, hd).transpose(1, 2)
            v = linear(h, params, p + "self_attn.v_proj", lora, scale).view(bsz, seq, nkv, hd).transpose(1, 2)
            attn_mod, mlp_in = p + "self_attn.dense", h
        else:
            p = "transformer.h.%d." % layer
            two = falcon_norms(cfg) == 2
            h = layer_norm(x, params, p + ("ln_attn" if two else "input_layernorm"), eps)
            fused = linear(h, params, p + "self_attention.query_key_value", lora, scale)
            q, k, v = split_falcon_qkv(cfg, fused, bsz, seq, hd)
            attn_mod = p + "self_attention.dense"
            mlp_in = layer_norm(x, params, p + "ln_mlp", eps) if two else h
        q, k = rope(q), rope(k)
        k = k.repeat_interleave(nh // nkv, dim=1)  # query head h reads kv head h // (NH / NKV)
        v = v.repeat_interleave(nh // nkv, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        scores = scores.masked_fill(~allowed[:, None, :, :], float("-inf"))
        att = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(bsz, seq, nh * hd)
        attn_out = linear(att, params, attn_mod, lora, scale)
        if phi:
            mlp = linear(gelu_new(linear(mlp_in, params, p + "mlp.fc1", lora, scale)), params, p + "mlp.fc2", lora, scale)
        else:
            up = linear(mlp_in, params, p + "mlp.dense_h_to_4h", lora, scale)
            mlp = linear(torch.nn.functional.gelu(up), params, p + "mlp.dense_4h_to_h", lora, scale)
        x = x + attn_out + mlp
    x = layer_norm(x, params, "model.final_layernorm" if phi else "transformer.ln_f", eps)
    head = dict(params)
    if "lm_head.weight" not in params:  # Falcon ties the head to the word embeddings
        head["lm_head.weight"] = params[embed_name(cfg)]
    return linear(x, head, "lm_head", lora, scale)


def merge(cfg, weights, lora, scale):
    """HF folder tensors after merging W + scale * B @ A (float64 sum, rounded to fp32, then the stored dtype).
    A head adapter on a tied model writes a separate lm_head.weight (the model becomes untied)."""
    merged = dict(weights)
    for module, (a, b) in lora.items():
        name = module + ".weight"
        base = weights[name] if name in weights else weights[embed_name(cfg)]
        merged[name] = (base.double() + scale * (b.double() @ a.double())).float().to(base.dtype)
    return merged
