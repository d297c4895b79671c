// Scenario 4, the run dashboard: open the dashboard of a finished run from the Runs view; its first
// paint shows the charts (never the waiting text), the train-loss series has as many points as
// metrics.jsonl has train lines and the gradient-norm chart one per finite grad_norm; the memory bar
// is filled (scaled to the run's own peak, not the device's 8 GiB). Screenshots in the dark and the
// light theme; the page's time to its first chart is logged.
// The webview's contract with this test: each chart's element carries data-series="<id>" and
// data-points="<number of points plotted>"; #app carries data-first-chart-ms.
/* global document */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { trainLines } from './lib/run-folders.mjs';
import { rowShowsState, runContextAction, setColorTheme, showRunsView, showsNumber, waitForRunRow, webviewFrame } from './lib/ui.mjs';
import { withWorkbench } from './lib/workbench.mjs';
import { waitFor } from './lib/wait.mjs';

const RUN_NAME = 'e2e-dashboard-20261128-120000';
const SERIES = '[data-series="train-loss"]';
const GRAD_NORM = '[data-series="grad-norm"]';

/** The memory bar's filled share of its width, and its parts' widths in px. */
async function memoryBarFill(frame) {
  return frame.evaluate(() => {
    const bar = document.querySelector('.memory-bar');
    if (!bar) return null;
    const parts = [...bar.querySelectorAll('.memory-part')].map((part) => part.getBoundingClientRect().width);
    const width = bar.getBoundingClientRect().width;
    return { width, parts, filled: parts.reduce((sum, w) => sum + w, 0) / Math.max(1, width) };
  });
}

/** Charts ([data-series] boxes) whose canvases reach outside their box by more than 2 px. */
async function chartsOutsideTheirBoxes(frame) {
  return frame.evaluate(() =>
    [...document.querySelectorAll('[data-series]')].flatMap((box) => {
      const outer = box.getBoundingClientRect();
      return [...box.querySelectorAll('canvas')]
        .map((canvas) => canvas.getBoundingClientRect())
        .filter((r) => r.left < outer.left - 2 || r.top < outer.top - 2 || r.right > outer.right + 2 || r.bottom > outer.bottom + 2)
        .map((r) => ({
          series: box.getAttribute('data-series'),
          box: [outer.left, outer.top, outer.right, outer.bottom].map(Math.round),
          canvas: [r.left, r.top, r.right, r.bottom].map(Math.round),
        }));
    }),
  );
}

test('dashboard: the loss series of a finished run has one point per train line of metrics.jsonl', { timeout: 240_000 }, async () => {
  await withWorkbench({ name: 'dashboard', fixture: 'dashboard' }, async (wb) => {
    const { page } = wb;
    const runDir = join(wb.workspace, 'runs', RUN_NAME);
    const lines = trainLines(runDir);
    assert.ok(lines.length > 100, `the fixture run has many train lines (${lines.length})`);

    await showRunsView(page);
    await waitForRunRow(
      page,
      RUN_NAME,
      'completed with its final loss',
      (row) => rowShowsState(row, 'completed') && showsNumber(row.text, 'loss', lines.at(-1).loss),
      { timeoutMs: 60_000 },
    );
    await wb.step('finished run listed');

    await runContextAction(page, RUN_NAME, 'Open Dashboard');
    const frame = await webviewFrame(page, SERIES, 60_000).catch((err) => {
      throw new Error(
        `${err.message}: the dashboard's train-loss chart must carry data-series="train-loss" and data-points="<points plotted>"`,
      );
    });
    const points = await waitFor(
      `the train-loss series to hold ${lines.length} points`,
      async () => {
        const shown = Number(await frame.locator(SERIES).first().getAttribute('data-points'));
        if (shown !== lines.length) throw new Error(`data-points is ${shown}`);
        return shown;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    await wb.step('dashboard dark theme');
    assert.equal(points, lines.length);

    // First paint: the charts came with the host's snapshot; the waiting text is not shown for a finished run.
    const firstPaint = await frame.evaluate(() => ({
      firstChartMs: Number(document.getElementById('app')?.dataset.firstChartMs),
      emptyShown: [...document.querySelectorAll('.empty')].some((p) => !p.hidden),
      emptyText: document.querySelector('.empty')?.textContent ?? '',
    }));
    wb.log(`first chart ${firstPaint.firstChartMs} ms after the dashboard page started`);
    assert.ok(firstPaint.firstChartMs > 0, 'the page records its first chart');
    assert.equal(firstPaint.emptyShown, false, 'no empty-state text beside the charts');
    assert.doesNotMatch(firstPaint.emptyText, /Waiting for the first training step/, 'a finished run never waits for a step');

    const finiteNorms = lines.filter((line) => Number.isFinite(line.grad_norm)).length;
    assert.equal(
      Number(await frame.locator(GRAD_NORM).first().getAttribute('data-points')),
      finiteNorms,
      'one grad-norm point per train line',
    );
    const fill = await memoryBarFill(frame);
    wb.log(`memory bar: ${JSON.stringify(fill)}`);
    assert.ok(fill && fill.parts.length >= 2 && fill.parts.every((w) => w > 0), 'every memory category has a visible part');
    assert.ok(fill.filled > 0.95, `the bar is filled to the run's own peak (${(fill.filled * 100).toFixed(1)}%)`);
    const memoryTitle = await frame.locator('.run-memory h3').first().textContent();
    assert.match(memoryTitle ?? '', /^Peak memory by category: [\d.]+ MiB of 8(\.0+)? GiB \([\d.]+%\)/, 'the device total is text');
    assert.deepEqual(await chartsOutsideTheirBoxes(frame), [], 'every chart is drawn inside its own box');

    await setColorTheme(page, 'Light Modern', 'light');
    const lightFrame = await webviewFrame(page, SERIES, 10_000);
    await waitFor(
      'the dashboard to keep its points in the light theme',
      async () => Number(await lightFrame.locator(SERIES).first().getAttribute('data-points')) === lines.length,
      { timeoutMs: 10_000 },
    );
    await waitFor(
      'every chart to stay inside its own box after the theme change',
      async () => {
        const overflowing = await chartsOutsideTheirBoxes(lightFrame);
        if (overflowing.length) throw new Error(`charts drawn outside their boxes: ${JSON.stringify(overflowing)}`);
        return true;
      },
      { timeoutMs: 10_000 },
    );
    await wb.step('dashboard light theme');
    // The memory chart, below the others: peak so far scaled to the run's own peak.
    const memoryChart = lightFrame.locator('[data-series="memory"]').first();
    await memoryChart.scrollIntoViewIfNeeded();
    assert.equal(Number(await memoryChart.getAttribute('data-points')), lines.length, 'one memory point per train line');
    assert.match((await memoryChart.locator('h3').textContent()) ?? '', /^Memory \(device total 8(\.0+)? GiB\)$/);
    await wb.step('memory chart, light theme');
  });
});
