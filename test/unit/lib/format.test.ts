// The shared formatters (language-server/src/lib/format.ts) and the ETA (lib/eta.ts): binary byte
// units everywhere, one duration style, parameter counts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimateEtaS } from '../../../language-server/src/lib/eta';
import { formatBytes, formatCompact, formatCount, formatDuration, formatLoss, formatShare } from '../../../language-server/src/lib/format';

test('formatBytes: binary units labelled KiB / MiB / GiB, three significant digits', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.50 KiB');
  assert.equal(formatBytes(15.7 * 1024 ** 2), '15.7 MiB');
  assert.equal(formatBytes(1.5 * 1024 ** 3), '1.50 GiB');
  assert.equal(formatBytes(245.4 * 1024 ** 3), '245 GiB');
  assert.equal(formatBytes(2 * 1024 ** 5), '2048 TiB');
  assert.equal(formatBytes(null), '—');
  assert.equal(formatBytes(Number.NaN), '—');
});

test('formatDuration: hours and minutes, minutes and seconds, seconds', () => {
  assert.equal(formatDuration(3725), '1h 02m');
  assert.equal(formatDuration(65), '1m 05s');
  assert.equal(formatDuration(38.4), '38s');
  assert.equal(formatDuration(3.25), '3.3s');
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(null), '—');
  assert.equal(formatDuration(Infinity), '—');
});

test('formatLoss and the parameter counts', () => {
  assert.equal(formatLoss(2.34567), '2.346');
  assert.equal(formatLoss(undefined), '—');
  assert.equal(formatCount(6_738_415_616), '6,738,415,616');
  assert.equal(formatCompact(6_738_415_616), '6.74B');
  assert.equal(formatCompact(812), '812');
  assert.equal(formatShare(4_194_304, 6_738_415_616), '0.0622%');
  assert.equal(formatShare(1, 0), '?');
});

test('estimateEtaS from the recent pace; null without data; 0 when done', () => {
  assert.equal(estimateEtaS([], [], 10), null);
  assert.equal(estimateEtaS([2], [4], 10), 16, 'one point: its own pace');
  assert.equal(estimateEtaS([1, 2, 3, 4], [10, 11, 12, 13], 10), 6, 'the pace between points, not since 0');
  assert.equal(estimateEtaS([10], [5], 10), 0);
  // a slow start does not weigh on the ETA once the window has moved past it
  const steps = Array.from({ length: 100 }, (_, i) => i + 1);
  const elapsed = steps.map((s) => (s <= 10 ? s * 10 : 100 + (s - 10)));
  assert.equal(estimateEtaS(steps, elapsed, 200, 50), 100);
});
