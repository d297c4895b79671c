// Scenario 1, the user's first minute: open a config, run "LoRA Lab: Start LoRA Run" from the
// palette, see the run in the Runs view reach completed with its final loss, and find the same
// numbers in the run folder (run.json, metrics.jsonl).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAlive } from './lib/processes.mjs';
import { readRunJson, trainLines } from './lib/run-folders.mjs';
import { waitForNewRunFolder, waitForRunStatus, watchTrainers } from './lib/run-flow.mjs';
import { openFile, rowShowsState, runCommand, showRunsView, showsNumber, waitForRunRow } from './lib/ui.mjs';
import { withWorkbench } from './lib/workbench.mjs';
import { waitFor } from './lib/wait.mjs';

const RUN_NAME = 'e2e-palette';

test('palette: Start LoRA Run -> the run completes in the Runs view with its final loss', { timeout: 360_000 }, async () => {
  await withWorkbench({ name: 'palette', fixture: 'palette', examples: ['tiny-llama', 'data'] }, async (wb) => {
    const { page } = wb;
    await openFile(page, 'tiny.lora.yaml');
    await wb.step('config open');
    const trainers = watchTrainers(wb);
    try {
      await runCommand(page, 'LoRA Lab: Start LoRA Run');
      const runDir = await waitForNewRunFolder(wb);
      await wb.step('run folder created');
      await showRunsView(page);
      await waitForRunRow(page, RUN_NAME, 'listed');
      await wb.step('run listed');

      const run = await waitForRunStatus(runDir, 'completed', 240_000);
      const lines = trainLines(runDir);
      const finalLoss = run.summary?.finalTrainLoss ?? lines.at(-1)?.loss;
      assert.equal(typeof finalLoss, 'number', `run.json or metrics.jsonl holds a final train loss (${runDir})`);
      const row = await waitForRunRow(
        page,
        RUN_NAME,
        `completed with loss ${finalLoss} and ${run.step}/${run.totalSteps}`,
        (candidate) =>
          rowShowsState(candidate, 'completed') &&
          showsNumber(candidate.text, 'loss', finalLoss) &&
          candidate.text.includes(`${run.step}/${run.totalSteps}`),
        { timeoutMs: 30_000 },
      );
      await wb.step('run completed in the Runs view');
      wb.log(`Runs row: ${JSON.stringify(row)}`);

      // The folder holds the metrics the view shows: every step logged, ending with the loss shown.
      assert.equal(run.step, run.totalSteps, 'the run trained every step');
      assert.equal(lines.at(-1).step, run.totalSteps, 'metrics.jsonl ends at the last step');
      assert.ok(
        showsNumber(row.text, 'loss', lines.at(-1).loss),
        `the row's loss (${row.text}) is metrics.jsonl's last train loss ${lines.at(-1).loss}`,
      );

      // A real trainer process ran (the same process-list check the trust scenario relies on) and ended.
      assert.ok(
        trainers.seen.has(run.pid),
        `the trainer pid ${run.pid} of run.json was seen in the process list (seen: ${JSON.stringify([...trainers.seen])})`,
      );
      await waitFor(`the trainer pid ${run.pid} to exit`, () => !isAlive(run.pid) || readRunJson(runDir).pid !== run.pid, {
        timeoutMs: 30_000,
      });
    } finally {
      trainers.stop();
    }
  });
});
