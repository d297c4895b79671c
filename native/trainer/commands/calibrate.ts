// `lora-lab calibrate [--device cpu|cuda:N] [--quick] [--json]`: short engine runs on two generated
// models, chosen so that each kind of work of the time model (language-server/src/estimator/step-work.ts)
// varies on its own; the costs fitted to them are cached per device for the time estimate.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fitWorkCosts,
  readModelShape,
  stepWork,
  timeInputs,
  trainingFlopsPerToken,
  workSeconds,
  type TimeInputs,
  type TimeSample,
  type WorkCosts,
} from '../../../language-server/src/estimator';
import { countParams } from '../../../language-server/src/estimator/params';
import { loadAddon, type EngineBatch } from '../addon';
import { calibrationFilePath, type CalibrationRecord } from '../../../language-server/src/lib/calibration-file';
import { deviceKey, writeCalibrationRecord } from '../estimator-io';
import { configWith, engineOptions, threadCount } from '../run/engine-options';
import { CALIBRATION_MODELS, writeCalibrationModel, type CalibrationModel } from './calibrate-models';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand, type CliOutput } from './types';

const USAGE = 'lora-lab calibrate [--device cpu|cuda:N] [--quick] [--json]';

/** One engine configuration of the calibration and the micro-batch shapes (examples x token rows) it steps. */
export interface CalibrationRun {
  label: string;
  model: 'main' | 'small';
  /** Config keys over the common settings below. */
  sets: Record<string, unknown>;
  shapes: Array<[examples: number, rows: number]>;
}

const COMMON: Record<string, unknown> = {
  'model.precision': 'bf16-true',
  'train.method': 'lora',
  'lora.r': 8,
  'lora.alpha': 16,
  'lora.dropout': 0,
  'lora.query': true,
  'lora.key': false,
  'lora.value': true,
  'lora.projection': false,
  'lora.mlp': false,
  'lora.head': false,
  'train.warmup_steps': 0,
};

/**
 * Each run moves one kind of work against the others: tokens per weight pass (rows and examples), the
 * weights' storage (bf16, fp32, 4-bit), LoRA rank, targets and dropout, recompute, attention's share
 * (a narrow model at 512 rows), the activation values' share (narrow vs wide) and the trainable state (full).
 */
export const RUNS: CalibrationRun[] = [
  {
    label: 'bf16 q,v',
    model: 'main',
    sets: {},
    shapes: [
      [4, 256],
      [2, 256],
      [1, 32],
      [1, 128],
      [4, 64],
    ],
  },
  {
    label: 'fp32 q,v',
    model: 'main',
    sets: { 'model.precision': '32-true' },
    shapes: [
      [1, 32],
      [1, 128],
      [2, 128],
    ],
  },
  {
    label: 'nf4 q,v',
    model: 'main',
    sets: { 'model.quantize': 'bnb.nf4' },
    shapes: [
      [1, 32],
      [1, 128],
      [4, 128],
    ],
  },
  {
    label: 'bf16 all+head r32 dropout sgd ckpt',
    model: 'main',
    sets: {
      'lora.r': 32,
      'lora.key': true,
      'lora.projection': true,
      'lora.mlp': true,
      'lora.head': true,
      'lora.dropout': 0.1,
      'train.optimizer': 'sgd',
      'train.gradient_checkpointing': true,
    },
    shapes: [
      [1, 64],
      [2, 128],
    ],
  },
  {
    label: 'head only',
    model: 'main',
    sets: { 'lora.query': false, 'lora.value': false, 'lora.head': true },
    shapes: [
      [1, 64],
      [1, 256],
    ],
  },
  { label: 'full fp32', model: 'main', sets: { 'train.method': 'full', 'model.precision': '32-true' }, shapes: [[1, 64]] },
  {
    label: 'narrow bf16 q,v',
    model: 'small',
    sets: {},
    shapes: [
      [1, 64],
      [1, 512],
      [4, 128],
    ],
  },
  { label: 'narrow full fp32', model: 'small', sets: { 'train.method': 'full', 'model.precision': '32-true' }, shapes: [[2, 64]] },
];

/** --quick (tests): two tiny models, one timed step per shape; the costs are only roughly fitted. */
const QUICK_RUNS: CalibrationRun[] = [
  {
    label: 'bf16 q,v',
    model: 'main',
    sets: {},
    shapes: [
      [1, 32],
      [2, 128],
    ],
  },
  { label: 'full fp32', model: 'small', sets: { 'train.method': 'full', 'model.precision': '32-true' }, shapes: [[1, 32]] },
];

/** Untimed steps of the first shape: each may run on another of libuv's 4 threads, whose GEMM scratch grows once. */
const PRIMING_STEPS = 6;

/** One CPU engine thread: the step's process CPU time is its undisturbed time; otherwise the wall clock. */
const cpuBasis = (device: string, threads: number) => device === 'cpu' && threads === 1;

/**
 * The runs a device's engine accepts: the CUDA engine computes in bf16 only (no 32-true), so there the
 * fp32 LoRA run is left out and full finetuning runs in bf16-true.
 */
export function runsFor(device: string, quick: boolean): CalibrationRun[] {
  const runs = quick ? QUICK_RUNS : RUNS;
  if (!device.startsWith('cuda')) return runs;
  return runs
    .filter((run) => run.sets['model.precision'] !== '32-true' || run.sets['train.method'] === 'full')
    .map((run) => (run.sets['train.method'] === 'full' ? { ...run, sets: { ...run.sets, 'model.precision': 'bf16-true' } } : run));
}

function batch(examples: number, rows: number, vocab: number): EngineBatch {
  let state = 7;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) % vocab;
  return {
    rows: examples,
    seqLen: rows,
    tokens: Int32Array.from({ length: examples * rows }, next),
    targets: Int32Array.from({ length: examples * rows }, next),
    lengths: new Int32Array(examples).fill(rows),
  };
}

export type Measured = CalibrationRecord['runs'][number] & { work: TimeSample['work']; inputs: TimeInputs };

/**
 * Steps each run's shapes and returns the fastest timed step of each. On one CPU engine thread the
 * step's process CPU time is its time (other processes on a shared machine only stretch the wall
 * clock); with more threads or on a GPU, the wall clock.
 */
export async function measureRuns(
  dir: string,
  device: string,
  threads: number,
  runs: readonly CalibrationRun[],
  repeats: number,
  models: Record<'main' | 'small', CalibrationModel>,
): Promise<{ measured: Measured[]; computePath: string }> {
  const addon = loadAddon();
  const measured: Measured[] = [];
  let computePath = '';
  for (const run of runs) {
    const folder = join(dir, run.model);
    const shape = readModelShape(JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')));
    const config = configWith({ ...COMMON, ...run.sets, device });
    const engine = await addon.loadEngine(folder, engineOptions(config, 100, true, undefined, threads));
    try {
      computePath = engine.computePath();
      for (const [examples, rows] of run.shapes) {
        const microBatch = batch(examples, rows, models[run.model].vocab);
        // the first step of a shape allocates its buffers; the calibration's first (and largest) shape
        // also grows the GEMMs' per-thread scratch on the threads that will run the steps (libuv's pool)
        for (let s = 0; s < (measured.length === 0 ? PRIMING_STEPS : 1); s++) await engine.step([microBatch]);
        let seconds = Infinity;
        for (let s = 0; s < repeats; s++) {
          const cpu = process.cpuUsage();
          const started = process.hrtime.bigint();
          await engine.step([microBatch]);
          const wall = Number(process.hrtime.bigint() - started) / 1e9;
          const used = process.cpuUsage(cpu);
          seconds = Math.min(seconds, cpuBasis(device, threads) ? (used.user + used.system) / 1e6 : wall);
        }
        const sized = configWith({ ...COMMON, ...run.sets, 'train.micro_batch_size': examples, 'train.global_batch_size': examples });
        const inputs = timeInputs(sized, shape, rows, 1);
        const flops = trainingFlopsPerToken(inputs).total * examples * rows;
        measured.push({
          label: `${run.label} ${examples}x${rows}`,
          params: countParams(shape, 'lora', 8, config.lora).base,
          tokensPerStep: examples * rows,
          secondsPerStep: seconds,
          flopsPerSecond: flops / seconds,
          work: stepWork(inputs),
          inputs,
        });
      }
    } finally {
      engine.dispose();
    }
  }
  return { measured, computePath };
}

export const calibrateCommand: CliCommand = {
  name: 'calibrate',
  summary: "Measure this machine's training throughput for the time estimate (cached per device)",
  usage: USAGE,
  available: true,
  async run(args: string[], out: CliOutput): Promise<number> {
    const deviceAt = args.indexOf('--device');
    const device = deviceAt >= 0 ? args[deviceAt + 1] : 'cpu';
    if (!device?.match(/^(cpu|cuda(:\d+)?)$/) || args.some((a, i) => !a.startsWith('--') && (deviceAt < 0 || i !== deviceAt + 1))) {
      out.stderr(`Usage: ${USAGE}\n`);
      return EXIT_USAGE;
    }
    const report = loadAddon().deviceReport();
    const threads = threadCount();
    const quick = args.includes('--quick');
    const models = quick ? CALIBRATION_MODELS.quick : CALIBRATION_MODELS.full;
    const dir = mkdtempSync(join(tmpdir(), 'lora-lab-calibrate-'));
    const started = Date.now();
    let result: Awaited<ReturnType<typeof measureRuns>>;
    try {
      for (const name of ['main', 'small'] as const) {
        mkdirSync(join(dir, name));
        writeCalibrationModel(join(dir, name), models[name]);
      }
      result = await measureRuns(dir, device, threads, runsFor(device, quick), quick ? 1 : 3, models);
    } catch (error) {
      out.stderr(`lora-lab calibrate: ${(error as Error).message}\n`);
      return EXIT_FAILURE;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const { measured, computePath } = result;
    const fit = fitWorkCosts(measured.map((m) => ({ work: m.work, seconds: m.secondsPerStep })));
    const key = deviceKey(device, report, threads);
    const record: CalibrationRecord = {
      key,
      device: device.startsWith('cuda') ? key : `${report.cpu.model} (${threads} threads)`,
      computePath,
      threads,
      measuredAt: new Date().toISOString(),
      flopsPerSecond: measured[0].flopsPerSecond,
      costs: fit.costs,
      timeBasis: cpuBasis(device, threads) ? 'cpu' : 'wall',
      fitError: fit.maxRelativeError,
      runs: measured.map(({ work, inputs: _inputs, ...run }) => ({ ...run, predictedSeconds: workSeconds(work, fit.costs) })),
    };
    try {
      writeCalibrationRecord(record);
    } catch (error) {
      out.stderr(`lora-lab calibrate: ${(error as Error).message}\n`);
      return EXIT_FAILURE;
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (args.includes('--json')) out.stdout(`${JSON.stringify({ ...record, file: calibrationFilePath() }, null, 2)}\n`);
    else {
      for (const r of record.runs)
        out.stdout(
          `  ${(r.label ?? '').padEnd(44)} ${(r.secondsPerStep * 1000).toFixed(1).padStart(8)} ms per step, fitted ${((r.predictedSeconds ?? 0) * 1000).toFixed(1).padStart(8)} ms\n`,
        );
      out.stdout(
        `${record.device} [${computePath}]: ${describeCosts(fit.costs)}; fit within ${(100 * fit.maxRelativeError).toFixed(1)}% (${record.timeBasis} time, ${seconds} s); saved to ${calibrationFilePath()}\n`,
      );
    }
    return EXIT_OK;
  },
};

/** The fitted costs as rates: GFLOP/s for FLOPs, G values/s for elements, GB/s for bytes, ms per layer pass. */
function describeCosts(costs: WorkCosts): string {
  const rate = (cost: number | undefined, unit: string) => (cost && cost > 0 ? `${(1 / cost / 1e9).toPrecision(3)} ${unit}` : 'free');
  return [
    `GEMMs ${rate(costs.denseGemmFlops, 'GFLOP/s')}`,
    `4-bit GEMMs ${rate(costs.quantGemmFlops, 'GFLOP/s')}`,
    `LoRA ${rate(costs.loraFlops, 'GFLOP/s')}`,
    `attention ${rate(costs.attentionFlops, 'GFLOP/s')}`,
    `weight passes fp32 ${rate(costs.f32WeightPass, 'G/s')}, bf16 ${rate(costs.bf16WeightPass, 'G/s')}, 4-bit ${rate(costs.dequantWeightPass, 'G/s')}`,
    `weight streams ${rate(costs.weightStreams, 'G/s')}`,
    `elementwise ${rate(costs.activationValues, 'G/s')}`,
    `dropout ${rate(costs.dropoutValues, 'G/s')}`,
    `state ${rate(costs.stateBytes, 'GB/s')}`,
    `${((costs.layerPasses ?? 0) * 1e3).toFixed(3)} ms per layer pass`,
  ].join(', ');
}
