// Scenario 2, IntelliSense from the language server in a real editor: the Problems panel lists
// each planted error at its line, hover on lora.r shows the schema's documentation, completion
// after `quantize:` offers the enum values, and the code lens states the trainable parameters.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { keyChoices, keyDocSummary } from './lib/schema.mjs';
import { codeLenses, goToPosition, lineOf, openFile, problems, showProblems, waitForHover, waitForSuggestions } from './lib/ui.mjs';
import { REPO_ROOT, withWorkbench } from './lib/workbench.mjs';
import { waitFor } from './lib/wait.mjs';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'e2e', 'intellisense');
const planted = readFileSync(join(FIXTURE, 'planted.lora.yaml'), 'utf8');

/** Each planted error: where it is and what its message must name. */
const PLANTED = [
  {
    what: 'missing checkpoint folder',
    lines: [lineOf(planted, 'checkpoint: checkpoints/missing-model')],
    message: /checkpoints\/missing-model|checkpoint/i,
  },
  { what: 'alpha as a string', lines: [lineOf(planted, 'alpha: "sixteen"')], message: /alpha/i },
  { what: 'unknown key', lines: [lineOf(planted, 'learning_rat:')], message: /learning_rat/ },
  {
    what: 'global batch not a multiple of the micro batch',
    lines: [lineOf(planted, 'global_batch_size: 10'), lineOf(planted, 'micro_batch_size: 4')],
    message: /global_batch_size|micro_batch_size/,
  },
];

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('intellisense: problems at their lines, hover, completion and the parameter code lens', { timeout: 240_000 }, async () => {
  await withWorkbench({ name: 'intellisense', fixture: 'intellisense' }, async (wb) => {
    const { page } = wb;
    await openFile(page, 'planted.lora.yaml');
    await showProblems(page);
    const errors = await waitFor(
      'the Problems panel to list every planted error at its line',
      async () => {
        const found = (await problems(page)).filter((marker) => marker.severity === 'error');
        const missing = PLANTED.filter((p) => !found.some((marker) => p.lines.includes(marker.line) && p.message.test(marker.message)));
        if (missing.length)
          throw new Error(
            `missing: ${missing.map((p) => `${p.what} (line ${p.lines.join(' or ')})`).join('; ')}; errors listed: ${JSON.stringify(found)}`,
          );
        return found;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await wb.step('problems listed');
    const plantedLines = PLANTED.flatMap((p) => p.lines);
    const stray = errors.filter((marker) => !plantedLines.includes(marker.line));
    assert.deepEqual(stray, [], 'no error on a line without a planted error');

    // Hover on the key lora.r shows the first sentence of its schema documentation.
    const rLine = lineOf(planted, '  r: 8');
    await goToPosition(page, rLine, 3);
    const summary = keyDocSummary('lora.r');
    await waitForHover(page, new RegExp(escapeRegExp(summary)));
    await wb.step('hover on lora.r');
    await page.keyboard.press('Escape');

    // Completion after `quantize: ` (typed on a new line below precision) offers every choice.
    const choices = keyChoices('model.quantize');
    await goToPosition(page, lineOf(planted, 'precision: 32-true'), 3);
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.type('quantize: ');
    const offered = await waitForSuggestions(page, `completion to offer ${choices.join(', ')}`, (labels) =>
      choices.every((choice) => labels.includes(choice)),
    );
    await wb.step('completion after quantize');
    assert.ok(
      choices.every((choice) => offered.includes(choice)),
      `offered: ${offered.join(', ')}`,
    );
    await page.keyboard.press('Escape');

    // Code lens of a valid config: trainable parameters of r = 8 on q_proj and v_proj.
    await openFile(page, 'valid.lora.yaml');
    const model = JSON.parse(readFileSync(join(FIXTURE, 'checkpoints', 'llama2-7b', 'config.json'), 'utf8'));
    const kvSize = (model.hidden_size / model.num_attention_heads) * model.num_key_value_heads;
    const r = 8;
    const trainable = model.num_hidden_layers * (r * (model.hidden_size + model.hidden_size) + r * (model.hidden_size + kvSize));
    const lenses = await waitFor(
      `a code lens stating ${trainable.toLocaleString('en-US')} trainable parameters`,
      async () => {
        const texts = await codeLenses(page);
        if (!texts.some((text) => /trainable/i.test(text) && text.replace(/[,\s]/g, '').includes(String(trainable))))
          throw new Error(`code lenses: ${JSON.stringify(texts)}`);
        return texts;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    await wb.step('code lens');
    wb.log(`code lenses: ${JSON.stringify(lenses)}`);
  });
});
