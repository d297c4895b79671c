// The dashboard's evaluation model: score curves from 'eval' lines (interval points, the newest final
// score, base value, a replayed step replaced), steps mapped onto the tokens / time axis, and the
// table rows (summary.eval's headline plus the results file's other metrics with their base values).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricsLine } from '../../../native/trainer/protocol';
import { EvalCurves, evalTableRows, stepsToX } from '../../../webview/src/dashboard/eval-model';
import type { EvalResultsMessage } from '../../../webview/src/protocol';
import { evalSummary } from '../helpers/eval-fixtures';

const line = (task: string, step: number, value: number, final = false, base?: number): MetricsLine => ({
  kind: 'eval',
  step,
  task,
  metric: 'acc',
  value,
  stderr: 0.1,
  limit: 20,
  final,
  ...(base === undefined ? {} : { base }),
});

test('curves: interval points per task in step order plus the final score; final-only tasks have no curve', () => {
  const curves = new EvalCurves();
  assert.equal(curves.append([{ kind: 'val', step: 1, loss: 2 }]), false, 'no eval lines: nothing changed');
  assert.ok(
    curves.append([
      line('b_task', 20, 0.3),
      line('a_task', 20, 0.5, false, 0.4),
      line('b_task', 10, 0.2),
      line('only_final', 40, 0.9, true),
      line('b_task', 20, 0.35),
      line('b_task', 40, 0.6, true),
    ]),
  );
  assert.deepEqual(curves.curves(), [
    { task: 'a_task', metric: 'acc', steps: [20], values: [0.5], base: 0.4 },
    { task: 'b_task', metric: 'acc', steps: [10, 20, 40], values: [0.2, 0.35, 0.6], base: null },
  ]);
  curves.reset();
  assert.deepEqual(curves.curves(), []);
});

test('stepsToX: the step itself, or the x of the last train line at or before it', () => {
  assert.deepEqual(stepsToX([5, 10], [1, 5, 9, 12], null), [5, 10]);
  assert.deepEqual(stepsToX([0, 5, 10, 20], [1, 5, 9, 12], [100, 500, 900, 1200]), [0, 500, 900, 1200]);
  assert.deepEqual(stepsToX([3], [], []), [0]);
});

test('table rows: headline from summary.eval, other metrics of the matching results file with base values', () => {
  const evaluation = evalSummary();
  const results: EvalResultsMessage = {
    type: 'eval-results',
    resultsFile: evaluation.resultsFile!,
    baseResultsFile: evaluation.baseResultsFile,
    model: '/m',
    date: 1,
    metrics: {
      wikitext_ppl: [
        { metric: 'perplexity', value: 12.5, stderr: null },
        { metric: 'acc', value: 0.5, stderr: null },
      ],
    },
    baseMetrics: { wikitext_ppl: [{ metric: 'acc', value: 0.45, stderr: null }] },
  };
  const rows = evalTableRows(evaluation, results);
  assert.deepEqual(
    rows.map((r) => r.task),
    ['arithmetic_2ds', 'heldout', 'wikitext_ppl'],
  );
  assert.deepEqual(rows[2].others, [{ metric: 'acc', value: 0.5, stderr: null, base: 0.45 }]);
  assert.deepEqual(rows[0].others, []);
  const stale = evalTableRows(evaluation, { ...results, resultsFile: 'eval/older.json' });
  assert.deepEqual(stale[2].others, [], "an older file's metrics are not mixed into a newer evaluation");
  assert.deepEqual(evalTableRows(undefined, results), []);
});
