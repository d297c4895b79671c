// Evaluation scores as rows, pure: a run's summary.eval -> one row per task (value, stderr, the base
// model's value and the delta to it, whether that delta is an improvement) and their display text.
// Shared by the Runs view's score children and the dashboard's evaluation table (no file reading).
import type { EvalSummary, TaskScore } from './run-folder/run-files';

export interface ScoreRow {
  task: string;
  metric: string;
  value: number;
  stderr: number | null;
  higherIsBetter: boolean;
  /** Documents scored. */
  n: number;
  /** The base model's value of the same task and settings, null when the base was not evaluated. */
  base: number | null;
  baseStderr: number | null;
  /** value - base (null without a base value). */
  delta: number | null;
  /** Whether the finetune beats the base on this metric (its direction); null without a base or when equal. */
  improved: boolean | null;
}

export function scoreRow(task: string, score: TaskScore): ScoreRow {
  const base = score.base && Number.isFinite(score.base.value) ? score.base.value : null;
  const delta = base === null ? null : score.value - base;
  return {
    task,
    metric: score.metric,
    value: score.value,
    stderr: score.stderr,
    higherIsBetter: score.higherIsBetter,
    n: score.n,
    base,
    baseStderr: base === null ? null : (score.base?.stderr ?? null),
    delta,
    improved: delta === null || delta === 0 ? null : score.higherIsBetter ? delta > 0 : delta < 0,
  };
}

/** The rows of an evaluation, in task-name order (the order results files use). */
export function scoreRows(evaluation: EvalSummary | undefined): ScoreRow[] {
  if (!evaluation) return [];
  return Object.keys(evaluation.tasks)
    .sort()
    .map((task) => scoreRow(task, evaluation.tasks[task]));
}

/** Metrics shown with significant digits rather than as a fraction (they are not in [0, 1]). */
const UNBOUNDED_METRICS = new Set(['perplexity', 'word_perplexity', 'byte_perplexity', 'bits_per_byte']);

/** A metric value as lm-eval's table prints it: 4 decimals for fractions, 4 significant digits otherwise. */
export function formatScore(value: number | null | undefined, metric = 'acc'): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (UNBOUNDED_METRICS.has(metric) || Math.abs(value) > 1) return Math.abs(value) >= 1e4 ? value.toExponential(3) : value.toPrecision(4);
  return value.toFixed(4);
}

/** A signed difference in the metric's format: "+0.0213", "−1.250" (U+2212), "±0" for none. */
export function formatDelta(delta: number | null | undefined, metric = 'acc'): string {
  if (delta === null || delta === undefined || !Number.isFinite(delta)) return '—';
  if (delta === 0) return '±0';
  const text = formatScore(Math.abs(delta), metric);
  return `${delta > 0 ? '+' : '\u2212'}${text}`;
}

/** "0.4123 ± 0.0150" (without the stderr when there is none). */
export function formatScoreWithStderr(value: number, stderr: number | null, metric = 'acc'): string {
  return stderr === null || !Number.isFinite(stderr)
    ? formatScore(value, metric)
    : `${formatScore(value, metric)} ± ${formatScore(stderr, metric)}`;
}

/** What was evaluated, in words: "final adapter (step 200)" or "checkpoint step-000100 (step 100)". */
export function evaluatedAdapterLabel(evaluation: Pick<EvalSummary, 'adapter' | 'step'>): string {
  const what = evaluation.adapter === 'final' ? 'final adapter' : `checkpoint ${evaluation.adapter.split('/').pop()}`;
  return `${what} (step ${evaluation.step})`;
}

/** The settings line of an evaluation: "limit 50 · 0-shot · profile lm-eval". */
export function evalSettingsLabel(evaluation: Pick<EvalSummary, 'limit' | 'numFewshot' | 'profile'>): string {
  return [`limit ${evaluation.limit ?? 'all'}`, `${evaluation.numFewshot}-shot`, `profile ${evaluation.profile}`].join(' · ');
}
