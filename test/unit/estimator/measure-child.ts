// Child process of the memory measurement: loads one engine config, runs training steps on random
// full-length batches, and prints the engine's memory report with the process's RSS high-water marks.
// Usage: node --import tsx measure-child.ts '<json MeasureRequest>'  (one config per process, so VmHWM is its own)
import { readFileSync, writeFileSync } from 'node:fs';
import { loadAddon, type EngineBatch, type EngineOptions } from '../../../native/trainer/addon';

export interface MeasureRequest {
  folder: string;
  options: EngineOptions;
  microBatchSize: number;
  rows: number; // T
  steps: number;
}

export interface MeasureResult {
  ok: true;
  paramCounts: { total: number; trainable: number; trainableByTarget: Record<string, number> };
  enginePeakBytes: number;
  enginePeakByCategory: Record<string, number>;
  /** VmHWM after loading minus VmRSS before loading. */
  loadHwmBytes: number;
  /** VmHWM during the steps (reset after loading) minus VmRSS before loading. */
  trainHwmBytes: number;
  hwmBytes: number;
  seconds: number;
  /** The fastest step after the first (which also allocates); null with a single step. */
  secondsPerStep: number | null;
  /**
   * The process's CPU time (user + system) of the step with the least CPU time after the first; null
   * with a single step. On one engine thread this is the step's undisturbed wall time on a loaded machine.
   */
  cpuSecondsPerStep: number | null;
}

function statusKiB(field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error(`/proc/self/status has no ${field}`);
  return Number(match[1]) * 1024;
}

/** Resets VmHWM to the current RSS (Linux: echo 5 > /proc/PID/clear_refs). */
function resetHighWaterMark(): void {
  writeFileSync('/proc/self/clear_refs', '5');
}

function randomBatch(rows: number, seqLen: number, vocab: number, seed: number): EngineBatch {
  let state = seed >>> 0 || 1;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % vocab;
  };
  const tokens = Int32Array.from({ length: rows * seqLen }, next);
  const targets = Int32Array.from({ length: rows * seqLen }, next);
  return { rows, seqLen, tokens, targets, lengths: new Int32Array(rows).fill(seqLen) };
}

async function main(request: MeasureRequest): Promise<MeasureResult> {
  const addon = loadAddon();
  const vocab = (JSON.parse(readFileSync(`${request.folder}/config.json`, 'utf8')) as { vocab_size: number }).vocab_size;
  const batches = Array.from({ length: request.steps }, (_, i) => randomBatch(request.microBatchSize, request.rows, vocab, 17 + i));
  const baseline = statusKiB('VmRSS');
  resetHighWaterMark();
  const started = process.hrtime.bigint();
  const engine = await addon.loadEngine(request.folder, request.options);
  const loadHwm = statusKiB('VmHWM');
  resetHighWaterMark();
  let secondsPerStep: number | null = null; // the fastest step after the first (which also allocates)
  let cpuSecondsPerStep: number | null = null;
  for (const [i, batch] of batches.entries()) {
    const cpuStarted = process.cpuUsage();
    const stepStarted = process.hrtime.bigint();
    await engine.step([batch]);
    const seconds = Number(process.hrtime.bigint() - stepStarted) / 1e9;
    const cpu = process.cpuUsage(cpuStarted);
    if (i > 0) {
      secondsPerStep = Math.min(secondsPerStep ?? Infinity, seconds);
      cpuSecondsPerStep = Math.min(cpuSecondsPerStep ?? Infinity, (cpu.user + cpu.system) / 1e6);
    }
  }
  const trainHwm = statusKiB('VmHWM');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const memory = engine.memory();
  const paramCounts = engine.paramCounts();
  engine.dispose();
  return {
    ok: true,
    paramCounts,
    enginePeakBytes: memory.peakTotal,
    enginePeakByCategory: memory.peak,
    loadHwmBytes: loadHwm - baseline,
    trainHwmBytes: trainHwm - baseline,
    hwmBytes: Math.max(loadHwm, trainHwm) - baseline,
    seconds,
    secondsPerStep,
    cpuSecondsPerStep,
  };
}

main(JSON.parse(process.argv[2]) as MeasureRequest).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: Error & { code?: string }) => {
    process.stdout.write(`${JSON.stringify({ ok: false, code: error.code ?? 'E_UNKNOWN', message: error.message })}\n`);
  },
);
