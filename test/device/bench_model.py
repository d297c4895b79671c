"""Whole-model LoRA training throughput, LoRA Lab's CUDA model against PyTorch + PEFT, side by side.

A random ~1B-shaped Llama (C 2048, F 8192, 16 layers, 32 heads / 8 kv heads, vocab 32000, bf16) is
saved once; both sides train LoRA r=8 on q_proj / v_proj with AdamW at seq 512, micro-batch 1 and 4:
one warm-up step, then STEPS timed steps (forward, backward, optimizer step). PyTorch runs the
bf16 model with SDPA attention; its peak memory is torch.cuda.max_memory_allocated, LoRA Lab's the
allocator's accounted peak (and the device's used bytes as cudaMemGetInfo sees them).
LoRA Lab also runs the same model as QLoRA (nf4 with double quantization, dequantized per GEMM);
PyTorch's QLoRA needs bitsandbytes, which is run only where it is installed. The 7B shape is not run
(see the printed note). Prints a markdown table.
Usage: bench_model.py --driver BUILD/bench_cuda_compare [--steps 3]"""
import argparse
import json
import subprocess
import tempfile
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

T = 512


def torch_run(model_dir, B, steps, nf4=False):
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    if nf4:
        from transformers import BitsAndBytesConfig
        q = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=torch.bfloat16)
        model = LlamaForCausalLM.from_pretrained(model_dir, quantization_config=q, torch_dtype=torch.bfloat16,
                                                 attn_implementation="sdpa", device_map={"": 0})
    else:
        model = LlamaForCausalLM.from_pretrained(model_dir, torch_dtype=torch.bfloat16,
                                                 attn_implementation="sdpa").cuda()
    pm = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], lora_dropout=0.0,
                                          task_type="CAUSAL_LM"))
    opt = torch.optim.AdamW([p for p in pm.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(0, model.config.vocab_size, (B, T), device="cuda")

    def step():
        loss = pm(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()  # the loss readout synchronises, as LoRA Lab's does

    step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated()
    del pm, model, opt
    torch.cuda.empty_cache()
    return B * T * steps / secs, peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    cfg = LlamaConfig(vocab_size=32000, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                      num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=4096,
                      rms_norm_eps=1e-5, tie_word_embeddings=False)
    model_dir = tempfile.mkdtemp(prefix="loralab_bench1b_")
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = LlamaForCausalLM(cfg).to(torch.bfloat16)
    model.save_pretrained(model_dir, safe_serialization=True)
    n_params = sum(p.numel() for p in model.parameters())
    del model
    torch.cuda.empty_cache()
    print(f"model: random Llama, {n_params / 1e9:.2f} B parameters, C 2048, F 8192, L 16, NH 32, NKV 8, V 32000, "
          f"seq {T}, LoRA r=8 q/v, AdamW, bf16; {args.steps} timed steps after one warm-up\n")
    print("| engine | micro-batch | tokens/s | peak memory (GiB) | note |")
    print("|---|---|---|---|---|")
    try:
        import bitsandbytes  # noqa: F401
        have_bnb = True
    except ImportError:
        have_bnb = False
    for scheme in ("bf16", "nf4-dq"):
        for B in (1, 4):
            run = subprocess.run([args.driver, "--bench", model_dir, str(B), str(T), str(args.steps), scheme],
                                 capture_output=True, text=True, timeout=150)
            if run.returncode == 0:
                r = json.loads(run.stdout.strip().splitlines()[-1])
                print(f"| LoRA Lab CUDA {scheme} | {B} | {r['tokens_per_second']:.0f} | "
                      f"{r['peak_allocator_bytes'] / 2**30:.2f} | device used {r['device_used_bytes'] / 2**30:.2f} GiB; "
                      f"WMMA GEMM, warp-per-row attention |", flush=True)
            else:
                print(f"| LoRA Lab CUDA {scheme} | {B} | failed (exit {run.returncode}) | | "
                      f"{run.stderr.strip()[-200:]} |", flush=True)
            if scheme == "bf16" or have_bnb:
                tps, peak = torch_run(model_dir, B, args.steps, nf4=scheme != "bf16")
                print(f"| PyTorch {torch.__version__} + PEFT {scheme} | {B} | {tps:.0f} | {peak / 2**30:.2f} | "
                      f"max_memory_allocated |", flush=True)
            else:
                print(f"| PyTorch + PEFT {scheme} | {B} | not run | | bitsandbytes is not installed |", flush=True)
    print("\nnot run: the 7B shape (a 13 GB random checkpoint to write and load does not fit the script's 8 minutes)")


if __name__ == "__main__":
    main()
