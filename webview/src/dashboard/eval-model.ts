// The dashboard's evaluation data, pure (no DOM): the score curves per task from metrics.jsonl's
// 'eval' lines (eval.interval points, final: false, plus the newest final score), their x values on
// the chosen axis, and the table rows (summary.eval's headline metric, the results files' others).
import type { EvalSummary, MetricsLine } from '../../../native/trainer/protocol';
import { scoreRows, type ScoreRow } from '../../../language-server/src/lib/eval-scores';
import type { EvalResultsMessage, ResultsMetric } from '../protocol';

export type EvalLine = Extract<MetricsLine, { kind: 'eval' }>;

interface TaskPoints {
  metric: string;
  /** step -> value of the interval evaluations (a later line at the same step replaces it). */
  interval: Map<number, number>;
  final: { step: number; value: number } | null;
  base: number | null;
}

/** One task's curve: steps ascending, the value at each, the base model's value when known. */
export interface EvalCurve {
  task: string;
  metric: string;
  steps: number[];
  values: number[];
  base: number | null;
}

/** Score curves of a run, fed with metrics.jsonl lines as they come (reset on a replay). */
export class EvalCurves {
  private readonly tasks = new Map<string, TaskPoints>();

  reset(): void {
    this.tasks.clear();
  }

  /** Takes the 'eval' lines of a batch; returns whether any curve changed. */
  append(lines: readonly MetricsLine[]): boolean {
    let changed = false;
    for (const line of lines) {
      if (line.kind !== 'eval' || !Number.isFinite(line.value)) continue;
      let points = this.tasks.get(line.task);
      if (!points) this.tasks.set(line.task, (points = { metric: line.metric, interval: new Map(), final: null, base: null }));
      points.metric = line.metric;
      if (line.final) points.final = { step: line.step, value: line.value };
      else points.interval.set(line.step, line.value);
      if (typeof line.base === 'number' && Number.isFinite(line.base)) points.base = line.base;
      changed = true;
    }
    return changed;
  }

  /** Curves of the tasks evaluated during training (eval.interval), in task-name order; final-only tasks have none. */
  curves(): EvalCurve[] {
    return [...this.tasks.entries()]
      .filter(([, points]) => points.interval.size > 0)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([task, points]) => {
        const byStep = new Map(points.interval);
        if (points.final) byStep.set(points.final.step, points.final.value);
        const steps = [...byStep.keys()].sort((a, b) => a - b);
        return { task, metric: points.metric, steps, values: steps.map((s) => byStep.get(s)!), base: points.base };
      });
  }
}

/**
 * The x value of each step on the chosen axis: the step itself, or the tokens / elapsed time of the
 * last train line at or before it (`trainSteps` ascending, `trainX` its x values).
 */
export function stepsToX(steps: readonly number[], trainSteps: readonly number[], trainX: readonly number[] | null): number[] {
  if (trainX === null) return [...steps];
  return steps.map((step) => {
    let lo = 0;
    let hi = trainSteps.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (trainSteps[mid] <= step) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return at >= 0 ? trainX[at] : 0;
  });
}

/** One row of the evaluation table: the headline score and the results file's other metrics of the task. */
export interface EvalTableRow extends ScoreRow {
  /** Metrics of the results file other than the headline, with the base model's value of each when known. */
  others: (ResultsMetric & { base: number | null })[];
}

/** The table's rows: summary.eval's tasks, each with the other metrics its results file holds. */
export function evalTableRows(evaluation: EvalSummary | undefined, results: EvalResultsMessage | undefined): EvalTableRow[] {
  const matching = results && evaluation && results.resultsFile === evaluation.resultsFile ? results : undefined;
  return scoreRows(evaluation).map((row) => {
    const all = matching?.metrics[row.task] ?? [];
    const base = matching?.baseMetrics[row.task] ?? [];
    const others = all
      .filter((m) => m.metric !== row.metric)
      .map((m) => ({ ...m, base: base.find((b) => b.metric === m.metric)?.value ?? null }));
    return { ...row, others };
  });
}
