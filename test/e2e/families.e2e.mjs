// Phi and Falcon checkpoints in a real editor: on Falcon-7B the hover on lora.query names the fused
// query_key_value and carries the hint that key and value are adapted too, and the code lens counts
// LoRA on the fused layer; on phi-1_5 the hover on lora.mlp names fc1 and fc2.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { codeLenses, goToPosition, lineOf, openFile, waitForHover } from './lib/ui.mjs';
import { REPO_ROOT, withWorkbench } from './lib/workbench.mjs';
import { waitFor } from './lib/wait.mjs';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'e2e', 'families');
const falconYaml = readFileSync(join(FIXTURE, 'falcon.lora.yaml'), 'utf8');
const phiYaml = readFileSync(join(FIXTURE, 'phi.lora.yaml'), 'utf8');

test('families: Falcon fused-qkv hover + hint and code lens; Phi fc1/fc2 hover', { timeout: 240_000 }, async () => {
  await withWorkbench({ name: 'families', fixture: 'families' }, async (wb) => {
    const { page } = wb;
    await openFile(page, 'falcon.lora.yaml');
    // r 8 on query_key_value of 32 layers: 8 * (4544 in + (71 + 2) * 64 out) each
    const trainable = 32 * 8 * (4544 + 73 * 64);
    const lenses = await waitFor(
      `a code lens stating ${trainable.toLocaleString('en-US')} trainable parameters`,
      async () => {
        const texts = await codeLenses(page);
        if (!texts.some((text) => /trainable/i.test(text) && text.replace(/[,\s]/g, '').includes(String(trainable))))
          throw new Error(`code lenses: ${JSON.stringify(texts)}`);
        return texts;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    wb.log(`code lenses: ${JSON.stringify(lenses)}`);
    await wb.step('falcon code lens');
    // on the key: which layer lora.query adapts; on the value: the hint's diagnostic
    await goToPosition(page, lineOf(falconYaml, '  query: true'), 4);
    await waitForHover(page, /query_key_value \(Falcon fuses q, k and v/);
    await wb.step('falcon hover on lora.query');
    await page.keyboard.press('Escape');
    await goToPosition(page, lineOf(falconYaml, '  query: true'), 11);
    await waitForHover(page, /fused query_key_value, which also computes key and value/);
    await wb.step('falcon hint on the value of lora.query');
    await page.keyboard.press('Escape');

    await openFile(page, 'phi.lora.yaml');
    await goToPosition(page, lineOf(phiYaml, '  mlp: true'), 4);
    await waitForHover(page, /On this phi checkpoint: fc1, fc2/);
    await wb.step('phi hover on lora.mlp');
  });
});
