// Reads one run folder into the comparison's RunFacts: run.json (state by the one reader's rule),
// the resolved config.yaml (settings and match key), the summary or, while it trains, the last
// metrics line, and the scores of summary.eval with the results files it names. Never writes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfig } from '../../config/parse';
import type { LoraLabConfig } from '../../config/types';
import { checkProcess, readJsonFile, readMetrics, readRunJsonStrict, RunFolderError, runState } from '../run-folder/reader';
import type { EvalSummary, MetricsLine, RunJson } from '../run-folder/run-files';
import { matchKey, settingsOf, type MeasuredCost, type PredictedCost, type RunEvalFacts, type RunFacts, type TaskResult } from './facts';

export interface ReadRunOptions {
  nowMs?: number;
  check?: typeof checkProcess;
  /** The estimate of the run's own config (skipped when absent). */
  predict?: (config: LoraLabConfig) => PredictedCost | null;
}

/** The run's resolved config.yaml, or why it cannot be used. */
export function readRunConfig(dir: string): { config: LoraLabConfig } | { error: string } {
  const file = path.join(dir, 'config.yaml');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { error: `${file} cannot be read` };
  }
  const parsed = parseConfig(text, file);
  const syntax = parsed.problems.find((p) => p.code === 'yaml-syntax');
  if (syntax) return { error: `${file} line ${syntax.range.start.line + 1}: ${syntax.message}` };
  return { config: parsed.config };
}

type TrainLine = Extract<MetricsLine, { kind: 'train' }>;

function measuredOf(run: RunJson, dir: string): MeasuredCost {
  const s = run.summary;
  if (s)
    return {
      step: run.step,
      totalSteps: run.totalSteps,
      peakBytes: s.peakBytes,
      trainTimeS: s.trainTimeS,
      tokens: s.tokens,
      tokensPerS: s.tokensPerS,
      trainableParams: s.trainableParams,
      finalTrainLoss: s.finalTrainLoss,
      finalValLoss: s.finalValLoss,
    };
  // No summary yet (a run that trains, or one that died): the metrics written so far.
  const lines = readMetrics(path.join(dir, 'metrics.jsonl'));
  let last: TrainLine | undefined;
  let peak: number | null = null;
  let val: number | null = null;
  for (const line of lines) {
    if (line.kind === 'train') {
      last = line;
      peak = Math.max(peak ?? 0, line.peak_bytes);
    } else if (line.kind === 'val') val = line.loss;
  }
  return {
    step: Math.max(run.step, last?.step ?? 0),
    totalSteps: run.totalSteps,
    peakBytes: peak,
    trainTimeS: last?.elapsed_s ?? null,
    tokens: last?.tokens ?? null,
    tokensPerS: last?.tokens_per_s ?? null,
    trainableParams: null,
    finalTrainLoss: last?.loss ?? null,
    finalValLoss: val,
  };
}

function numberOf(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** A task's `<metric>,none` and `<metric>_stderr,none` from an lm-eval 0.4 results file. */
function resultOf(results: unknown, task: string, metric: string): { value: number; stderr: number | null } | undefined {
  const entry = (results as { results?: Record<string, Record<string, unknown>> } | null)?.results?.[task];
  if (!entry) return undefined;
  const value = numberOf(entry[`${metric},none`]);
  return value === null ? undefined : { value, stderr: numberOf(entry[`${metric}_stderr,none`]) };
}

function readResults(dir: string, file: string | null): unknown {
  if (!file) return null;
  try {
    return readJsonFile(path.join(dir, file));
  } catch {
    return null;
  }
}

/** summary.eval's scores, each checked against (and taken from) the results file it names. */
export function evalFacts(dir: string, summary: EvalSummary): RunEvalFacts {
  const results = readResults(dir, summary.resultsFile);
  const baseResults = readResults(dir, summary.baseResultsFile);
  const tasks: Record<string, TaskResult> = {};
  for (const [task, score] of Object.entries(summary.tasks ?? {})) {
    const fromFile = resultOf(results, task, score.metric);
    const baseFromFile = resultOf(baseResults, task, score.metric);
    const base = baseFromFile ?? score.base;
    tasks[task] = {
      metric: score.metric,
      value: fromFile?.value ?? score.value,
      stderr: fromFile ? fromFile.stderr : score.stderr,
      higherIsBetter: score.higherIsBetter,
      n: score.n,
      ...(base ? { base } : {}),
    };
  }
  return { status: summary.status, resultsFile: summary.resultsFile, adapter: summary.adapter, step: summary.step, tasks };
}

const EMPTY_MEASURED: MeasuredCost = {
  step: 0,
  totalSteps: 0,
  peakBytes: null,
  trainTimeS: null,
  tokens: null,
  tokensPerS: null,
  trainableParams: null,
  finalTrainLoss: null,
  finalValLoss: null,
};

/** One run folder's facts; undefined when the folder is not a run folder at all. */
export function readRunFacts(dir: string, options: ReadRunOptions = {}): RunFacts | undefined {
  const name = path.basename(dir);
  const hasRunJson = fs.existsSync(path.join(dir, 'run.json'));
  const configRead = readRunConfig(dir);
  const config = 'config' in configRead ? configRead.config : null;
  const identity = {
    dir,
    name,
    settings: config ? settingsOf(config) : null,
    matchKey: config ? matchKey(config) : null,
    baseModel: config ? path.basename(config.model.checkpoint) : null,
    predicted: null as PredictedCost | null,
  };
  if (config && options.predict) {
    try {
      identity.predicted = options.predict(config);
    } catch {
      identity.predicted = null;
    }
  }
  if (!hasRunJson) {
    if (!config && !fs.existsSync(path.join(dir, 'config.yaml'))) return undefined;
    return {
      ...identity,
      state: 'incomplete',
      configPath: '',
      startedMs: 0,
      sweepVariant: null,
      measured: EMPTY_MEASURED,
      eval: null,
      error: 'config.yaml without run.json: the trainer stopped before it started the run',
    };
  }
  let run: RunJson;
  try {
    run = readRunJsonStrict(dir);
  } catch (error) {
    return {
      ...identity,
      state: 'unreadable',
      configPath: '',
      startedMs: 0,
      sweepVariant: null,
      measured: EMPTY_MEASURED,
      eval: null,
      error: error instanceof RunFolderError ? error.message : String(error),
    };
  }
  return {
    ...identity,
    state: runState(run, options.nowMs ?? Date.now(), options.check ?? checkProcess),
    configPath: run.configPath ?? '',
    startedMs: run.startedMs ?? 0,
    sweepVariant: run.sweep?.variant ?? null,
    measured: measuredOf(run, dir),
    eval: run.summary?.eval ? evalFacts(dir, run.summary.eval) : null,
    ...('error' in configRead ? { error: configRead.error } : {}),
  };
}

/** What changes when a run folder changes: compared to decide whether to read it again. */
export function runFolderStamp(dir: string): string {
  const parts: string[] = [];
  for (const file of ['run.json', 'metrics.jsonl', 'config.yaml', 'eval']) {
    try {
      const stat = fs.statSync(path.join(dir, file));
      parts.push(`${stat.mtimeMs}:${stat.size}`);
    } catch {
      parts.push('-');
    }
  }
  return parts.join('|');
}
