// Scenario, optimizer memory in the editor (issue 30): completion after `optimizer:` offers the 8-bit
// optimizers, hover on `state_precision` shows its documentation, and after setting adamw8bit with
// bf16 state the estimate lens's trainable state drops from 16 to 6.03 bytes per parameter.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { keyChoices, keyDocSummary } from './lib/schema.mjs';
import { codeLenses, goToPosition, lineOf, openFile, waitForHover, waitForSuggestions } from './lib/ui.mjs';
import { REPO_ROOT, withWorkbench } from './lib/workbench.mjs';
import { waitFor } from './lib/wait.mjs';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'e2e', 'intellisense');
const valid = readFileSync(join(FIXTURE, 'valid.lora.yaml'), 'utf8');

/** formatBytes of language-server/src/lib/format.ts (three significant digits, binary units). */
function formatBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}

async function waitForStateLens(page, bytes) {
  const expected = `params+grads+optimizer ${formatBytes(bytes)}`;
  return waitFor(
    `a code lens with ${expected}`,
    async () => {
      const texts = await codeLenses(page);
      const lens = texts.find((text) => text.includes(expected));
      if (!lens) throw new Error(`code lenses: ${JSON.stringify(texts)}`);
      return lens;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

test('optim-state: 8-bit optimizers and bf16 state in completion, hover and the estimate lens', { timeout: 240_000 }, async () => {
  await withWorkbench({ name: 'optim-state', fixture: 'intellisense' }, async (wb) => {
    const { page } = wb;
    await openFile(page, 'valid.lora.yaml');
    // r = 8 on q_proj and v_proj of Llama-2-7B: every A (8 x 4096) and B (4096 x 8) has 32,768 elements
    const model = JSON.parse(readFileSync(join(FIXTURE, 'checkpoints', 'llama2-7b', 'config.json'), 'utf8'));
    const r = 8;
    const tensors = [];
    for (const out of [model.hidden_size, (model.hidden_size / model.num_attention_heads) * model.num_key_value_heads])
      for (let l = 0; l < model.num_hidden_layers; l++) tensors.push(r * model.hidden_size, out * r);
    const trainable = tensors.reduce((a, n) => a + n, 0);
    const before = await waitForStateLens(page, 16 * trainable); // fp32 master, grad, two moments
    wb.log(`lens with adamw fp32: ${before}`);
    await wb.step('estimate with fp32 AdamW state');

    // completion after `optimizer: ` below max_steps offers the 8-bit optimizers
    await goToPosition(page, lineOf(valid, 'max_steps: 20'), 3);
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.type('optimizer: ');
    const choices = keyChoices('train.optimizer');
    assert.ok(choices.includes('adamw8bit') && choices.includes('sgd8bit'), `schema choices: ${choices}`);
    await waitForSuggestions(page, `completion to offer ${choices.join(', ')}`, (labels) => choices.every((c) => labels.includes(c)));
    await wb.step('completion after optimizer');
    await page.keyboard.press('Escape');
    await page.keyboard.type('adamw8bit');
    await page.keyboard.press('Enter');
    await page.keyboard.type('state_precision: bf16');
    await page.keyboard.press('Escape');

    // 2 + 2 bytes of bf16 master and gradient, two moments of 8-bit codes + an fp32 absmax per 256 values
    const bytes = tensors.reduce((a, n) => a + 4 * n + 2 * (n + 4 * Math.ceil(n / 256)), 0);
    const after = await waitForStateLens(page, bytes);
    wb.log(`lens with adamw8bit bf16: ${after} (${(bytes / trainable).toFixed(3)} bytes per parameter)`);
    await wb.step('estimate with 8-bit AdamW and bf16 state');

    // hover on the new key shows its documentation
    await goToPosition(page, lineOf(valid, 'max_steps: 20') + 2, 4);
    await waitForHover(page, new RegExp(keyDocSummary('train.state_precision').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await wb.step('hover on state_precision');
  });
});
