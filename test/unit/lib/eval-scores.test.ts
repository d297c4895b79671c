// Score rows and their text: the delta to the base model and its direction (lower-is-better metrics
// such as perplexity improve downwards), lm-eval's number format, rows in task-name order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  evalSettingsLabel,
  evaluatedAdapterLabel,
  formatDelta,
  formatScore,
  formatScoreWithStderr,
  scoreRows,
} from '../../../language-server/src/lib/eval-scores';
import { evalSummary } from '../helpers/eval-fixtures';

test('rows: task-name order, delta = value - base, improvement follows the metric direction', () => {
  const rows = scoreRows(evalSummary());
  assert.deepEqual(
    rows.map((r) => r.task),
    ['arithmetic_2ds', 'heldout', 'wikitext_ppl'],
  );
  const [arith, heldout, ppl] = rows;
  assert.ok(Math.abs(arith.delta! - -0.04) < 1e-12);
  assert.equal(arith.improved, false);
  assert.equal(arith.baseStderr, 0.0712);
  assert.equal(heldout.base, null);
  assert.equal(heldout.delta, null);
  assert.equal(heldout.improved, null);
  assert.equal(ppl.delta, -1.75);
  assert.equal(ppl.improved, true, 'a lower perplexity is better');
  assert.deepEqual(scoreRows(undefined), []);
});

test('text: 4 decimals for fractions, 4 significant digits for unbounded metrics, signed deltas', () => {
  assert.equal(formatScore(0.42), '0.4200');
  assert.equal(formatScore(12.5, 'perplexity'), '12.50');
  assert.equal(formatScore(0.5, 'perplexity'), '0.5000');
  assert.equal(formatScore(null), '—');
  assert.equal(formatScore(Number.NaN), '—');
  assert.equal(formatDelta(0.03), '+0.0300');
  assert.equal(formatDelta(-0.04), '\u22120.0400');
  assert.equal(formatDelta(0), '±0');
  assert.equal(formatDelta(null), '—');
  assert.equal(formatDelta(-1.75, 'perplexity'), '\u22121.750');
  assert.equal(formatScoreWithStderr(0.42, 0.0705), '0.4200 ± 0.0705');
  assert.equal(formatScoreWithStderr(0.42, null), '0.4200');
  assert.equal(evaluatedAdapterLabel({ adapter: 'final', step: 200 }), 'final adapter (step 200)');
  assert.equal(evaluatedAdapterLabel({ adapter: 'checkpoints/step-000100', step: 100 }), 'checkpoint step-000100 (step 100)');
  assert.equal(evalSettingsLabel({ limit: null, numFewshot: 5, profile: 'article' }), 'limit all · 5-shot · profile article');
});
