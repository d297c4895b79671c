// Scenario 3, the Runs explorer: stop a training run from its context menu -> stopped with a
// checkpoint; resume it from the context menu -> completed, with metrics.jsonl continuing from
// the checkpoint (every step once).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAlive } from './lib/processes.mjs';
import { checkpoints, readRunJson, trainLines } from './lib/run-folders.mjs';
import { waitForNewRunFolder, waitForRunStatus, watchTrainers } from './lib/run-flow.mjs';
import { openFile, rowShowsState, runCommand, runContextAction, showRunsView, waitForRunRow } from './lib/ui.mjs';
import { withWorkbench } from './lib/workbench.mjs';
import { WaitAborted, waitFor } from './lib/wait.mjs';

const RUN_NAME = 'e2e-explorer';

test('explorer: stop from the context menu -> stopped with a checkpoint; resume -> completed', { timeout: 480_000 }, async () => {
  await withWorkbench({ name: 'explorer', fixture: 'explorer', examples: ['tiny-llama', 'data'] }, async (wb) => {
    const { page } = wb;
    await openFile(page, 'long.lora.yaml');
    const trainers = watchTrainers(wb);
    try {
      await runCommand(page, 'LoRA Lab: Start LoRA Run');
      const runDir = await waitForNewRunFolder(wb);
      await showRunsView(page);
      const first = await waitFor(
        'the run to train a few steps',
        () => {
          const run = readRunJson(runDir);
          if (run.status !== 'running')
            throw new WaitAborted(`the run is ${run.status} before it could be stopped${run.error ? `: ${run.error.message}` : ''}`);
          return run.step >= 2 && run;
        },
        { timeoutMs: 120_000, intervalMs: 250 },
      );
      await waitForRunRow(page, RUN_NAME, 'running', (row) => rowShowsState(row, 'running'), { timeoutMs: 30_000 });
      await wb.step('run training');

      await runContextAction(page, RUN_NAME, 'Stop Run');
      await wb.step('stop chosen');
      const stopped = await waitForRunStatus(runDir, 'stopped', 60_000).catch((err) => {
        if (readRunJson(runDir).status === 'completed')
          throw new Error(
            `the run completed before the stop took effect: lengthen max_steps in test/fixtures/e2e/explorer/long.lora.yaml (${err.message})`,
          );
        throw err;
      });
      assert.ok(
        stopped.step < stopped.totalSteps,
        `stopped before the end (step ${stopped.step}/${stopped.totalSteps}); lengthen max_steps if the machine is this fast`,
      );
      assert.ok(checkpoints(runDir).length >= 1, `the stopped run has a checkpoint in ${runDir}/checkpoints`);
      await waitForRunRow(page, RUN_NAME, 'stopped', (row) => rowShowsState(row, 'stopped'), { timeoutMs: 30_000 });
      await wb.step('run stopped');
      await waitFor(`the stopped trainer pid ${first.pid} to exit`, () => !isAlive(first.pid), { timeoutMs: 30_000 });

      await runContextAction(page, RUN_NAME, 'Resume Run');
      await wb.step('resume chosen');
      const resumed = await waitFor(
        'the resumed run to start (a new trainer pid in run.json)',
        () => {
          const run = readRunJson(runDir);
          return run.pid !== first.pid && run;
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      await waitFor(`the resumed trainer pid ${resumed.pid} in the process list`, () => trainers.seen.has(resumed.pid), {
        timeoutMs: 10_000,
      });
      const completed = await waitForRunStatus(runDir, 'completed', 300_000);
      await waitForRunRow(page, RUN_NAME, 'completed', (row) => rowShowsState(row, 'completed'), { timeoutMs: 30_000 });
      await wb.step('run completed');

      const steps = trainLines(runDir).map((line) => line.step);
      assert.equal(completed.step, completed.totalSteps, 'the resumed run trained every step');
      assert.equal(steps.at(-1), completed.totalSteps, 'metrics.jsonl ends at the last step');
      assert.ok(
        steps.every((step, i) => i === 0 || step > steps[i - 1]),
        `metrics.jsonl steps increase without repeats after the resume: ${steps.join(',')}`,
      );
      assert.ok(
        steps.includes(stopped.step) && steps.includes(stopped.step + 1),
        `metrics.jsonl continues from the checkpoint step ${stopped.step}`,
      );
    } finally {
      trainers.stop();
    }
  });
});
