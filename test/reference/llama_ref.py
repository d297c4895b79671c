# An independent, plain PyTorch reference of the Llama family (LlamaForCausalLM,
# MistralForCausalLM, Qwen2ForCausalLM) as Hugging Face transformers computes it, with optional
# PEFT-style LoRA. Computes in float64 from the checkpoint's weights; shares no code with the engine.
# Legend: B batch rows, T sequence length, C hidden size, NH query heads, NKV kv heads, HD head dim.
import json
import math
import os

import torch

from safetensors_lite import read_safetensors

ATTN_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj"]
MLP_MODULES = ["gate_proj", "up_proj", "down_proj"]


def load_checkpoint(folder):
    """Returns (config dict, weights dict name -> tensor in the stored dtype)."""
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    index = os.path.join(folder, "model.safetensors.index.json")
    weights = {}
    if os.path.exists(index):
        with open(index) as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        for shard in shards:
            weights.update(read_safetensors(os.path.join(folder, shard))[0])
    else:
        weights = read_safetensors(os.path.join(folder, "model.safetensors"))[0]
    return cfg, weights


def load_adapter(folder):
    """Returns (adapter_config dict, {module path: (A (r, in), B (out, r))}, scale)."""
    with open(os.path.join(folder, "adapter_config.json")) as f:
        acfg = json.load(f)
    tensors = read_safetensors(os.path.join(folder, "adapter_model.safetensors"))[0]
    lora = {}
    prefix = "base_model.model."
    for name, t in tensors.items():
        assert name.startswith(prefix) and (name.endswith(".lora_A.weight") or name.endswith(".lora_B.weight")), name
        module = name[len(prefix) : -len(".lora_A.weight")]
        a, b = lora.get(module, (None, None))
        lora[module] = (t, b) if ".lora_A." in name else (a, t)
    r = acfg["r"]
    scale = acfg["lora_alpha"] / (math.sqrt(r) if acfg.get("use_rslora") else r)
    return acfg, lora, scale


def dims(cfg):
    nh = cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads") or nh
    hd = cfg.get("head_dim") or cfg["hidden_size"] // nh
    return nh, nkv, hd


def rope_inv_freq(cfg, hd):
    """(HD/2,) inverse frequencies, with rope_scaling 'linear' or 'llama3' as transformers applies them."""
    theta = cfg.get("rope_theta", 10000.0)
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    scaling = cfg.get("rope_scaling") or {}
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind == "linear":
        inv_freq = inv_freq / scaling["factor"]
    elif kind == "llama3":
        factor = scaling["factor"]
        low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
        old_len = scaling["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old_len / low, old_len / high
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
        smooth = (old_len / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
        inv_freq = torch.where(medium, smoothed, scaled)
    elif kind not in (None, "default"):
        raise ValueError("reference: rope_scaling %r not implemented" % kind)
    return inv_freq


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def linear(x, params, module, lora, scale):
    """x @ W^T (+ b) (+ scale * (x A^T) B^T for an adapted module)."""
    y = x @ params[module + ".weight"].t()
    if module + ".bias" in params:
        y = y + params[module + ".bias"]
    if lora is not None and module in lora:
        a, b = lora[module]
        y = y + scale * ((x @ a.t()) @ b.t())
    return y


def head_weight_name(cfg, params):
    if cfg.get("tie_word_embeddings", False) or "lm_head.weight" not in params:
        return "model.embed_tokens.weight"
    return "lm_head.weight"


def forward(cfg, params, tokens, lengths, lora=None, scale=1.0):
    """params: name -> float64 tensor; tokens (B, T) long; lengths (B,) valid prefix lengths.
    Returns logits (B, T, V) in float64. Keys at positions >= length are masked (padding)."""
    assert cfg.get("hidden_act", "silu") == "silu"
    bsz, seq = tokens.shape
    nh, nkv, hd = dims(cfg)
    eps = cfg.get("rms_norm_eps", 1e-6)
    inv_freq = rope_inv_freq(cfg, hd)
    freqs = torch.arange(seq, dtype=torch.float64)[:, None] * inv_freq[None, :]  # (T, HD/2)
    emb = torch.cat((freqs, freqs), dim=-1)
    dt = params["model.embed_tokens.weight"].dtype  # float64 for goldens; float32 to measure fp32 drift
    cos, sin = emb.cos().to(dt), emb.sin().to(dt)  # (T, HD)
    qi = torch.arange(seq)[:, None]
    kj = torch.arange(seq)[None, :]
    allowed = (kj <= qi)[None, :, :] & (kj[None, :, :] < lengths[:, None, None])  # (B, T, T)
    window = cfg.get("sliding_window")
    if window and cfg.get("use_sliding_window", cfg.get("model_type") != "qwen2"):
        allowed = allowed & ((qi - kj) < window)[None, :, :]
    x = params["model.embed_tokens.weight"][tokens]  # (B, T, C)
    for layer in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % layer
        h = rms_norm(x, params[p + "input_layernorm.weight"], eps)
        q = linear(h, params, p + "self_attn.q_proj", lora, scale).view(bsz, seq, nh, hd).transpose(1, 2)
        k = linear(h, params, p + "self_attn.k_proj", lora, scale).view(bsz, seq, nkv, hd).transpose(1, 2)
        v = linear(h, params, p + "self_attn.v_proj", lora, scale).view(bsz, seq, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=1)  # query head h reads kv head h // n_rep
        v = v.repeat_interleave(nh // nkv, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)  # (B, NH, T, T)
        scores = scores.masked_fill(~allowed[:, None, :, :], float("-inf"))
        att = torch.softmax(scores, dim=-1) @ v  # (B, NH, T, HD)
        att = att.transpose(1, 2).reshape(bsz, seq, nh * hd)
        x = x + linear(att, params, p + "self_attn.o_proj", lora, scale)
        h = rms_norm(x, params[p + "post_attention_layernorm.weight"], eps)
        gate = linear(h, params, p + "mlp.gate_proj", lora, scale)
        up = linear(h, params, p + "mlp.up_proj", lora, scale)
        x = x + linear(torch.nn.functional.silu(gate) * up, params, p + "mlp.down_proj", lora, scale)
    x = rms_norm(x, params["model.norm.weight"], eps)
    logits = x @ params[head_weight_name(cfg, params)].t()
    if lora is not None and "lm_head" in lora:
        a, b = lora["lm_head"]
        logits = logits + scale * ((x @ a.t()) @ b.t())
    return logits


def loss_and_count(logits, targets):
    """Mean cross-entropy over targets != -100 (all rows together) and the number of such targets."""
    flat_logits = logits.reshape(-1, logits.shape[-1])
    flat_targets = targets.reshape(-1)
    loss = torch.nn.functional.cross_entropy(flat_logits, flat_targets, ignore_index=-100, reduction="sum")
    count = int((flat_targets != -100).sum())
    return loss / count, count


def token_logprobs(logits, targets):
    """(B, T): log p(target) at each position, 0 where the target is -100."""
    logp = torch.log_softmax(logits, dim=-1)
    safe = targets.clamp(min=0)
    out = logp.gather(-1, safe[..., None])[..., 0]
    return torch.where(targets == -100, torch.zeros_like(out), out)


def greedy(cfg, params, prompt, max_new_tokens, lora=None, scale=1.0, stop_tokens=(), forward_fn=None):
    """Greedy decoding by full recomputation (forward_fn: another family's forward, e.g. parallel_ref's).
    Returns (new ids, smallest top-1 minus top-2 logit gap)."""
    forward_fn = forward_fn or forward
    ids = list(prompt)
    out, margin = [], float("inf")
    for _ in range(max_new_tokens):
        t = torch.tensor([ids])
        logits = forward_fn(cfg, params, t, torch.tensor([len(ids)]), lora, scale)[0, -1]
        top2 = torch.topk(logits, 2).values
        margin = min(margin, float(top2[0] - top2[1]))
        nxt = int(torch.argmax(logits))
        out.append(nxt)
        ids.append(nxt)
        if nxt in stop_tokens:
            break
    return out, margin


def merge(cfg, weights, lora, scale):
    """HF folder tensors after merging: W + scale * B @ A from the stored weights (summed in float64,
    rounded to fp32, then to the stored dtype). A head adapter on a tied model writes a separate lm_head.weight (the model becomes untied)."""
    merged = dict(weights)
    for module, (a, b) in lora.items():
        name = module + ".weight"
        if module == "lm_head" and name not in weights:
            base = weights["model.embed_tokens.weight"]
        else:
            base = weights[name]
        delta = scale * (b.double() @ a.double())
        merged[name] = (base.double() + delta).float().to(base.dtype)
    return merged
