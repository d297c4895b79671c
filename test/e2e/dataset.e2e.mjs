// Scenario: the dataset panel (issue 29). The code lens on the data: key of a config on the
// examples' data opens the panel; its record count and histogram bins are those `lora-lab
// inspect-data --json` (the installed CLI) reports; screenshots in the dark and the light theme.
// Then "LoRA Lab: Inspect Dataset" on a config whose data has a JSON error on line 4: the row is
// listed, and its link opens rows.jsonl with the cursor on line 4.
// The webview's contract with this test: the histogram's element carries
// data-chart="length-histogram", data-points="<bins>" and data-counts="<count,count,...>"; each
// summary number carries data-value (its stat has data-key: records, train, ...); a rejected
// row's link carries data-line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { codeLenses, openFile, runCommand, setColorTheme, webviewFrame } from './lib/ui.mjs';
import { withWorkbench } from './lib/workbench.mjs';
import { waitFor } from './lib/wait.mjs';

const HISTOGRAM = '[data-chart="length-histogram"][data-points]';

function inspectJson(wb, config) {
  const cli = spawnSync(process.execPath, [wb.cliPath(), 'inspect-data', join(wb.workspace, config), '--json'], {
    env: wb.env(),
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(cli.status, 0, `lora-lab inspect-data --json succeeds: ${cli.stderr}`);
  return JSON.parse(cli.stdout);
}

test(
  "dataset: the panel shows inspect-data's record count and bins; a JSON error row links to its line",
  { timeout: 300_000 },
  async () => {
    await withWorkbench({ name: 'dataset', fixture: 'dataset', examples: ['tiny-llama', 'data'] }, async (wb) => {
      const { page } = wb;
      await openFile(page, 'examples.lora.yaml');
      await waitFor(
        'the "Inspect dataset" code lens on data:',
        async () => {
          const texts = await codeLenses(page);
          if (!texts.some((text) => text.startsWith('Inspect dataset'))) throw new Error(`code lenses: ${JSON.stringify(texts)}`);
          return true;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      await page.locator('.codelens-decoration a', { hasText: 'Inspect dataset' }).first().click();

      const frame = await webviewFrame(page, HISTOGRAM, 90_000).catch((err) => {
        throw new Error(`${err.message}: the dataset panel's histogram must carry data-chart="length-histogram" and data-points`);
      });
      const expected = inspectJson(wb, 'examples.lora.yaml');
      const bins = expected.stats.histogram.map((bin) => bin.count);
      const shown = await waitFor(
        'the panel to show the report',
        async () => {
          const box = frame.locator(HISTOGRAM).first();
          const records = await frame.locator('[data-key="records"] [data-value]').first().getAttribute('data-value');
          return {
            points: Number(await box.getAttribute('data-points')),
            counts: (await box.getAttribute('data-counts')) ?? '',
            records: Number(records),
          };
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      wb.log(`panel: ${shown.records} records, bins ${shown.counts}; CLI: ${expected.dataset.records} records, bins ${bins.join(',')}`);
      assert.equal(shown.records, expected.dataset.records, 'record count as inspect-data --json');
      assert.equal(shown.points, bins.length, 'one bar per inspect-data bin');
      assert.equal(shown.counts, bins.join(','), "the bars hold inspect-data's counts");
      const train = Number(await frame.locator('[data-key="train"] [data-value]').first().getAttribute('data-value'));
      assert.equal(train, expected.dataset.train);
      const truncated = Number(await frame.locator('[data-key="truncated"] [data-value]').first().getAttribute('data-value'));
      assert.equal(truncated, expected.stats.truncated);
      assert.ok((await frame.locator('.sample-text .token.masked').count()) > 0, 'the sample browser shades the masked prompt');
      assert.ok((await frame.locator('[data-chart="length-histogram"] canvas').count()) > 0, 'uPlot drew the histogram');
      await wb.step('dataset panel dark theme');

      await setColorTheme(page, 'Light Modern', 'light');
      const light = await webviewFrame(page, HISTOGRAM, 15_000);
      await waitFor(
        'the histogram to keep its bins in the light theme',
        async () => (await light.locator(HISTOGRAM).first().getAttribute('data-counts')) === bins.join(','),
        { timeoutMs: 15_000 },
      );
      await wb.step('dataset panel light theme');

      await openFile(page, 'broken.lora.yaml');
      await runCommand(page, 'LoRA Lab: Inspect Dataset');
      const brokenFrame = await webviewFrame(page, '.rejected-row a[data-line="4"]', 90_000);
      const rows = await brokenFrame.locator('.rejected-row').allTextContents();
      wb.log(`rejected rows: ${JSON.stringify(rows)}`);
      assert.ok(
        rows.some((row) => row.startsWith('rows.jsonl:4') && /malformed JSON/.test(row)),
        `the JSON error row is listed: ${JSON.stringify(rows)}`,
      );
      assert.ok(
        rows.some((row) => row.startsWith('rows.jsonl:6') && /output/.test(row)),
        `the row without output is listed: ${JSON.stringify(rows)}`,
      );
      const records = Number(await brokenFrame.locator('[data-key="records"] [data-value]').first().getAttribute('data-value'));
      assert.equal(records, 5, 'the other five records are inspected');
      await wb.step('rejected rows');
      await brokenFrame.locator('.rejected-row a[data-line="4"]').first().click();
      await waitFor(
        'rows.jsonl open with the cursor on line 4',
        async () => {
          const tab = await page.locator('.tabs-container .tab.active[aria-label^="rows.jsonl"]').count();
          const selection =
            (await page
              .locator('#status\\.editor\\.selection')
              .textContent()
              .catch(() => '')) ?? '';
          if (!tab || !selection.includes('Ln 4,')) throw new Error(`active tab rows.jsonl: ${tab > 0}; status bar: ${selection}`);
          return true;
        },
        { timeoutMs: 20_000 },
      );
      await wb.step('rejected row opened at its line');
    });
  },
);
