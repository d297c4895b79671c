// The estimator's ground truth: ~12 training configs run on the real engine, one child process each,
// comparing the predicted peak with the engine's tracked peak and with the process's VmHWM growth.
// Shared by test/unit/estimator/measured.test.ts and test/bench/estimator.ts (npm run bench).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig } from '../../../language-server/src/config/resolve';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import { engineRows, estimate, type Calibration, type Estimate } from '../../../language-server/src/estimator';
import { engineOptions } from '../../../native/trainer/run/engine-options';
import { makeTinyCheckpoint, type TinyModelShape } from '../helpers/tiny-checkpoint';
import type { MeasureRequest, MeasureResult } from './measure-child';

/** GQA, untied, large enough that the engine's buffers dwarf the process's own noise (~39M parameters). */
export const MODEL_A: TinyModelShape = {
  vocabSize: 8192,
  hiddenSize: 768,
  intermediateSize: 2048,
  numLayers: 4,
  numHeads: 12,
  numKvHeads: 4,
  tied: false,
  dtype: 'BF16',
  seed: 11,
};
/** Tied embeddings, 4 query heads over 1 key/value head, fp32 file (~25M parameters). */
export const MODEL_B: TinyModelShape = {
  vocabSize: 8192,
  hiddenSize: 768,
  intermediateSize: 2048,
  numLayers: 3,
  numHeads: 4,
  numKvHeads: 1,
  tied: true,
  dtype: 'F32',
  seed: 12,
};

export interface MeasuredCase {
  name: string;
  model: 'A' | 'B';
  /** Config keys over the defaults (dotted, as in a sweep). */
  sets: Record<string, unknown>;
}

const BASE: Record<string, unknown> = {
  'model.precision': 'bf16-true',
  'lora.r': 8,
  'lora.alpha': 16,
  'train.micro_batch_size': 1,
  'train.global_batch_size': 1,
  'data.max_seq_length': 65, // T = 64 token rows
};

export const MEASURED_CASES: MeasuredCase[] = [
  { name: 'bf16 r8 q+v adamw mb1 T64', model: 'A', sets: {} },
  { name: '32-true', model: 'A', sets: { 'model.precision': '32-true' } },
  {
    name: 'nf4 mb4 T256',
    model: 'A',
    sets: { 'model.quantize': 'bnb.nf4', 'train.micro_batch_size': 4, 'train.global_batch_size': 4, 'data.max_seq_length': 257 },
  },
  {
    name: 'nf4-dq mb4 T256',
    model: 'A',
    sets: { 'model.quantize': 'bnb.nf4-dq', 'train.micro_batch_size': 4, 'train.global_batch_size': 4, 'data.max_seq_length': 257 },
  },
  { name: 'r64', model: 'A', sets: { 'lora.r': 64, 'lora.alpha': 128 } },
  { name: 'all layers + head', model: 'A', sets: { 'lora.key': true, 'lora.projection': true, 'lora.mlp': true, 'lora.head': true } },
  { name: 'sgd', model: 'A', sets: { 'train.optimizer': 'sgd' } },
  { name: 'mb4', model: 'A', sets: { 'train.micro_batch_size': 4, 'train.global_batch_size': 4 } },
  { name: 'T256', model: 'A', sets: { 'data.max_seq_length': 257 } },
  { name: 'mb4 T256', model: 'A', sets: { 'train.micro_batch_size': 4, 'train.global_batch_size': 4, 'data.max_seq_length': 257 } },
  {
    name: 'mb4 T256 checkpointing',
    model: 'A',
    sets: { 'train.micro_batch_size': 4, 'train.global_batch_size': 4, 'data.max_seq_length': 257, 'train.gradient_checkpointing': true },
  },
  { name: 'full 32-true', model: 'A', sets: { 'train.method': 'full', 'model.precision': '32-true' } },
  { name: 'head only, no dropout', model: 'A', sets: { 'lora.query': false, 'lora.value': false, 'lora.head': true, 'lora.dropout': 0 } },
  {
    name: 'fp4-dq 32-true q,k,v,o,mlp',
    model: 'A',
    sets: { 'model.quantize': 'bnb.fp4-dq', 'model.precision': '32-true', 'lora.key': true, 'lora.projection': true, 'lora.mlp': true },
  },
  {
    name: 'tied: full bf16 mb2 ckpt',
    model: 'B',
    sets: { 'train.method': 'full', 'train.micro_batch_size': 2, 'train.global_batch_size': 2, 'train.gradient_checkpointing': true },
  },
  {
    name: 'tied: mlp r16 sgd p=0.1',
    model: 'B',
    sets: { 'lora.query': false, 'lora.value': false, 'lora.mlp': true, 'lora.r': 16, 'train.optimizer': 'sgd', 'lora.dropout': 0.1 },
  },
  {
    name: 'tied GQA head+q+v mb2 T256',
    model: 'B',
    sets: { 'lora.head': true, 'train.micro_batch_size': 2, 'train.global_batch_size': 2, 'data.max_seq_length': 257 },
  },
];

export function caseConfig(c: MeasuredCase, folder: string): LoraLabConfig {
  const sets = { ...BASE, ...c.sets, 'model.checkpoint': folder };
  return resolveConfig(new Map(Object.entries(sets)), join(folder, 'measure.lora.yaml'));
}

export interface MeasuredRow {
  name: string;
  config: LoraLabConfig;
  modelJson: unknown;
  predicted: Estimate;
  /** null when the engine refused the config (code and message kept). */
  measured: MeasureResult | null;
  refused?: { code: string; message: string };
}

/**
 * 'engine-fix': glibc's mmap threshold pinned at its default 128 KiB (MALLOC_MMAP_THRESHOLD_), as the
 * proposed engine fix (mallopt at engine start) would pin it. 'default': glibc raises the threshold
 * (and the trim threshold to twice that) after the loader frees its large fp32 temporaries, and then
 * keeps up to ~2x the largest tensor's fp32 size of freed heap resident: VmHWM 1-13% above the
 * prediction on these small models, at most 64 MB (under 1% of a 7B run).
 */
export type AllocatorMode = 'engine-fix' | 'default';

type ChildAnswer = MeasureResult | { ok: false; code: string; message: string };

/** One retry when the child dies by a signal (a shared machine under memory pressure), never on an answer. */
async function runChild(request: MeasureRequest, allocator: AllocatorMode): Promise<ChildAnswer> {
  try {
    return await runChildOnce(request, allocator);
  } catch (error) {
    if (!(error as Error).message.includes('signal')) throw error;
    return runChildOnce(request, allocator);
  }
}

function runChildOnce(request: MeasureRequest, allocator: AllocatorMode): Promise<ChildAnswer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'measure-child.ts'), JSON.stringify(request)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LORALAB_THREADS: '1', ...(allocator === 'engine-fix' ? { MALLOC_MMAP_THRESHOLD_: '131072' } : {}) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as ChildAnswer);
      } catch {
        reject(new Error(`measure-child ended (${signal ? `signal ${signal}` : `exit ${status}`}): ${stderr || stdout}`));
      }
    });
  });
}

/** Writes the tiny checkpoints under `dir` (once) and returns their folders. */
export function prepareModels(dir: string): Record<'A' | 'B', string> {
  const folders = { A: join(dir, 'model-a'), B: join(dir, 'model-b') };
  if (!existsSync(join(folders.A, 'model.safetensors'))) makeTinyCheckpoint(folders.A, MODEL_A);
  if (!existsSync(join(folders.B, 'model.safetensors'))) makeTinyCheckpoint(folders.B, MODEL_B);
  return folders;
}

/** Predicts and measures each case, one child process at a time (on the CPU engine, 1 thread). */
export async function measureCases(
  dir: string,
  cases: readonly MeasuredCase[] = MEASURED_CASES,
  allocator: AllocatorMode = 'engine-fix',
  steps = 1,
): Promise<MeasuredRow[]> {
  const folders = prepareModels(dir);
  const rows: MeasuredRow[] = [];
  for (const c of cases) {
    const folder = folders[c.model];
    const config = caseConfig(c, folder);
    const modelJson: unknown = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    const predicted = estimate(config, modelJson, { device: 'cpu' });
    const options = { ...engineOptions(config, 10), threads: 1, device: 'cpu' };
    const result = await runChild(
      { folder, options, microBatchSize: config.train.micro_batch_size, rows: engineRows(config), steps },
      allocator,
    );
    if (result.ok) rows.push({ name: c.name, config, modelJson, predicted, measured: result });
    else rows.push({ name: c.name, config, modelJson, predicted, measured: null, refused: { code: result.code, message: result.message } });
  }
  return rows;
}

export function relativeError(predicted: number, measured: number): number {
  return (predicted - measured) / measured;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;

/** The per-config error table (predicted vs engine peakTotal vs VmHWM - baseline, in MB). */
export function errorTable(rows: readonly MeasuredRow[]): string {
  const header = ['config', 'pred peak', 'engine peak', 'err', 'pred process', 'VmHWM-base', 'err', '(load / train HWM)'];
  const lines = rows.map((r) => {
    if (!r.measured) return [r.name, mb(r.predicted.memory.peakBytes), `refused: ${r.refused?.code}`, '', '', '', '', ''];
    const m = r.measured;
    return [
      r.name,
      mb(r.predicted.memory.peakBytes),
      mb(m.enginePeakBytes),
      pct(relativeError(r.predicted.memory.peakBytes, m.enginePeakBytes)),
      mb(r.predicted.memory.processPeakBytes),
      mb(m.hwmBytes),
      pct(relativeError(r.predicted.memory.processPeakBytes, m.hwmBytes)),
      `${mb(m.loadHwmBytes)} / ${mb(m.trainHwmBytes)}`,
    ];
  });
  const table = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  return table.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')).join('\n');
}

/** One config's step time: what the live estimate predicts with `calibration` against the measured step. */
export interface TimeRow {
  name: string;
  predicted: number;
  /** The measured step: process CPU time on the one engine thread (what the calibration fits), and the wall clock. */
  cpu: number;
  wall: number;
  error: number;
}

/** Predicted (the estimate every view shows, estimate().time) vs measured seconds per step, per measured config. */
export function timeRows(rows: readonly MeasuredRow[], calibration: Calibration): TimeRow[] {
  const out: TimeRow[] = [];
  for (const r of rows) {
    const m = r.measured;
    if (!m?.cpuSecondsPerStep || !m.secondsPerStep) continue;
    const predicted = estimate(r.config, r.modelJson, { device: 'cpu', calibration }).time.secondsPerStep;
    if (predicted === null) continue;
    out.push({
      name: r.name,
      predicted,
      cpu: m.cpuSecondsPerStep,
      wall: m.secondsPerStep,
      error: relativeError(predicted, m.cpuSecondsPerStep),
    });
  }
  return out;
}

/** The step-time table: predicted, measured CPU and wall seconds, the error against CPU time, and the largest |error|. */
export function timeTable(rows: readonly TimeRow[]): string {
  const header = ['config', 'pred s', 'meas cpu s', 'err', 'meas wall s', 'wall/cpu'];
  const lines = rows.map((r) => [
    r.name,
    r.predicted.toFixed(3),
    r.cpu.toFixed(3),
    pct(r.error),
    r.wall.toFixed(3),
    (r.wall / r.cpu).toFixed(2),
  ]);
  const table = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const text = table
    .map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '))
    .join('\n');
  const worst = rows.reduce((w, r) => (Math.abs(r.error) > Math.abs(w.error) ? r : w), rows[0] ?? { name: '-', error: 0 });
  return `${text}\nmax |error| ${(100 * Math.abs(worst.error)).toFixed(1)}% (${worst.name}); errors ${pct(Math.min(...rows.map((r) => r.error)))} .. ${pct(Math.max(...rows.map((r) => r.error)))}`;
}
