// Fixture run folders for the comparison tests: a sweep config on a tiny checkpoint, and finished
// runs written the way the trainer writes them (config.yaml = the resolved variant, run.json with a
// summary and summary.eval, metrics.jsonl, lm-eval results files for the run and the base model).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../../../language-server/src/config/parse';
import { nodeFileSystem } from '../../../language-server/src/config/node-fs';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import type { EvalSummary, RunJson } from '../../../language-server/src/lib/run-folder/run-files';
import { makeTinyCheckpoint } from './tiny-checkpoint';

export const SWEEP_CONFIG = `name: cmp
model:
  checkpoint: ckpt
  precision: 32-true
lora:
  r: 4
  alpha: 8
data:
  path: data.json
train:
  max_steps: 6
  global_batch_size: 2
  micro_batch_size: 1
device: cpu
out_dir: runs
sweep:
  lora.r: [4, 8, 16]
  lora.alpha: ["=2*lora.r"]
`;

/** A workspace with the tiny checkpoint, data and the sweep config; returns the config's path. */
export function makeCompareWorkspace(dir: string, text = SWEEP_CONFIG): string {
  makeTinyCheckpoint(join(dir, 'ckpt'));
  writeFileSync(
    join(dir, 'data.json'),
    JSON.stringify(Array.from({ length: 8 }, (_, i) => ({ instruction: `say ${i}`, input: '', output: `${i} ${i}` }))),
  );
  const configPath = join(dir, 'sweep.lora.yaml');
  writeFileSync(configPath, text);
  return configPath;
}

/** The resolved config of one variant (as the trainer resolves it). */
export function variantConfig(configPath: string, text: string, index: number): LoraLabConfig {
  const parsed = parseConfig(text, configPath, nodeFileSystem);
  return parsed.variants[index].config;
}

export interface FixtureRun {
  name: string;
  config: LoraLabConfig;
  status?: RunJson['status'];
  startedMs?: number;
  peakBytes?: number;
  trainTimeS?: number;
  finalTrainLoss?: number;
  /** task -> [value, stderr, base value] */
  scores?: Record<string, [number, number | null, number | null]>;
  /** Write a summary (a finished run); false: a running run with metrics only. */
  summary?: boolean;
  sweepVariant?: number;
}

function results(scores: Record<string, [number, number | null]>): unknown {
  return {
    results: Object.fromEntries(
      Object.entries(scores).map(([task, [value, stderr]]) => [
        task,
        { alias: task, 'acc,none': value, 'acc_stderr,none': stderr ?? 'N/A' },
      ]),
    ),
  };
}

/** Writes one run folder under `folder`; returns its path. */
export function writeRun(folder: string, run: FixtureRun): string {
  const dir = join(folder, run.name);
  mkdirSync(join(dir, 'eval'), { recursive: true });
  const { configPath: _c, sweep: _s, ...rest } = run.config;
  writeFileSync(join(dir, 'config.yaml'), `# Resolved config of this run.\n${stringify(rest)}`);
  const steps = run.config.train.max_steps ?? 6;
  const lines = Array.from({ length: steps }, (_, i) =>
    JSON.stringify({
      kind: 'train',
      step: i + 1,
      epoch: 1,
      loss: 3 - i * 0.2,
      lr: 3e-4,
      grad_norm: 1,
      tokens: (i + 1) * 40,
      tokens_per_s: 400,
      peak_bytes: run.peakBytes ?? 4e6,
      elapsed_s: (i + 1) * 0.1,
    }),
  );
  writeFileSync(join(dir, 'metrics.jsonl'), lines.join('\n') + '\n');
  let evalSummary: EvalSummary | undefined;
  if (run.scores) {
    const stamp = '2026-12-01T00-00-00Z';
    writeFileSync(
      join(dir, 'eval', `results_${stamp}.json`),
      JSON.stringify(results(Object.fromEntries(Object.entries(run.scores).map(([t, [v, e]]) => [t, [v, e]])))),
    );
    writeFileSync(
      join(dir, 'eval', `base_results_${stamp}.json`),
      JSON.stringify(
        results(Object.fromEntries(Object.entries(run.scores).flatMap(([t, [, , b]]) => (b === null ? [] : [[t, [b, 0.01]]])))),
      ),
    );
    evalSummary = {
      status: 'completed',
      resultsFile: `eval/results_${stamp}.json`,
      baseResultsFile: `eval/base_results_${stamp}.json`,
      adapter: 'final',
      step: steps,
      profile: 'article',
      limit: null,
      numFewshot: 0,
      // The summary holds a stale copy of the values: readers must take the results file's.
      tasks: Object.fromEntries(
        Object.entries(run.scores).map(([task, [value, stderr]]) => [
          task,
          { metric: 'acc', value: value - 0.5, stderr, higherIsBetter: true, n: 100 },
        ]),
      ),
      startedMs: 1,
    };
  }
  const finished = run.summary !== false;
  const json: RunJson = {
    protocolVersion: 1,
    name: run.name,
    status: run.status ?? (finished ? 'completed' : 'running'),
    configPath: run.config.configPath,
    configHash: 'fixture',
    overrides: {},
    ...(run.sweepVariant !== undefined ? { sweep: { id: 's', variant: run.sweepVariant, variants: 3, overrides: {} } } : {}),
    pid: finished ? 999_999 : process.pid,
    processStartMs: Date.now() - process.uptime() * 1000,
    heartbeatMs: Date.now(),
    heartbeatIntervalS: 5,
    engineVersion: '0.1.0',
    device: { kind: 'cpu', name: 'CPU', computePath: 'cpu-fp32' },
    step: finished ? steps : 2,
    totalSteps: steps,
    startedMs: run.startedMs ?? 1000,
    ...(finished
      ? {
          endedMs: (run.startedMs ?? 1000) + 5000,
          summary: {
            trainTimeS: run.trainTimeS ?? 2,
            tokens: steps * 40,
            tokensPerS: 400,
            peakBytes: run.peakBytes ?? 4e6,
            peakBytesByCategory: {},
            trainableParams: 1000,
            totalParams: 100000,
            finalTrainLoss: run.finalTrainLoss ?? 2,
            finalValLoss: null,
            ...(evalSummary ? { eval: evalSummary } : {}),
          },
        }
      : {}),
  };
  writeFileSync(join(dir, 'run.json'), JSON.stringify(json, null, 2));
  return dir;
}
