// Resuming from a checkpoint that is not the latest forks the run into a new folder (forkedFrom in
// its run.json, metrics up to that step, the original untouched); a variant stop (SIGUSR2, the
// reattached host's twin of IPC stop with scope 'variant') ends one sweep variant and the sweep goes on.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { MetricsLine, RunJson } from '../../../native/trainer/protocol';
import { runCli, trainWithEvents } from '../helpers/run-cli';
import { makeWorkspace } from './fixtures';

const ws = makeWorkspace();
after(() => rmSync(ws.dir, { recursive: true, force: true }));

const readRun = (dir: string) => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunJson;
const trainSteps = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricsLine)
    .filter((l) => l.kind === 'train')
    .map((l) => l.step);

test('resume from an earlier checkpoint starts a new run folder and leaves the original as it was', { timeout: 300_000 }, () => {
  const config = ws.writeConfig('fork-run', {
    train: { max_steps: 8, save_interval: 2, keep_checkpoints: 3 } as never,
    out_dir: 'out-fork',
  });
  const r = runCli(['train', config]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const outDir = join(ws.dir, 'out-fork');
  const [name] = readdirSync(outDir).filter((n) => existsSync(join(outDir, n, 'run.json')));
  const runDir = join(outDir, name);
  assert.deepEqual(readdirSync(join(runDir, 'checkpoints')).sort(), ['step-000004', 'step-000006', 'step-000008']);
  const before = readFileSync(join(runDir, 'run.json'), 'utf8');

  const bad = runCli(['train', '--resume', runDir, '--checkpoint', 'checkpoints/step-000003']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /not a complete checkpoint of .*checkpoints\/step-000004, checkpoints\/step-000006, checkpoints\/step-000008/);

  const fork = runCli(['train', '--resume', runDir, '--checkpoint', 'checkpoints/step-000004']);
  assert.equal(fork.status, 0, fork.stderr + fork.stdout);
  const forkDir = join(outDir, `${name}-from-4`);
  assert.ok(existsSync(forkDir), `the fork's folder: ${readdirSync(outDir).join(', ')}`);
  const forked = readRun(forkDir);
  assert.equal(forked.status, 'completed');
  assert.equal(forked.name, `${name}-from-4`);
  assert.deepEqual(forked.forkedFrom, { runDir, checkpoint: join('checkpoints', 'step-000004'), step: 4 });
  assert.deepEqual(trainSteps(forkDir), [1, 2, 3, 4, 5, 6, 7, 8], "the original's steps up to 4, then the fork's");
  assert.equal(readFileSync(join(runDir, 'run.json'), 'utf8'), before, 'the original run.json is unchanged');
  assert.deepEqual(readdirSync(join(runDir, 'checkpoints')).sort(), ['step-000004', 'step-000006', 'step-000008'], 'its checkpoints stay');

  const again = runCli(['train', '--resume', runDir, '--checkpoint', 'checkpoints/step-000006']);
  assert.equal(again.status, 0, again.stderr);
  assert.ok(existsSync(join(outDir, `${name}-from-6`)));
});

test('a variant stop ends the training variant; the sweep goes on with the next', { timeout: 300_000 }, async () => {
  const config = ws.writeConfig('variant-stop', {
    train: { max_steps: 6, save_interval: 100 } as never,
    out_dir: 'out-variant',
    sweep: { 'lora.r': [2, 4] } as never,
  });
  let signalled = false;
  const result = await trainWithEvents([config], (event, child) => {
    if (event.type === 'step' && !signalled) {
      signalled = true;
      child.kill('SIGUSR2');
    }
  });
  assert.equal(result.status, 0, result.stderr);
  const dirs = readdirSync(join(ws.dir, 'out-variant'))
    .map((d) => join(ws.dir, 'out-variant', d))
    .filter((d) => existsSync(join(d, 'run.json')));
  const runs = dirs.map(readRun).sort((a, b) => a.sweep!.variant - b.sweep!.variant);
  assert.deepEqual(
    runs.map((run) => [run.sweep!.variant, run.status]),
    [
      [0, 'stopped'],
      [1, 'completed'],
    ],
  );
  assert.ok(runs[0].step < 6, `variant 0 stopped early (step ${runs[0].step})`);
});
