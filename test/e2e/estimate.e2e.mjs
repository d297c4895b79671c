// Scenario 2b, the estimator in the editor: the code lens of a valid config shows a peak-memory
// estimate (a size in bytes) and a time estimate, not a placeholder.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codeLenses, openFile } from './lib/ui.mjs';
import { withWorkbench } from './lib/workbench.mjs';
import { waitFor } from './lib/wait.mjs';

const MEMORY = /\b\d+(?:\.\d+)?\s?(?:[KMGT]i?B)\b/;
const TIME = /\b\d+(?:\.\d+)?\s?(?:ms|s|sec|min|h|hours?|minutes?|seconds?)\b|\b\d+:\d\d\b/;

test('estimate: the code lens shows peak memory and time estimates', { timeout: 180_000 }, async () => {
  await withWorkbench({ name: 'estimate', fixture: 'intellisense' }, async (wb) => {
    const { page } = wb;
    await openFile(page, 'valid.lora.yaml');
    const lenses = await waitFor('a code lens with a memory estimate', async () => {
      const texts = await codeLenses(page);
      if (!texts.some((text) => MEMORY.test(text))) throw new Error(`code lenses: ${JSON.stringify(texts)}`);
      return texts;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    await wb.step('estimate lens');
    wb.log(`code lenses: ${JSON.stringify(lenses)}`);
    assert.ok(lenses.some((text) => TIME.test(text)), `a code lens states a time estimate: ${JSON.stringify(lenses)}`);
    assert.ok(!lenses.some((text) => /pending/i.test(text)), `no lens says the estimate is pending: ${JSON.stringify(lenses)}`);
  });
});
