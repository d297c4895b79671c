// Scenario sweep: starting a 4-variant sweep asks first with its estimated total time; the sweep
// is one node with every variant (running, queued); "Stop Variant" stops variant 0 and the sweep
// goes on with variant 1; "Stop Sweep" stops it, and variants 2 and 3 show "never run" (and the
// notification names them). Dark and light screenshots.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readRunJson, runFolders } from './lib/run-folders.mjs';
import { waitForRunStatus, watchTrainers } from './lib/run-flow.mjs';
import {
  modalDialogText,
  openFile,
  runCommand,
  runContextAction,
  runsRows,
  setColorTheme,
  showRunsView,
  waitForNotification,
  waitForRunRow,
} from './lib/ui.mjs';
import { withWorkbench } from './lib/workbench.mjs';
import { WaitAborted, waitFor } from './lib/wait.mjs';

const text = (row) => row.text.replace(/\s+/g, ' ').trim();

/** The run folder of sweep variant `index`, once it trains. */
async function variantDir(wb, index) {
  return waitFor(
    `variant ${index}'s run folder, training`,
    () => {
      const dir = runFolders(join(wb.workspace, 'out/lora')).find((d) => readRunJson(d).sweep?.variant === index);
      if (!dir) return false;
      const run = readRunJson(dir);
      if (run.status !== 'running' && run.status !== 'stopped') throw new WaitAborted(`variant ${index} is ${run.status}`);
      return run.step >= 2 && dir;
    },
    { timeoutMs: 180_000, intervalMs: 250 },
  );
}

test('sweep: confirmation, the variant tree, Stop Variant, Stop Sweep', { timeout: 540_000 }, async () => {
  await withWorkbench({ name: 'sweep', fixture: 'sweep', examples: ['tiny-llama', 'data'] }, async (wb) => {
    const { page } = wb;
    const trainers = watchTrainers(wb);
    try {
      await openFile(page, 'sweep.lora.yaml');
      await runCommand(page, 'LoRA Lab: Start LoRA Run');
      const question = await waitFor('the sweep confirmation', async () => (await modalDialogText(page)) || false, { timeoutMs: 30_000 });
      assert.match(question, /Start a sweep of 4 variants\?/);
      assert.match(question, /Estimated total time/);
      await wb.step('sweep confirmation');
      await page.locator('.monaco-dialog-box .monaco-button').filter({ hasText: 'Start Sweep' }).first().click();

      const v0 = await variantDir(wb, 0);
      const sweepId = readRunJson(v0).sweep.id;
      await showRunsView(page);
      const sweepRow = await waitForRunRow(page, `sweep ${sweepId}`, '4 variants, 1 running, 3 queued', (row) =>
        /4 variants · 1 running · 3 queued/.test(text(row)),
      );
      assert.ok(sweepRow);
      const rows = (await runsRows(page)).map(text);
      for (const i of [1, 2, 3])
        assert.ok(
          rows.some((r) => r.startsWith(`variant ${i}`) && /queued · r=\d/.test(r)),
          `variant ${i} queued: ${rows.join(' | ')}`,
        );
      await wb.step('sweep running, variants queued');

      const v0Name = readRunJson(v0).name;
      await runContextAction(page, v0Name, 'Stop Variant');
      await waitForRunStatus(v0, 'stopped', 90_000).catch(() => assert.fail(`variant 0 is ${readRunJson(v0).status}`));
      const v1 = await variantDir(wb, 1);
      assert.equal(readRunJson(v1).pid, readRunJson(v0).pid, 'the same trainer goes on with variant 1');
      await waitForRunRow(page, readRunJson(v1).name, 'variant 1 running', (row) => /running/.test(text(row)));
      await wb.step('variant 0 stopped, variant 1 training');

      await runContextAction(page, readRunJson(v1).name, 'Stop Sweep');
      await waitForRunStatus(v1, 'stopped', 90_000);
      const said = await waitForNotification(page, /stopped sweep .*variants 2, 3 never ran/, 60_000);
      assert.ok(said);
      await waitFor(
        'variants 2 and 3 to show never run',
        async () => {
          const now = (await runsRows(page)).map(text);
          return (
            [2, 3].every((i) => now.some((r) => r.startsWith(`variant ${i}`) && /never run/.test(r))) ||
            Promise.reject(new Error(now.join(' | ')))
          );
        },
        { timeoutMs: 30_000 },
      );
      assert.equal(runFolders(join(wb.workspace, 'out/lora')).length, 2, 'variants 2 and 3 never started');
      await wb.step('sweep stopped, dark theme');
      await setColorTheme(page, 'Light Modern', 'light');
      await showRunsView(page);
      await wb.step('sweep stopped, light theme');
    } finally {
      trainers.stop();
    }
  });
});
