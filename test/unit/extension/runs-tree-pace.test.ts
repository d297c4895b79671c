// The Runs view's refresh pacing: at most one change event a second, none while the view is hidden
// or in its first second after being shown, and nothing that changed meanwhile is dropped.
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { RefreshPacer } from '../../../extension/src/runs-tree-pace';

function pacer() {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  const fired: (string[] | undefined)[] = [];
  const p = new RefreshPacer<string>(
    (nodes) => fired.push(nodes),
    1000,
    1000,
    () => Date.now(),
  );
  return { p, fired };
}

test('RefreshPacer holds changes while hidden and for a second after the view is shown', (t) => {
  const { p, fired } = pacer();
  t.after(() => mock.timers.reset());
  p.add(['a']);
  mock.timers.tick(5000);
  assert.deepEqual(fired, [], 'nothing while hidden');
  p.setVisible(true);
  mock.timers.tick(999);
  assert.deepEqual(fired, [], 'nothing in the first second after showing');
  mock.timers.tick(1);
  assert.deepEqual(fired, [['a']]);
});

test('RefreshPacer sends at most one event a second, with every row changed meanwhile', (t) => {
  const { p, fired } = pacer();
  t.after(() => mock.timers.reset());
  p.setVisible(true);
  mock.timers.tick(1000);
  p.add(['a']);
  mock.timers.tick(0);
  assert.deepEqual(fired, [['a']], 'the first change goes out at once');
  p.add(['b']);
  mock.timers.tick(300);
  p.add(['c', 'b']);
  mock.timers.tick(600);
  assert.equal(fired.length, 1, 'not twice within a second');
  mock.timers.tick(100);
  assert.deepEqual(fired, [['a'], ['b', 'c']]);
});

test('RefreshPacer turns any whole-tree change into one whole-tree refresh', (t) => {
  const { p, fired } = pacer();
  t.after(() => mock.timers.reset());
  p.setVisible(true);
  mock.timers.tick(1000);
  p.add(['a']);
  p.add(undefined);
  p.add(['b']);
  mock.timers.tick(0);
  assert.deepEqual(fired, [undefined]);
  p.setVisible(false);
  p.add(['c']);
  mock.timers.tick(10_000);
  assert.equal(fired.length, 1, 'hidden again: held');
  p.dispose();
});
