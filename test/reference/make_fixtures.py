# Builds the tiny test checkpoints (HF folders + PEFT adapters) and their golden numbers from the
# PyTorch reference, or (--check) recomputes the goldens from the committed checkpoints and fails
# when they disagree. Run with Debian's /usr/bin/python3 (python3-torch). See README.md here.
import argparse
import json
import math
import os
import shutil
import sys

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_ref as ref  # noqa: E402
import parallel_fixtures  # noqa: E402
import parallel_ref  # noqa: E402
import quant_ref  # noqa: E402
import train_ref  # noqa: E402
from safetensors_lite import read_safetensors, write_safetensors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")

LLAMA3_SCALING = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                  "original_max_position_embeddings": 8192}
# Each case: architecture, sizes and what it exercises. head_dim None = hidden / heads.
CASES = [
    dict(name="llama_gqa_llama3_f32", arch="LlamaForCausalLM", dtype="float32", heads=4, kv_heads=2, head_dim=16,
         tie=False, rope_theta=10000.0, rope_scaling=LLAMA3_SCALING, rslora=False, shards=1, seed=11),
    dict(name="llama_gqa_llama3_bf16", arch="LlamaForCausalLM", dtype="bfloat16", heads=4, kv_heads=2, head_dim=16,
         tie=False, rope_theta=10000.0, rope_scaling=LLAMA3_SCALING, rslora=False, shards=2, seed=12),
    dict(name="llama_tied_linear_f32", arch="LlamaForCausalLM", dtype="float32", heads=4, kv_heads=4, head_dim=None,
         tie=True, rope_theta=10000.0, rope_scaling={"type": "linear", "factor": 2.0}, rslora=False, shards=1,
         seed=13),
    dict(name="mistral_f32", arch="MistralForCausalLM", dtype="float32", heads=4, kv_heads=1, head_dim=None,
         tie=False, rope_theta=1000000.0, rope_scaling=None, rslora=False, shards=1, seed=14),
    dict(name="qwen2_bias_f32", arch="Qwen2ForCausalLM", dtype="float32", heads=4, kv_heads=2, head_dim=None,
         tie=False, rope_theta=1000000.0, rope_scaling=None, rslora=True, shards=1, seed=15),
    dict(name="qwen2_bias_tied_bf16", arch="Qwen2ForCausalLM", dtype="bfloat16", heads=4, kv_heads=2, head_dim=None,
         tie=True, rope_theta=1000000.0, rope_scaling=None, rslora=False, shards=1, seed=16),
    # The parallel-block families (parallel_ref.py): phi-1.5-style (partial rotary 0.5, biases, untied head
    # with bias), falcon-7b-style multi-query (1 kv head, tied head, no biases), falcon-40b-style grouped
    # (new_decoder_architecture: 2 kv heads, ln_attn + ln_mlp), and grouped with num_ln_in_parallel_attn 1
    # and bias: true in bf16.
    dict(name="phi_f32", arch="PhiForCausalLM", dtype="float32", heads=4, kv_heads=4, rope_theta=10000.0,
         rslora=False, shards=1, seed=21),
    dict(name="phi_bf16", arch="PhiForCausalLM", dtype="bfloat16", heads=4, kv_heads=4, rope_theta=10000.0,
         rslora=False, shards=2, seed=22),
    dict(name="falcon_mq_f32", arch="FalconForCausalLM", dtype="float32", heads=4, kv_heads=1, multi_query=True,
         new_arch=False, bias=False, rope_theta=10000.0, rslora=False, shards=1, seed=23),
    dict(name="falcon_grouped_f32", arch="FalconForCausalLM", dtype="float32", heads=4, kv_heads=2, multi_query=True,
         new_arch=True, bias=False, rope_theta=10000.0, rslora=False, shards=1, seed=24),
    dict(name="falcon_grouped_bias_bf16", arch="FalconForCausalLM", dtype="bfloat16", heads=4, kv_heads=2,
         multi_query=False, new_arch=True, num_ln=1, bias=True, rope_theta=10000.0, rslora=True, shards=1, seed=25),
]
# Fixtures that also get reference training runs (train_ref.RUNS).
TRAIN_CASES = ["llama_gqa_llama3_f32", "qwen2_bias_tied_bf16", "phi_f32", "falcon_grouped_bias_bf16"]
# Fixtures that also get QLoRA goldens (quant_ref: nf4, nf4-dq, fp4, fp4-dq).
QUANT_CASES = ["llama_gqa_llama3_bf16", "qwen2_bias_tied_bf16", "phi_bf16", "falcon_grouped_bias_bf16"]
VOCAB, HIDDEN, INTER, LAYERS = 80, 32, 48, 2
ROWS, SEQ = 2, 8
LORA_R, LORA_ALPHA = 4, 8
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"]
TOLERANCES = {
    "logits_max_abs_rel": 1e-4,  # engine fp32 vs reference: max |diff| <= this * max(1, max |logit|)
    "loss_abs": 1e-5,
    "grad_max_abs_rel": 1e-3,    # per tensor: max |diff| <= this * max |reference grad|
    "merged_ulps": 1,            # merged weights (W + scale * B @ A summed in float64): at most 1 ulp of the stored dtype
}


def family(cfg):
    """The reference module that computes this checkpoint: parallel_ref (Phi, Falcon) or llama_ref."""
    return parallel_ref if parallel_ref.is_parallel(cfg) else ref


def model_config(case):
    if case["arch"] in ("PhiForCausalLM", "FalconForCausalLM"):
        return parallel_fixtures.model_config(case, VOCAB, HIDDEN, INTER, LAYERS)
    nh, nkv = case["heads"], case["kv_heads"]
    model_type = {"LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral", "Qwen2ForCausalLM": "qwen2"}[case["arch"]]
    cfg = {"architectures": [case["arch"]], "model_type": model_type, "vocab_size": VOCAB, "hidden_size": HIDDEN,
           "intermediate_size": INTER, "num_hidden_layers": LAYERS, "num_attention_heads": nh,
           "num_key_value_heads": nkv, "hidden_act": "silu", "max_position_embeddings": 256, "rms_norm_eps": 1e-5,
           "rope_theta": case["rope_theta"], "rope_scaling": case["rope_scaling"],
           "tie_word_embeddings": case["tie"], "attention_dropout": 0.0, "initializer_range": 0.02,
           "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": case["dtype"], "use_cache": True,
           "transformers_version": "4.45.0"}
    if case["head_dim"]:
        cfg["head_dim"] = case["head_dim"]
    if model_type == "llama":
        cfg.update({"attention_bias": False, "mlp_bias": False, "pretraining_tp": 1})
    elif model_type == "mistral":
        cfg["sliding_window"] = 4096
    else:
        cfg.update({"use_sliding_window": False, "sliding_window": 4096, "max_window_layers": LAYERS})
    return cfg


def random_weights(case, cfg):
    """name -> fp32 tensor, in Hugging Face order; scaled so logits are O(1..10) and greedy is decisive."""
    if parallel_ref.is_parallel(cfg):
        return parallel_fixtures.random_weights(case, cfg, VOCAB, HIDDEN, INTER, LAYERS)
    g = torch.Generator().manual_seed(case["seed"])
    nh, nkv, hd = ref.dims(cfg)

    def lin(out_f, in_f, gain=1.0):
        return torch.randn(out_f, in_f, generator=g) * (gain / math.sqrt(in_f))

    def norm(n):
        return 1.0 + 0.1 * torch.randn(n, generator=g)

    w = [("model.embed_tokens.weight", 0.4 * torch.randn(VOCAB, HIDDEN, generator=g))]
    bias = cfg["model_type"] == "qwen2"
    for layer in range(LAYERS):
        p = "model.layers.%d." % layer
        w.append((p + "input_layernorm.weight", norm(HIDDEN)))
        for mod, out_f in (("q_proj", nh * hd), ("k_proj", nkv * hd), ("v_proj", nkv * hd)):
            w.append((p + "self_attn." + mod + ".weight", lin(out_f, HIDDEN, 2.0 if mod != "v_proj" else 1.0)))
            if bias:
                w.append((p + "self_attn." + mod + ".bias", 0.1 * torch.randn(out_f, generator=g)))
        w.append((p + "self_attn.o_proj.weight", lin(HIDDEN, nh * hd)))
        w.append((p + "post_attention_layernorm.weight", norm(HIDDEN)))
        w.append((p + "mlp.gate_proj.weight", lin(INTER, HIDDEN)))
        w.append((p + "mlp.up_proj.weight", lin(INTER, HIDDEN)))
        w.append((p + "mlp.down_proj.weight", lin(HIDDEN, INTER)))
    w.append(("model.norm.weight", norm(HIDDEN)))
    if not case["tie"]:
        w.append(("lm_head.weight", lin(VOCAB, HIDDEN, 2.0)))
    return w


def random_adapter(case, cfg, weights):
    """PEFT-named tensors: A like PEFT's init (U(-1/sqrt(in), 1/sqrt(in))), B random (a trained adapter)."""
    g = torch.Generator().manual_seed(case["seed"] + 1000)
    out = []
    modules = []
    if parallel_ref.is_parallel(cfg):
        modules = parallel_fixtures.adapter_modules(cfg, LAYERS)
    else:
        for layer in range(LAYERS):
            for mod in TARGETS[:4]:
                modules.append("model.layers.%d.self_attn.%s" % (layer, mod))
            for mod in TARGETS[4:7]:
                modules.append("model.layers.%d.mlp.%s" % (layer, mod))
        modules.append("lm_head")
    embed = parallel_ref.embed_name(cfg) if parallel_ref.is_parallel(cfg) else "model.embed_tokens.weight"
    for module in modules:
        base = weights.get(module + ".weight", weights[embed])
        out_f, in_f = base.shape
        bound = 1.0 / math.sqrt(in_f)
        a = (torch.rand(LORA_R, in_f, generator=g) * 2 - 1) * bound
        b = 0.3 * torch.randn(out_f, LORA_R, generator=g)
        out.append(("base_model.model.%s.lora_A.weight" % module, a))
        out.append(("base_model.model.%s.lora_B.weight" % module, b))
    return out


def adapter_config(case, cfg):
    targets = parallel_fixtures.targets(cfg) if parallel_ref.is_parallel(cfg) else TARGETS
    return {"alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "fixtures/" + case["name"],
            "bias": "none", "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True,
            "layers_pattern": None, "layers_to_transform": None, "lora_alpha": LORA_ALPHA, "lora_dropout": 0.0,
            "modules_to_save": None, "peft_type": "LORA", "r": LORA_R, "rank_pattern": {}, "revision": None,
            "target_modules": targets, "task_type": "CAUSAL_LM", "use_dora": False, "use_rslora": case["rslora"]}


def make_batch(seed):
    g = torch.Generator().manual_seed(seed + 2000)
    seqs = torch.randint(3, VOCAB, (ROWS, SEQ + 1), generator=g)
    lengths = [SEQ, 5]
    tokens = torch.zeros(ROWS, SEQ, dtype=torch.long)
    targets = torch.full((ROWS, SEQ), -100, dtype=torch.long)
    for b, n in enumerate(lengths):
        tokens[b, :n] = seqs[b, :n]
        targets[b, :n] = seqs[b, 1 : n + 1]
    targets[0, :2] = -100  # a masked prompt
    return {"rows": ROWS, "seq_len": SEQ, "pad_token": 0, "tokens": tokens.tolist(), "targets": targets.tolist(),
            "lengths": lengths}


def write_checkpoint(folder, cfg, weights, dtype, shards):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    tensors = [(n, t.to(dtype)) for n, t in weights]
    if shards == 1:
        write_safetensors(os.path.join(folder, "model.safetensors"), tensors)
        return
    per = (len(tensors) + shards - 1) // shards
    weight_map, total = {}, 0
    for i in range(shards):
        part = tensors[i * per : (i + 1) * per]
        fname = "model-%05d-of-%05d.safetensors" % (i + 1, shards)
        write_safetensors(os.path.join(folder, fname), part)
        for n, t in part:
            weight_map[n] = fname
            total += t.numel() * t.element_size()
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def compute_goldens(folder, batch):
    """Everything the engine is checked against, from the files in `folder` only."""
    cfg, stored = ref.load_checkpoint(folder)
    _, lora_stored, scale = ref.load_adapter(os.path.join(folder, "adapter"))
    tokens = torch.tensor(batch["tokens"])
    targets = torch.tensor(batch["targets"])
    lengths = torch.tensor(batch["lengths"])
    params = {n: t.double().requires_grad_(True) for n, t in stored.items()}
    lora = {m: (a.double().requires_grad_(True), b.double().requires_grad_(True)) for m, (a, b) in lora_stored.items()}
    out, info = [], {"scale": scale}
    fam = family(cfg)

    logits = fam.forward(cfg, params, tokens, lengths)
    loss, count = ref.loss_and_count(logits, targets)
    loss.backward()
    info.update(loss_base=float(loss), target_tokens=count)
    out.append(("logits", logits.detach()))
    out.append(("logprobs", ref.token_logprobs(logits.detach(), targets)))
    for n, p in params.items():
        out.append(("grad_full." + n, p.grad))

    frozen = {n: t.double() for n, t in stored.items()}
    logits_lora = fam.forward(cfg, frozen, tokens, lengths, lora, scale)
    loss_lora, _ = ref.loss_and_count(logits_lora, targets)
    loss_lora.backward()
    info["loss_lora"] = float(loss_lora)
    out.append(("logits_lora", logits_lora.detach()))
    out.append(("logprobs_lora", ref.token_logprobs(logits_lora.detach(), targets)))
    for m, (a, b) in lora.items():
        out.append(("grad_lora.base_model.model.%s.lora_A.weight" % m, a.grad))
        out.append(("grad_lora.base_model.model.%s.lora_B.weight" % m, b.grad))

    merged = fam.merge(cfg, stored, lora_stored, scale)
    merged_cfg = dict(cfg, tie_word_embeddings=False) if "lm_head" in lora_stored else cfg
    merged_params = {n: t.double() for n, t in merged.items()}
    logits_merged = fam.forward(merged_cfg, merged_params, tokens, lengths)
    out.append(("logits_merged", logits_merged))
    tensors = [(n, t.float()) for n, t in out]
    for m in lora_stored:
        tensors.append(("merged." + m + ".weight", merged[m + ".weight"]))
    return tensors, info, cfg, frozen, lora_stored, scale


def choose_prompt(cfg, frozen, lora, scale, seed):
    """A prompt whose greedy path is decisive (top-1 beats top-2 by >= 0.05) with and without the adapter."""
    g = torch.Generator().manual_seed(seed + 3000)
    for _ in range(50):
        prompt = torch.randint(3, VOCAB, (5,), generator=g).tolist()
        base, m1 = ref.greedy(cfg, frozen, prompt, 10, forward_fn=family(cfg).forward)
        with_lora, m2 = ref.greedy(cfg, frozen, prompt, 10, {k: (a.double(), b.double()) for k, (a, b) in lora.items()}, scale,
                                   forward_fn=family(cfg).forward)
        if min(m1, m2) >= 0.05:
            return {"prompt": prompt, "max_new_tokens": 10, "greedy": base, "greedy_lora": with_lora,
                    "min_margin": min(m1, m2)}
    raise RuntimeError("no decisive prompt found")


def build_case(case, root):
    folder = os.path.join(root, case["name"])
    shutil.rmtree(folder, ignore_errors=True)
    cfg = model_config(case)
    weights = random_weights(case, cfg)
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[case["dtype"]]
    write_checkpoint(folder, cfg, weights, dtype, case["shards"])
    adapter_dir = os.path.join(folder, "adapter")
    os.makedirs(adapter_dir)
    with open(os.path.join(adapter_dir, "adapter_config.json"), "w") as f:
        json.dump(adapter_config(case, cfg), f, indent=2)
    write_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"), random_adapter(case, cfg, dict(weights)))
    batch = make_batch(case["seed"])
    tensors, info, cfg, frozen, lora, scale = compute_goldens(folder, batch)
    info["generate"] = choose_prompt(cfg, frozen, lora, scale, case["seed"])
    golden = {"case": case["name"], "architecture": case["arch"], "dtype": case["dtype"], "batch": batch,
              "tolerances": TOLERANCES, **info}
    write_safetensors(os.path.join(folder, "golden.safetensors"), tensors)
    with open(os.path.join(folder, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
    if case["name"] in TRAIN_CASES:
        train_ref.write_training_goldens(folder, batch)
    if case["name"] in QUANT_CASES:
        quant_ref.write_quant_goldens(folder, batch)
    print("wrote %s: loss %.6f, lora loss %.6f, greedy margin %.3f" % (
        case["name"], info["loss_base"], info["loss_lora"], info["generate"]["min_margin"]))


def check_case(name, root):
    """Recomputes the goldens of one committed fixture; returns a list of disagreements."""
    folder = os.path.join(root, name)
    with open(os.path.join(folder, "golden.json")) as f:
        golden = json.load(f)
    committed = read_safetensors(os.path.join(folder, "golden.safetensors"))[0]
    tensors, info, cfg, frozen, lora, scale = compute_goldens(folder, golden["batch"])
    problems = []
    for n, t in tensors:
        c = committed.get(n)
        if c is None or c.shape != t.shape or c.dtype != t.dtype:
            problems.append("%s: %s missing or of another shape/dtype" % (name, n))
            continue
        worst = float((c.double() - t.double()).abs().max()) if t.numel() else 0.0
        scale_ref = max(1.0, float(t.double().abs().max())) if t.numel() else 1.0
        allowed = (2 ** -7 if t.dtype == torch.bfloat16 else 1e-6) * scale_ref
        if worst > allowed:
            problems.append("%s: %s differs by %.3g (allowed %.3g)" % (name, n, worst, allowed))
    for key in ("loss_base", "loss_lora"):
        if abs(info[key] - golden[key]) > 1e-9:
            problems.append("%s: %s %.12f != committed %.12f" % (name, key, info[key], golden[key]))
    gen = golden["generate"]
    lora64 = {k: (a.double(), b.double()) for k, (a, b) in lora.items()}
    fwd = family(cfg).forward
    if ref.greedy(cfg, frozen, gen["prompt"], gen["max_new_tokens"], forward_fn=fwd)[0] != gen["greedy"]:
        problems.append("%s: greedy ids differ" % name)
    if ref.greedy(cfg, frozen, gen["prompt"], gen["max_new_tokens"], lora64, scale, forward_fn=fwd)[0] != gen["greedy_lora"]:
        problems.append("%s: greedy ids with the adapter differ" % name)
    if name in TRAIN_CASES:
        problems += train_ref.check_training_goldens(folder, golden["batch"])
    if name in QUANT_CASES:
        problems += quant_ref.check_quant_goldens(folder, golden["batch"])
    # Self-consistency: base + adapter equals the merged model (exactly for fp32 up to rounding).
    d = dict(tensors)
    diff = float((d["logits_merged"] - d["logits_lora"]).abs().max())
    bound = (1e-4 if golden["dtype"] == "float32" else 0.5) * max(1.0, float(d["logits_lora"].abs().max()))
    if diff > bound:
        problems.append("%s: merged logits differ from base+adapter by %.3g" % (name, diff))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="rebuild checkpoints, adapters and goldens")
    parser.add_argument("--check", action="store_true", help="recompute goldens from the committed files")
    parser.add_argument("--root", default=FIXTURES)
    parser.add_argument("--only", help="comma-separated case names (default: every case)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cases = [c for c in CASES if not args.only or c["name"] in args.only.split(",")]
    if args.write:
        for case in cases:
            build_case(case, args.root)
    if args.check or not args.write:
        problems = []
        for case in cases:
            problems += check_case(case["name"], args.root)
        for p in problems:
            print("MISMATCH " + p)
        print("reference check: %d cases, %d mismatches" % (len(cases), len(problems)))
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
