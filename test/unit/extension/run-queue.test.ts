// Queue scheduling: in order, one run per device by default, 'auto' shares every device, a busy
// device does not block a run for another one, and the limit setting raises the count.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { devicesShare, startable } from '../../../extension/src/run-queue';

const q = (id: number, device: string) => ({ id, device });

test('devicesShare: same device, or auto against anything', () => {
  assert.ok(devicesShare('cpu', 'cpu'));
  assert.ok(devicesShare('auto', 'cuda:1'));
  assert.ok(!devicesShare('cpu', 'cuda:0'));
  assert.ok(!devicesShare('cuda:0', 'cuda:1'));
});

test('startable keeps order and the per-device limit', () => {
  const queued = [q(1, 'cpu'), q(2, 'cpu'), q(3, 'cuda:0'), q(4, 'cuda:1'), q(5, 'cuda:0')];
  assert.deepEqual(
    startable(queued, [], 1).map((e) => e.id),
    [1, 3, 4],
  );
  assert.deepEqual(
    startable(queued, [{ device: 'cpu' }], 1).map((e) => e.id),
    [3, 4],
  );
  assert.deepEqual(
    startable(queued, [], 2).map((e) => e.id),
    [1, 2, 3, 4, 5],
  );
  assert.deepEqual(
    startable([q(1, 'auto'), q(2, 'cpu')], [], 1).map((e) => e.id),
    [1],
  );
  assert.deepEqual(
    startable([q(1, 'cpu')], [{ device: 'auto' }], 1).map((e) => e.id),
    [],
  );
  assert.deepEqual(
    startable([q(1, 'cpu')], [], 0).map((e) => e.id),
    [1],
    'a limit below 1 still runs one',
  );
});
