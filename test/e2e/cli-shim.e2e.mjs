// Scenario cli-shim: "LoRA Lab: Add lora-lab to the Terminal PATH" puts the installed extension's
// CLI on the PATH of new integrated terminals (a shim in global storage, the environment variable
// collection); a new terminal runs `lora-lab --version`. "LoRA Lab: Doctor" prints the engine's
// report in the LoRA Lab output channel.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCommand, waitForNotification } from './lib/ui.mjs';
import { REPO_ROOT, withWorkbench } from './lib/workbench.mjs';
import { waitFor } from './lib/wait.mjs';

const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));

/** The LoRA Lab output channel's log file under VS Code's logs folder. */
function channelLog(dir) {
  if (!existsSync(dir)) return undefined;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'LoRA Lab.log') return path;
    if (statSync(path).isDirectory()) {
      const found = channelLog(path);
      if (found) return found;
    }
  }
  return undefined;
}

test('cli-shim: a new terminal runs lora-lab --version; Doctor prints in the output channel', { timeout: 300_000 }, async () => {
  await withWorkbench({ name: 'cli-shim', fixture: 'cli-shim', examples: [] }, async (wb) => {
    const { page } = wb;
    await runCommand(page, 'LoRA Lab: Add lora-lab to the Terminal PATH');
    await waitForNotification(page, /lora-lab is on the PATH of new integrated terminals/);
    await wb.step('CLI added to the PATH');

    await runCommand(page, 'Terminal: Create New Terminal');
    const input = page.locator('.terminal-wrapper.active .xterm-helper-textarea, .xterm-helper-textarea').last();
    await input.waitFor({ state: 'attached', timeout: 30_000 });
    const out = join(wb.workspace, 'cli-version.txt');
    await waitFor(
      'the terminal to run lora-lab --version',
      async () => {
        if (existsSync(out) && readFileSync(out, 'utf8').trim()) return true;
        await input.focus();
        await page.keyboard.type('lora-lab --version > cli-version.txt 2>&1\n');
        throw new Error('typed the command; waiting for its output file');
      },
      { timeoutMs: 60_000, intervalMs: 3_000 },
    );
    assert.equal(readFileSync(out, 'utf8').trim(), `lora-lab ${version}`);
    await wb.step('terminal ran lora-lab --version');

    await runCommand(page, 'LoRA Lab: Doctor');
    const logFile = await waitFor(
      'Doctor to print into the LoRA Lab output channel',
      () => {
        const file = channelLog(join(wb.userDataDir, 'logs'));
        const text = file ? readFileSync(file, 'utf8') : '';
        return /lora-lab doctor exited with 0/.test(text) && text;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.match(logFile, /\$ lora-lab doctor/);
    await wb.step('doctor output');
  });
});
