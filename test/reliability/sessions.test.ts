// What a run records across stops and sessions: a stop during validation keeps the pass's result;
// a completed run's final validation loss is the last pass's, with its step; resuming merges the
// summary (time and tokens summed, peak = max) and records each session; --resume --set changes
// state-compatible keys (recorded with the step) and refuses shape-changing ones naming the key.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import type { MetricsLine, RunJson } from '../../native/trainer/protocol';
import { runCli, trainWithEvents } from '../unit/helpers/run-cli';
import { makeWorkspace } from '../unit/trainer/fixtures';

const ws = makeWorkspace(160);
after(() => rmSync(ws.dir, { recursive: true, force: true }));

const runJson = (dir: string) => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunJson;
const metrics = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricsLine);
const onlyRun = (out: string) =>
  join(
    out,
    readdirSync(out).find((n) => !n.startsWith('.'))!,
  );

test('a stop that arrives during validation: the pass is finished and recorded, then the run stops', { timeout: 120_000 }, async () => {
  // 80 validation examples at micro-batch 1: a pass of 80 evaluations, far longer than a step of
  // one example; the stop is sent at step 1's event, so it lands in step 2 or in its validation
  const config = ws.writeConfig('valstop', {
    data: { val_split_fraction: 0.5 },
    train: { max_steps: 20, micro_batch_size: 1, global_batch_size: 1, val_interval: 2, save_interval: 100 },
    out_dir: 'out-valstop',
  });
  let stopSentAtStep = 0;
  const r = await trainWithEvents([config], (event, child) => {
    if (event.type === 'step' && event.line.step === 1 && !stopSentAtStep) {
      stopSentAtStep = 1;
      child.kill('SIGTERM');
    }
  });
  assert.equal(r.status, 0, r.stderr);
  const runDir = onlyRun(join(ws.dir, 'out-valstop'));
  assert.equal(runJson(runDir).status, 'stopped');
  const vals = metrics(runDir)
    .filter((l) => l.kind === 'val')
    .map((l) => l.step);
  assert.deepEqual(vals, [2], 'the validation pass at step 2 that the stop interrupted is recorded');
  assert.ok(r.events.some((e) => e.type === 'val' && e.line.step === 2));
  const stopping = r.events.find((e) => e.type === 'stopping');
  assert.ok(
    stopping && stopping.type === 'stopping' && stopping.expectedS < 3,
    `the stop estimate comes from measured times (${JSON.stringify(stopping)}), not 5 s + 1.5 steps`,
  );
  const cursor = JSON.parse(readFileSync(join(runDir, 'checkpoints/step-000002/cursor.json'), 'utf8')) as { lastValStep: number };
  assert.equal(cursor.lastValStep, 2);
});

test(
  'resuming a completed run merges its summary and records both sessions; final val loss comes with its step',
  { timeout: 120_000 },
  () => {
    const config = ws.writeConfig('merge', { train: { max_steps: 6, val_interval: 4, save_interval: 2 }, out_dir: 'out-merge' });
    assert.equal(runCli(['train', config]).status, 0);
    const runDir = onlyRun(join(ws.dir, 'out-merge'));
    const first = runJson(runDir);
    const lastVal = metrics(runDir)
      .filter((l) => l.kind === 'val')
      .at(-1)!;
    assert.equal(lastVal.step, 6, 'the last step always validates');
    assert.equal(first.summary?.finalValLoss, lastVal.loss);
    assert.equal(first.summary?.finalValStep, 6);
    assert.equal(first.sessions?.length, 1);

    const again = runCli(['train', '--resume', runDir]);
    assert.equal(again.status, 0, again.stderr);
    const second = runJson(runDir);
    assert.equal(second.status, 'completed');
    assert.equal(second.summary?.peakBytes, first.summary?.peakBytes, "peak is the maximum over sessions, not the last session's");
    assert.equal(second.summary?.tokens, first.summary?.tokens, 'no tokens trained twice');
    assert.ok((second.summary?.trainTimeS ?? 0) >= (first.summary?.trainTimeS ?? Infinity));
    assert.equal(second.summary?.finalValStep, 6);
    assert.equal(second.sessions?.length, 2);
    assert.deepEqual(
      second.sessions!.map((s) => [s.fromStep, s.toStep, s.status]),
      [
        [0, 6, 'completed'],
        [6, 6, 'completed'],
      ],
    );
    assert.ok(second.sessions![0].peakBytes > second.sessions![1].peakBytes, 'each session keeps its own peak');
  },
);

test(
  "--resume --set: the learning rate and length change from the checkpoint's step and are recorded; a shape key is refused by name",
  { timeout: 120_000 },
  () => {
    const config = ws.writeConfig('reset', {
      train: { max_steps: 8, save_interval: 2, val_interval: 100, lr_scheduler: 'constant', warmup_steps: 0 },
      out_dir: 'out-reset',
    });
    assert.equal(runCli(['train', config, '--max-steps', '4']).status, 0);
    const runDir = onlyRun(join(ws.dir, 'out-reset'));
    const before = readFileSync(join(runDir, 'run.json'), 'utf8');

    const refused = runCli(['train', '--resume', runDir, '--set', 'lora.r=8']);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /'lora\.r' cannot change on --resume/);
    assert.equal(readFileSync(join(runDir, 'run.json'), 'utf8'), before, 'a refused resume leaves the run untouched');

    const r = runCli(['train', '--resume', runDir, '--set', 'train.learning_rate=1e-9', '--set', 'train.max_steps=6']);
    assert.equal(r.status, 0, r.stderr);
    const run = runJson(runDir);
    assert.equal(run.status, 'completed');
    assert.equal(run.totalSteps, 6);
    assert.deepEqual(run.resumeOverrides, [{ step: 4, set: { 'train.learning_rate': 1e-9, 'train.max_steps': 6 } }]);
    const lrs = metrics(runDir)
      .filter((l) => l.kind === 'train')
      .map((l) => [l.step, l.lr] as const);
    assert.deepEqual(
      lrs.map(([s]) => s),
      [1, 2, 3, 4, 5, 6],
    );
    for (const [step, lr] of lrs) {
      const expected = step <= 4 ? 0.01 : 1e-9; // float32 in the engine
      assert.ok(Math.abs(lr - expected) <= expected * 1e-6, `step ${step} ran at ${lr}, expected ${expected}`);
    }
    const recorded = parse(readFileSync(join(runDir, 'config.yaml'), 'utf8')) as { train: { learning_rate: number } };
    assert.equal(recorded.train.learning_rate, 1e-9, 'config.yaml holds the values in force, so a later resume keeps them');
  },
);
