// Optimizer memory (npm run bench, issue 30): trains the bundled tiny model 300 steps with the
// example config at r=32 (every LoRA tensor >= 4096 elements, so 8-bit moments apply) under each
// optimizer x state precision, and prints the TensorBoard-smoothed loss curve's largest relative
// difference from fp32 AdamW, the final losses and the wall time. The target is within 2%.
// Usage: node --import tsx test/bench/optim-state.ts [--steps N] [--adamw-only]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debiasedEma } from '../../webview/src/metrics';

const root = join(__dirname, '..', '..');
const stepsAt = process.argv.indexOf('--steps');
const steps = stepsAt >= 0 ? Number(process.argv[stepsAt + 1]) : 300;
const SMOOTHING = 0.9;
const ALL_SETTINGS = [
  { optimizer: 'adamw', precision: 'fp32' },
  { optimizer: 'adamw8bit', precision: 'fp32' },
  { optimizer: 'adamw', precision: 'bf16' },
  { optimizer: 'adamw8bit', precision: 'bf16' },
  { optimizer: 'sgd', precision: 'fp32' },
  { optimizer: 'sgd8bit', precision: 'fp32' },
];
const SETTINGS = process.argv.includes('--adamw-only') ? ALL_SETTINGS.filter((s) => s.optimizer.startsWith('adamw')) : ALL_SETTINGS;

const dir = mkdtempSync(join(tmpdir(), 'loralab-bench-optim-'));
cpSync(join(root, 'examples'), dir, { recursive: true });

function train(optimizer: string, precision: string): { losses: number[]; seconds: number } {
  const sets = [
    'lora.r=32',
    'lora.alpha=64',
    `train.optimizer=${optimizer}`,
    `train.state_precision=${precision}`,
    `train.max_steps=${steps}`,
    // SGD needs a larger step than AdamW on this model
    ...(optimizer.startsWith('sgd') ? ['train.learning_rate=0.1'] : []),
    'train.val_interval=100000',
    'train.save_interval=100000',
    `out_dir=runs-${optimizer}-${precision}`,
  ].flatMap((s) => ['--set', s]);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'train', join(dir, 'lora-default.lora.yaml'), '--json', ...sets], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`train ${optimizer} ${precision} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  // metrics.jsonl holds every step's line (the --json event stream may coalesce progress events)
  const runs = join(dir, `runs-${optimizer}-${precision}`);
  const run = readdirSync(runs).find((name) => !name.startsWith('.'))!;
  const losses: number[] = [];
  for (const line of readFileSync(join(runs, run, 'metrics.jsonl'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const metric = JSON.parse(line) as { kind: string; step: number; loss: number };
    if (metric.kind === 'train') losses[metric.step - 1] = metric.loss;
  }
  if (losses.length !== steps || losses.some((l) => l === undefined))
    throw new Error(`${runs}: ${losses.length} train lines, expected ${steps}`);
  return { losses, seconds };
}

try {
  const results = SETTINGS.map((s) => ({ ...s, ...train(s.optimizer, s.precision) }));
  console.log(`tiny-llama (examples/), r=32 q+v, ${steps} steps, smoothing ${SMOOTHING}; difference of the smoothed loss curve`);
  console.log('  optimizer   state  final loss  smoothed final  max |diff| vs fp32 same family  wall s');
  for (const r of results) {
    const reference = results.find((x) => x.optimizer === (r.optimizer.startsWith('sgd') ? 'sgd' : 'adamw') && x.precision === 'fp32')!;
    const a = debiasedEma(r.losses, SMOOTHING);
    const b = debiasedEma(reference.losses, SMOOTHING);
    let worst = 0;
    for (let i = 0; i < Math.min(a.length, b.length); i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / b[i]);
    console.log(
      `  ${r.optimizer.padEnd(10)}  ${r.precision.padEnd(5)}  ${r.losses[r.losses.length - 1].toFixed(4).padStart(10)}  ${a[a.length - 1].toFixed(4).padStart(14)}  ${(100 * worst).toFixed(2).padStart(29)}%  ${r.seconds.toFixed(1).padStart(6)}`,
    );
    console.log(
      `json ${JSON.stringify({ kind: 'optim-loss', optimizer: r.optimizer, precision: r.precision, steps: r.losses.length, maxSmoothedDiff: worst, finalSmoothed: a[a.length - 1], seconds: r.seconds })}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
