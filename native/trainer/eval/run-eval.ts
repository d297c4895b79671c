// Evaluation of a run's adapter (after training, every eval.interval steps, or `lora-lab eval
// --run`): scores the tasks with the adapter on, then the base model (the adapter switched off on
// the same engine, or the base checkpoint for a full finetune) from the base-score cache where it
// can; writes <run>/eval/results_<time>.json and base_results_<time>.json atomically and returns
// the summary.eval value and the 'eval' metrics lines. The caller owns run.json (under the lock).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadAddon, type EngineOptions, type NativeEngine } from '../addon';
import type { EvalSummary, MetricsLine, TaskScore } from '../protocol';
import { writeFileAtomic } from '../run/atomic';
import { baseCacheKey, defaultEvalCacheDir, readCached, writeCached } from './cache';
import { runEval, type CachedTask, type EvalOutcome, type EvalProgress, type EvalSettings } from './runner';
import { buildResults, headlineMetric, resultsStamp, type EvalTokenizer, type TaskScores } from '../../../language-server/src/eval';

export interface RunEvalOptions {
  runDir: string;
  /** The engine with the adapter to evaluate (LoRA mode), or the finetuned model (full). */
  engine: NativeEngine;
  tokenizer: EvalTokenizer;
  /** The base checkpoint folder (results' config.model, the cache key). */
  checkpoint: string;
  /** 'final' or the checkpoint folder relative to the run (`checkpoints/step-000200`). */
  adapter: string;
  /** The adapter folder written into the results (null for a full finetune). */
  adapterPath: string | null;
  step: number;
  settings: EvalSettings;
  includeBase: boolean;
  /** LoRA: the base is the same engine with the adapter off; full: a fresh engine of the base checkpoint with these options. */
  method: 'lora' | 'full';
  baseEngineOptions: EngineOptions;
  /** Engine settings that change base scores (precision, quantize, device): part of the cache key. */
  engineKey: Record<string, unknown>;
  /** Interval evaluations write no results files and are 'final: false' lines. */
  final: boolean;
  cacheDir?: string;
  /** false: the base model is scored afresh and the cache is neither read nor written. */
  useCache?: boolean;
  onProgress?: (p: EvalProgress & { phase: 'adapter' | 'base' }) => void;
  /** A stop that came while no engine call was in flight (tokenizing): checked between the phases. */
  isStopped?: () => boolean;
  /** Set while the base engine of a full finetune is loaded, so a stop can abort it too. */
  onEngine?: (engine: NativeEngine | null) => void;
}

export interface RunEvalResult {
  summary: EvalSummary;
  lines: Extract<MetricsLine, { kind: 'eval' }>[];
  outcome: EvalOutcome;
  base: EvalOutcome | null;
  cachedBaseTasks: string[];
}

function deviceOf(engine: NativeEngine): string {
  return `${engine.computePath()} (${engine.deviceName()})`;
}

function resultsJson(outcome: EvalOutcome, o: RunEvalOptions, adapter: string | null, device: string, date: Date, cached: string[]) {
  const results = buildResults(outcome.tasks, {
    model: o.checkpoint,
    adapter,
    profile: o.settings.profile,
    limit: o.settings.limit,
    batchSize: 1,
    device,
    bos: o.settings.bos,
    maxLength: outcome.maxLength,
    date: date.getTime() / 1000,
  });
  results.throughput = {
    requests: outcome.requests,
    distinct_requests: outcome.distinct,
    cached_tasks: cached,
    input_tokens: outcome.inputTokens,
    computed_tokens: outcome.computedTokens,
    seconds: outcome.seconds,
    prefix_sharing: o.settings.sharePrefix,
  };
  return results;
}

function checkStop(o: RunEvalOptions): void {
  if (o.isStopped?.()) throw Object.assign(new Error('the evaluation was stopped'), { code: 'E_ABORTED' });
}

/** The base model's scores of every task: from the cache, the rest computed (and cached). */
async function baseScores(o: RunEvalOptions): Promise<{ outcome: EvalOutcome; cached: string[] }> {
  const cacheDir = o.cacheDir ?? defaultEvalCacheDir();
  const cached = new Map<string, CachedTask>();
  const keys = new Map<string, string>();
  for (const task of o.settings.tasks) {
    const key = baseCacheKey(o.checkpoint, o.engineKey, task, o.settings);
    keys.set(task, key);
    const hit = o.useCache === false ? null : readCached(cacheDir, key);
    if (hit) cached.set(task, hit);
  }
  const progress = o.onProgress ? (p: EvalProgress) => o.onProgress!({ ...p, phase: 'base' }) : undefined;
  let outcome: EvalOutcome;
  if (cached.size === o.settings.tasks.length || o.method === 'lora') {
    if (o.method === 'lora') o.engine.setAdapterEnabled(false);
    try {
      outcome = await runEval(o.engine, o.tokenizer, o.settings, progress, cached);
    } finally {
      if (o.method === 'lora') o.engine.setAdapterEnabled(true);
    }
  } else {
    const engine = await loadAddon().loadEngine(o.checkpoint, o.baseEngineOptions);
    o.onEngine?.(engine);
    try {
      outcome = await runEval(engine, o.tokenizer, o.settings, progress, cached);
    } finally {
      o.onEngine?.(null);
      engine.dispose();
    }
  }
  if (o.useCache !== false)
    for (const { task, docs: _docs, ...kept } of outcome.tasks)
      if (!cached.has(task.name)) writeCached(cacheDir, keys.get(task.name)!, kept);
  return { outcome, cached: [...cached.keys()] };
}

function taskScores(tasks: TaskScores[], base: TaskScores[] | null): Record<string, TaskScore> {
  const out: Record<string, TaskScore> = {};
  for (const t of tasks) {
    const h = headlineMetric(t);
    const b = base?.find((x) => x.task.name === t.task.name);
    const bh = b ? headlineMetric(b) : null;
    out[t.task.name] = {
      metric: h.metric,
      value: h.value,
      stderr: h.stderr,
      higherIsBetter: h.higherIsBetter,
      n: t.docs.length,
      ...(bh ? { base: { value: bh.value, stderr: bh.stderr } } : {}),
    };
  }
  return out;
}

/** Evaluates the adapter (and the base model), writes the results files; throws E_ABORTED when stopped. */
export async function evaluateRunAdapter(o: RunEvalOptions, startedMs = Date.now()): Promise<RunEvalResult> {
  const outcome = await runEval(
    o.engine,
    o.tokenizer,
    o.settings,
    o.onProgress ? (p) => o.onProgress!({ ...p, phase: 'adapter' }) : undefined,
  );
  checkStop(o);
  const base = o.includeBase ? await baseScores(o) : null;
  checkStop(o);
  const date = new Date();
  let resultsFile: string | null = null;
  let baseResultsFile: string | null = null;
  if (o.final) {
    const dir = join(o.runDir, 'eval');
    mkdirSync(dir, { recursive: true });
    const stamp = resultsStamp(date);
    const device = deviceOf(o.engine);
    if (base) {
      baseResultsFile = `eval/base_results_${stamp}.json`;
      writeFileAtomic(
        join(o.runDir, baseResultsFile),
        JSON.stringify(resultsJson(base.outcome, o, null, device, date, base.cached), null, 2) + '\n',
      );
    }
    resultsFile = `eval/results_${stamp}.json`;
    const results = resultsJson(outcome, o, o.adapterPath, device, date, []);
    results.run = { adapter: o.adapter, step: o.step, base_results: baseResultsFile };
    writeFileAtomic(join(o.runDir, resultsFile), JSON.stringify(results, null, 2) + '\n');
  }
  const tasks = taskScores(outcome.tasks, base?.outcome.tasks ?? null);
  const summary: EvalSummary = {
    status: 'completed',
    resultsFile,
    baseResultsFile,
    adapter: o.adapter,
    step: o.step,
    profile: o.settings.profile,
    limit: o.settings.limit,
    numFewshot: o.settings.numFewshot,
    tasks,
    startedMs,
    endedMs: Date.now(),
  };
  const lines = Object.entries(tasks).map(([task, s]): Extract<MetricsLine, { kind: 'eval' }> => ({
    kind: 'eval',
    step: o.step,
    task,
    metric: s.metric,
    value: s.value,
    stderr: s.stderr,
    limit: o.settings.limit,
    final: o.final,
    ...(s.base ? { base: s.base.value } : {}),
  }));
  return { summary, lines, outcome, base: base?.outcome ?? null, cachedBaseTasks: base?.cached ?? [] };
}

/** summary.eval of an evaluation that has not finished (running) or never will (stopped, failed): the settings, no scores. */
export function unfinishedSummary(
  status: 'running' | 'stopped' | 'failed',
  o: Pick<RunEvalOptions, 'adapter' | 'step' | 'settings'>,
  startedMs: number,
  error?: EvalSummary['error'],
): EvalSummary {
  return {
    status,
    resultsFile: null,
    baseResultsFile: null,
    adapter: o.adapter,
    step: o.step,
    profile: o.settings.profile,
    limit: o.settings.limit,
    numFewshot: o.settings.numFewshot,
    tasks: {},
    startedMs,
    ...(status === 'running' ? {} : { endedMs: Date.now() }),
    ...(error ? { error } : {}),
  };
}
