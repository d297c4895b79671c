// Scenario 2b, the estimator in the editor: on a machine never calibrated the code lens shows the
// peak-memory estimate and says how to get a time estimate; after `lora-lab calibrate` (the
// installed extension's CLI, the session's own cache) the lens shows a time estimate too, and the lens
// quotes the peak `lora-lab estimate` prints for the same file (one estimate path; this fixture's
// tokenizer is a stub, so both fall back to data.max_seq_length and the lens says so).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { codeLenses, openFile } from './lib/ui.mjs';
import { withWorkbench } from './lib/workbench.mjs';
import { waitFor } from './lib/wait.mjs';

const MEMORY = /\b\d+(?:\.\d+)?\s?(?:[KMGT]i?B)\b/;
const TIME = /\b\d+(?:\.\d+)?\s?(?:ms|s|sec|min|h|hours?|minutes?|seconds?)\b|\b\d+:\d\d\b/;

async function waitForLens(page, description, accept) {
  return waitFor(
    description,
    async () => {
      const texts = await codeLenses(page);
      if (!texts.some(accept)) throw new Error(`code lenses: ${JSON.stringify(texts)}`);
      return texts.find(accept);
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

test('estimate: the code lens shows peak memory, and time once the machine is calibrated', { timeout: 240_000 }, async () => {
  await withWorkbench({ name: 'estimate', fixture: 'intellisense' }, async (wb) => {
    const { page } = wb;
    await openFile(page, 'valid.lora.yaml');
    const uncalibrated = await waitForLens(page, 'a code lens with a memory estimate', (text) => MEMORY.test(text));
    await wb.step('memory estimate, machine not calibrated');
    wb.log(`lens before calibration: ${uncalibrated}`);
    assert.ok(!/pending/i.test(uncalibrated), `the estimate is not a placeholder: ${uncalibrated}`);
    assert.match(uncalibrated, /calibrat/i, 'without a calibration the lens says how to get a time estimate');

    const calibrate = spawnSync(process.execPath, [wb.cliPath(), 'calibrate', '--quick', '--device', 'cpu'], {
      env: wb.env(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    wb.log(`lora-lab calibrate --quick: ${(calibrate.stdout + calibrate.stderr).trim().split('\n').at(-1)}`);
    assert.equal(calibrate.status, 0, `lora-lab calibrate succeeds: ${calibrate.stderr}`);
    assert.ok(existsSync(join(wb.cacheDir, 'lora-lab', 'calibration.json')), 'the calibration is saved in the session cache');

    // An edit makes the editor ask for the lenses again.
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Enter');
    const calibrated = await waitForLens(
      page,
      'a code lens with memory and time estimates',
      (text) => MEMORY.test(text) && TIME.test(text),
    );
    await wb.step('memory and time estimates');
    wb.log(`lens after calibration: ${calibrated}`);

    const cli = spawnSync(process.execPath, [wb.cliPath(), 'estimate', join(wb.workspace, 'valid.lora.yaml'), '--json'], {
      env: wb.env(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(cli.status, 0, `lora-lab estimate succeeds: ${cli.stderr}`);
    const fromCli = JSON.parse(cli.stdout);
    const [, value, unit] = /Peak ≈ ([\d.]+) (B|KiB|MiB|GiB|TiB) on /.exec(calibrated) ?? [];
    assert.ok(value, `the lens states the peak in binary units: ${calibrated}`);
    const lensBytes = Number(value) * 1024 ** ['B', 'KiB', 'MiB', 'GiB', 'TiB'].indexOf(unit);
    assert.ok(
      Math.abs(lensBytes - fromCli.estimate.memory.peakBytes) <= 0.005 * fromCli.estimate.memory.peakBytes,
      `lens ${value} ${unit} vs lora-lab estimate ${fromCli.estimate.memory.peakBytes} bytes`,
    );
    assert.equal(fromCli.seqLenSource, 'max_seq_length');
    assert.match(calibrated, /at max_seq_length \(data not read\)/, 'the lens says it fell back to max_seq_length');
  });
});
