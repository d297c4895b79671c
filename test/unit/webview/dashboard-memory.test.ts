// The dashboard's memory and gradient-norm data, pure: the memory axis scaled to the run's own peak
// (never the device's total), memory in use and the peak so far per step, the header's memory text,
// the grad-norm chart's points, and the snapshot message the first paint is drawn from.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricsLine } from '../../../native/trainer/protocol';
import { MetricsColumns } from '../../../webview/src/metrics';
import { chartPoints, memoryData, memoryRange, simpleData } from '../../../webview/src/dashboard/charts';
import { deviceShare, memoryNow } from '../../../webview/src/dashboard/header';
import { isHostToWebview } from '../../../webview/src/protocol';

const MiB = 1 << 20;
const GiB = 1 << 30;

const train = (step: number, extra: Partial<Extract<MetricsLine, { kind: 'train' }>> = {}): MetricsLine => ({
  kind: 'train',
  step,
  epoch: 0,
  loss: 2,
  lr: 1e-3,
  grad_norm: 0.5 + step / 10,
  tokens: step * 64,
  tokens_per_s: 32,
  peak_bytes: 15 * MiB + step * 1024,
  elapsed_s: step,
  ...extra,
});

test('memory axis: 0 to just above the run’s own peak (15.7 MiB of a 23.5 GiB device is not a flat line at 0 B)', () => {
  const columns = new MetricsColumns();
  columns.append([train(1), train(2), train(3)]);
  const [low, high] = memoryRange(columns.peakBytes);
  assert.equal(low, 0);
  const peak = 15 * MiB + 3 * 1024;
  assert.ok(high > peak && high <= peak * 1.1 + 1, `${high} is just above the peak ${peak}`);
  assert.ok(high < GiB, 'the device total plays no part');
  assert.deepEqual(memoryRange([]), [0, 1]);
});

test('memory data: the peak so far and the bytes in use per step; null where an older run did not log them', () => {
  const columns = new MetricsColumns();
  columns.append([train(1), train(2, { current_bytes: 12 * MiB }), train(3, { current_bytes: 13 * MiB })]);
  const [x, peak, inUse] = memoryData(columns, 'step');
  assert.deepEqual(x, [1, 2, 3]);
  assert.deepEqual(peak, columns.peakBytes);
  assert.deepEqual(inUse, [null, 12 * MiB, 13 * MiB]);
  assert.deepEqual(columns.latestMemory(), { currentBytes: 13 * MiB, peakBytes: 15 * MiB + 3 * 1024 });
  assert.deepEqual(new MetricsColumns().latestMemory(), {});
});

test('header memory text: in use with the device share and the peak; the peak so far for runs without it', () => {
  assert.equal(deviceShare(15.7 * MiB, 23.5 * GiB), '15.7 MiB of 23.5 GiB (0.07%)');
  assert.equal(deviceShare(12 * GiB, 24 * GiB), '12.0 GiB of 24.0 GiB (50%)');
  assert.equal(memoryNow({ currentBytes: 12 * MiB, peakBytes: 16 * MiB }, 24 * GiB), '12.0 MiB of 24.0 GiB (0.05%) · peak 16.0 MiB');
  assert.equal(memoryNow({ peakBytes: 16 * MiB }, undefined), '16.0 MiB peak so far');
  assert.equal(memoryNow({}, 24 * GiB), '—');
});

test('gradient norm: one point per train line with a finite norm', () => {
  const columns = new MetricsColumns();
  columns.append([train(1), train(2), train(3, { grad_norm: Number.NaN }), train(4)]);
  assert.deepEqual(simpleData(columns, 'step', columns.gradNorm)[1], [0.6, 0.7, Number.NaN, 0.9]);
  assert.equal(chartPoints('grad-norm', columns), 3);
  assert.equal(chartPoints('train-loss', columns), 4);
});

test('the snapshot message: the header (or null before the host lists the folder) and every line', () => {
  assert.ok(isHostToWebview({ type: 'snapshot', run: null, lines: [] }));
  assert.ok(isHostToWebview({ type: 'snapshot', run: { runDir: '/o/r' }, lines: [train(1)] }));
  assert.ok(!isHostToWebview({ type: 'snapshot', run: {}, lines: [] }));
  assert.ok(!isHostToWebview({ type: 'snapshot', run: null }));
});
