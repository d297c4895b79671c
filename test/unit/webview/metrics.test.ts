// Dashboard data logic: metrics lines -> columns (replays dropped), val x on every axis, the
// debiased EMA against TensorBoard's formula, min/max downsampling, series join (the ETA and the formatters are tested in test/unit/lib).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricsLine } from '../../../native/trainer/protocol';
import { debiasedEma, downsampleIndices, joinSeries, MetricsColumns } from '../../../webview/src/metrics';

const train = (step: number, loss: number): MetricsLine => ({
  kind: 'train',
  step,
  epoch: 0,
  loss,
  lr: 1e-3 * step,
  grad_norm: 1,
  tokens: step * 64,
  tokens_per_s: 32,
  peak_bytes: 1 << 20,
  elapsed_s: step * 2,
});

test('MetricsColumns: one point per train line, replays and out-of-order lines dropped, reset', () => {
  const columns = new MetricsColumns();
  assert.equal(columns.append([train(1, 3), train(2, 2.5), { kind: 'val', step: 2, loss: 2.7 }, train(3, 2.2)]), 4);
  assert.equal(columns.append([train(2, 9), train(3, 9), { kind: 'val', step: 2, loss: 9 }, train(4, 2)]), 1, 'only step 4 is new');
  assert.deepEqual(columns.step, [1, 2, 3, 4]);
  assert.deepEqual(columns.loss, [3, 2.5, 2.2, 2]);
  assert.deepEqual(columns.xOf('tokens'), [64, 128, 192, 256]);
  assert.deepEqual(columns.valX('step'), [2]);
  assert.deepEqual(columns.valX('time'), [4], 'val at step 2 -> the train line at step 2');
  columns.reset();
  assert.equal(columns.step.length + columns.valStep.length, 0);
});

test('debiasedEma matches the TensorBoard formula and leaves weight 0 alone', () => {
  const values = [4, 2, 3, 1];
  const w = 0.6;
  let last = 0;
  const expected = values.map((v, i) => {
    last = last * w + (1 - w) * v;
    return last / (1 - w ** (i + 1));
  });
  const got = debiasedEma(values, w);
  got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-12));
  assert.equal(got[0], 4, 'debiasing: the first point equals the first value');
  assert.deepEqual(debiasedEma(values, 0), values);
  assert.deepEqual(
    debiasedEma([NaN, 2], 0.5).map((v) => (Number.isNaN(v) ? 'nan' : v)),
    ['nan', 2],
  );
  // a constant series stays constant at any weight (no pull towards 0)
  for (const v of debiasedEma([5, 5, 5, 5], 0.95)) assert.ok(Math.abs(v - 5) < 1e-9);
});

test('downsampleIndices keeps ends and spikes under the budget; short series untouched', () => {
  assert.deepEqual(downsampleIndices([1, 2, 3], 10), [0, 1, 2]);
  const ys = Array.from({ length: 10_000 }, (_, i) => Math.sin(i / 50));
  ys[4321] = 100;
  ys[7777] = -100;
  const idx = downsampleIndices(ys, 1000);
  assert.ok(idx.length <= 1000, `${idx.length} points`);
  assert.equal(idx[0], 0);
  assert.equal(idx[idx.length - 1], 9999);
  assert.ok(idx.includes(4321) && idx.includes(7777), 'spikes survive');
  for (let i = 1; i < idx.length; i++) assert.ok(idx[i] > idx[i - 1], 'strictly increasing');
});

test('joinSeries aligns two series on the union of x with nulls', () => {
  const joined = joinSeries([1, 2, 3], [[10, 20, 30]], [2, 4], [200, 400]);
  assert.deepEqual(joined, { x: [1, 2, 3, 4], a: [[10, 20, 30, null]], b: [null, 200, null, 400] });
});
