// Scenario hub, models from the Hugging Face Hub in a real editor: "LoRA Lab: Download Model" shows the
// catalog (gated repos marked, unloadable families with the reason); on a config whose repo id is not
// cached, the quick fixes "Fetch config.json" and "Download model" are offered, and "Download model"
// fetches it from a local test Hub (HF_ENDPOINT on 127.0.0.1, test/unit/hub/serve-fake-hub.ts), after
// which the error goes and the parameter code lens appears.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { codeLenses, goToPosition, lineOf, openFile, problems, showProblems, waitForNotification } from './lib/ui.mjs';
import { REPO_ROOT, withWorkbench } from './lib/workbench.mjs';
import { waitFor } from './lib/wait.mjs';

const CONFIG = readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'e2e', 'hub', 'hub.lora.yaml'), 'utf8');
const QUICK_ROWS = '.quick-input-widget .quick-input-list .monaco-list-row';
const ACTION_ROWS = '.action-widget .monaco-list-row';

async function startLocalHub() {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test', 'unit', 'hub', 'serve-fake-hub.ts')], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the local Hub exited (${code})`)));
  });
  return { child, endpoint: JSON.parse(line).endpoint };
}

const rowTexts = (page, selector) =>
  page.locator(selector).evaluateAll((rows) => rows.map((row) => `${row.getAttribute('aria-label') ?? ''} ${row.textContent ?? ''}`));

test(
  'hub: the Download Model catalog; the "Download model" quick fix downloads from a local Hub, then the estimate appears',
  { timeout: 300_000 },
  async () => {
    const hub = await startLocalHub();
    const saved = { ...process.env };
    // code-server inherits this environment: the Hub is the local one, the cache is the session's (XDG_CACHE_HOME).
    process.env.HF_ENDPOINT = hub.endpoint;
    for (const name of [
      'HF_HUB_CACHE',
      'HUGGINGFACE_HUB_CACHE',
      'HF_HOME',
      'HF_HUB_OFFLINE',
      'HF_TOKEN',
      'HTTP_PROXY',
      'HTTPS_PROXY',
      'http_proxy',
      'https_proxy',
    ])
      delete process.env[name];
    try {
      await withWorkbench({ name: 'hub', fixture: 'hub' }, async (wb) => {
        const { page } = wb;
        await openFile(page, 'hub.lora.yaml');

        // The catalog quick pick.
        await waitFor(
          'the palette to offer LoRA Lab: Download Model',
          async () => {
            await page.keyboard.press('Escape');
            await page.keyboard.press('F1');
            const input = page.locator('.quick-input-widget input');
            await input.waitFor({ state: 'visible', timeout: 3_000 });
            await input.fill('>LoRA Lab: Download Model');
            const rows = await rowTexts(page, QUICK_ROWS);
            if (!rows.some((row) => row.includes('LoRA Lab: Download Model'))) throw new Error(`rows: ${JSON.stringify(rows)}`);
            return true;
          },
          { timeoutMs: 30_000, intervalMs: 500 },
        );
        await page.keyboard.press('Enter');
        const catalog = await waitFor(
          'the catalog quick pick',
          async () => {
            const rows = await rowTexts(page, QUICK_ROWS);
            const llama = rows.find((row) => row.includes('meta-llama/Llama-2-7b-hf'));
            const falcon = rows.find((row) => row.includes('tiiuae/falcon-40b'));
            if (
              !llama ||
              !/gated/.test(llama) ||
              !falcon ||
              !/runs on the CPU engine by default/.test(falcon) ||
              /Not available/.test(falcon) ||
              !rows.some((row) => row.includes('Qwen/Qwen2.5-0.5B'))
            )
              throw new Error(`rows: ${JSON.stringify(rows)}`);
            return rows;
          },
          { timeoutMs: 20_000 },
        );
        wb.log(`catalog: ${JSON.stringify(catalog)}`);
        await wb.step('catalog quick pick');
        await page.keyboard.press('Escape');

        // The repo is not cached: an error on the checkpoint line, with the two quick fixes.
        const line = lineOf(CONFIG, 'checkpoint: acme/tiny-llama');
        await showProblems(page);
        await waitFor(
          'the not-in-the-cache error on the checkpoint line',
          async () => {
            const found = await problems(page);
            if (!found.some((p) => p.line === line && /acme\/tiny-llama.*not in the cache/.test(p.message)))
              throw new Error(`problems: ${JSON.stringify(found)}`);
            return true;
          },
          { timeoutMs: 60_000, intervalMs: 500 },
        );
        await goToPosition(page, line, 18);
        const fixes = await waitFor(
          'the quick fixes Fetch config.json and Download model',
          async () => {
            await page.keyboard.press('Escape');
            await page.keyboard.press('Control+.');
            const rows = await waitFor(
              'the action widget',
              async () => (await rowTexts(page, ACTION_ROWS)).length > 0 && rowTexts(page, ACTION_ROWS),
              { timeoutMs: 3_000 },
            ).catch(() => []);
            if (
              !rows.some((row) => row.includes('Fetch config.json of acme/tiny-llama')) ||
              !rows.some((row) => row.includes('Download model acme/tiny-llama'))
            )
              throw new Error(`quick fixes: ${JSON.stringify(rows)}`);
            return rows;
          },
          { timeoutMs: 60_000, intervalMs: 1_000 },
        );
        wb.log(`quick fixes: ${JSON.stringify(fixes)}`);
        await wb.step('quick fixes offered');
        // The preferred fix (Fetch config.json) has the focus: move it to "Download model", then accept.
        await waitFor(
          'the focus on "Download model"',
          async () => {
            const focused = await page.locator(`${ACTION_ROWS}.focused`).evaluateAll((rows) => rows.map((row) => row.textContent ?? ''));
            if (focused.some((text) => text.includes('Download model acme/tiny-llama'))) return true;
            await page.keyboard.press('ArrowDown');
            throw new Error(`focused: ${JSON.stringify(focused)}`);
          },
          { timeoutMs: 10_000, intervalMs: 300 },
        );
        await page.keyboard.press('Enter');

        await waitForNotification(page, /acme\/tiny-llama is in the Hugging Face cache/, 120_000);
        await wb.step('downloaded');
        await waitFor(
          'the checkpoint error to go and the parameter code lens to appear',
          async () => {
            const found = (await problems(page)).filter((p) => p.line === line && p.severity === 'error');
            const lenses = await codeLenses(page);
            if (found.length || !lenses.some((text) => /trainable/i.test(text)))
              throw new Error(`problems on line ${line}: ${JSON.stringify(found)}; lenses: ${JSON.stringify(lenses)}`);
            return true;
          },
          { timeoutMs: 60_000, intervalMs: 500 },
        );
        await wb.step('estimate after the download');
      });
    } finally {
      process.env = saved;
      hub.child.kill('SIGTERM');
    }
  },
);
