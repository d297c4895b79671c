// `npm run bench`: builds the native engine and runs every benchmark program (native/bench/
// bench_*.cpp, built into build/native), printing their tables. Benchmarks print numbers; they
// are never timed tests; then the side-by-side table against PyTorch. Usage: npm run bench [-- NAME_FILTER]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism, cpus } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filter = process.argv[2] ?? '';
const build = spawnSync(process.execPath, ['scripts/build-native.mjs'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
if (build.status !== 0) process.exit(build.status ?? 1);
const dir = join(root, 'build/native');
// bench_cuda_compare takes a model, an adapter and token files: test/device/run.sh drives it.
const NEEDS_ARGUMENTS = new Set(['bench_cuda_compare']);
const programs = readdirSync(dir)
  .filter((name) => /^bench_[a-z0-9_]+$/.test(name) && name.includes(filter) && !NEEDS_ARGUMENTS.has(name))
  .sort();
console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores usable; ${new Date().toISOString()}`);
let failed = false;
for (const program of programs) {
  console.log(`\n=== ${program}`);
  const r = spawnSync(join(dir, program), [], { cwd: root, stdio: 'inherit' });
  if (r.status === 77) console.log(`(${program} skipped: it needs a CUDA device)`);
  else if (r.status !== 0) failed = true;
}
if (programs.length === 0) console.log(`no benchmark programs matching '${filter}' in ${dir}`);
// The engine next to its peers (plain PyTorch on the CPU, OpenBLAS sgemm through numpy), measured
// interleaved in one run; needs /usr/bin/python3 with python3-torch, numpy and libopenblas0-pthread.
if (!filter || 'peers'.includes(filter)) {
  console.log('\n=== engine vs PyTorch / OpenBLAS (test/bench/run.mjs)');
  const peers = spawnSync(process.execPath, ['test/bench/run.mjs', '--build', 'build/native'], { cwd: root, stdio: 'inherit' });
  if (peers.status !== 0) failed = true;
}
// The estimator against the engine: predicted vs measured peak memory per config.
if (!filter || 'estimator'.includes(filter)) {
  console.log('\n=== estimator vs engine (test/bench/estimator.ts)');
  const estimator = spawnSync(process.execPath, ['--import', 'tsx', 'test/bench/estimator.ts'], { cwd: root, stdio: 'inherit' });
  if (estimator.status !== 0) failed = true;
}
// Evaluation throughput: Engine.score with and without prefix sharing (test/bench/eval.ts).
if (!filter || 'eval'.includes(filter)) {
  console.log('\n=== evaluation throughput (test/bench/eval.ts)');
  const evalBench = spawnSync(process.execPath, ['--import', 'tsx', 'test/bench/eval.ts'], { cwd: root, stdio: 'inherit' });
  if (evalBench.status !== 0) failed = true;
}
// The language server's diagnostics + code lens latency on a 200-line config.
if (!filter || 'latency'.includes(filter)) {
  console.log('\n=== language server latency (language-server/bench/latency.ts)');
  const latency = spawnSync(process.execPath, ['--import', 'tsx', 'language-server/bench/latency.ts'], { cwd: root, stdio: 'inherit' });
  if (latency.status !== 0) failed = true;
}
// The dashboard's first paint of a finished 10k-step run: host read, postMessage copy, webview model.
if (!filter || 'dashboard'.includes(filter)) {
  console.log('\n=== dashboard first paint (test/bench/dashboard.ts)');
  const dashboard = spawnSync(process.execPath, ['--import', 'tsx', 'test/bench/dashboard.ts'], { cwd: root, stdio: 'inherit' });
  if (dashboard.status !== 0) failed = true;
}
// Optimizer state: the loss curve of 8-bit / bf16 state against fp32 AdamW (test/bench/optim-state.ts).
if (!filter || 'optim-state'.includes(filter)) {
  console.log('\n=== optimizer state: loss curves vs fp32 AdamW (test/bench/optim-state.ts)');
  const optimBench = spawnSync(process.execPath, ['--import', 'tsx', 'test/bench/optim-state.ts'], { cwd: root, stdio: 'inherit' });
  if (optimBench.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
