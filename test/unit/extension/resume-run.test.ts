// Resume Run on a run that failed with a non-finite loss: a modal says it will diverge again and
// offers a tenth of the learning rate (--set on the resume) or the resume unchanged; cancel queues nothing.
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fake from '../helpers/fake-vscode';
import { divergedResume, lowerRateChoice, RESUME_UNCHANGED, resumeRun } from '../../../extension/src/commands/resume-run';
import type { Ctx } from '../../../extension/src/context';
import type { RunView } from '../../../extension/src/runs-model';
import { trainArgs, type TrainRequest } from '../../../extension/src/trainer-process';
import { runJson } from './run-fixtures';

const DIVERGED = {
  code: 'E_NONFINITE_LOSS',
  message:
    'step 2: the loss is not finite (loss NaN, grad norm NaN); no checkpoint was saved yet (the first comes at step 100): resuming starts from step 0',
  hint: 'Lower train.learning_rate, raise train.warmup_steps.',
};

function view(overrides: Partial<RunView> = {}, error = DIVERGED): RunView {
  return {
    dir: '/ws/out/demo-r8',
    run: runJson({ status: 'failed', error, configPath: '/no/such/demo.lora.yaml' }),
    state: 'failed',
    hasAdapter: false,
    etaS: null,
    config: {
      method: 'lora',
      precision: 'bf16-true',
      r: 8,
      alpha: 16,
      targets: ['query', 'value'],
      quantize: 'none',
      optimizer: 'adamw',
      learningRate: 500,
      globalBatchSize: 16,
      microBatchSize: 4,
    },
    ...overrides,
  };
}

function fakeCtx(shown: RunView): { ctx: Ctx; queued: { request: TrainRequest; label: string }[] } {
  const queued: { request: TrainRequest; label: string }[] = [];
  const ctx = {
    runs: { refreshNow: () => undefined, store: { view: () => shown } },
    manager: { enqueue: (entries: { request: TrainRequest; label: string }[]) => queued.push(...entries) },
    log: { info: () => undefined, warn: () => undefined },
  } as unknown as Ctx;
  return { ctx, queued };
}

test('divergedResume: only a failed run with the non-finite loss code; a tenth of the learning rate', () => {
  const diverged = divergedResume(view());
  assert.ok(diverged);
  assert.match(diverged.message, /^demo-r8 failed because its loss became non-finite: resumed unchanged .* will diverge again\.$/);
  assert.match(
    diverged.detail,
    /step 2: the loss is not finite[\s\S]*train\.learning_rate 50 \(a tenth of 500\)[\s\S]*Lower train\.learning_rate/,
  );
  assert.equal(diverged.lowerRate, 50);
  assert.equal(divergedResume(view({}, { code: 'E_OUT_OF_MEMORY', message: 'out of memory', hint: '' })), undefined);
  assert.equal(divergedResume(view({ state: 'stopped' })), undefined);
  assert.equal(divergedResume(view({ config: null }))?.lowerRate, undefined, 'no config: no rate to lower');
});

test('Resume Run on a diverged run: the modal first; cancel queues nothing, the lower rate resumes with --set', async () => {
  fake.resetFakeVscode();
  const { ctx, queued } = fakeCtx(view());
  await resumeRun(ctx)('/ws/out/demo-r8');
  assert.match(fake.shownMessages.at(-1)!.text, /will diverge again/);
  assert.equal(queued.length, 0, 'no answer: nothing queued');

  fake.answers.warning = lowerRateChoice(50);
  await resumeRun(ctx)('/ws/out/demo-r8');
  assert.equal(queued.length, 1);
  assert.deepEqual(queued[0].request.resumeSets, ['train.learning_rate=50']);
  assert.deepEqual(trainArgs(queued[0].request), ['train', '--resume', '/ws/out/demo-r8', '--ipc', '--set', 'train.learning_rate=50']);

  fake.answers.warning = RESUME_UNCHANGED;
  await resumeRun(ctx)('/ws/out/demo-r8');
  assert.deepEqual(trainArgs(queued[1].request), ['train', '--resume', '/ws/out/demo-r8', '--ipc']);
});

test('Resume Run on a stopped run asks nothing and queues the resume', async () => {
  fake.resetFakeVscode();
  const { ctx, queued } = fakeCtx(view({ state: 'stopped' }, undefined as never));
  await resumeRun(ctx)('/ws/out/demo-r8');
  assert.deepEqual(fake.shownMessages, []);
  assert.equal(queued.length, 1);
});
