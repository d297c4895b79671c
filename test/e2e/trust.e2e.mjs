// Scenario 5, workspace trust: in a folder opened untrusted (Restricted Mode), "Start LoRA Run"
// from the palette and from the editor title is refused with an explanation, and no trainer
// process starts and no run folder appears at any moment of the test.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { trainerProcesses } from './lib/processes.mjs';
import { clearNotifications, isRestricted, openFile, runCommand, waitForNotification } from './lib/ui.mjs';
import { withWorkbench } from './lib/workbench.mjs';
import { waitFor } from './lib/wait.mjs';

const REFUSAL = /untrusted/i;

test('trust: Start LoRA Run is refused in an untrusted workspace and starts no trainer', { timeout: 180_000 }, async () => {
  await withWorkbench({ name: 'trust', fixture: 'trust', trusted: false }, async (wb) => {
    const { page } = wb;
    // Watch the process list for the whole scenario, so a trainer that starts and dies fast is seen too.
    const seenTrainers = new Map();
    const watcher = setInterval(() => {
      for (const { pid, argv } of trainerProcesses(wb)) seenTrainers.set(pid, argv.join(' '));
    }, 50);
    try {
      await waitFor('the workbench to be in Restricted Mode', () => isRestricted(page), { timeoutMs: 20_000 });
      await wb.step('restricted mode');

      await runCommand(page, 'LoRA Lab: Start LoRA Run');
      const fromPalette = await waitForNotification(page, REFUSAL);
      await wb.step('refused from the palette');
      assert.ok(
        ['warning', 'error'].includes(fromPalette.severity),
        `the refusal is a warning or an error, not an info: ${JSON.stringify(fromPalette)}`,
      );
      assert.match(fromPalette.message, /trust/i, 'the message says how to allow runs (trust the workspace)');
      assert.match(fromPalette.message, /because/i, 'the message explains why runs are refused');

      // The other entry point: the editor title's Start button on the open config.
      await clearNotifications(page);
      await openFile(page, 'finetune.lora.yaml');
      await wb.step('config open');
      const titleButton = page.locator('.editor-actions .action-item a[aria-label^="Start LoRA Run"]').first();
      await titleButton.waitFor({ state: 'visible', timeout: 15_000 });
      await titleButton.click();
      await waitForNotification(page, REFUSAL);
      await wb.step('refused from the editor title');

      assert.deepEqual([...seenTrainers.values()], [], 'no trainer process started');
      assert.equal(trainerProcesses(wb).length, 0, 'no trainer process is running');
      assert.equal(existsSync(join(wb.workspace, 'out')), false, 'no run folder was created');
    } finally {
      clearInterval(watcher);
    }
  });
});
