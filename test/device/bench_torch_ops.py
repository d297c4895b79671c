"""The shapes of bench_cuda_ops.cpp timed in PyTorch (bf16, CUDA), for a side-by-side table:
milliseconds per call by CUDA events, median of 10 after 3 warm-ups. PyTorch uses cuBLAS tensor
cores and fused attention (SDPA), so it is the speed target, not a like-for-like kernel."""
import torch
import torch.nn.functional as F


def time_ms(fn):
    for _ in range(3):
        fn()
    times = []
    for _ in range(10):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def row(op, shape, ms, flops=0.0, nbytes=0.0):
    print(f"| {op:<26} | {shape:<30} | {ms:9.3f} | {flops / ms / 1e9:8.2f} | {nbytes / ms / 1e6:8.1f} |")


def main():
    dev = torch.device("cuda")
    print(f"bench_torch_ops on {torch.cuda.get_device_name(0)}, torch {torch.__version__}\n")
    print(f"| {'op':<26} | {'shape':<30} | {'ms':>9} | {'TFLOP/s':>8} | {'GB/s':>8} |")
    print("|" + "-" * 28 + "|" + "-" * 32 + "|" + "-" * 11 + "|" + "-" * 10 + "|" + "-" * 10 + "|")
    T, HD, V = 512, 128, 32000
    for name, C, Fw, NH, NKV in (("1B", 2048, 8192, 32, 8), ("7B", 4096, 11008, 32, 32)):
        for B in (1, 4):
            N = B * T
            tag = f"{name} mb{B} "
            x = torch.randn(N, C, device=dev, dtype=torch.bfloat16)
            wq = torch.randn(C, C, device=dev, dtype=torch.bfloat16) * 0.02
            wg = torch.randn(Fw, C, device=dev, dtype=torch.bfloat16) * 0.02
            row("linear fwd (q proj)", tag + f"N{N} C{C}", time_ms(lambda: F.linear(x, wq)), 2.0 * N * C * C)
            row("linear fwd (gate proj)", tag + f"F{Fw}", time_ms(lambda: F.linear(x, wg)), 2.0 * N * C * Fw)
            g = torch.randn(N, Fw, device=dev, dtype=torch.bfloat16)
            row("linear bwd dinp (gate)", tag, time_ms(lambda: g @ wg), 2.0 * N * C * Fw)
            row("linear bwd dW (full FT)", tag, time_ms(lambda: g.t() @ x), 2.0 * N * C * Fw)
            q = torch.randn(B, NH, T, HD, device=dev, dtype=torch.bfloat16, requires_grad=True)
            k = torch.randn(B, NKV, T, HD, device=dev, dtype=torch.bfloat16, requires_grad=True)
            flops = 4.0 * B * NH * (T * (T + 1) / 2.0) * HD
            attn = lambda: F.scaled_dot_product_attention(q, k, k, is_causal=True, enable_gqa=NH != NKV)
            with torch.no_grad():
                row("attention fwd (SDPA)", tag + "T512 HD128", time_ms(attn), flops)
            o = attn()
            do = torch.randn_like(o)
            row("attention bwd (SDPA)", tag, time_ms(lambda: torch.autograd.grad(o, (q, k), do, retain_graph=True)),
                2.5 * flops)
            w = torch.ones(C, device=dev, dtype=torch.bfloat16)
            row("rmsnorm fwd", tag, time_ms(lambda: F.rms_norm(x, (C,), w, 1e-5)), 0, 4.0 * N * C)
    logits = torch.randn(512, V, device=dev, dtype=torch.bfloat16)
    tgt = torch.zeros(512, dtype=torch.long, device=dev)
    row("cross_entropy fwd", "N512 V32000", time_ms(lambda: F.cross_entropy(logits.float(), tgt)), 0, 2.0 * 512 * V)


if __name__ == "__main__":
    main()
