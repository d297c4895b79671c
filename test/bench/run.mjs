// CPU benchmark runner: the native engine next to its peers in one run, interleaved (the machines
// here are shared and noisy). GEMM: bench_cpu_gemm vs OpenBLAS sgemm via numpy, two rounds, best
// of each; training steps: bench_cpu_step vs test/bench/torch_peer.py (plain PyTorch), alternating
// who goes first. Prints one table with wall-clock and per-CPU-second numbers and their ratios.
// Needs the native benchmarks built (npm run bench builds them into build/native) and
// /usr/bin/python3 with python3-torch, numpy and libopenblas0-pthread; installs nothing.
// Usage: node test/bench/run.mjs [--build DIR] [--threads N] [--quick] [--all] [--no-peer]
//   --quick: stories15M only; --all: every SmolLM configuration (default: LoRA q,v r 8, bf16).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism, cpus, loadavg } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const buildDir = resolve(root, opt('--build', 'build/native'));
const threads = Number(opt('--threads', String(availableParallelism())));
const quick = args.includes('--quick');
const peer = !args.includes('--no-peer');
const python = opt('--python', '/usr/bin/python3');
const peerScript = join(root, 'test/bench/torch_peer.py');

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    process.stderr.write(`${cmd} ${argv.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr ?? ''}${r.error ?? ''}\n`);
    return [];
  }
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('json '))
    .map((l) => JSON.parse(l.slice(5)));
}
const engine = (name, argv) => run(join(buildDir, name), argv);
const torch = (argv) => (peer ? run(python, [peerScript, ...argv]) : []);

for (const name of ['bench_cpu_gemm', 'bench_cpu_step']) {
  if (!existsSync(join(buildDir, name))) {
    console.error(`${join(buildDir, name)} is missing: build the native benchmarks first (npm run bench builds them)`);
    process.exit(1);
  }
}
if (peer && !existsSync(python)) console.error(`${python} not found: the PyTorch / OpenBLAS columns stay empty`);

const t0 = Date.now();
const models = quick ? 'stories' : 'all';
const f1 = (x) => (x === undefined ? '-' : x.toFixed(1));
const f0 = (x) => (x === undefined ? '-' : x.toFixed(0));
const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? '-' : (a / b).toFixed(2));
const pad = (s, n) => String(s).padStart(n);

// ---- GEMM: two interleaved rounds, best of each per shape --------------------------------------
const best = new Map();
let peak;
for (let round = 0; round < 2; ++round) {
  const order = round === 0 ? ['engine', 'openblas'] : ['openblas', 'engine'];
  for (const who of order) {
    const rows = who === 'engine' ? engine('bench_cpu_gemm', [String(threads), models]) : torch(['gemm', String(threads), models]);
    for (const r of rows) {
      if (r.kind === 'peak') {
        peak = peak && peak.cpu_gflops >= r.cpu_gflops ? peak : r;
        continue;
      }
      const key = `${who}|${r.model}|${r.name}|${r.op}|${r.dtype}`;
      const prev = best.get(key);
      best.set(key, {
        ...r,
        wall_gflops: Math.max(prev?.wall_gflops ?? 0, r.wall_gflops),
        cpu_gflops: Math.max(prev?.cpu_gflops ?? 0, r.cpu_gflops),
      });
    }
  }
}
console.log(
  `machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores usable, ${threads} threads, ` +
    `load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}; ${new Date().toISOString()}`,
);
if (peak) {
  console.log(
    `FMA peak (${peak.isa}, independent FMA chains on every thread, no memory traffic): ` +
      `${f1(peak.wall_gflops)} GFLOP/s wall with ${peak.threads} threads, ${f1(peak.cpu_gflops_1t)} GFLOP/s per CPU-second (one core)`,
  );
}
console.log('\nGEMM (GFLOP/s; "per CPU-s" divides by process CPU time; %peak = per CPU-s / one-core FMA peak)');
console.log(
  `${'model'.padEnd(8)}${'shape'.padEnd(13)}op ${'M'.padStart(5)} ${'N'.padStart(5)} ${'K'.padStart(5)} dtype ` +
    `${pad('eng wall', 9)}${pad('eng/CPU-s', 10)}${pad('%peak', 6)}${pad('blas wall', 10)}${pad('blas/CPU-s', 11)}${pad('x blas', 7)}`,
);
for (const [key, r] of best) {
  if (!key.startsWith('engine|')) continue;
  const b = best.get(`openblas|${r.model}|${r.name}|${r.op}|fp32`);
  const pct = peak?.cpu_gflops_1t ? `${((100 * r.cpu_gflops) / peak.cpu_gflops_1t).toFixed(0)}%` : '-';
  console.log(
    `${r.model.padEnd(8)}${r.name.padEnd(13)}${r.op}  ${pad(r.M, 5)} ${pad(r.N, 5)} ${pad(r.K, 5)} ${r.dtype}  ` +
      `${pad(f1(r.wall_gflops), 9)}${pad(f1(r.cpu_gflops), 10)}${pad(pct, 6)}${pad(f1(b?.wall_gflops), 10)}` +
      `${pad(f1(b?.cpu_gflops), 11)}${pad(ratio(r.cpu_gflops, b?.cpu_gflops), 7)}`,
  );
}

// ---- training steps -----------------------------------------------------------------------------
// [model, mode, dtype, timed steps, gradient checkpointing, warm-up steps]
const configs = [
  ['stories', 'qv8', 'fp32', 2, 0, 1],
  ['stories', 'qv8', 'bf16', 2, 0, 1],
  ['stories', 'all16', 'fp32', 2, 0, 1],
  ['stories', 'all16', 'bf16', 2, 0, 1],
  ['stories', 'full', 'fp32', 2, 0, 1],
  ['stories', 'qv8', 'bf16', 2, 1, 1],
];
if (!quick) {
  // SmolLM: one step, timed from the start (first-step allocations included on both sides)
  configs.push(['smollm', 'qv8', 'bf16', 1, 0, 0]);
  if (args.includes('--all')) {
    configs.push(['smollm', 'qv8', 'fp32', 1, 0, 0], ['smollm', 'all16', 'fp32', 1, 0, 0], ['smollm', 'all16', 'bf16', 1, 0, 0]);
  }
}
console.log(
  '\nTraining step, micro-batch 4, random weights (tokens/s wall | tokens per CPU-second; GFLOP/s by the ' +
    'LoRA 4N / full 6N + attention count; peak: engine tracker | process peak RSS, torch RSS after import in brackets)',
);
console.log(
  `${'config'.padEnd(26)}${pad('eng tok/s', 10)}${pad('eng/CPU-s', 10)}${pad('GFLOP/s', 8)}${pad('torch tok/s', 12)}` +
    `${pad('torch/CPU-s', 12)}${pad('x wall', 7)}${pad('x CPU', 6)}${pad('eng MiB', 9)}${pad('eng RSS', 8)}${pad('torch RSS', 16)}`,
);
configs.forEach(([model, mode, dtype, steps, ckpt, warmup], i) => {
  const argv = [model, mode, dtype, String(steps), String(threads), String(ckpt), String(warmup)];
  let e, t;
  // alternate which side runs first, so a change in machine load does not favour one
  if (i % 2 === 0) {
    [e] = engine('bench_cpu_step', argv);
    [t] = torch(['step', ...argv]);
  } else {
    [t] = torch(['step', ...argv]);
    [e] = engine('bench_cpu_step', argv);
  }
  console.log(
    `${`${model} ${mode} ${dtype}${ckpt ? ' ckpt' : ''} ${warmup ? '' : 'cold '}x${steps}`.padEnd(26)}${pad(f0(e?.tokens_per_s), 10)}${pad(f0(e?.tokens_per_cpu_s), 10)}` +
      `${pad(f1(e?.gflops), 8)}${pad(f0(t?.tokens_per_s), 12)}${pad(f0(t?.tokens_per_cpu_s), 12)}` +
      `${pad(ratio(e?.tokens_per_s, t?.tokens_per_s), 7)}${pad(ratio(e?.tokens_per_cpu_s, t?.tokens_per_cpu_s), 6)}` +
      `${pad(f0(e?.peak_mib), 9)}${pad(f0(e?.rss_peak_mib), 8)}${pad(t ? `${f0(t.rss_peak_mib)} (${f0(t.rss_base_mib)})` : '-', 16)}`,
  );
});
console.log(
  `\nx wall / x CPU: engine over PyTorch (> 1: the engine is faster); x blas: engine over OpenBLAS. ` +
    `${((Date.now() - t0) / 1000).toFixed(0)} s in all.`,
);
