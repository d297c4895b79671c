// Scenario 4b, the dashboard of a training run: opened from the Runs view while the run trains,
// its train-loss series grows; when the run completes it holds one point per train line of
// metrics.jsonl. (Same data-series / data-points contract as the dashboard scenario.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trainLines } from './lib/run-folders.mjs';
import { waitForNewRunFolder, waitForRunStatus } from './lib/run-flow.mjs';
import { openFile, rowShowsState, runCommand, runContextAction, showRunsView, waitForRunRow, webviewFrame } from './lib/ui.mjs';
import { withWorkbench } from './lib/workbench.mjs';
import { waitFor } from './lib/wait.mjs';

const RUN_NAME = 'e2e-explorer';
const SERIES = '[data-series="train-loss"]';

test('live dashboard: the loss chart of a training run grows, then matches metrics.jsonl', { timeout: 420_000 }, async () => {
  await withWorkbench({ name: 'live-dashboard', fixture: 'explorer', examples: ['tiny-llama', 'data'] }, async (wb) => {
    const { page } = wb;
    await openFile(page, 'long.lora.yaml');
    await runCommand(page, 'LoRA Lab: Start LoRA Run');
    const runDir = await waitForNewRunFolder(wb);
    await showRunsView(page);
    await waitForRunRow(page, RUN_NAME, 'running', (row) => rowShowsState(row, 'running'), { timeoutMs: 60_000 });
    await runContextAction(page, RUN_NAME, 'Open Dashboard');
    const frame = await webviewFrame(page, SERIES, 60_000);
    const pointsNow = async () => Number(await frame.locator(SERIES).first().getAttribute('data-points'));

    // Growth seen twice while the run trains.
    const first = await waitFor('the chart to show points', async () => (await pointsNow()) > 0 && pointsNow(), { timeoutMs: 60_000 });
    await wb.step('dashboard of the running run');
    const second = await waitFor(
      `the chart to grow past ${first} points`,
      async () => {
        const n = await pointsNow();
        return n > first && n;
      },
      { timeoutMs: 60_000 },
    );
    await waitFor(`the chart to grow past ${second} points`, async () => (await pointsNow()) > second, { timeoutMs: 60_000 });
    await wb.step('the chart grew');

    await waitForRunStatus(runDir, 'completed', 300_000);
    const lines = trainLines(runDir);
    await waitFor(
      `the chart to hold ${lines.length} points (metrics.jsonl train lines)`,
      async () => {
        const shown = await pointsNow();
        if (shown !== lines.length) throw new Error(`data-points is ${shown}`);
        return true;
      },
      { timeoutMs: 30_000 },
    );
    await wb.step('the completed run in the dashboard');
    assert.equal(await pointsNow(), lines.length);
  });
});
