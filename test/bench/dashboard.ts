// Benchmark of the dashboard's first paint for a finished run of 10,000 steps (a Node script run by
// `npm run bench`): the host's read of run.json + metrics.jsonl into the snapshot message, its copy
// across postMessage (structured clone), and the webview's model (MetricsColumns) plus the data of
// every chart. The canvas drawing itself is timed in the browser by the dashboard e2e scenario
// (data-first-chart-ms). Run: npx tsx test/bench/dashboard.ts [STEPS]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { MetricsLine, RunJson } from '../../native/trainer/protocol';
import { readMetrics, readRunJson } from '../../language-server/src/lib/run-folder/reader';
import { dashboardSnapshot } from '../../extension/src/dashboard/dashboard-run';
import { MetricsColumns } from '../../webview/src/metrics';
import { lossData, memoryData, memoryRange, simpleData, type ChartOptions } from '../../webview/src/dashboard/charts';

const GOAL_MS = 1000;

/** A finished run folder as the trainer leaves it: run.json and one train line per step, a val line every 50. */
function writeRun(dir: string, steps: number): void {
  const run: RunJson = {
    protocolVersion: 1,
    name: 'bench-10k',
    status: 'completed',
    configPath: join(dir, 'bench.lora.yaml'),
    configHash: 'bench',
    overrides: {},
    pid: 1,
    processStartMs: 0,
    heartbeatMs: 0,
    heartbeatIntervalS: 5,
    engineVersion: '0.1.0',
    device: { kind: 'cuda', name: 'bench GPU', computePath: 'cuda-bf16', memoryBytes: 24 * 2 ** 30 },
    step: steps,
    totalSteps: steps,
    startedMs: 0,
    endedMs: steps * 1000,
  };
  writeFileSync(join(dir, 'run.json'), JSON.stringify(run, null, 2));
  const lines: string[] = [];
  for (let step = 1; step <= steps; step++) {
    const line: MetricsLine = {
      kind: 'train',
      step,
      epoch: Math.floor(step / 2000),
      loss: 3 * Math.exp(-step / 3000) + 0.8 + 0.1 * Math.sin(step),
      lr: 3e-4 * Math.min(1, step / 100),
      grad_norm: 0.5 + 0.2 * Math.cos(step / 7),
      tokens: step * 4096,
      tokens_per_s: 9000 + (step % 17) * 11,
      peak_bytes: 15_000_000_000 + (step % 100) * 1024,
      current_bytes: 14_000_000_000,
      elapsed_s: step * 0.45,
    };
    lines.push(JSON.stringify(line));
    if (step % 50 === 0) lines.push(JSON.stringify({ kind: 'val', step, loss: 3 * Math.exp(-step / 3000) + 0.9 }));
  }
  writeFileSync(join(dir, 'metrics.jsonl'), `${lines.join('\n')}\n`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function firstPaint(dir: string): { host: number; transfer: number; webview: number; charts: number } {
  const t0 = performance.now();
  const run = readRunJson(dir);
  if (!run) throw new Error(`${dir}/run.json is not readable`);
  const view = { dir, run, state: 'completed' as const, hasAdapter: true, etaS: null, config: null };
  const snapshot = dashboardSnapshot(view, undefined, readMetrics(join(dir, 'metrics.jsonl')));
  const t1 = performance.now();
  const received = structuredClone(snapshot);
  const t2 = performance.now();
  const columns = new MetricsColumns();
  columns.append(received.lines);
  const options: ChartOptions = { xAxis: 'step', logY: false, smoothing: 0.6, capacityBytes: received.run?.device.memoryBytes };
  const data = [
    lossData(columns, options),
    simpleData(columns, 'step', columns.lr),
    simpleData(columns, 'step', columns.tokensPerS),
    simpleData(columns, 'step', columns.gradNorm),
    memoryData(columns, 'step'),
  ];
  memoryRange(columns.peakBytes);
  const t3 = performance.now();
  if (data.some((series) => series[0].length === 0)) throw new Error('a chart has no points');
  return { host: t1 - t0, transfer: t2 - t1, webview: t3 - t2, charts: data.length };
}

function main(): void {
  const steps = Number(process.argv[2] ?? 10_000);
  const dir = mkdtempSync(join(tmpdir(), 'loralab-dashboard-bench-'));
  try {
    writeRun(dir, steps);
    const cold = firstPaint(dir);
    const runs = Array.from({ length: 7 }, () => firstPaint(dir));
    const row = (label: string, pick: (r: typeof cold) => number) =>
      `${label.padEnd(44)} ${pick(cold).toFixed(1).padStart(8)} ${median(runs.map(pick)).toFixed(1).padStart(8)}`;
    process.stdout.write(
      [
        `dashboard first paint of a finished run: ${steps} train steps, ${steps / 50} val lines, ${cold.charts} charts (ms; cold = first in this process)`,
        `${'phase'.padEnd(44)} ${'cold'.padStart(8)} ${'median'.padStart(8)}`,
        row('host: read run.json + metrics.jsonl', (r) => r.host),
        row('postMessage copy (structured clone)', (r) => r.transfer),
        row('webview: columns + every chart series', (r) => r.webview),
        row('time to first chart data (total)', (r) => r.host + r.transfer + r.webview),
        `goal: first chart under ${GOAL_MS} ms (the canvas drawing is timed in the browser by the dashboard e2e: data-first-chart-ms)`,
      ].join('\n') + '\n',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
