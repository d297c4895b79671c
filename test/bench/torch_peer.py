"""PyTorch peer of the native engine's CPU benchmarks (run with /usr/bin/python3; needs Debian's
python3-torch and numpy with libopenblas0-pthread installed; installs nothing).

  torch_peer.py step MODEL MODE DTYPE STEPS THREADS [CKPT 0|1] [WARMUP, default 1]
      A plain PyTorch Llama (RMSNorm, RoPE, GQA attention with a causal mask, SwiGLU) with LoRA
      (frozen base, A/B adapters, AdamW) or full fine-tuning, random weights, micro-batch 4; the
      same shapes and FLOP formula as native/bench/bench_cpu_step.cpp. DTYPE bf16 stores the
      frozen weights in bfloat16 and widens them per matmul (fp32 compute), like the engine.
  torch_peer.py gemm THREADS [MODEL]
      OpenBLAS sgemm through numpy on the GEMM shapes of native/bench/bench_cpu_gemm.cpp.

Fair peer: test/bench/run.mjs starts this script with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset
(set, they pin OpenBLAS to older kernels, e.g. AVX2 Haswell on an AVX-512 machine). Each command
first prints which OpenBLAS kernel family it loaded (threadpoolctl when installed, else the
library's own openblas_get_config string), and checks its first result against fp64 (the GEMM
output; the step's first loss against an fp64 forward of the same seeded model): a peer that
computes wrong is refused with a message on stderr and a "refused" record, and prints no number.
Prints a readable line and a "json {...}" line per result (read by test/bench/run.mjs).
Legend: C hidden, F intermediate, V vocab, L layers, H / KVH heads, T sequence length.
"""
import json
import os
import resource
import sys
import time

MODELS = {  # name: (V, C, F, L, H, KVH, T, tied)
    'stories': (32000, 288, 768, 6, 6, 6, 256, False),
    'smollm': (49152, 576, 1536, 30, 9, 3, 512, True),
}
# (model, name, op, M, N, K): op f = x.W^T, d = dy.W, w = dy^T.x (as in bench_cpu_gemm.cpp)
SHAPES = [
    ('stories', 'q/k/v/o fwd', 'f', 1024, 288, 288), ('stories', 'gate/up fwd', 'f', 1024, 768, 288),
    ('stories', 'down fwd', 'f', 1024, 288, 768), ('stories', 'head fwd', 'f', 262, 32000, 288),
    ('stories', 'q/o dx', 'd', 1024, 288, 288), ('stories', 'down dx', 'd', 1024, 768, 288),
    ('stories', 'gate/up dx', 'd', 1024, 288, 768), ('stories', 'gate dW', 'w', 768, 288, 1024),
    ('stories', 'head dx', 'd', 262, 288, 32000),
    ('smollm', 'q/o fwd', 'f', 2048, 576, 576), ('smollm', 'k/v fwd', 'f', 2048, 192, 576),
    ('smollm', 'gate/up fwd', 'f', 2048, 1536, 576), ('smollm', 'down fwd', 'f', 2048, 576, 1536),
    ('smollm', 'head fwd', 'f', 170, 49152, 576), ('smollm', 'q/o dx', 'd', 2048, 576, 576),
    ('smollm', 'down dx', 'd', 2048, 1536, 576), ('smollm', 'gate/up dx', 'd', 2048, 576, 1536),
    ('smollm', 'gate dW', 'w', 1536, 576, 2048), ('smollm', 'head dx', 'd', 170, 576, 49152),
]


# A peer's result within this relative error of fp64 counts as right (fp32 accumulation over K up
# to 49152 stays near 1e-6; a wrong kernel is off by O(1)).
GEMM_TOLERANCE = 1e-4
LOSS_TOLERANCE = 1e-4


def blas_info():
    """The OpenBLAS this process loaded: version, kernel family (core name), threads."""
    try:
        from threadpoolctl import threadpool_info
        for lib in threadpool_info():
            if lib.get('internal_api') == 'openblas':
                return dict(source='threadpoolctl', version=lib.get('version'), core=lib.get('architecture'),
                            threads=lib.get('num_threads'), path=lib.get('filepath'))
    except ImportError:
        pass
    import ctypes
    paths = sorted({line.split()[-1] for line in open('/proc/self/maps') if 'openblas' in line and '/' in line})
    for path in paths:
        try:
            lib = ctypes.CDLL(path)  # already loaded: the same handle
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return dict(source='openblas_get_config', config=lib.openblas_get_config().decode(),
                        core=lib.openblas_get_corename().decode(), threads=lib.openblas_get_num_threads(), path=path)
        except (OSError, AttributeError):
            continue
    return dict(source='none', core='no OpenBLAS loaded')


def report_blas(peer):
    info = blas_info()
    env = ', '.join(f'{k}={os.environ[k]}' for k in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE') if k in os.environ)
    emit(f'{peer}: OpenBLAS kernels {info.get("core")} ({info.get("config") or info.get("version")}, '
         f'{info.get("threads")} threads, via {info["source"]}){"; environment pins " + env if env else ""}',
         dict(kind='blas', peer=peer, pinned=env, **info))


def refuse(peer, what, err, tol):
    print(f'{peer} refused: {what} is off from fp64 by {err:.3g} (relative; allowed {tol:g}), '
          f'so its timings are not reported', file=sys.stderr)
    print('json ' + json.dumps(dict(kind='refused', peer=peer, what=what, rel_error=err)), flush=True)


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(text, record):
    print(text)
    print('json ' + json.dumps(record), flush=True)


def gemm(threads, which):
    import numpy as np
    rng = np.random.default_rng(0)
    report_blas('numpy')
    for model, name, op, M, N, K in SHAPES:
        if which not in ('all', model):
            continue
        a = rng.standard_normal((M, K) if op != 'w' else (K, M), dtype=np.float32)
        b = rng.standard_normal((N, K) if op == 'f' else (K, N), dtype=np.float32)
        c = np.empty((M, N), dtype=np.float32)
        if op == 'f':
            call = lambda: np.matmul(a, b.T, out=c)
        elif op == 'd':
            call = lambda: np.matmul(a, b, out=c)
        else:
            call = lambda: np.matmul(a.T, b, out=c)
        call()  # first call: checked against fp64
        ref = (a.astype(np.float64).T if op == 'w' else a.astype(np.float64)) @ \
            (b.astype(np.float64).T if op == 'f' else b.astype(np.float64))
        err = float(np.linalg.norm(c - ref) / np.linalg.norm(ref))
        if not err <= GEMM_TOLERANCE:
            refuse('openblas', f'sgemm {model} {name} ({M}x{N}x{K})', err, GEMM_TOLERANCE)
            continue
        best_wall = best_cpu = 0.0
        for _ in range(2):
            w0, c0, reps = time.perf_counter(), time.process_time(), 0
            while True:
                call()
                reps += 1
                if time.perf_counter() - w0 >= 0.15:
                    break
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            fl = 2.0 * M * N * K * reps
            best_wall, best_cpu = max(best_wall, fl / wall / 1e9), max(best_cpu, fl / max(cpu, 1e-9) / 1e9)
        emit(f'openblas {model:7s} {name:12s} {op} M {M:5d} N {N:5d} K {K:5d} fp32: {best_wall:6.1f} GFLOP/s wall, '
             f'{best_cpu:6.1f} per CPU-second',
             dict(kind='gemm', system='openblas', model=model, name=name, op=op, M=M, N=N, K=K, dtype='fp32',
                  wall_gflops=round(best_wall, 2), cpu_gflops=round(best_cpu, 2), threads=threads,
                  rel_error_fp64=err))


def step(model, mode, dtype, steps, threads, ckpt, warmup):
    import torch
    import torch.nn.functional as Fn
    import torch.utils.checkpoint
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    V, C, F, L, H, KVH, T, tied = MODELS[model]
    B, HD = 4, C // H
    base_rss = rss_mib()
    wdt = torch.bfloat16 if dtype == 'bf16' else torch.float32
    full = mode == 'full'
    r, targets = (8, {'q', 'v'}) if mode == 'qv8' else (16, {'q', 'k', 'v', 'o', 'gate', 'up', 'down'})

    class Linear(torch.nn.Module):
        """y = x W^T (+ LoRA: scale * x A^T B^T); frozen W stored in wdt, widened per call."""

        def __init__(self, out_f, in_f, lora):
            super().__init__()
            w = (torch.rand(out_f, in_f) * 2 - 1) * 0.05
            self.weight = torch.nn.Parameter(w if full else w.to(wdt), requires_grad=full)
            self.lora = lora and not full
            if self.lora:
                self.A = torch.nn.Parameter(torch.randn(r, in_f) / in_f ** 0.5)
                self.B = torch.nn.Parameter(torch.zeros(out_f, r))
                self.scale = 2.0  # alpha / r with alpha = 2r

        def forward(self, x):
            y = Fn.linear(x, self.weight if self.weight.dtype == x.dtype else self.weight.to(x.dtype))
            if self.lora:
                y = y + Fn.linear(Fn.linear(x, self.A), self.B) * self.scale
            return y

    class RMSNorm(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.ones(C), requires_grad=full)

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.weight

    inv = 1.0 / (10000.0 ** (torch.arange(0, HD, 2).float() / HD))
    ang = torch.outer(torch.arange(T).float(), inv)
    cos, sin = torch.cat([ang.cos(), ang.cos()], -1), torch.cat([ang.sin(), ang.sin()], -1)
    mask = torch.full((T, T), float('-inf')).triu(1)

    cdt = [torch.float32]  # compute dtype: float64 for the one-off reference forward

    def rope(x):  # (B, heads, T, HD), rotate-half convention
        x1, x2 = x[..., :HD // 2], x[..., HD // 2:]
        return x * cos.to(x.dtype) + torch.cat([-x2, x1], -1) * sin.to(x.dtype)

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.n1, self.n2 = RMSNorm(), RMSNorm()
            self.q, self.k = Linear(H * HD, C, 'q' in targets), Linear(KVH * HD, C, 'k' in targets)
            self.v, self.o = Linear(KVH * HD, C, 'v' in targets), Linear(C, H * HD, 'o' in targets)
            self.gate, self.up = Linear(F, C, 'gate' in targets), Linear(F, C, 'up' in targets)
            self.down = Linear(C, F, 'down' in targets)

        def forward(self, x):
            h = self.n1(x)
            q = rope(self.q(h).view(B, T, H, HD).transpose(1, 2))
            k = rope(self.k(h).view(B, T, KVH, HD).transpose(1, 2)).repeat_interleave(H // KVH, 1)
            v = self.v(h).view(B, T, KVH, HD).transpose(1, 2).repeat_interleave(H // KVH, 1)
            att = torch.softmax(q @ k.transpose(-1, -2) / HD ** 0.5 + mask.to(q.dtype), -1) @ v
            x = x + self.o(att.transpose(1, 2).reshape(B, T, C))
            h = self.n2(x)
            return x + self.down(Fn.silu(self.gate(h)) * self.up(h))

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            emb = (torch.rand(V, C) * 2 - 1) * 0.05
            self.emb = torch.nn.Parameter(emb if full else emb.to(wdt), requires_grad=full)
            self.blocks = torch.nn.ModuleList([Block() for _ in range(L)])
            self.norm = RMSNorm()
            self.head = None if tied else Linear(V, C, False)

        def forward(self, tokens):
            x = self.emb[tokens].to(cdt[0])
            for blk in self.blocks:
                x = torch.utils.checkpoint.checkpoint(blk, x, use_reentrant=False) if ckpt else blk(x)
            x = self.norm(x)
            return self.head(x) if self.head else Fn.linear(x, self.emb.to(x.dtype))

    report_blas('torch')
    m = Model()
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=3e-4, weight_decay=0.01)
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, V, (B, T + 1), generator=g)
    inp, tgt = tokens[:, :-1], tokens[:, 1:]

    def one():
        loss = Fn.cross_entropy(m(inp).view(-1, V), tgt.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in m.parameters() if p.requires_grad], 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    losses = [one() for _ in range(warmup)]
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        losses.append(one())
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    rss_peak = rss_mib()
    # the first step's loss against an fp64 forward of the same seeded model (built after the timing,
    # so its memory is not in the peak RSS)
    del m, opt
    torch.manual_seed(0)
    cdt[0] = torch.float64
    with torch.no_grad():
        ref = Fn.cross_entropy(Model().double()(inp).view(-1, V), tgt.reshape(-1)).item()
    err = abs(losses[0] - ref) / abs(ref)
    if not err <= LOSS_TOLERANCE:
        refuse('torch', f'step {model} {mode} {dtype} first loss {losses[0]:.6f} vs fp64 {ref:.6f}', err, LOSS_TOLERANCE)
        return
    HDf = float(HD)
    nmat = L * (C * H * HDf + 2 * C * KVH * HDf + H * HDf * C + 3 * C * F) + V * C
    attn = 2.0 * T * H * HDf * L
    per_token = (6 if full else 4) * nmat + 3 * attn + ((2 * nmat + attn) if ckpt else 0)
    tok = B * T * steps
    rec = dict(kind='step', system='torch', model=model, mode=mode, dtype=dtype, ckpt=int(ckpt), threads=threads,
               steps=steps, warmup=warmup, tokens_per_s=round(tok / wall, 2), tokens_per_cpu_s=round(tok / cpu, 2),
               gflops=round(per_token * tok / wall / 1e9, 2), gflops_cpu=round(per_token * tok / cpu / 1e9, 2),
               rss_peak_mib=round(rss_peak, 1), rss_base_mib=round(base_rss, 1), loss_rel_error_fp64=err)
    emit(f'torch step {model} {mode} {dtype}{" ckpt" if ckpt else ""} (B {B} x T {T}, {steps} steps after {warmup} warm-up): '
         f'{tok / wall:.0f} tokens/s wall, {tok / cpu:.0f} tokens per CPU-second, {rec["gflops"]:.1f} GFLOP/s wall, '
         f'peak RSS {rec["rss_peak_mib"]:.1f} MiB ({base_rss:.1f} after import)', rec)


def main(argv):
    if len(argv) >= 2 and argv[0] == 'gemm':
        threads = int(argv[1])
        for var in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS'):
            os.environ[var] = str(threads)  # before numpy loads OpenBLAS
        gemm(threads, argv[2] if len(argv) > 2 else 'all')
    elif len(argv) >= 6 and argv[0] == 'step':
        os.environ['OMP_NUM_THREADS'] = argv[5]
        step(argv[1], argv[2], argv[3], int(argv[4]), int(argv[5]), len(argv) > 6 and argv[6] == '1',
             int(argv[7]) if len(argv) > 7 else 1)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
