// SIGTERM then SIGKILL while the newest checkpoint is re-saved (keep_checkpoints: 1): the old
// copy stays complete until the new one is, so --resume continues from it instead of step 0.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { MetricsLine, RunJson } from '../../native/trainer/protocol';
import { listCheckpoints } from '../../native/trainer/run/checkpoints';
import { runCli, trainWithEvents } from '../unit/helpers/run-cli';
import { makeWorkspace } from '../unit/trainer/fixtures';

const ws = makeWorkspace();
after(() => rmSync(ws.dir, { recursive: true, force: true }));

test(
  'SIGTERM + SIGKILL during a re-save with keep_checkpoints 1: the checkpoint survives, resume continues from it',
  { timeout: 120_000 },
  async () => {
    const config = ws.writeConfig('resave', {
      train: { max_steps: 6, save_interval: 2, val_interval: 100, keep_checkpoints: 1 },
      out_dir: 'out-resave',
    });
    const first = await trainWithEvents([config], (event, child) => {
      if (event.type === 'checkpoint' && event.step === 4) child.kill('SIGKILL');
    });
    assert.equal(first.signal, 'SIGKILL');
    const out = join(ws.dir, 'out-resave');
    const runDir = join(
      out,
      readdirSync(out).find((n) => !n.startsWith('.'))!,
    );
    assert.deepEqual(
      listCheckpoints(runDir).map((c) => c.step),
      [4],
    );

    const killer = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'resave-killer.ts'), runDir, '4', '1'], {
      encoding: 'utf8',
    });
    assert.equal(killer.signal, 'SIGKILL', killer.stderr);
    assert.deepEqual(
      listCheckpoints(runDir).map((c) => c.step),
      [4],
      'the killed re-save left the complete step-4 checkpoint in place',
    );
    assert.ok(existsSync(join(runDir, 'checkpoints/step-000004/state')), 'with its engine state');

    const resumed = runCli(['train', '--resume', runDir]);
    assert.equal(resumed.status, 0, resumed.stderr);
    const log = readFileSync(join(runDir, 'train.log'), 'utf8');
    assert.match(log, /resuming from .*step-000004 \(step 4\)/);
    assert.doesNotMatch(log, /starting from step 0/);
    // The killed trainer may also have left a run.json temp file (listed first): both are removed.
    assert.match(log, /removed leftovers of an interrupted trainer: [^\n]*checkpoints\/\.step-000004\.tmp-/);
    assert.deepEqual(
      readdirSync(runDir).filter((n) => n.includes('.tmp')),
      [],
      'no temp file is left in the run folder',
    );
    assert.deepEqual(readdirSync(join(runDir, 'checkpoints')), ['step-000006'], 'no temp folder is left');
    const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunJson;
    assert.equal(run.status, 'completed');
    const steps = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as MetricsLine)
      .filter((l) => l.kind === 'train')
      .map((l) => l.step);
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6], 'no step lost or trained twice');
  },
);
