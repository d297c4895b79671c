// Scenario: chat with a finetune. A run trained with the installed CLI on the bundled tiny model;
// "Chat with Model" from its Runs context menu; one prompt streams two answers side by side (the
// base model: adapter off; the finetune: adapter on, over the same loaded weights); with greedy
// settings each equals `lora-lab generate --chat` with the same prompt and max new tokens (without
// and with --adapter). Screenshots in the dark and the light theme; the conversation comes back
// after a window reload.
// The webview's contract with this test: messages carry data-role="user|assistant", answers
// data-side="base|finetune", a streaming answer data-pending="true"; the status line
// data-status="loading|ready|failed"; buttons data-action (send, stop, ...).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { readRunJson, runFolders } from './lib/run-folders.mjs';
import { reloadWindow, rowShowsState, runContextAction, setColorTheme, showRunsView, waitForRunRow, webviewFrame } from './lib/ui.mjs';
import { withWorkbench } from './lib/workbench.mjs';
import { waitFor } from './lib/wait.mjs';

const RUN_NAME = 'e2e-chat';
const PROMPT = 'Give three tips for staying healthy.';
const MAX_NEW_TOKENS = 128; // the chat's default, with temperature 0 (greedy)

test('chat: base and finetune answers stream side by side and equal lora-lab generate (greedy)', { timeout: 360_000 }, async () => {
  await withWorkbench({ name: 'chat', fixture: 'chat', examples: ['tiny-llama', 'data'] }, async (wb) => {
    const { page } = wb;
    const cli = (...args) =>
      spawnSync(process.execPath, [wb.cliPath(), ...args], { cwd: wb.workspace, env: wb.env(), encoding: 'utf8', timeout: 240_000 });
    const trained = cli('train', 'chat.lora.yaml');
    assert.equal(trained.status, 0, `lora-lab train failed:\n${trained.stderr}`);
    const [runDir] = runFolders(join(wb.workspace, 'out', 'lora'));
    assert.equal(readRunJson(runDir).status, 'completed');

    await showRunsView(page);
    await waitForRunRow(page, RUN_NAME, 'completed', (row) => rowShowsState(row, 'completed'), { timeoutMs: 60_000 });
    await runContextAction(page, RUN_NAME, 'Chat with Model');
    const frame = await webviewFrame(page, '[data-status="ready"]', 90_000);
    await wb.step('chat ready');

    await frame.locator('.chat-input textarea').fill(PROMPT);
    await frame.locator('[data-action="send"]').click();
    await waitFor(
      'two answers to finish streaming',
      async () => {
        const answers = await frame.locator('[data-role="assistant"]').count();
        const pending = await frame.locator('[data-role="assistant"][data-pending="true"]').count();
        if (answers !== 2 || pending !== 0) throw new Error(`${answers} answers, ${pending} still streaming`);
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    assert.equal(await frame.locator('[data-role="user"]').count(), 1);
    const answer = async (side) => (await frame.locator(`[data-role="assistant"][data-side="${side}"] .message-text`).textContent()) ?? '';
    const base = await answer('base');
    const finetune = await answer('finetune');
    wb.log(`base: ${JSON.stringify(base)}\nfinetune: ${JSON.stringify(finetune)}`);
    assert.ok(base.length > 0 && finetune.length > 0, 'both answers hold text');
    const stats = await frame.locator('[data-role="assistant"] .message-stats').allTextContents();
    assert.ok(
      stats.every((s) => /\d+ tokens · [\d.]+ tokens\/s/.test(s)),
      `tokens/s shown: ${JSON.stringify(stats)}`,
    );
    await wb.step('chat dark theme');

    const checkpoint = join(wb.workspace, 'tiny-llama');
    const generate = (...extra) =>
      cli('generate', '--checkpoint', checkpoint, '--prompt', PROMPT, '--chat', '--max-new-tokens', String(MAX_NEW_TOKENS), ...extra);
    const cliBase = generate();
    assert.equal(cliBase.status, 0, cliBase.stderr);
    assert.equal(base, cliBase.stdout.replace(/\n$/, ''), 'the base answer equals lora-lab generate');
    const cliFinetune = generate('--adapter', join(runDir, 'adapter'));
    assert.equal(cliFinetune.status, 0, cliFinetune.stderr);
    assert.equal(finetune, cliFinetune.stdout.replace(/\n$/, ''), 'the finetune answer equals lora-lab generate --adapter');

    await setColorTheme(page, 'Light Modern', 'light');
    const light = await webviewFrame(page, '[data-role="assistant"][data-side="finetune"]', 10_000);
    assert.equal(await light.locator('[data-role="assistant"]').count(), 2, 'the conversation stays after the theme change');
    await wb.step('chat light theme');

    // the conversation is kept per panel: after a window reload the panel comes back with it
    await reloadWindow(page);
    const restored = await waitFor(
      'the restored conversation',
      async () => {
        const frame = await webviewFrame(page, '[data-role="assistant"][data-side="finetune"]', 1_000).catch(() => undefined);
        if (!frame) return undefined;
        const answers = await frame.locator('[data-role="assistant"]').count();
        const baseText = await frame.locator('[data-role="assistant"][data-side="base"] .message-text').textContent();
        if (answers !== 2 || baseText !== base) throw new Error(`${answers} answers, base ${JSON.stringify(baseText)}`);
        return frame;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    assert.ok(restored);
    await wb.step('chat restored after a reload');
  });
});
