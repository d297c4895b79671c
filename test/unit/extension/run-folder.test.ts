// Run-folder reading: derived state (stale heartbeat / dead pid -> crashed), the process start-time
// check against /proc, metrics.jsonl with a partial last line, and a tail across a rewrite.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { runJson } from './run-fixtures';
import { isDeletableRunDir, LineTail } from '../../../extension/src/run-folder';
import {
  checkProcess,
  deriveState,
  listRunDirs,
  MetricsTail,
  parseMetricsChunk,
  processStartMs,
  readRunJson,
} from '../../../language-server/src/lib/run-folder/reader';

const train = (step: number, loss = 2) =>
  JSON.stringify({
    kind: 'train',
    step,
    epoch: 0,
    loss,
    lr: 1e-4,
    grad_norm: 1,
    tokens: step * 100,
    tokens_per_s: 50,
    peak_bytes: 1000 + step,
    elapsed_s: step * 2,
  });

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'lora-host-'));
}

test('deriveState keeps written statuses and derives crashed from a stale heartbeat or a dead pid', () => {
  const now = 1_000_000;
  assert.equal(deriveState(runJson({ status: 'completed', heartbeatMs: 0 }), now, 'dead'), 'completed');
  assert.equal(deriveState(runJson({ status: 'failed' }), now, 'alive'), 'failed');
  assert.equal(deriveState(runJson({ heartbeatMs: now - 1000 }), now, 'alive'), 'running');
  assert.equal(deriveState(runJson({ heartbeatMs: now - 31_000 }), now, 'alive'), 'crashed');
  assert.equal(deriveState(runJson({ heartbeatMs: now - 1000 }), now, 'dead'), 'crashed');
  // a slow heartbeat interval stretches the stale limit to six intervals
  assert.equal(deriveState(runJson({ heartbeatMs: now - 50_000, heartbeatIntervalS: 10 }), now, 'alive'), 'running');
});

test(
  'checkProcess: this process is alive with its start time, dead with a wrong one or a free pid',
  { skip: !fs.existsSync('/proc/self/stat') && 'no /proc' },
  () => {
    const started = processStartMs(process.pid);
    assert.ok(started !== undefined);
    assert.ok(Math.abs(started - (Date.now() - process.uptime() * 1000)) < 3000, `start ${started} is near now - uptime`);
    assert.equal(checkProcess(process.pid, started), 'alive');
    assert.equal(checkProcess(process.pid, started - 3_600_000), 'dead', 'a reused pid started at another time');
    assert.equal(checkProcess(0, undefined), 'dead');
    assert.equal(checkProcess(2 ** 22 + 12345, undefined), 'dead');
  },
);

test('parseMetricsChunk leaves a partial last line for the next read', () => {
  const text = `${train(1)}\n${train(2)}\n{"kind":"train","st`;
  const { lines, consumed } = parseMetricsChunk(Buffer.from(text));
  assert.deepEqual(
    lines.map((l) => l.step),
    [1, 2],
  );
  assert.equal(consumed, text.lastIndexOf('\n') + 1);
  assert.deepEqual(parseMetricsChunk(Buffer.from('{"kind":"val"')), { lines: [], consumed: 0 });
});

test('MetricsTail reads appended lines once, completes a torn line, and resets on a rewrite', () => {
  const dir = tempDir();
  const file = path.join(dir, 'metrics.jsonl');
  const tail = new MetricsTail(file);
  assert.deepEqual(tail.read(), { reset: false, lines: [] }, 'missing file');
  fs.writeFileSync(file, `${train(1)}\n${train(2).slice(0, 20)}`);
  assert.deepEqual(
    tail.read().lines.map((l) => l.step),
    [1],
  );
  fs.appendFileSync(file, `${train(2).slice(20)}\n${JSON.stringify({ kind: 'val', step: 2, loss: 1.5 })}\n`);
  const second = tail.read();
  assert.deepEqual(
    second.lines.map((l) => `${l.kind}${l.step}`),
    ['train2', 'val2'],
  );
  assert.equal(tail.read().lines.length, 0);
  // a resume rewrites the file atomically (temp + rename), truncated to the checkpoint's step
  fs.writeFileSync(path.join(dir, 'tmp'), `${train(1)}\n`);
  fs.renameSync(path.join(dir, 'tmp'), file);
  const after = tail.read();
  assert.equal(after.reset, true);
  assert.deepEqual(
    after.lines.map((l) => l.step),
    [1],
  );
});

test('listRunDirs finds folders with a run.json; readRunJson tolerates a missing or torn file', () => {
  const root = tempDir();
  fs.mkdirSync(path.join(root, 'a'));
  fs.writeFileSync(path.join(root, 'a', 'run.json'), JSON.stringify(runJson()));
  fs.mkdirSync(path.join(root, 'b'));
  fs.writeFileSync(path.join(root, 'b', 'run.json'), '{"name": "b", "sta');
  fs.mkdirSync(path.join(root, 'not-a-run'));
  assert.deepEqual(
    listRunDirs([root, path.join(root, 'missing')]).map((d) => path.basename(d)),
    ['a', 'b'],
  );
  assert.equal(readRunJson(path.join(root, 'a'))?.name, 'demo-r8');
  assert.equal(readRunJson(path.join(root, 'b')), undefined);
  assert.equal(readRunJson(path.join(root, 'not-a-run')), undefined);
});

test('isDeletableRunDir accepts only run folders directly inside a watched folder', () => {
  const root = tempDir();
  fs.mkdirSync(path.join(root, 'run1'));
  fs.writeFileSync(path.join(root, 'run1', 'run.json'), '{}');
  fs.mkdirSync(path.join(root, 'other'));
  assert.equal(isDeletableRunDir(path.join(root, 'run1'), [root]), undefined);
  assert.match(isDeletableRunDir(path.join(root, 'other'), [root]) ?? '', /no run.json/);
  assert.match(isDeletableRunDir(path.join(root, 'run1'), [path.join(root, 'elsewhere')]) ?? '', /not inside/);
  assert.match(isDeletableRunDir(root, [root]) ?? '', /no run.json/);
});

test('LineTail follows a log from its current end, completes torn lines, restarts on a new file', () => {
  const dir = tempDir();
  const file = path.join(dir, 'train.log');
  fs.writeFileSync(file, 'old line\n');
  const tail = new LineTail(file);
  assert.deepEqual(tail.read(), []);
  fs.appendFileSync(file, 'one\ntw');
  assert.deepEqual(tail.read(), ['one']);
  fs.appendFileSync(file, 'o\n\nthree\n');
  assert.deepEqual(tail.read(), ['two', 'three']);
  fs.writeFileSync(path.join(dir, 'new'), 'fresh\n');
  fs.renameSync(path.join(dir, 'new'), file);
  assert.deepEqual(tail.read(), ['fresh']);
  assert.deepEqual(new LineTail(path.join(dir, 'missing')).read(), []);
});
