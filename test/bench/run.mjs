// CPU benchmark runner: the native engine next to its peers in one run, interleaved (the machines
// here are shared and noisy). GEMM: bench_cpu_gemm vs OpenBLAS sgemm via numpy, two rounds, best
// of each; training steps: bench_cpu_step vs test/bench/torch_peer.py (plain PyTorch), three passes
// over the rows alternating who goes first, the fastest run of each side kept; QLoRA (nf4) vs bf16
// engine steps, A B B A B A A B, the fastest run of each side kept. Prints wall-clock and
// per-CPU-second numbers, % of the measured FMA peak (GEMMs) and model FLOP utilisation (steps),
// their ratios, the 1-minute load average before each measurement ("*": above 1.5, the numbers are
// suspect) and, per step row, the CPU that other processes of this VM used during its runs.
// Fair peers: the Python peers run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from their
// environment only (set, they pin OpenBLAS to older kernels, e.g. Haswell AVX2 on AVX-512); each
// peer prints the OpenBLAS kernel family it loaded and is refused if its first result is off fp64.
// Needs the native benchmarks built (npm run bench builds them into build/native) and
// /usr/bin/python3 with python3-torch, numpy and libopenblas0-pthread; installs nothing.
// Usage: node test/bench/run.mjs [--build DIR] [--threads N] [--quick] [--all] [--no-peer]
//   --quick: stories15M only; --all: every SmolLM configuration (default: LoRA q,v r 8, bf16).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

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
// CPU time the rest of this machine used (every process but this one and its children), in
// seconds, next to wall time: /proc/stat's busy time minus /proc/self/stat's own and waited-for
// children's (USER_HZ ticks, 100 per second on Linux). Over a row's runs, other / wall is how many
// cores something else of this VM kept busy; it cannot see neighbouring VMs. Off Linux: zeros.
const TICK = 0.01;
function cpuSample() {
  const wall = performance.now() / 1000;
  try {
    const all = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const busy = all.reduce((a, x) => a + x, 0) - all[3] - all[4]; // minus idle and iowait
    const own = readFileSync('/proc/self/stat', 'utf8');
    const f = own
      .slice(own.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number); // f[0]: field 3 (state)
    const ours = f[11] + f[12] + f[13] + f[14]; // utime, stime, cutime, cstime
    return { other: (busy - ours) * TICK, wall };
  } catch {
    return { other: 0, wall: 0 };
  }
}

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
// STEP_ROUNDS processes per side, one per pass, the fastest kept (one stories15M binary read 61-77%
// MFU per CPU-second in three runs of the bench within an hour, and 69-71% in 2-step probes after the
// slowest; a quiet minute reads 75-78%)
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
// the fastest run per side (by tokens per CPU-second), as for the GEMMs: a neighbour's burst on
// this shared machine slows a whole run by 5-10%, and a slow phase of the machine lasts minutes
// (one run of the peer side and the engine both 25% slower for ~10 minutes), so the rounds are
// passes over all rows: a row's runs lie minutes apart, not seconds
const faster = (a, b) => (!a ? b : !b ? a : b.tokens_per_cpu_s > a.tokens_per_cpu_s ? b : a);
const rows = configs.map(() => ({ e: [], t: [], loads: [], other: 0, wall: 0 }));
for (let round = 0; round < STEP_ROUNDS; ++round) {
  configs.forEach(([model, mode, dtype, steps, ckpt, warmup], i) => {
    const argv = [model, mode, dtype, String(steps), String(threads), String(ckpt), String(warmup)];
    const row = rows[i];
    row.loads.push(load());
    const before = cpuSample();
    const runEngine = () => row.e.push(engine('bench_cpu_step', argv)[0]);
    const runTorch = () => row.t.push(torch(['step', ...argv]).find((r) => r.kind === 'step'));
    // alternating which side runs first, so a change in machine load does not favour one
    for (const run of (i + round) % 2 === 0 ? [runEngine, runTorch] : [runTorch, runEngine]) run();
    const after = cpuSample();
    row.other += after.other - before.other;
    row.wall += after.wall - before.wall;
  });
}
console.log(
  `\nTraining step, micro-batch 4, random weights, the fastest of ${STEP_ROUNDS} interleaved runs per side (one per pass over the rows) ` +
    '(tokens/s wall | tokens per CPU-second; MFU: useful FLOPs by the ' +
    'LoRA 4N / full 6N + attention count over the FMA peak of the threads used, measured around each engine run, wall | ' +
    'per CPU-second | per CPU-second over the 1-thread peak; ' +
    'peak memory: engine tracker | process peak RSS, torch RSS after import in brackets; load: the highest 1-minute average ' +
    "before a run of the row; other: cores busy with anything but the bench during the row's runs; runs: the engine's MFU " +
    'per CPU-second in each pass)',
);
console.log(
  `${'config'.padEnd(26)}${pad('load', 6)}${pad('other', 6)}${pad('eng tok/s', 10)}${pad('eng/CPU-s', 10)}${pad('MFU', 5)}` +
    `${pad('MFU/CPU', 8)}${pad('1t', 5)}${pad('runs', 10)}` +
    `${pad('torch tok/s', 12)}${pad('torch/CPU-s', 12)}${pad('MFU', 5)}${pad('MFU/CPU', 8)}` +
    `${pad('x wall', 7)}${pad('x CPU', 6)}${pad('eng MiB', 9)}${pad('eng RSS', 8)}${pad('torch RSS', 16)}`,
);
// MFU over the FMA peak of the threads used, measured by each engine process around its steps (the
// clock and phase the steps ran at); the peer's over the peak of the engine run of its pass. "1t":
// the engine's MFU per CPU-second over the GEMM section's 1-thread peak instead (measured once, at
// the start; 0-5% above the 2-thread peak per CPU-second in the runs here).
const ownWall = (r) => r?.fma_peak_wall || peak?.wall_gflops;
const ownCpu = (r) => r?.fma_peak_cpu || peak?.cpu_gflops;
const stepPeaks = [];
configs.forEach(([model, mode, dtype, steps, ckpt, warmup], i) => {
  const row = rows[i];
  const e = row.e.reduce(faster, undefined);
  const t = row.t.reduce(faster, undefined);
  const pe = row.e[row.t.indexOf(t)] ?? e; // the engine run of the peer's fastest pass
  for (const r of row.e) if (r?.fma_peak_cpu) stepPeaks.push(r);
  const l = Math.max(...row.loads);
  const runs = row.e.map((r) => (r && ownCpu(r) ? ((100 * r.gflops_cpu) / ownCpu(r)).toFixed(0) : '-')).join(' ');
  console.log(
    `${`${model} ${mode} ${dtype}${ckpt ? ' ckpt' : ''} ${warmup ? '' : 'cold '}x${steps}`.padEnd(26)}${pad(loadCell(l), 6)}` +
      `${pad(row.wall > 0 ? Math.max(0, row.other / row.wall).toFixed(2) : '-', 6)}` +
      `${pad(f0(e?.tokens_per_s), 10)}${pad(f0(e?.tokens_per_cpu_s), 10)}` +
      `${pad(pct(e?.gflops, ownWall(e)), 5)}${pad(pct(e?.gflops_cpu, ownCpu(e)), 8)}${pad(pct(e?.gflops_cpu, peak?.cpu_gflops_1t), 5)}` +
      `${pad(runs, 10)}${pad(f0(t?.tokens_per_s), 12)}${pad(f0(t?.tokens_per_cpu_s), 12)}` +
      `${pad(pct(t?.gflops, ownWall(pe)), 5)}${pad(pct(t?.gflops_cpu, ownCpu(pe)), 8)}` +
      `${pad(ratio(e?.tokens_per_s, t?.tokens_per_s), 7)}${pad(ratio(e?.tokens_per_cpu_s, t?.tokens_per_cpu_s), 6)}` +
      `${pad(f0(e?.peak_mib), 9)}${pad(f0(e?.rss_peak_mib), 8)}${pad(t ? `${f0(t.rss_peak_mib)} (${f0(t.rss_base_mib)})` : '-', 16)}`,
  );
});
if (stepPeaks.length) {
  const span = (k) => `${f1(Math.min(...stepPeaks.map((r) => r[k])))}-${f1(Math.max(...stepPeaks.map((r) => r[k])))}`;
  console.log(
    `FMA peak of ${threads} threads around the engine's step runs: ${span('fma_peak_wall')} GFLOP/s wall, ` +
      `${span('fma_peak_cpu')} per CPU-second (GEMM section: ${f1(peak?.wall_gflops)} wall, ${f1(peak?.cpu_gflops)} per ` +
      `CPU-second; 1 thread ${f1(peak?.cpu_gflops_1t)})`,
  );
}
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
