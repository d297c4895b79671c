// Failure handling of the trainer: kill -9 at several points then resume gives the losses of an
// uninterrupted run; an interrupted checkpoint write never counts; SIGTERM saves and stops;
// non-finite losses fail with a reason and keep the last checkpoint; bad input is refused with
// the file and line.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { MetricsLine, RunJson } from '../../../native/trainer/protocol';
import { spawnSync } from 'node:child_process';
import { CLI, runCli, trainWithEvents } from '../helpers/run-cli';
import { makeWorkspace } from './fixtures';

const ws = makeWorkspace();
after(() => rmSync(ws.dir, { recursive: true, force: true }));

const runOf = (outDir: string) =>
  join(
    outDir,
    readdirSync(outDir).find((n) => existsSync(join(outDir, n, 'run.json')))!,
  );
const trainLosses = (runDir: string) =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricsLine)
    .filter((l): l is Extract<MetricsLine, { kind: 'train' }> => l.kind === 'train')
    .map((l) => [l.step, l.loss]);
const runJson = (runDir: string) => JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunJson;

const settings = { train: { max_steps: 10, save_interval: 2, val_interval: 100, keep_checkpoints: 3 }, lora: { dropout: 0.1 } };

test('kill -9 at several points, then resume: identical losses to an uninterrupted run', { timeout: 600_000 }, async () => {
  const reference = ws.writeConfig('reference', { ...settings, out_dir: 'out-ref' });
  assert.equal(runCli(['train', reference]).status, 0);
  const expected = trainLosses(runOf(join(ws.dir, 'out-ref')));
  assert.equal(expected.length, 10);

  const config = ws.writeConfig('killed', { ...settings, out_dir: 'out-kill' });
  // first life: killed right after step 3 was reported (checkpoint 2 is complete)
  const first = await trainWithEvents([config], (event, child) => {
    if (event.type === 'step' && event.line.step >= 3) child.kill('SIGKILL');
  });
  assert.equal(first.signal, 'SIGKILL');
  const runDir = runOf(join(ws.dir, 'out-kill'));
  assert.equal(runJson(runDir).status, 'running', 'a killed run keeps its last written status');
  // second life: resumed, killed after the checkpoint of step 6
  const second = await trainWithEvents(['--resume', runDir], (event, child) => {
    if (event.type === 'checkpoint' && event.step === 6) child.kill('SIGKILL');
  });
  assert.equal(second.signal, 'SIGKILL');
  // third life: to the end
  const third = runCli(['train', '--resume', runDir]);
  assert.equal(third.status, 0, third.stderr);
  assert.equal(runJson(runDir).status, 'completed');
  assert.deepEqual(trainLosses(runDir), expected, 'no step twice, the same losses bit for bit');
});

test('an interrupted checkpoint write is never taken for a checkpoint', { timeout: 300_000 }, async () => {
  const config = ws.writeConfig('torn', { ...settings, train: { ...settings.train, max_steps: 6 }, out_dir: 'out-torn' });
  const first = await trainWithEvents([config], (event, child) => {
    if (event.type === 'checkpoint' && event.step === 4) child.kill('SIGKILL');
  });
  assert.equal(first.signal, 'SIGKILL');
  const runDir = runOf(join(ws.dir, 'out-torn'));
  // what a kill in the middle of writing step 6 leaves: a temp folder, and a folder without cursor.json
  const ckpts = join(runDir, 'checkpoints');
  cpSync(join(ckpts, 'step-000004'), join(ckpts, '.step-000006.tmp-99999'), { recursive: true });
  mkdirSync(join(ckpts, 'step-000006'));
  cpSync(join(ckpts, 'step-000004', 'state'), join(ckpts, 'step-000006', 'state'), { recursive: true });
  const resumed = await trainWithEvents(['--resume', runDir], () => {});
  assert.equal(resumed.status, 0, resumed.stderr);
  const log = readFileSync(join(runDir, 'train.log'), 'utf8');
  assert.match(log, /resuming from \S*step-000004 \(step 4\)/);
  assert.deepEqual(
    trainLosses(runDir).map(([s]) => s),
    [1, 2, 3, 4, 5, 6],
  );
});

test('SIGTERM: the step finishes, a checkpoint is saved, the run is marked stopped, exit 0', { timeout: 300_000 }, async () => {
  const config = ws.writeConfig('sigterm', {
    ...settings,
    train: { ...settings.train, max_steps: 200, save_interval: 1000 },
    out_dir: 'out-term',
  });
  let signalled = false;
  const result = await trainWithEvents([config], (event, child) => {
    if (event.type === 'step' && event.line.step >= 2 && !signalled) {
      signalled = true;
      child.kill('SIGTERM');
    }
  });
  assert.equal(result.status, 0, result.stderr);
  assert.ok(result.events.some((e) => e.type === 'stopping' && e.expectedS > 0));
  const stopped = result.events.find((e) => e.type === 'stopped');
  assert.ok(stopped && stopped.type === 'stopped');
  const runDir = runOf(join(ws.dir, 'out-term'));
  const run = runJson(runDir);
  assert.equal(run.status, 'stopped');
  assert.ok(run.stopping && run.stopping.expectedS > 0);
  assert.ok(existsSync(join(runDir, 'checkpoints', `step-${String(stopped.step).padStart(6, '0')}`, 'cursor.json')));
  assert.ok(stopped.step < 200);
});

test('a diverging run fails with the reason and a hint; the last good checkpoint stays', { timeout: 300_000 }, () => {
  const config = ws.writeConfig('nan', {
    ...settings,
    train: { ...settings.train, optimizer: 'sgd', learning_rate: 1e30, warmup_steps: 0, grad_clip: null, lr_scheduler: 'constant' },
    out_dir: 'out-nan',
  });
  const r = runCli(['train', config]);
  assert.equal(r.status, 1);
  const run = runJson(runOf(join(ws.dir, 'out-nan')));
  assert.equal(run.status, 'failed');
  assert.equal(run.error?.code, 'E_NONFINITE_LOSS');
  assert.match(run.error!.hint!, /learning_rate/);
  assert.match(r.stdout + r.stderr, /not finite/);
});

// Input errors are caught before the run folder is created: none is left behind (issue 20).
const noRunFolder = (outDir: string) => !existsSync(outDir) || readdirSync(outDir).every((n) => n.startsWith('.'));

test('malformed data rows are refused with the file and line, before a run folder exists', () => {
  writeFileSync(join(ws.dir, 'data/bad.json'), '[\n  {"instruction": "a", "output": "b"},\n  {"instruction": "c", "output": }\n]\n');
  const jsonConfig = ws.writeConfig('badjson', { data: { path: 'data/bad.json' }, out_dir: 'out-bad' });
  const r = runCli(['train', jsonConfig]);
  assert.notEqual(r.status, 0);
  assert.match(r.stdout + r.stderr, /bad\.json:3/);
  assert.ok(noRunFolder(join(ws.dir, 'out-bad')), 'no failed run folder is left for an input error');

  writeFileSync(join(ws.dir, 'data/bad.csv'), 'instruction,input,output\n"a","","b"\n"c","d\n');
  const csvConfig = ws.writeConfig('badcsv', { data: { format: 'csv', path: 'data/bad.csv' }, out_dir: 'out-badcsv' });
  const c = runCli(['train', csvConfig]);
  assert.notEqual(c.status, 0);
  assert.match(c.stdout + c.stderr, /bad\.csv:3/);
  assert.ok(noRunFolder(join(ws.dir, 'out-badcsv')));
});

test('config problems are refused before a run folder exists: unknown key, missing or pickle-only checkpoint', () => {
  const unknown = ws.writeConfig('unknown', { train: { max_stepz: 3 } as never, out_dir: 'out-refused' });
  const u = runCli(['train', unknown]);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /unknown\.lora\.yaml:\d+:\d+: error: .*max_stepz/);
  assert.match(u.stderr, /max_steps/, 'did you mean');

  const missing = ws.writeConfig('missing', { model: { checkpoint: 'checkpoints/nope' }, out_dir: 'out-refused' });
  const m = runCli(['train', missing]);
  assert.equal(m.status, 2);
  assert.match(m.stderr, /checkpoints\/nope/);

  mkdirSync(join(ws.dir, 'checkpoints/pickle'), { recursive: true });
  writeFileSync(join(ws.dir, 'checkpoints/pickle/config.json'), '{}');
  writeFileSync(join(ws.dir, 'checkpoints/pickle/pytorch_model.bin'), 'not loaded');
  const pickle = ws.writeConfig('pickle', { model: { checkpoint: 'checkpoints/pickle' }, out_dir: 'out-refused' });
  const p = runCli(['train', pickle]);
  assert.equal(p.status, 2);
  assert.match(p.stderr, /pickle/i);
  assert.ok(!existsSync(join(ws.dir, 'out-refused')), 'no run folder for a refused config');
});

test('a trainer whose parent goes away keeps training and finishes the run', { timeout: 300_000 }, async () => {
  const config = ws.writeConfig('orphan', { ...settings, train: { ...settings.train, max_steps: 12 }, out_dir: 'out-orphan' });
  // the parent forks the trainer with IPC as the extension host does, then exits at once
  const parent = `const { fork } = require('node:child_process');
    const fs = require('node:fs');
    const out = fs.openSync(${JSON.stringify(join(ws.dir, 'orphan.out'))}, 'w');
    const child = fork(${JSON.stringify(CLI)}, ['train', ${JSON.stringify(config)}, '--ipc'], { execArgv: [], detached: true, stdio: ['ignore', out, out, 'ipc'], env: { ...process.env, LORALAB_THREADS: '1' } });
    child.once('message', () => process.exit(0));`;
  const exited = spawnSync(process.execPath, ['-e', parent], { timeout: 60_000 });
  assert.equal(exited.status, 0);
  const outDir = join(ws.dir, 'out-orphan');
  const deadline = Date.now() + 240_000;
  let status = '';
  while (Date.now() < deadline) {
    try {
      status = runJson(runOf(outDir)).status;
    } catch {
      status = '';
    }
    if (status && status !== 'running') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(status, 'completed', readFileSync(join(ws.dir, 'orphan.out'), 'utf8'));
  assert.equal(trainLosses(runOf(outDir)).length, 12);
});
