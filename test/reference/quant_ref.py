# Reference of bitsandbytes' 4-bit blockwise quantization as QLoRA uses it (written from
# bitsandbytes' functional.py and kernels.cu, in plain torch): NF4 / FP4 codes in blocks of 64 over
# the flattened weight, scaled by the fp32 reciprocal of the block absmax; double quantization of
# the absmax (minus their mean) with the signed dynamic 8-bit map in blocks of 256. Dequantized
# weights are what a QLoRA forward multiplies with. As in transformers' bnb integration, every
# decoder linear (q, k, v, o, gate, up, down) is quantized; embeddings, norms, biases and lm_head are not.
import torch

NF4 = torch.tensor([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
                    -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
                    0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                    0.7229568362236023, 1.0], dtype=torch.float32)
# FP4 (bitsandbytes' e2m1-like table divided by 12): the 8 magnitudes and their negatives.
FP4_MAGNITUDES = torch.tensor([0.0, 0.0625, 8.0, 12.0, 4.0, 6.0, 2.0, 3.0], dtype=torch.float64) / 12.0
FP4 = torch.cat([FP4_MAGNITUDES, -FP4_MAGNITUDES]).float()

QUANT_MODULES = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
                 "mlp.up_proj", "mlp.down_proj"]
# Every nn.Linear of the decoder blocks, as transformers' bnb integration quantizes them (lm_head stays).
FAMILY_QUANT_MODULES = {
    "phi": ("model.layers.%d.", ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.dense",
                                 "mlp.fc1", "mlp.fc2"]),
    "falcon": ("transformer.h.%d.", ["self_attention.query_key_value", "self_attention.dense", "mlp.dense_h_to_4h",
                                     "mlp.dense_4h_to_h"]),
}


def quant_names(cfg, layer):
    """The weight names quantized in one layer."""
    prefix, modules = FAMILY_QUANT_MODULES.get(cfg.get("model_type"), ("model.layers.%d.", QUANT_MODULES))
    return [(prefix % layer) + m + ".weight" for m in modules]
QUANT_TYPES = ["nf4", "nf4-dq", "fp4", "fp4-dq"]


def create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8):
    """bitsandbytes.functional.create_dynamic_map, as published. Its torch.linspace rounds differently
    across torch versions and CPUs, so a few of the 256 values may differ by one ulp elsewhere."""
    data = []
    non_sign_bits = total_bits - 1
    for i in range(max_exponent_bits):
        fraction_items = int(2 ** (i + non_sign_bits - max_exponent_bits) + 1 if signed
                             else 2 ** (i + non_sign_bits - max_exponent_bits + 1) + 1)
        boundaries = torch.linspace(0.1, 1, fraction_items)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        data += ((10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
        if signed:
            data += (-(10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
    data.append(0)
    data.append(1.0)
    data.sort()
    return torch.tensor(data, dtype=torch.float32)


def quantize_dynamic8(code, x):
    """kernels.cu dQuantize<0, 1>: a 7-step binary search over the sorted map, then the nearer neighbour."""
    import numpy as np

    c = code.numpy()
    x = np.float32(x)
    pivot, upper_pivot, lower_pivot = 127, 255, 0
    lower, upper = np.float32(-1.0), np.float32(1.0)
    val = c[pivot]
    step = 64
    while step > 0:
        if x > val:
            lower_pivot, lower = pivot, val
            pivot += step
        else:
            upper_pivot, upper = pivot, val
            pivot -= step
        val = c[pivot]
        step >>= 1
    if upper_pivot == 255:
        upper = c[upper_pivot]
    if lower_pivot == 0:
        lower = c[lower_pivot]
    if x > val:
        midpoint = np.float32((upper + val) * np.float32(0.5))
        return upper_pivot if x > midpoint else pivot
    midpoint = np.float32((lower + val) * np.float32(0.5))
    return lower_pivot if x < midpoint else pivot


# kernels.cu dQuantizeNF4's pivots (strict '>' at every node of a balanced tree over the sorted
# table, so the code is the number of pivots below x).
NF4_PIVOTS = torch.tensor([-0.8480964004993439, -0.6106329262256622, -0.4599952697753906, -0.33967943489551544,
                           -0.23460740596055984, -0.13791173323988914, -0.045525018125772476, 0.03979014977812767,
                           0.1202552504837513, 0.2035212516784668, 0.2920137718319893, 0.3893125355243683,
                           0.5016634166240692, 0.6427869200706482, 0.8614784181118011], dtype=torch.float32)
# kernels.cu dQuantizeFP4: its literal pivots on |x| (rounded decimals, not exact midpoints) and the
# 3-bit code of each interval; bit 3 is the sign (x < 0).
FP4_PIVOTS = torch.tensor([0.00260417, 0.0859375, 0.20833333, 0.29166667, 0.4166667, 0.583333, 0.8333333],
                          dtype=torch.float32)
FP4_INTERVAL_CODE = torch.tensor([0b000, 0b001, 0b110, 0b111, 0b100, 0b101, 0b010, 0b011])


def quantize_4bit_codes(values, qtype):
    """values (n,) already scaled into [-1, 1] -> codes (n,) as bitsandbytes' decision trees choose them."""
    if qtype.startswith("nf4"):
        return (values[:, None] > NF4_PIVOTS[None, :]).sum(dim=1)
    interval = (values.abs()[:, None] > FP4_PIVOTS[None, :]).sum(dim=1)
    return FP4_INTERVAL_CODE[interval] + torch.where(values < 0, 8, 0)


def quantize_dequantize(weight, qtype):
    """weight (OUT, IN) in its stored dtype -> the fp32 weight a QLoRA forward uses."""
    flat = weight.float().reshape(-1)
    n = flat.numel()
    blocks = (n + 63) // 64
    padded = torch.zeros(blocks * 64, dtype=torch.float32)
    padded[:n] = flat
    padded = padded.reshape(blocks, 64)
    absmax = padded.abs().max(dim=1).values  # (blocks,) fp32
    scaled = padded * (1.0 / absmax)[:, None]  # reciprocal scaling, as the CUDA kernel
    codebook = NF4 if qtype.startswith("nf4") else FP4
    codes = quantize_4bit_codes(scaled.reshape(-1), qtype).reshape(blocks, 64)
    if qtype.endswith("-dq"):
        offset = absmax.mean()
        centered = absmax - offset
        dyn = create_dynamic_map()
        restored = torch.empty_like(absmax)
        for b0 in range(0, blocks, 256):
            part = centered[b0 : b0 + 256]
            scale2 = part.abs().max()
            inv = 1.0 / scale2
            q = [quantize_dynamic8(dyn, float(v * inv)) for v in part]
            restored[b0 : b0 + 256] = dyn[torch.tensor(q)] * scale2
        absmax = restored + offset
    dequant = codebook[codes] * absmax[:, None]
    return dequant.reshape(-1)[:n].reshape(weight.shape)


def quantized_weights(cfg, stored, qtype):
    """The checkpoint's tensors with every decoder linear replaced by its dequantized fp32 version."""
    out = dict(stored)
    for layer in range(cfg["num_hidden_layers"]):
        for name in quant_names(cfg, layer):
            out[name] = quantize_dequantize(stored[name], qtype)
    return out


def compute_quant_goldens(folder, batch):
    """(tensors, info): per quant type, base and base + adapter logits / losses with the quantized
    linears, the layer-0 dequantized weights, and (nf4) the LoRA gradients."""
    import os

    import llama_ref as ref
    import parallel_ref

    cfg, stored = ref.load_checkpoint(folder)
    forward = parallel_ref.forward if parallel_ref.is_parallel(cfg) else ref.forward
    _, lora_stored, scale = ref.load_adapter(os.path.join(folder, "adapter"))
    tokens, targets, lengths = (torch.tensor(batch[k]) for k in ("tokens", "targets", "lengths"))
    tensors, info = [("dynamic_map", create_dynamic_map())], {}
    for qtype in QUANT_TYPES:
        qweights = quantized_weights(cfg, stored, qtype)
        for name in quant_names(cfg, 0):
            tensors.append(("dequant.%s.%s" % (qtype, name), qweights[name].float()))
        params = {n: t.double() for n, t in qweights.items()}
        logits = forward(cfg, params, tokens, lengths)
        loss, _ = ref.loss_and_count(logits, targets)
        lora = {m: (a.double().requires_grad_(qtype == "nf4"), b.double().requires_grad_(qtype == "nf4"))
                for m, (a, b) in lora_stored.items()}
        logits_lora = forward(cfg, params, tokens, lengths, lora, scale)
        loss_lora, _ = ref.loss_and_count(logits_lora, targets)
        tensors.append(("logits_%s" % qtype, logits.float()))
        tensors.append(("logits_%s_lora" % qtype, logits_lora.detach().float()))
        info["loss_%s" % qtype] = float(loss)
        info["loss_%s_lora" % qtype] = float(loss_lora)
        if qtype == "nf4":
            loss_lora.backward()
            for m, (a, b) in lora.items():
                tensors.append(("grad_lora_nf4.base_model.model.%s.lora_A.weight" % m, a.grad.float()))
                tensors.append(("grad_lora_nf4.base_model.model.%s.lora_B.weight" % m, b.grad.float()))
    return tensors, info


def write_quant_goldens(folder, batch):
    import json
    import os

    from safetensors_lite import write_safetensors

    tensors, info = compute_quant_goldens(folder, batch)
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    info["quantized"] = [n.replace(".0.", ".*.", 1) for n in quant_names(cfg, 0)]
    info["note"] = ("bitsandbytes blockwise 4-bit (blocks of 64 over the flattened weight, fp32 reciprocal of the "
                    "absmax, nearest code); -dq: absmax minus its mean quantized with the signed dynamic 8-bit map "
                    "in blocks of 256. Forward in float64 over the fp32 dequantized weights; embeddings, norms, "
                    "biases and lm_head stay as stored. Batch and adapter as golden.json / adapter/.")
    write_safetensors(os.path.join(folder, "quant_golden.safetensors"), tensors)
    with open(os.path.join(folder, "quant_golden.json"), "w") as f:
        json.dump(info, f, indent=1)
    print("  quantized: " + ", ".join("%s %.4f" % (q, info["loss_%s" % q]) for q in QUANT_TYPES))


def check_quant_goldens(folder, batch):
    import json
    import os

    from safetensors_lite import read_safetensors

    with open(os.path.join(folder, "quant_golden.json")) as f:
        golden = json.load(f)
    committed = read_safetensors(os.path.join(folder, "quant_golden.safetensors"))[0]
    tensors, info = compute_quant_goldens(folder, batch)
    problems = []
    for n, t in tensors:
        c = committed.get(n)
        if c is None or c.shape != t.shape or float((c - t).abs().max()) > 1e-6 * max(1.0, float(t.abs().max())):
            problems.append("%s: quant golden %s differs" % (folder, n))
    for k, v in info.items():
        if abs(v - golden[k]) > 1e-9:
            problems.append("%s: %s %.12f != committed %.12f" % (folder, k, v, golden[k]))
    return problems
