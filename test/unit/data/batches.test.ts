// Micro-batches (padding, shifted targets, lengths), the deterministic split and epoch order,
// and the data statistics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeBatch, microBatches, targetTokenCount } from '../../../native/trainer/data/batches';
import { IGNORE_INDEX, type TokenizedExample } from '../../../language-server/src/lib/data/example';
import { EpochSampler, splitTrainValidation } from '../../../language-server/src/lib/data/split';
import { dataStats, percentile } from '../../../native/trainer/data/stats';

function example(id: number, ids: number[], maskedLength = 0, truncated = false): TokenizedExample {
  return { id, inputIds: Int32Array.from(ids), maskedLength, promptLength: maskedLength, truncated, prefixViolation: false };
}

test('a micro-batch is right-padded to its longest member with targets shifted by one', () => {
  const batch = makeBatch([example(7, [1, 10, 11, 12, 2], 2), example(3, [1, 20, 2])], 0);
  assert.equal(batch.rows, 2);
  assert.equal(batch.seqLen, 4);
  assert.deepEqual([...batch.lengths], [4, 2]);
  assert.deepEqual(batch.exampleIds, [7, 3]);
  assert.deepEqual([...batch.tokens], [1, 10, 11, 12, /* row 2 */ 1, 20, 0, 0]);
  // row 1: labels [-100, -100, 11, 12, 2] shifted -> targets [-100, 11, 12, 2]
  assert.deepEqual([...batch.targets], [IGNORE_INDEX, 11, 12, 2, /* row 2 */ 20, 2, IGNORE_INDEX, IGNORE_INDEX]);
  assert.equal(targetTokenCount(batch), 5);
  assert.ok(batch.tokens instanceof Int32Array && batch.targets instanceof Int32Array && batch.lengths instanceof Int32Array);
});

test('micro-batches cover every example once, the last one smaller', () => {
  const examples = [3, 5, 2, 4, 6].map((n, i) =>
    example(
      i,
      [...Array(n).keys()].map((k) => k + 1),
    ),
  );
  const batches = [...microBatches(examples, 2, 0)];
  assert.deepEqual(
    batches.map((b) => [b.rows, b.seqLen]),
    [
      [2, 4],
      [2, 3],
      [1, 5],
    ],
  );
  assert.deepEqual(
    batches.flatMap((b) => b.exampleIds),
    [0, 1, 2, 3, 4],
  );
  assert.throws(() => makeBatch([], 0), /at least one example/);
});

test('the validation split is deterministic, disjoint and sized floor(n * fraction)', () => {
  const a = splitTrainValidation(1000, 0.03865, 42);
  const b = splitTrainValidation(1000, 0.03865, 42);
  assert.deepEqual(a, b);
  assert.equal(a.validation.length, 38);
  assert.equal(a.train.length, 962);
  assert.equal(new Set([...a.train, ...a.validation]).size, 1000);
  assert.notDeepEqual(splitTrainValidation(1000, 0.03865, 43).validation, a.validation);
  assert.notDeepEqual(a.validation, [...Array(38).keys()], 'not simply the first records');
  assert.equal(splitTrainValidation(5, 0.03865, 1).validation.length, 1, 'a positive fraction keeps one validation record');
  assert.equal(splitTrainValidation(5, 0, 1).validation.length, 0);
});

test('epoch order is a seeded permutation: the same for a resumed run, different per epoch', () => {
  const items = [...Array(50).keys()];
  const sampler = new EpochSampler(items, 1337);
  const resumed = new EpochSampler(items, 1337);
  assert.deepEqual(sampler.epochOrder(0), resumed.epochOrder(0));
  assert.deepEqual(sampler.epochOrder(3), resumed.epochOrder(3));
  assert.notDeepEqual(sampler.epochOrder(0), sampler.epochOrder(1));
  assert.notDeepEqual(sampler.epochOrder(0), new EpochSampler(items, 1338).epochOrder(0));
  assert.deepEqual(
    [...sampler.epochOrder(2)].sort((x, y) => x - y),
    items,
  );
});

test('data statistics: percentiles, histogram, truncated and masked shares', () => {
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50), 5);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), 9);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10);
  const examples = [example(0, [1, 2, 3, 4], 2), example(1, Array(20).fill(5), 20, true), example(2, [1, 2], 0)];
  const stats = dataStats(examples, 4);
  assert.equal(stats.examples, 3);
  assert.equal(stats.totalTokens, 26);
  assert.deepEqual(stats.lengths, { min: 2, max: 20, mean: 26 / 3, median: 4, p90: 20, p99: 20 });
  // lengths 2, 4, 20 -> 19 possible lengths in 4 bins of 5
  assert.deepEqual(stats.histogram, [
    { from: 2, to: 7, count: 2 },
    { from: 7, to: 12, count: 0 },
    { from: 12, to: 17, count: 0 },
    { from: 17, to: 22, count: 1 },
  ]);
  assert.deepEqual(dataStats([example(0, [1, 2, 3])]).histogram, [{ from: 3, to: 4, count: 1 }]);
  assert.deepEqual(dataStats([]).histogram, []);
  assert.equal(stats.truncated, 1);
  assert.equal(stats.truncatedShare, 1 / 3);
  assert.equal(stats.maskedTokens, 22);
  assert.equal(stats.maskedShare, 22 / 26);
  assert.equal(stats.emptyTargets, 1);
});
