// Scenario runs-view: the Runs view in daily use while a run trains. Rows carry their status word
// and what sets them apart (r=4 / r=8); 12 clicks on run rows during training each open that
// run's dashboard (the row's command argument is its folder, rows keep their identity); a finished
// run lists its checkpoints; Delete Run on code-server (no trash) asks, deletes permanently and
// says so. Dark and light screenshots of the view.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readRunJson } from './lib/run-folders.mjs';
import { waitForNewRunFolder, waitForRunStatus, watchTrainers } from './lib/run-flow.mjs';
import {
  modalDialogText,
  notificationTexts,
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

const LIVE = 'e2e-runs';
const A = 'e2e-finished-a-20261128-120000';
const B = 'e2e-finished-b-20261128-120001';
const ROWS = '.pane:has(.pane-header[aria-label^="Runs"]) .pane-body .monaco-list-row';

const rowLocator = (page, name) =>
  page
    .locator(ROWS)
    .filter({ hasText: new RegExp(`^\\s*${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) })
    .first();

/** The title of the active editor tab (a dashboard reads "Run: <name>"). */
async function activeTabTitle(page) {
  const tab = page.locator('.editor-group-container.active .tab.active').first();
  return (await tab.isVisible()) ? ((await tab.getAttribute('aria-label')) ?? (await tab.textContent()) ?? '') : '';
}

/** Clicks a button of the open modal dialog by its text. */
async function answerModal(page, pattern, button) {
  await waitFor(`a modal dialog matching ${pattern}`, async () => pattern.test(await modalDialogText(page)), { timeoutMs: 20_000 });
  await page.locator('.monaco-dialog-box .monaco-button').filter({ hasText: button }).first().click();
  // closed, or replaced by the next question
  await waitFor(`the dialog ${pattern} to close`, async () => !pattern.test(await modalDialogText(page)), { timeoutMs: 10_000 });
}

test('runs view: clicks during training, checkpoints, delete without a trash', { timeout: 540_000 }, async () => {
  await withWorkbench(
    { name: 'runs-view', fixture: 'runs-view', examples: ['tiny-llama', 'data'], settings: { 'loraLab.runFolders': ['runs', 'out/lora'] } },
    async (wb) => {
      const { page } = wb;
      const trainers = watchTrainers(wb);
      try {
        await showRunsView(page);
        const a = await waitForRunRow(page, A, 'completed, r=4', (row) => /completed/.test(row.text) && /r=4/.test(row.text));
        await waitForRunRow(page, B, 'completed, r=8', (row) => /r=8/.test(row.text));
        assert.match(a.label, /completed/, `the accessible label carries the status word: ${a.label}`);

        await openFile(page, 'long.lora.yaml');
        await runCommand(page, 'LoRA Lab: Start LoRA Run');
        const runDir = await waitForNewRunFolder(wb);
        await waitFor(
          'the run to train a few steps',
          () => {
            const run = readRunJson(runDir);
            if (run.status !== 'running') throw new WaitAborted(`the run is ${run.status}`);
            return run.step >= 2;
          },
          { timeoutMs: 120_000, intervalMs: 250 },
        );
        await showRunsView(page);
        await waitForRunRow(page, LIVE, 'running', (row) => /running/.test(row.text));
        await wb.step('training, dark theme');

        const targets = [A, B, LIVE];
        const failures = [];
        for (let i = 0; i < 12; i += 1) {
          const name = targets[i % targets.length];
          const expected = name === LIVE ? readRunJson(runDir).name : name;
          await rowLocator(page, name).click();
          const opened = await waitFor(
            `click ${i + 1}: the dashboard of ${expected} in front`,
            async () => {
              const dialog = await modalDialogText(page);
              if (dialog) throw new WaitAborted(`a modal dialog: ${dialog}`);
              const notes = (await notificationTexts(page)).filter((n) => /not found/i.test(n.message));
              if (notes.length) throw new WaitAborted(`a notification: ${notes[0].message}`);
              return (await activeTabTitle(page)).includes(expected);
            },
            { timeoutMs: 15_000, intervalMs: 100 },
          ).catch((err) => err);
          if (opened instanceof Error) failures.push(`click ${i + 1} on ${name}: ${opened.message}`);
          await showRunsView(page);
        }
        assert.equal(readRunJson(runDir).status, 'running', 'the clicks happened while the run trained');
        assert.deepEqual(failures, [], 'every click during training opened its dashboard');
        await wb.step('after 12 clicks during training');

        // The finished run's checkpoints, newest first, under its row.
        await rowLocator(page, A).locator('.monaco-tl-twistie').click();
        await waitFor(
          `the checkpoints of ${A}`,
          async () => {
            const rows = await runsRows(page);
            const at = rows.findIndex((row) => row.text.trim().startsWith(A));
            const next = rows.slice(at + 1, at + 3).map((row) => row.text.replace(/\s+/g, ' ').trim());
            if (next[0]?.startsWith('step 20') && /latest checkpoint/.test(next[0]) && next[1]?.startsWith('step 10')) return true;
            throw new Error(`rows under it: ${JSON.stringify(next)}`);
          },
          { timeoutMs: 15_000 },
        );
        await wb.step('checkpoints listed');

        await runContextAction(page, LIVE, 'Stop Run');
        await waitForRunStatus(runDir, 'stopped', 90_000);
        await waitForRunRow(page, LIVE, 'stopped', (row) => /stopped/.test(row.text), { timeoutMs: 30_000 });

        // code-server's file service has no trash: Delete Run asks again and deletes permanently.
        await runContextAction(page, B, 'Delete Run');
        await answerModal(page, /Delete the run/, 'Delete');
        await answerModal(page, /no trash/, 'Delete Permanently');
        const said = await waitForNotification(page, /deleted e2e-finished-b-20261128-120001 permanently/);
        assert.equal(said.severity, 'info');
        await waitFor('the run folder to be gone', () => !existsSync(join(wb.workspace, 'runs', B)), { timeoutMs: 10_000 });
        await waitFor('its row to go', async () => !(await runsRows(page)).some((row) => row.text.trim().startsWith(B)), {
          timeoutMs: 15_000,
        });
        await wb.step('deleted permanently, dark theme');
        await setColorTheme(page, 'Light Modern', 'light');
        await showRunsView(page);
        await wb.step('runs view, light theme');
      } finally {
        trainers.stop();
      }
    },
  );
});
