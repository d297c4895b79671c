"""Random tiny Llama: LoRA Lab's CUDA model (bench_cuda_compare) against PyTorch transformers + peft.

Builds a random LlamaForCausalLM (GQA, untied head), stores it in bf16 (both sides then use the same
weights; the reference runs them in fp32), adds a PEFT LoRA adapter on q_proj / v_proj with random A
and B (init_lora_weights=False, so B != 0 and every gradient is informative), runs the driver, and
compares: logits and loss of the forward, LoRA gradients of the mean loss, and the adapter after one
AdamW step loaded with PeftModel.from_pretrained (its logits against the driver's and against
PyTorch's own step). Tolerances are for a bf16 engine against an fp32 reference; every measured
difference is written to OUT/compare.json. Exit 1 when a check fails.
Usage: compare_torch.py --driver BUILD/bench_cuda_compare --out OUT"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file
from transformers import LlamaConfig, LlamaForCausalLM

B, T, LR = 2, 64, 1e-3
TOL_LOGITS = 3e-2   # max |diff| / max |ref|
TOL_LOSS = 1e-2     # |diff| / ref
TOL_GRAD = 6e-2     # ||diff|| / ||ref|| per tensor


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.manual_seed(0)
    work = tempfile.mkdtemp(prefix="loralab_compare_")
    model_dir, adapter_dir, drv_out = (os.path.join(work, d) for d in ("model", "adapter", "driver"))
    os.makedirs(drv_out)
    cfg = LlamaConfig(vocab_size=512, hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5,
                      tie_word_embeddings=False, initializer_range=0.05, attn_implementation="eager")
    model = LlamaForCausalLM(cfg).to(torch.bfloat16)
    model.save_pretrained(model_dir, safe_serialization=True)
    model = model.float()  # bf16-exact weights, fp32 arithmetic
    lcfg = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], lora_dropout=0.0,
                      init_lora_weights=False, task_type="CAUSAL_LM")
    pm = get_peft_model(model, lcfg)
    pm.save_pretrained(adapter_dir)
    tokens = torch.randint(0, cfg.vocab_size, (B, T), dtype=torch.int32)
    tokens.numpy().tofile(os.path.join(work, "tokens.i32"))
    run = subprocess.run([args.driver, model_dir, adapter_dir, os.path.join(work, "tokens.i32"), str(B), str(T),
                          drv_out, str(LR)], capture_output=True, text=True, timeout=100)
    print(run.stdout, run.stderr)
    if run.returncode != 0:
        print(f"driver failed with exit code {run.returncode}")
        return 1
    drv = json.load(open(os.path.join(drv_out, "result.json")))

    ids = tokens.long()
    targets = torch.full_like(ids, -100)
    targets[:, :-1] = ids[:, 1:]
    V = cfg.vocab_size
    logits = pm(input_ids=ids).logits.float()
    loss = torch.nn.functional.cross_entropy(logits.view(-1, V), targets.view(-1), ignore_index=-100)
    loss.backward()
    ours = torch.from_numpy(np.fromfile(os.path.join(drv_out, "logits.f32"), dtype=np.float32)).view(B, T, V)
    res = {"driver": drv, "loss_ref": loss.item(), "logits_rel_max_diff": rel(ours, logits.detach()),
           "loss_rel_diff": abs(drv["loss"] - loss.item()) / loss.item(), "grads": {}}
    ours_g = load_file(os.path.join(drv_out, "grads", "adapter_model.safetensors"))
    for name, p in pm.named_parameters():
        if p.grad is None:
            continue
        key = name.replace(".default", "")
        g = ours_g[key].float()
        res["grads"][key] = float((g - p.grad).norm() / p.grad.norm().clamp_min(1e-12))
    missing = [k for k in ours_g if k not in res["grads"]]

    opt = torch.optim.AdamW([p for p in pm.parameters() if p.requires_grad], lr=LR, weight_decay=0.0, eps=1e-8)
    opt.step()
    with torch.no_grad():
        logits_ref1 = pm(input_ids=ids).logits.float()
    base = LlamaForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32, attn_implementation="eager")
    loaded = PeftModel.from_pretrained(base, os.path.join(drv_out, "adapter_step1"))
    with torch.no_grad():
        logits_loaded = loaded(input_ids=ids).logits.float()
    ours1 = torch.from_numpy(np.fromfile(os.path.join(drv_out, "logits_step1.f32"), dtype=np.float32)).view(B, T, V)
    res["step1_loaded_vs_driver_rel"] = rel(ours1, logits_loaded)
    res["step1_loaded_vs_torch_step_rel"] = rel(logits_loaded, logits_ref1)

    checks = {
        "logits": res["logits_rel_max_diff"] <= TOL_LOGITS,
        "loss": res["loss_rel_diff"] <= TOL_LOSS,
        "grads": bool(res["grads"]) and not missing and max(res["grads"].values()) <= TOL_GRAD,
        "deterministic_grads": bool(drv["deterministic_grads"]),
        "adapter_loads_and_matches_driver": res["step1_loaded_vs_driver_rel"] <= TOL_LOGITS,
        "adapter_matches_torch_step": res["step1_loaded_vs_torch_step_rel"] <= TOL_LOGITS,
    }
    res["checks"] = checks
    res["tolerances"] = {"logits": TOL_LOGITS, "loss": TOL_LOSS, "grads": TOL_GRAD}
    res["missing_grad_keys"] = missing
    json.dump(res, open(os.path.join(args.out, "compare.json"), "w"), indent=2)
    print(json.dumps(res, indent=2))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
