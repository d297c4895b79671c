// Scenario: evaluate a finished run. A run trained with the installed CLI on the bundled tiny model;
// its dashboard is open ("not evaluated yet"); "Evaluate Run" from its Runs context menu offers the
// tasks with the config's eval.tasks checked (a custom task file beside the config is offered and
// picked too) and the limit from eval.limit (changed to 30 here);
// a progress notification shows while `lora-lab eval` works; then the scores appear under the run in
// the Runs view and, live, in the open dashboard's evaluation table, whose numbers equal the results
// files' (the adapter's and the base model's). A fixture run trained with eval.interval shows one
// score curve per task with a point per evaluation. Screenshots in the dark and the light theme.
// The webview's contract with this test: table[data-table="eval"], rows tr[data-task], cells
// td[data-col=value|stderr|delta|base|n|...] with data-value (the number as JSON has it); curves
// [data-series="eval:<task>"] with data-points.
/* global document, window */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readRunJson, runFolders } from './lib/run-folders.mjs';
import {
  clearNotifications,
  rowShowsState,
  runContextAction,
  runsRows,
  setColorTheme,
  showRunsView,
  waitForRunRow,
  webviewFrame,
} from './lib/ui.mjs';
import { withWorkbench } from './lib/workbench.mjs';
import { waitFor } from './lib/wait.mjs';

const RUN_NAME = 'e2e-evaluate';
const TASKS = ['arithmetic_2da', 'arithmetic_2ds'];
/** The custom task file beside the config (heldout.task.yaml, 12 documents), picked in addition. */
const CUSTOM = 'heldout_sums';
const EVALUATED = [...TASKS, CUSTOM];
const LIMIT = 30;
const CURVES_RUN = 'e2e-curves-20261206-120000';
const QUICK_INPUT = '.quick-input-widget';
const QUICK_ROWS = `${QUICK_INPUT} .quick-input-list .monaco-list-row`;
const RUNS_ROWS = '.pane:has(.pane-header[aria-label^="Runs"]) .pane-body .monaco-list-row';

/** Records every notification text shown from now on (a quick progress notification can come and go between polls). */
async function recordNotifications(page) {
  await page.evaluate(() => {
    const seen = [];
    window.__loraLabNotifications = seen;
    const record = () => {
      for (const node of document.querySelectorAll('.notification-list-item-message')) {
        const text = node.textContent ?? '';
        if (text && !seen.includes(text)) seen.push(text);
      }
    };
    new window.MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  return () => page.evaluate(() => window.__loraLabNotifications);
}

/** The eval table's rows as { task: { col: data-value } }. */
async function tableValues(frame) {
  return frame.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll('[data-table="eval"] tr[data-task]')].map((row) => [
        row.getAttribute('data-task'),
        Object.fromEntries(
          [...row.querySelectorAll('td[data-col]')].map((td) => [td.getAttribute('data-col'), td.getAttribute('data-value')]),
        ),
      ]),
    ),
  );
}

test('evaluate: Evaluate Run shows progress, then the scores in the Runs view and the dashboard table', { timeout: 360_000 }, async () => {
  await withWorkbench({ name: 'evaluate', fixture: 'evaluate', examples: ['tiny-llama', 'data'] }, async (wb) => {
    const { page } = wb;
    const trained = spawnSync(process.execPath, [wb.cliPath(), 'train', 'evaluate.lora.yaml'], {
      cwd: wb.workspace,
      env: wb.env(),
      encoding: 'utf8',
      timeout: 240_000,
    });
    assert.equal(trained.status, 0, `lora-lab train failed:\n${trained.stderr}`);
    const [runDir] = runFolders(join(wb.workspace, 'out', 'lora'));
    assert.equal(readRunJson(runDir).status, 'completed');
    assert.equal(readRunJson(runDir).summary?.eval, undefined, 'not evaluated by training (eval.after_train is off)');

    await showRunsView(page);
    // Not waitForRunRow: it clicks collapsed rows, and the fixture run (with scores) is one.
    await waitFor(
      `the Runs view to list ${RUN_NAME} completed`,
      async () => {
        const rows = await runsRows(page);
        const row = rows.find((r) => r.text.trim().startsWith(RUN_NAME));
        if (!row || !rowShowsState(row, 'completed')) throw new Error(`rows: ${JSON.stringify(rows.map((r) => r.text))}`);
        return row;
      },
      { timeoutMs: 60_000, intervalMs: 300 },
    );
    await runContextAction(page, RUN_NAME, 'Open Dashboard');
    const frame = await webviewFrame(page, `.run-title:has-text("${RUN_NAME}")`, 60_000);
    await waitFor('the dashboard to say the run is not evaluated yet', async () =>
      /Not evaluated yet/.test((await frame.locator('.eval-meta').textContent()) ?? ''),
    );
    assert.equal(await frame.locator('[data-table="eval"] tr[data-task]').count(), 0);
    await wb.step('dashboard before evaluation');

    const notifications = await recordNotifications(page);
    await runContextAction(page, RUN_NAME, 'Evaluate Run');
    const checked = await waitFor(
      'the task pick with the tasks of eval.tasks checked',
      async () => {
        // The task pick itself, not the rows a closed command palette leaves in the DOM.
        const title = (await page.locator(`${QUICK_INPUT} .quick-input-title`).textContent()) ?? '';
        if (!(await page.locator(QUICK_INPUT).isVisible()) || !/Evaluate .*: tasks/.test(title)) throw new Error(`quick input: ${title}`);
        const rows = await page
          .locator(QUICK_ROWS)
          .evaluateAll((items) =>
            items.map((row) => ({
              label: (row.getAttribute('aria-label') ?? row.textContent ?? '').trim(),
              checked: row.getAttribute('aria-checked') === 'true' || row.querySelector('input[type="checkbox"]')?.checked === true,
            })),
          );
        if (rows.length < TASKS.length) throw new Error(`rows: ${JSON.stringify(rows)}`);
        return rows.filter((row) => row.checked).map((row) => row.label.split(/[\s,]/)[0]);
      },
      { timeoutMs: 20_000 },
    );
    assert.deepEqual(checked, TASKS, "the config's eval.tasks are preselected, first");
    const customRow = page.locator(QUICK_ROWS).filter({ hasText: CUSTOM }).first();
    assert.match((await customRow.textContent()) ?? '', /custom · heldout\.task\.yaml/, 'the custom task file is offered');
    await customRow.click();
    await waitFor(
      `${CUSTOM} to be checked too`,
      async () =>
        (await customRow.getAttribute('aria-checked')) === 'true' ||
        (await customRow
          .locator('input[type="checkbox"]')
          .isChecked()
          .catch(() => false)),
      { timeoutMs: 5_000 },
    );
    await wb.step('task pick');
    await page.keyboard.press('Enter');
    const limitInput = page.locator(`${QUICK_INPUT} input`);
    await waitFor('the limit input with eval.limit', async () => (await limitInput.inputValue()) === '40', { timeoutMs: 10_000 });
    await limitInput.fill(String(LIMIT));
    await page.keyboard.press('Enter');

    const completed = await waitFor(
      'the evaluation to complete',
      async () => {
        const evaluation = readRunJson(runDir).summary?.eval;
        if (evaluation?.status !== 'completed') throw new Error(`summary.eval: ${JSON.stringify(evaluation ?? null).slice(0, 300)}`);
        return evaluation;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    const seen = await waitFor(
      'the completion notification',
      async () => {
        const texts = await notifications();
        if (!texts.some((text) => /evaluated e2e-evaluate/.test(text))) throw new Error(`notifications: ${JSON.stringify(texts)}`);
        return texts;
      },
      { timeoutMs: 20_000 },
    );
    assert.ok(
      seen.some((text) => /Evaluating e2e-evaluate/.test(text)),
      `a progress notification was shown: ${JSON.stringify(seen)}`,
    );
    assert.equal(completed.limit, LIMIT);
    assert.deepEqual(Object.keys(completed.tasks).sort(), EVALUATED);
    assert.equal(completed.tasks[CUSTOM].metric, 'exact_match');
    assert.equal(completed.tasks[CUSTOM].n, 12, 'the custom task has 12 documents, under the limit');
    const results = JSON.parse(readFileSync(join(runDir, completed.resultsFile), 'utf8')).results;
    const base = JSON.parse(readFileSync(join(runDir, completed.baseResultsFile), 'utf8')).results;

    // The dashboard that was open updates live: one row per task, numbers equal to the results files'.
    const table = await waitFor(
      'the dashboard table to hold the scores',
      async () => {
        const values = await tableValues(frame);
        if (Object.keys(values).length !== EVALUATED.length) throw new Error(`rows: ${JSON.stringify(values)}`);
        return values;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    for (const task of EVALUATED) {
      const metric = completed.tasks[task].metric;
      const row = table[task];
      assert.equal(Number(row.value), results[task][`${metric},none`], `${task} value`);
      assert.equal(Number(row.stderr), results[task][`${metric}_stderr,none`], `${task} stderr`);
      assert.equal(Number(row.base), base[task][`${metric},none`], `${task} base value`);
      assert.ok(Math.abs(Number(row.delta) - (results[task][`${metric},none`] - base[task][`${metric},none`])) < 1e-12, `${task} delta`);
      assert.equal(Number(row.n), completed.tasks[task].n, `${task} documents`);
      assert.equal(row.metric, metric);
    }
    await clearNotifications(page); // the completion toast would cover the table's right half
    await frame.locator('[data-table="eval"]').scrollIntoViewIfNeeded();
    await wb.step('dashboard evaluation table dark theme');

    // The Runs view: the run expands to one score row per task, its value as the results file has it.
    await showRunsView(page);
    const runRow = page
      .locator(RUNS_ROWS)
      .filter({ hasText: new RegExp(`^\\s*${RUN_NAME}`) })
      .first();
    await waitFor('the run row to become expandable', async () => (await runRow.getAttribute('aria-expanded')) !== null, {
      timeoutMs: 30_000,
    });
    if ((await runRow.getAttribute('aria-expanded')) === 'false') await runRow.locator('.monaco-tl-twistie').click();
    const scoreRows = await waitFor(
      'score rows under the run',
      async () => {
        const rows = (await runsRows(page)).filter((row) => EVALUATED.some((task) => row.text.trim().startsWith(task)));
        if (rows.length !== EVALUATED.length) throw new Error(`rows: ${JSON.stringify((await runsRows(page)).map((r) => r.text))}`);
        return rows;
      },
      { timeoutMs: 20_000 },
    );
    for (const task of EVALUATED) {
      const metric = completed.tasks[task].metric;
      const row = scoreRows.find((r) => r.text.trim().startsWith(task));
      const shown = new RegExp(`^\\s*${task}\\s*(\\d+\\.\\d{4}) ± (\\d+\\.\\d{4}) · Δ (\\S+)`).exec(row.text);
      assert.ok(shown, `score row text: ${row.text}`);
      assert.equal(shown[1], results[task][`${metric},none`].toFixed(4));
      assert.equal(shown[2], results[task][`${metric}_stderr,none`].toFixed(4));
      const delta = results[task][`${metric},none`] - base[task][`${metric},none`];
      assert.equal(
        shown[3],
        delta === 0 ? '±0' : `${delta > 0 ? '+' : '\u2212'}${Math.abs(delta).toFixed(4)}`,
        `${task} delta to the base`,
      );
    }
    await wb.step('runs view scores');

    // A run trained with eval.interval (fixture folder runs/e2e-curves-*): one score curve per task with
    // a point per interval evaluation plus the final one, as many as its metrics.jsonl has.
    const curvesDir = join(wb.workspace, 'runs', CURVES_RUN);
    const evalLines = readFileSync(join(curvesDir, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter((line) => line.kind === 'eval');
    await waitForRunRow(page, CURVES_RUN, 'completed', (row) => rowShowsState(row, 'completed'), { timeoutMs: 30_000 });
    await runContextAction(page, CURVES_RUN, 'Open Dashboard');
    const curves = await webviewFrame(page, `.run-title:has-text("${CURVES_RUN}")`, 60_000);
    for (const task of TASKS) {
      const expected = evalLines.filter((line) => line.task === task).length;
      assert.ok(expected > 2, `the fixture has interval evaluations of ${task}`);
      await waitFor(
        `the ${task} score curve to hold ${expected} points`,
        async () => {
          const shown = await curves.locator(`[data-series="eval:${task}"]`).getAttribute('data-points');
          if (Number(shown) !== expected) throw new Error(`data-points is ${shown}`);
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
    }
    assert.equal(await curves.locator('[data-table="eval"] tr[data-task]').count(), TASKS.length);
    await curves.locator('.eval-curves').scrollIntoViewIfNeeded();
    await wb.step('score curves dark theme');

    await setColorTheme(page, 'Light Modern', 'light');
    const light = await webviewFrame(page, `.run-title:has-text("${CURVES_RUN}")`, 10_000);
    assert.equal(await light.locator('[data-table="eval"] tr[data-task]').count(), TASKS.length);
    assert.equal(await light.locator('[data-series^="eval:"]').count(), TASKS.length);
    await light.locator('[data-table="eval"]').scrollIntoViewIfNeeded();
    await wb.step('evaluation table and score curves light theme');
  });
});
