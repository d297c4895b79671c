# Reference training runs for the engine's optimizer path: a few steps of LoRA or full finetuning
# on a fixture's golden batch with torch.optim.AdamW / SGD, global-norm clipping
# (torch.nn.utils.clip_grad_norm_) and the learning-rate schedules, recording loss, gradient norm,
# learning rate per step and the final parameters. Uses llama_ref for the model (parallel_ref for Phi / Falcon).
import math

import torch

import llama_ref as ref
import parallel_ref

# Each run: what the engine is configured with (EngineOptions names) and how many optimizer steps.
RUNS = {
    "lora_adamw_cosine": dict(method="lora", optimizer="adamw", learning_rate=1e-2, weight_decay=0.01, beta1=0.9,
                              beta2=0.999, eps=1e-8, lr_schedule="cosine", warmup_steps=2, total_steps=6,
                              min_lr=1e-3, grad_clip=1.0, steps=6),
    "full_sgd_constant": dict(method="full", optimizer="sgd", learning_rate=0.02, momentum=0.9, weight_decay=0.01,
                              lr_schedule="constant", warmup_steps=0, total_steps=4, min_lr=0.0, grad_clip=5.0,
                              steps=4),
    "full_adamw_linear": dict(method="full", optimizer="adamw", learning_rate=3e-3, weight_decay=0.0, beta1=0.9,
                              beta2=0.95, eps=1e-8, lr_schedule="linear", warmup_steps=1, total_steps=4, min_lr=0.0,
                              grad_clip=0.0, steps=4),
}


def schedule_lr(o, step):
    """lr of 0-based step: warmup peak*(step+1)/warmup, then cosine / linear from peak to min_lr over
    total_steps - warmup_steps (progress clamped to [0, 1]), or constant."""
    peak, floor = o["learning_rate"], o["min_lr"]
    if o["warmup_steps"] > 0 and step < o["warmup_steps"]:
        return peak * (step + 1) / o["warmup_steps"]
    decay = max(1, o["total_steps"] - o["warmup_steps"])
    progress = min(1.0, max(0.0, (step - o["warmup_steps"]) / decay))
    if o["lr_schedule"] == "constant":
        return peak
    if o["lr_schedule"] == "linear":
        return peak + (floor - peak) * progress
    return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def run(cfg, stored, lora_stored, scale, batch, o, dtype=torch.float64):
    """Returns (losses, grad_norms, lrs, final named params) computed in `dtype`."""
    tokens = torch.tensor(batch["tokens"])
    targets = torch.tensor(batch["targets"])
    lengths = torch.tensor(batch["lengths"])
    if o["method"] == "full":
        params = {n: t.to(dtype).clone().requires_grad_(True) for n, t in stored.items()}
        trainable = list(params.items())
        lora = None
    else:
        params = {n: t.to(dtype) for n, t in stored.items()}
        lora = {m: (a.to(dtype).clone().requires_grad_(True), b.to(dtype).clone().requires_grad_(True))
                for m, (a, b) in lora_stored.items()}
        trainable = []
        for m, (a, b) in lora.items():
            trainable.append(("base_model.model.%s.lora_A.weight" % m, a))
            trainable.append(("base_model.model.%s.lora_B.weight" % m, b))
    tensors = [t for _, t in trainable]
    if o["optimizer"] == "adamw":
        opt = torch.optim.AdamW(tensors, lr=o["learning_rate"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                                weight_decay=o["weight_decay"])
    else:
        opt = torch.optim.SGD(tensors, lr=o["learning_rate"], momentum=o["momentum"], weight_decay=o["weight_decay"])
    losses, norms, lrs = [], [], []
    for step in range(o["steps"]):
        lr = schedule_lr(o, step)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad()
        forward = parallel_ref.forward if parallel_ref.is_parallel(cfg) else ref.forward
        logits = forward(cfg, params, tokens, lengths, lora, scale)
        loss, _ = ref.loss_and_count(logits, targets)
        loss.backward()
        norm = math.sqrt(sum(float((t.grad.double() ** 2).sum()) for t in tensors))
        if o["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(tensors, o["grad_clip"])  # coef = max / (norm + 1e-6), capped at 1
        opt.step()
        losses.append(float(loss))
        norms.append(norm)
        lrs.append(lr)
    return losses, norms, lrs, [(n, t.detach().float()) for n, t in trainable]


def _load(folder):
    import os

    cfg, stored = ref.load_checkpoint(folder)
    _, lora_stored, scale = ref.load_adapter(os.path.join(folder, "adapter"))
    return cfg, stored, lora_stored, scale


def write_training_goldens(folder, batch):
    """train_golden.json (per run: options, losses, grad norms, lrs, tolerances) and
    train_golden.safetensors ("<run>.<param name>": final fp32 parameters)."""
    import json
    import os

    from safetensors_lite import write_safetensors

    cfg, stored, lora_stored, scale = _load(folder)
    out, tensors = {"batch": "golden.json batch (the same batch every step)", "runs": {}}, []
    for name, o in RUNS.items():
        losses, norms, lrs, final = run(cfg, stored, lora_stored, scale, batch, o)
        l32, n32, _, f32 = run(cfg, stored, lora_stored, scale, batch, o, torch.float32)
        # How far a float32 computation of the same run lands: the engine's tolerance is 10x that.
        loss_dev = max(abs(a - b) / max(1.0, abs(a)) for a, b in zip(losses, l32))
        norm_dev = max(abs(a - b) / max(1e-12, abs(a)) for a, b in zip(norms, n32))
        param_dev = max(float((a - b).abs().max()) / max(1e-12, float(a.abs().max())) for (_, a), (_, b) in zip(final, f32))
        out["runs"][name] = {
            "options": {k: v for k, v in o.items() if k != "steps"}, "steps": o["steps"],
            "start": "the fixture's adapter/ (LoRA runs) or the checkpoint's weights (full runs)",
            "losses": losses, "grad_norms": norms, "lrs": lrs,
            "tolerances": {"loss_rel": max(1e-5, 10 * loss_dev), "grad_norm_rel": max(1e-5, 10 * norm_dev),
                           "param_max_abs_rel": max(1e-5, 10 * param_dev)},
            "float32_deviation": {"loss_rel": loss_dev, "grad_norm_rel": norm_dev, "param_max_abs_rel": param_dev},
        }
        tensors += [(name + "." + n, t) for n, t in final]
        print("  %s: loss %.4f -> %.4f; float32 run deviates %.2g (loss), %.2g (grad norm), %.2g (params)" % (
            name, losses[0], losses[-1], loss_dev, norm_dev, param_dev))
    write_safetensors(os.path.join(folder, "train_golden.safetensors"), tensors)
    with open(os.path.join(folder, "train_golden.json"), "w") as f:
        json.dump(out, f, indent=1)


def check_training_goldens(folder, batch):
    """Recomputes every run in float64; returns a list of disagreements with the committed goldens."""
    import json
    import os

    from safetensors_lite import read_safetensors

    with open(os.path.join(folder, "train_golden.json")) as f:
        golden = json.load(f)
    committed = read_safetensors(os.path.join(folder, "train_golden.safetensors"))[0]
    cfg, stored, lora_stored, scale = _load(folder)
    problems = []
    for name, o in RUNS.items():
        g = golden["runs"].get(name)
        if g is None:
            problems.append("%s: run %s missing" % (folder, name))
            continue
        losses, norms, lrs, final = run(cfg, stored, lora_stored, scale, batch, o)
        for key, mine in (("losses", losses), ("grad_norms", norms), ("lrs", lrs)):
            if any(abs(a - b) > 1e-9 * max(1.0, abs(b)) for a, b in zip(mine, g[key])) or len(mine) != len(g[key]):
                problems.append("%s: %s %s differ" % (folder, name, key))
        for n, t in final:
            c = committed.get(name + "." + n)
            if c is None or c.shape != t.shape or float((c - t).abs().max()) > 1e-6 * max(1.0, float(t.abs().max())):
                problems.append("%s: %s final %s differs" % (folder, name, n))
    return problems
