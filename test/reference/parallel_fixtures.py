# Tiny random Phi and Falcon checkpoints for make_fixtures.py: config.json, weights in Hugging Face
# names and order, and the PEFT target modules of each family. Sizes are make_fixtures' (vocab 80,
# hidden 32, intermediate 48, 2 layers, 4 query heads of 8 dims).
import math

import torch

import parallel_ref

PHI_TARGETS = parallel_ref.PHI_MODULES
FALCON_TARGETS = parallel_ref.FALCON_MODULES


def model_config(case, vocab, hidden, inter, layers):
    nh = case["heads"]
    if case["arch"] == "PhiForCausalLM":  # the keys of microsoft/phi-1_5's config.json
        return {"architectures": ["PhiForCausalLM"], "model_type": "phi", "vocab_size": vocab, "hidden_size": hidden,
                "intermediate_size": inter, "num_hidden_layers": layers, "num_attention_heads": nh,
                "num_key_value_heads": case["kv_heads"], "hidden_act": "gelu_new", "max_position_embeddings": 256,
                "layer_norm_eps": 1e-5, "partial_rotary_factor": 0.5, "rope_theta": case["rope_theta"],
                "rope_scaling": None, "qk_layernorm": False, "tie_word_embeddings": False, "resid_pdrop": 0.0,
                "embd_pdrop": 0.0, "attention_dropout": 0.0, "initializer_range": 0.02, "bos_token_id": 1,
                "eos_token_id": 2, "torch_dtype": case["dtype"], "use_cache": True, "transformers_version": "4.45.0"}
    cfg = {"architectures": ["FalconForCausalLM"], "model_type": "falcon", "vocab_size": vocab, "hidden_size": hidden,
           "num_hidden_layers": layers, "num_attention_heads": nh, "multi_query": case["multi_query"],
           "new_decoder_architecture": case["new_arch"], "parallel_attn": True, "bias": case["bias"], "alibi": False,
           "layer_norm_epsilon": 1e-5, "ffn_hidden_size": inter, "activation": "gelu", "rope_theta": case["rope_theta"],
           "max_position_embeddings": 256, "hidden_dropout": 0.0, "attention_dropout": 0.0, "bos_token_id": 1,
           "eos_token_id": 2, "torch_dtype": case["dtype"], "use_cache": True, "transformers_version": "4.45.0"}
    if case["new_arch"]:
        cfg["num_kv_heads"] = case["kv_heads"]
    if case.get("num_ln") is not None:
        cfg["num_ln_in_parallel_attn"] = case["num_ln"]
    return cfg


def random_weights(case, cfg, vocab, hidden, inter, layers):
    """name -> fp32 tensor, in Hugging Face order; scaled so logits are O(1..10) and greedy is decisive."""
    g = torch.Generator().manual_seed(case["seed"])
    nh = cfg["num_attention_heads"]
    hd = hidden // nh

    def lin(out_f, in_f, gain=1.0):
        return torch.randn(out_f, in_f, generator=g) * (gain / math.sqrt(in_f))

    def vec(n, s=0.1):
        return s * torch.randn(n, generator=g)

    def norm(name):
        return [(name + ".weight", 1.0 + 0.1 * torch.randn(hidden, generator=g)), (name + ".bias", vec(hidden))]

    w = []
    if cfg["model_type"] == "phi":
        nkv = cfg["num_key_value_heads"]
        w.append(("model.embed_tokens.weight", 0.4 * torch.randn(vocab, hidden, generator=g)))
        for layer in range(layers):
            p = "model.layers.%d." % layer
            w += norm(p + "input_layernorm")
            for mod, out_f, gain in (("q_proj", nh * hd, 2.0), ("k_proj", nkv * hd, 2.0), ("v_proj", nkv * hd, 1.0)):
                w += [(p + "self_attn." + mod + ".weight", lin(out_f, hidden, gain)), (p + "self_attn." + mod + ".bias", vec(out_f))]
            w += [(p + "self_attn.dense.weight", lin(hidden, nh * hd)), (p + "self_attn.dense.bias", vec(hidden))]
            w += [(p + "mlp.fc1.weight", lin(inter, hidden, 2.0)), (p + "mlp.fc1.bias", vec(inter))]
            w += [(p + "mlp.fc2.weight", lin(hidden, inter)), (p + "mlp.fc2.bias", vec(hidden))]
        w += norm("model.final_layernorm")
        w += [("lm_head.weight", lin(vocab, hidden, 2.0)), ("lm_head.bias", vec(vocab))]
        return w
    nkv = parallel_ref.falcon_kv_heads(cfg)
    bias = cfg["bias"]
    w.append(("transformer.word_embeddings.weight", 0.4 * torch.randn(vocab, hidden, generator=g)))
    for layer in range(layers):
        p = "transformer.h.%d." % layer
        if parallel_ref.falcon_norms(cfg) == 2:
            w += norm(p + "ln_attn") + norm(p + "ln_mlp")
        else:
            w += norm(p + "input_layernorm")
        for name, out_f, in_f, gain in (("self_attention.query_key_value", (nh + 2 * nkv) * hd, hidden, 2.0),
                                        ("self_attention.dense", hidden, nh * hd, 1.0),
                                        ("mlp.dense_h_to_4h", inter, hidden, 2.0), ("mlp.dense_4h_to_h", hidden, inter, 1.0)):
            w.append((p + name + ".weight", lin(out_f, in_f, gain)))
            if bias:
                w.append((p + name + ".bias", vec(out_f)))
    w += norm("transformer.ln_f")
    return w  # the head is tied to the word embeddings (no lm_head.weight)


def adapter_modules(cfg, layers):
    """PEFT module paths of every target, in the order make_fixtures writes them."""
    out = []
    for layer in range(layers):
        if cfg["model_type"] == "phi":
            p = "model.layers.%d." % layer
            out += [p + "self_attn." + m for m in ("q_proj", "k_proj", "v_proj", "dense")]
            out += [p + "mlp.fc1", p + "mlp.fc2"]
        else:
            p = "transformer.h.%d." % layer
            out += [p + "self_attention.query_key_value", p + "self_attention.dense"]
            out += [p + "mlp.dense_h_to_4h", p + "mlp.dense_4h_to_h"]
    return out + ["lm_head"]


def targets(cfg):
    return PHI_TARGETS if cfg["model_type"] == "phi" else FALCON_TARGETS
