// The Runs view's evaluation children of a run, pure: one node per task of run.json's summary.eval
// ("task  value ± stderr · Δ to the base model"), preceded by a status node while an evaluation runs, after it
// was stopped, or when it failed. runs-model.ts/runs-tree.ts only hook these in under the run.
import * as path from 'node:path';
import {
  evalSettingsLabel,
  evaluatedAdapterLabel,
  formatDelta,
  formatScoreWithStderr,
  scoreRows,
  type ScoreRow,
} from '../../../language-server/src/lib/eval-scores';
import type { EvalSummary } from '../../../native/trainer/protocol';
import type { IconSpec, RunView } from '../runs-model';

/**
 * A child of a run node: a task's score or the evaluation's status. Shaped as the Runs tree's
 * generic detail row (kind 'detail', the rows other features hang under a run).
 */
export interface ScoreNode {
  kind: 'detail';
  id: string;
  runDir: string;
  /** The task, or undefined for the status node. */
  task?: string;
  label: string;
  description: string;
  tooltip: string[];
  contextValue: 'loraScore' | 'loraEvalStatus';
  icon: IconSpec;
  /** What a screen reader says for the row. */
  accessibleLabel: string;
}

function deltaIcon(row: ScoreRow): IconSpec {
  if (row.improved === null) return { id: 'dash' };
  return row.improved ? { id: 'arrow-up', color: 'testing.iconPassed' } : { id: 'arrow-down', color: 'testing.iconFailed' };
}

/** "0.4200 ± 0.0150 · Δ +0.0300" (Δ to the base model, only when it was scored; the tooltip says more). */
export function scoreDescription(row: ScoreRow): string {
  const value = formatScoreWithStderr(row.value, row.stderr, row.metric);
  return row.delta === null ? value : `${value} · Δ ${formatDelta(row.delta, row.metric)}`;
}

function scoreTooltip(row: ScoreRow, evaluation: EvalSummary, runDir: string): string[] {
  const direction = row.higherIsBetter ? 'higher is better' : 'lower is better';
  const lines = [
    `${row.task} — ${row.metric} (${direction})`,
    `${formatScoreWithStderr(row.value, row.stderr, row.metric)} over ${row.n} document${row.n === 1 ? '' : 's'}`,
  ];
  if (row.base !== null) {
    lines.push(
      `base model ${formatScoreWithStderr(row.base, row.baseStderr, row.metric)} · Δ ${formatDelta(row.delta, row.metric)}${row.improved === null ? '' : row.improved ? ' (better)' : ' (worse)'}`,
    );
  } else {
    lines.push('base model not evaluated (eval.include_base)');
  }
  lines.push(`${evaluatedAdapterLabel(evaluation)} · ${evalSettingsLabel(evaluation)}`);
  if (evaluation.resultsFile) lines.push(path.join(runDir, evaluation.resultsFile));
  return lines;
}

function statusNode(evaluation: EvalSummary, runDir: string): ScoreNode | undefined {
  const node = (fields: Omit<ScoreNode, 'kind' | 'id' | 'runDir' | 'contextValue' | 'accessibleLabel'>): ScoreNode => ({
    kind: 'detail',
    id: `eval-status:${runDir}`,
    runDir,
    contextValue: 'loraEvalStatus',
    accessibleLabel: `${fields.label}, ${fields.description}`,
    ...fields,
  });
  const what = `${evaluatedAdapterLabel(evaluation)} · ${evalSettingsLabel(evaluation)}`;
  switch (evaluation.status) {
    case 'completed':
      return undefined;
    case 'running':
      return node({
        label: 'evaluating…',
        description: what,
        tooltip: [`Evaluating ${what}`],
        icon: { id: 'sync~spin', color: 'charts.blue' },
      });
    case 'stopped':
      return node({
        label: 'evaluation stopped',
        description: Object.keys(evaluation.tasks).length ? 'partial scores below' : what,
        tooltip: [`The evaluation of the ${what} was stopped.`, 'Run "LoRA Lab: Evaluate Run" again for complete scores.'],
        icon: { id: 'debug-pause' },
      });
    case 'failed': {
      const error = evaluation.error;
      return node({
        label: 'evaluation failed',
        description: error ? error.code : what,
        tooltip: [`The evaluation of the ${what} failed.`, ...(error ? [error.message, ...(error.hint ? [error.hint] : [])] : [])],
        icon: { id: 'error', color: 'testing.iconFailed' },
      });
    }
  }
}

/** The evaluation children of a run (empty when it was never evaluated). */
export function evalChildren(view: Pick<RunView, 'dir' | 'run'>): ScoreNode[] {
  const evaluation = view.run.summary?.eval;
  if (!evaluation) return [];
  const nodes: ScoreNode[] = [];
  const status = statusNode(evaluation, view.dir);
  if (status) nodes.push(status);
  for (const row of scoreRows(evaluation)) {
    const description = scoreDescription(row);
    const verdict = row.improved === null ? '' : row.improved ? ', better than the base model' : ', worse than the base model';
    nodes.push({
      kind: 'detail',
      id: `score:${view.dir}:${row.task}`,
      runDir: view.dir,
      task: row.task,
      label: row.task,
      description,
      tooltip: scoreTooltip(row, evaluation, view.dir),
      contextValue: 'loraScore',
      icon: deltaIcon(row),
      accessibleLabel: `${row.task} ${row.metric} ${description}${verdict}`,
    });
  }
  return nodes;
}
