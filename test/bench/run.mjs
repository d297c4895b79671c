// CPU benchmark runner: the native engine next to its peers in one run, interleaved (the machines
// here are shared and noisy). GEMM: bench_cpu_gemm vs OpenBLAS sgemm via numpy, two rounds, best
// of each; training steps: bench_cpu_step vs test/bench/torch_peer.py (plain PyTorch), three rounds
// alternating who goes first, the fastest run of each side kept; QLoRA (nf4) vs bf16 engine steps,
// A B B A B A A B, the fastest run of each side kept. Prints wall-clock and per-CPU-second numbers,
// % of the measured FMA peak (GEMMs) and model FLOP utilisation (steps), their ratios, and the
// 1-minute load average before each measurement ("*": above 1.5, the numbers are suspect).
// Fair peers: the Python peers run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from their
// environment only (set, they pin OpenBLAS to older kernels, e.g. Haswell AVX2 on AVX-512); each
// peer prints the OpenBLAS kernel family it loaded and is refused if its first result is off fp64.
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

// The peers' environment: ours minus the OpenBLAS pins (this command only; tests and CI keep theirs).
const PINS = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'];
const pinned = PINS.filter((k) => process.env[k] !== undefined).map((k) => `${k}=${process.env[k]}`);
const peerEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !PINS.includes(k)));

const LOAD_MARK = 1.5;
const load = () => loadavg()[0];
const loadCell = (l) => `${l.toFixed(1)}${l > LOAD_MARK ? '*' : ' '}`;

const blasSeen = new Set();
function peerNotes(rows) {
  for (const r of rows) {
    if (r.kind === 'blas' && !blasSeen.has(r.peer)) {
      blasSeen.add(r.peer);
      console.log(`${r.peer} peer: OpenBLAS kernels ${r.core} (${r.config ?? r.version}; ${r.threads} threads; via ${r.source})`);
    } else if (r.kind === 'refused') {
      console.log(`REFUSED ${r.peer} peer: ${r.what} is off from fp64 by ${r.rel_error.toExponential(2)} relative; no number reported`);
    }
  }
  return rows;
}

function run(cmd, argv, env = process.env) {
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24, env });
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
const torch = (argv) => (peer ? peerNotes(run(python, [peerScript, ...argv], peerEnv)) : []);

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
const pct = (x, of) => (x === undefined || !of ? '-' : `${((100 * x) / of).toFixed(0)}%`);

console.log(
  `peers: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from the Python peers' environment` +
    `${pinned.length ? ` (this shell pins ${pinned.join(', ')}; the engine and tests keep them)` : ' (not set here)'}`,
);

// ---- GEMM: two interleaved rounds, best of each per shape --------------------------------------
const best = new Map();
let peak;
const gemmLoads = [];
for (let round = 0; round < 2; ++round) {
  const order = round === 0 ? ['engine', 'openblas'] : ['openblas', 'engine'];
  for (const who of order) {
    gemmLoads.push(load());
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
    `FMA peak (${peak.isa}; bench_cpu_gemm: every thread runs independent FMA chains, more than latency x ports, ` +
      `no memory traffic; best of 3): ${f1(peak.wall_gflops)} GFLOP/s wall with ${peak.threads} threads ` +
      `(${f1(peak.wall_gflops_1t)} with 1), ${f1(peak.cpu_gflops_1t)} GFLOP/s per CPU-second`,
  );
}
console.log(
  `\nGEMM (GFLOP/s, best of 2 interleaved rounds, load ${gemmLoads.map(loadCell).join(' ')}; "/CPU-s" divides by process ` +
    `CPU time; %pk: wall over the ${peak?.threads ?? '?'}-thread peak, /CPU-s over the per-CPU-second peak; x blas: engine over fair OpenBLAS)`,
);
console.log(
  `${'model'.padEnd(8)}${'shape'.padEnd(13)}op ${'M'.padStart(5)} ${'N'.padStart(5)} ${'K'.padStart(5)} dtype ` +
    `${pad('eng wall', 9)}${pad('%pk', 5)}${pad('eng/CPU-s', 10)}${pad('%pk', 5)}${pad('blas wall', 10)}${pad('%pk', 5)}` +
    `${pad('blas/CPU-s', 11)}${pad('%pk', 5)}${pad('x wall', 7)}${pad('x CPU', 6)}`,
);
const byModel = new Map(); // model -> CPU-second ratios (fp32 and bf16 weights)
for (const [key, r] of best) {
  if (!key.startsWith('engine|')) continue;
  const b = best.get(`openblas|${r.model}|${r.name}|${r.op}|fp32`);
  if (b) byModel.set(r.model, [...(byModel.get(r.model) ?? []), r.cpu_gflops / b.cpu_gflops]);
  console.log(
    `${r.model.padEnd(8)}${r.name.padEnd(13)}${r.op}  ${pad(r.M, 5)} ${pad(r.N, 5)} ${pad(r.K, 5)} ${r.dtype}  ` +
      `${pad(f1(r.wall_gflops), 9)}${pad(pct(r.wall_gflops, peak?.wall_gflops), 5)}${pad(f1(r.cpu_gflops), 10)}` +
      `${pad(pct(r.cpu_gflops, peak?.cpu_gflops_1t), 5)}${pad(f1(b?.wall_gflops), 10)}${pad(pct(b?.wall_gflops, peak?.wall_gflops), 5)}` +
      `${pad(f1(b?.cpu_gflops), 11)}${pad(pct(b?.cpu_gflops, peak?.cpu_gflops_1t), 5)}` +
      `${pad(ratio(r.wall_gflops, b?.wall_gflops), 7)}${pad(ratio(r.cpu_gflops, b?.cpu_gflops), 6)}`,
  );
}
for (const [model, rs] of byModel) {
  const geo = Math.exp(rs.reduce((a, x) => a + Math.log(x), 0) / rs.length);
  console.log(
    `${model}: engine / fair OpenBLAS per CPU-second over ${rs.length} shapes: min ${Math.min(...rs).toFixed(2)}x, ` +
      `geomean ${geo.toFixed(2)}x, max ${Math.max(...rs).toFixed(2)}x`,
  );
}

// ---- training steps -----------------------------------------------------------------------------
// [model, mode, dtype, timed steps, gradient checkpointing, warm-up steps]; each measured in
// STEP_ROUNDS processes per side, the fastest kept (two rounds read 62-74% MFU for the same stories15M
// binary in two runs 20 minutes apart; a quiet minute reads 75-78%)
const STEP_ROUNDS = 3;
const configs = [
  ['stories', 'qv8', 'fp32', 2, 0, 1],
  ['stories', 'qv8', 'bf16', 2, 0, 1],
  ['stories', 'all16', 'fp32', 2, 0, 1],
  ['stories', 'all16', 'bf16', 2, 0, 1],
  ['stories', 'full', 'fp32', 2, 0, 1],
  ['stories', 'qv8', 'bf16', 2, 1, 1],
];
if (!quick) {
  // SmolLM: one step after one warm-up step on both sides (the steady state a training run is in; the
  // first step also pays for allocating and faulting in every buffer)
  configs.push(['smollm', 'qv8', 'bf16', 1, 0, 1]);
  if (args.includes('--all')) {
    configs.push(['smollm', 'qv8', 'fp32', 1, 0, 1], ['smollm', 'all16', 'fp32', 1, 0, 1], ['smollm', 'all16', 'bf16', 1, 0, 1]);
  }
}
console.log(
  `\nTraining step, micro-batch 4, random weights, the fastest of ${STEP_ROUNDS} interleaved runs per side ` +
    '(tokens/s wall | tokens per CPU-second; MFU: useful FLOPs by the ' +
    'LoRA 4N / full 6N + attention count over the FMA peak of the threads used, wall | per CPU-second; ' +
    'peak memory: engine tracker | process peak RSS, torch RSS after import in brackets; load: 1-minute average before the row)',
);
console.log(
  `${'config'.padEnd(26)}${pad('load', 6)}${pad('eng tok/s', 10)}${pad('eng/CPU-s', 10)}${pad('MFU', 5)}${pad('MFU/CPU', 8)}` +
    `${pad('torch tok/s', 12)}${pad('torch/CPU-s', 12)}${pad('MFU', 5)}${pad('MFU/CPU', 8)}` +
    `${pad('x wall', 7)}${pad('x CPU', 6)}${pad('eng MiB', 9)}${pad('eng RSS', 8)}${pad('torch RSS', 16)}`,
);
// the fastest run per side (by tokens per CPU-second), as for the GEMMs: a neighbour's burst on
// this shared machine slows a whole run by 5-10%
const faster = (a, b) => (!a ? b : !b ? a : b.tokens_per_cpu_s > a.tokens_per_cpu_s ? b : a);
configs.forEach(([model, mode, dtype, steps, ckpt, warmup], i) => {
  const argv = [model, mode, dtype, String(steps), String(threads), String(ckpt), String(warmup)];
  const l = load();
  let e, t;
  const runEngine = () => (e = faster(e, engine('bench_cpu_step', argv)[0]));
  const runTorch = () =>
    (t = faster(
      t,
      torch(['step', ...argv]).find((r) => r.kind === 'step'),
    ));
  // rounds alternating which side runs first, so a change in machine load does not favour one
  for (let round = 0; round < STEP_ROUNDS; ++round) {
    for (const run of (i + round) % 2 === 0 ? [runEngine, runTorch] : [runTorch, runEngine]) run();
  }
  console.log(
    `${`${model} ${mode} ${dtype}${ckpt ? ' ckpt' : ''} ${warmup ? '' : 'cold '}x${steps}`.padEnd(26)}${pad(loadCell(l), 6)}` +
      `${pad(f0(e?.tokens_per_s), 10)}${pad(f0(e?.tokens_per_cpu_s), 10)}` +
      `${pad(pct(e?.gflops, peak?.wall_gflops), 5)}${pad(pct(e?.gflops_cpu, peak?.cpu_gflops_1t), 8)}` +
      `${pad(f0(t?.tokens_per_s), 12)}${pad(f0(t?.tokens_per_cpu_s), 12)}` +
      `${pad(pct(t?.gflops, peak?.wall_gflops), 5)}${pad(pct(t?.gflops_cpu, peak?.cpu_gflops_1t), 8)}` +
      `${pad(ratio(e?.tokens_per_s, t?.tokens_per_s), 7)}${pad(ratio(e?.tokens_per_cpu_s, t?.tokens_per_cpu_s), 6)}` +
      `${pad(f0(e?.peak_mib), 9)}${pad(f0(e?.rss_peak_mib), 8)}${pad(t ? `${f0(t.rss_peak_mib)} (${f0(t.rss_base_mib)})` : '-', 16)}`,
  );
});
// ---- QLoRA (nf4 frozen block linears) vs bf16: engine only, A B B A B A A B so load drift cancels ---
// Each side's fastest run is the ratio's (a neighbour's burst only ever slows a run; the step rows keep
// the fastest run too); the mean over the interleaved runs is printed beside it.
console.log(
  '\nQLoRA step time over the bf16 step (engine, LoRA r 8 q,v; nf4 and bf16 runs interleaved A B B A B A A B; ' +
    'fastest run per side, mean of all in brackets)',
);
for (const [model, steps, warmup] of quick
  ? [['stories', 2, 1]]
  : [
      ['stories', 2, 1],
      ['smollm', 2, 1],
    ]) {
  const argv = (dtype) => [model, 'qv8', dtype, String(steps), String(threads), '0', String(warmup)];
  const loads = [];
  const rows = { bf16: [], nf4: [] };
  for (const dtype of ['bf16', 'nf4', 'nf4', 'bf16', 'nf4', 'bf16', 'bf16', 'nf4']) {
    loads.push(load());
    const [r] = engine('bench_cpu_step', argv(dtype));
    if (r) rows[dtype].push(r);
  }
  const mean = (rs, k) => (rs.length ? rs.reduce((a, r) => a + 1 / r[k], 0) / rs.length : undefined); // seconds per token
  const best = (rs, k) => (rs.length ? Math.min(...rs.map((r) => 1 / r[k])) : undefined);
  const cell = (k) => `${ratio(best(rows.nf4, k), best(rows.bf16, k))}x (${ratio(mean(rows.nf4, k), mean(rows.bf16, k))}x)`;
  console.log(
    `${model.padEnd(8)} nf4 / bf16 step time: ${cell('tokens_per_s')} wall, ${cell('tokens_per_cpu_s')} CPU time ` +
      `(bf16 ${rows.bf16.map((r) => f0(r.tokens_per_cpu_s)).join(', ')} ` +
      `nf4 ${rows.nf4.map((r) => f0(r.tokens_per_cpu_s)).join(', ')} tokens per CPU-second; load ${loads.map(loadCell).join(' ')})`,
  );
}
console.log(
  `\nx wall / x CPU: engine over PyTorch (> 1: the engine is faster); x blas: engine over OpenBLAS. ` +
    `${((Date.now() - t0) / 1000).toFixed(0)} s in all.`,
);
