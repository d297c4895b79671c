// Scenario: the comparison panel (issue 23). "Show Memory/Time Trade-offs" on a sweep config with two
// finished fixture runs (eval results included) opens the panel: a base row, one row per variant,
// one per run, whose peak, time, loss and score cells hold the fixture files' numbers, and the
// score-vs-memory chart one point per run. Sorting by peak reorders the rows; screenshots in the
// dark and the light theme. Starting variant #2 from its row trains it, and its run appears as a new
// row matched to variant #2 when it finishes. Last, a config with 200 run folders (generated here):
// the first rows are shown before the last folder is read.
// The webview's contract with this test: table[data-table="compare"] (data-loaded, data-total,
// data-first-row-at), rows tr[data-row-kind][data-run|data-variant], cells td[data-col][data-value],
// header sort buttons button[data-sort], row buttons button[data-action], charts [data-series][data-points].
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openFile, runCommand, setColorTheme, webviewFrame } from './lib/ui.mjs';
import { withWorkbench } from './lib/workbench.mjs';
import { waitFor } from './lib/wait.mjs';

const TABLE = '[data-table="compare"]';
const FIXTURE_RUNS = ['e2e-compare-r4-20261201-100000', 'e2e-compare-r8-20261201-110000'];
const MANY = 200;

/** Every row of the panel's table: kind, run / variant, and each cell's data-value by column. */
async function tableRows(frame, tableSelector = TABLE) {
  return frame
    .locator(`${tableSelector} tbody tr`)
    .evaluateAll((rows) =>
      rows.map((row) => ({
        kind: row.getAttribute('data-row-kind'),
        run: row.getAttribute('data-run'),
        variant: row.getAttribute('data-variant'),
        status: row.getAttribute('data-status'),
        cells: Object.fromEntries(
          [...row.querySelectorAll('td[data-col]')].map((td) => [td.getAttribute('data-col'), td.getAttribute('data-value')]),
        ),
      })),
    );
}

/** Writes `count` finished run folders of many.lora.yaml (a copy of a fixture run, renamed). */
function makeManyRuns(workspace, count) {
  const source = join(workspace, 'runs', FIXTURE_RUNS[0]);
  writeFileSync(
    join(workspace, 'many.lora.yaml'),
    readFileSync(join(workspace, 'sweep.lora.yaml'), 'utf8')
      .replace('name: e2e-compare', 'name: e2e-many')
      .replace('out_dir: runs', 'out_dir: many')
      .replace(/sweep:[\s\S]*$/, ''),
  );
  mkdirSync(join(workspace, 'many'));
  for (let i = 0; i < count; i++) {
    const name = `e2e-many-${String(i).padStart(3, '0')}`;
    const dir = join(workspace, 'many', name);
    cpSync(source, dir, { recursive: true });
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    run.name = name;
    run.configPath = join(workspace, 'many.lora.yaml');
    run.startedMs += i * 1000;
    run.summary.peakBytes += i * 1024;
    delete run.sweep;
    writeFileSync(join(dir, 'run.json'), JSON.stringify(run));
  }
}

test(
  'compare: variants, runs and scores of a sweep; sort; start a variant; 200 folders read incrementally',
  { timeout: 540_000 },
  async () => {
    await withWorkbench({ name: 'compare', fixture: 'compare', examples: ['tiny-llama', 'data'] }, async (wb) => {
      const { page } = wb;
      const fixture = Object.fromEntries(
        FIXTURE_RUNS.map((name) => {
          const dir = join(wb.workspace, 'runs', name);
          const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
          const results = JSON.parse(readFileSync(join(dir, run.summary.eval.resultsFile), 'utf8'));
          const base = JSON.parse(readFileSync(join(dir, run.summary.eval.baseResultsFile), 'utf8'));
          return [name, { run, score: results.results.arithmetic_2ds['acc,none'], base: base.results.arithmetic_2ds['acc,none'] }];
        }),
      );
      makeManyRuns(wb.workspace, MANY);

      await openFile(page, 'sweep.lora.yaml');
      await runCommand(page, 'LoRA Lab: Show Memory/Time Trade-offs');
      const frame = await webviewFrame(page, `${TABLE} tr[data-row-kind="run"]`, 90_000).catch((err) => {
        throw new Error(`${err.message}: the panel's table must carry data-table="compare" and rows data-row-kind="run"`);
      });
      const rows = await waitFor(
        'the base row, 3 variant rows and the 2 fixture runs',
        async () => {
          const shown = await tableRows(frame);
          const kinds = shown.map((r) => r.kind).join(',');
          if (kinds !== 'base,variant,variant,variant,run,run') throw new Error(`rows: ${kinds}`);
          return shown;
        },
        { timeoutMs: 60_000 },
      );
      wb.log(`rows: ${JSON.stringify(rows.map((r) => [r.kind, r.run ?? r.variant, r.cells.peak, r.cells['score:arithmetic_2ds']]))}`);
      assert.deepEqual(
        rows.filter((r) => r.kind === 'variant').map((r) => r.variant),
        ['0', '1', '2'],
      );
      assert.deepEqual(
        rows.filter((r) => r.kind === 'run').map((r) => r.run),
        FIXTURE_RUNS,
      );
      for (const [i, name] of FIXTURE_RUNS.entries()) {
        const row = rows.find((r) => r.run === name);
        const { run, score, base } = fixture[name];
        assert.equal(row.cells.variant, String(i), `${name} is matched to variant #${i}`);
        assert.equal(Number(row.cells.peak), run.summary.peakBytes, `${name}: peak from run.json`);
        assert.equal(Number(row.cells.time), run.summary.trainTimeS);
        assert.equal(Number(row.cells.train_loss), run.summary.finalTrainLoss);
        assert.equal(Number(row.cells.val_loss), run.summary.finalValLoss);
        assert.equal(Number(row.cells['score:arithmetic_2ds']), score, `${name}: the results file's score`);
        assert.ok(Math.abs(Number(row.cells['delta:arithmetic_2ds']) - (score - base)) < 1e-9, `${name}: delta to the base model`);
        assert.ok(Number(row.cells.peak_pred) > 0, `${name}: the predicted peak beside the measured one`);
        assert.ok(Number.isFinite(Number(row.cells.peak_err)), `${name}: the peak's error in percent`);
      }
      assert.equal(
        Number(rows[0].cells['score:arithmetic_2ds']),
        fixture[FIXTURE_RUNS[0]].base,
        "the base row holds the base model's score",
      );
      assert.equal(rows.find((r) => r.variant === '2').status, 'planned');
      const best = await frame.locator(`${TABLE} tr[data-run="${FIXTURE_RUNS[1]}"] td.best[data-col="score:arithmetic_2ds"]`).count();
      assert.equal(best, 1, 'the best score is marked');
      const memoryChart = frame.locator('[data-series="score-vs-memory"]').first();
      await waitFor(
        'the score-vs-memory chart to hold one point per run',
        async () => (await memoryChart.getAttribute('data-points')) === '2',
      );
      assert.equal(await frame.locator('[data-series="score-vs-time"]').first().getAttribute('data-points'), '2');
      await wb.step('comparison panel dark theme');

      // Sorting by the measured peak: ascending, then descending.
      const runOrder = async () => (await tableRows(frame)).filter((r) => r.kind === 'run').map((r) => r.run);
      await frame.locator('button[data-sort="peak"]').first().click();
      await waitFor(
        'rows sorted by peak, ascending',
        async () => (await frame.locator('th[data-col="peak"][aria-sort="ascending"]').count()) === 1,
      );
      const ascending = await tableRows(frame);
      const peaks = ascending.filter((r) => r.kind !== 'base' && r.cells.peak).map((r) => Number(r.cells.peak));
      assert.deepEqual(
        peaks,
        [...peaks].sort((a, b) => a - b),
        'ascending peaks',
      );
      await frame.locator('button[data-sort="peak"]').first().click();
      await waitFor(
        'rows sorted by peak, descending',
        async () => (await frame.locator('th[data-col="peak"][aria-sort="descending"]').count()) === 1,
      );
      assert.deepEqual(await runOrder(), [...FIXTURE_RUNS].reverse(), 'the larger peak first');
      await wb.step('sorted by peak, descending');

      await setColorTheme(page, 'Light Modern', 'light');
      const light = await webviewFrame(page, `${TABLE} tr[data-row-kind="run"]`, 20_000);
      await waitFor(
        'the panel in the light theme',
        async () => (await light.locator('[data-series="score-vs-memory"]').first().getAttribute('data-points')) === '2',
      );
      await wb.step('comparison panel light theme');

      // Start variant #2 from its row: its run appears as a new row, matched to #2, when it completes.
      await light.locator(`${TABLE} tr[data-variant="2"] button[data-action="start-variant"]`).first().click();
      const started = await waitFor(
        'a completed run of variant #2 as a new row',
        async () => {
          const shown = await tableRows(light);
          const fresh = shown.filter((r) => r.kind === 'run' && !FIXTURE_RUNS.includes(r.run));
          if (fresh.length === 0) throw new Error('no new run row yet');
          if (fresh[0].status !== 'completed') throw new Error(`new run ${fresh[0].run} is ${fresh[0].status}`);
          return fresh[0];
        },
        { timeoutMs: 300_000, intervalMs: 1000 },
      );
      wb.log(`started from the panel: ${JSON.stringify(started)}`);
      assert.equal(started.cells.variant, '2', 'the new run is matched to variant #2');
      const runJson = JSON.parse(readFileSync(join(wb.workspace, 'runs', started.run, 'run.json'), 'utf8'));
      assert.equal(Number(started.cells.peak), runJson.summary.peakBytes);
      assert.equal((await tableRows(light)).find((r) => r.variant === '2').status, 'completed', 'variant #2 is no longer planned');
      await wb.step('variant started from the panel, finished');

      // 200 run folders: rows are posted as folders are read.
      await openFile(page, 'many.lora.yaml');
      await runCommand(page, 'LoRA Lab: Show Memory/Time Trade-offs');
      // The panel lists the run folders of out_dir (many/) and of the run folders it knows (runs/ too):
      // its table is the one with the many runs' rows.
      const manyFrame = await webviewFrame(page, `${TABLE} tr[data-run="e2e-many-000"]`, 90_000);
      const manyTable = manyFrame.locator(TABLE).filter({ has: manyFrame.locator('tr[data-run="e2e-many-000"]') });
      const done = await waitFor(
        'every run folder read',
        async () => {
          const total = Number(await manyTable.getAttribute('data-total'));
          const loaded = Number(await manyTable.getAttribute('data-loaded'));
          if (total < MANY || loaded !== total) throw new Error(`data-loaded ${loaded} of data-total ${total}`);
          return {
            total,
            firstRowAt: Number(await manyTable.getAttribute('data-first-row-at')),
            rows: await manyTable.locator('tr[data-row-kind="run"]').count(),
          };
        },
        { timeoutMs: 120_000, intervalMs: 250 },
      );
      wb.log(`${done.total} folders listed: the first run row was shown after ${done.firstRowAt} were read; ${done.rows} run rows`);
      assert.equal(done.rows, MANY, 'one row per run of many.lora.yaml (the runs of sweep.lora.yaml are not its)');
      assert.ok(
        done.firstRowAt > 0 && done.firstRowAt < MANY,
        `the first rows came before the last folder was read (${done.firstRowAt} of ${done.total})`,
      );
      await wb.step('200 run folders');
    });
  },
);
