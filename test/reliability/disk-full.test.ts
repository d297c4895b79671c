// A disk that fills up between steps (a small tmpfs as out_dir, filled by the test after step 3):
// the run ends `failed` with E_DISK_FULL naming the file and a hint, no temp file is left, and
// the metrics written before are intact; a small disk that holds the checkpoints is not refused by
// an inflated free-space margin. Needs root to mount a tmpfs; skipped where it cannot.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { MetricsLine, RunJson } from '../../native/trainer/protocol';
import { folderBytes } from '../../native/trainer/run/checkpoints';
import { runCli, trainWithEvents } from '../unit/helpers/run-cli';
import { makeWorkspace } from '../unit/trainer/fixtures';

const ws = makeWorkspace();
const mountPoint = join(ws.dir, 'out-full');
mkdirSync(mountPoint);
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountPoint]).status === 0;
after(() => {
  if (mounted) spawnSync('umount', [mountPoint]);
  rmSync(ws.dir, { recursive: true, force: true });
});

/** Writes a file until the file system is full. */
function fill(path: string): void {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
  // the last partial block
  const small = openSync(`${path}-tail`, 'w');
  try {
    for (;;) writeSync(small, Buffer.alloc(512, 1));
  } catch {
    // full
  } finally {
    closeSync(small);
  }
}

test(
  'disk full between steps: failed with E_DISK_FULL, the path and a hint; no temp left; metrics intact',
  { timeout: 120_000, skip: mounted ? false : 'cannot mount a tmpfs here (needs root)' },
  async () => {
    const config = ws.writeConfig('full', {
      train: { max_steps: 200, save_interval: 1000, val_interval: 1000, log_interval: 1 },
      out_dir: 'out-full',
    });
    let runDir = '';
    const r = await trainWithEvents([config], (event) => {
      if (event.type === 'started') runDir = event.runDir;
      if (event.type === 'step' && event.line.step >= 3 && !readdirSync(mountPoint).includes('filler')) fill(join(mountPoint, 'filler'));
    });
    assert.equal(r.status, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /Unhandled|TypeError/);
    const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunJson;
    assert.equal(run.status, 'failed', 'run.json says the run failed, not running');
    assert.equal(run.error?.code, 'E_DISK_FULL');
    assert.ok(run.error?.message.includes(runDir), `the message names the file: ${run.error?.message}`);
    assert.match(run.error?.hint ?? '', /Free disk space/);
    const left = readdirSync(runDir).filter((n) => n.includes('.tmp-') || n.includes('.old-'));
    assert.deepEqual(left, [], 'no temp file is left');
    const steps = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as MetricsLine)
      .map((l) => l.step);
    assert.ok(steps.length >= 3, 'the steps before the disk filled are kept');
    assert.deepEqual(
      steps,
      steps.map((_s, i) => i + 1),
      'every kept line is whole and in order',
    );
  },
);

test(
  'the free-space check asks for the measured checkpoint size plus a margin, not a multiple of it',
  { timeout: 120_000, skip: mounted ? false : 'cannot mount a tmpfs here (needs root)' },
  () => {
    const small = join(ws.dir, 'out-small');
    mkdirSync(small);
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=640k', 'tmpfs', small]).status, 0);
    try {
      const config = ws.writeConfig('small', {
        train: { max_steps: 6, save_interval: 2, val_interval: 1000, keep_checkpoints: 1 },
        out_dir: 'out-small',
      });
      const r = runCli(['train', config]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const runDir = join(
        small,
        readdirSync(small).find((n) => !n.startsWith('.'))!,
      );
      const checkpointBytes = folderBytes(join(runDir, 'checkpoints/step-000006'));
      assert.ok(checkpointBytes * 2.5 < 640 * 1024, `a 640 KiB disk holds the ${checkpointBytes}-byte checkpoints with room to spare`);
      assert.equal((JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunJson).status, 'completed');
    } finally {
      spawnSync('umount', [small]);
    }
  },
);
