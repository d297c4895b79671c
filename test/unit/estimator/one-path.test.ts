// One estimate path: on examples/lora-default.lora.yaml the code lens (through the language server's
// data-facts cache), the comparison panel's prediction and `lora-lab estimate` quote the same peak (the data's longest
// tokenized example) and the same calibrated time from the same calibration file; the lens falls back to
// max_seq_length while the data is being read and when it cannot be read.
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { variantFacts } from '../../../language-server/src/lib/compare/predict';
import { nodeFileSystem } from '../../../language-server/src/config/node-fs';
import { calibrationFilePath, newestCalibration } from '../../../language-server/src/lib/calibration-file';
import { DataFactsCache } from '../../../language-server/src/lib/data-facts';
import { formatBytes, formatDuration } from '../../../language-server/src/lib/format';
import { analyzeConfig, codeLenses } from '../../../language-server/src/service';
import { estimateCommand } from '../../../native/trainer/commands/estimate';

const dir = mkdtempSync(join(tmpdir(), 'loralab-one-path-'));
after(() => rmSync(dir, { recursive: true, force: true }));
process.env.XDG_CACHE_HOME = join(dir, 'cache');

const EXAMPLE = resolve(__dirname, '../../../examples/lora-default.lora.yaml');

async function cliEstimate(
  path: string,
): Promise<{
  calibrationFile: string;
  device: string;
  seqLenSource: string;
  estimate: { memory: { peakBytes: number }; time: { seconds: number | null } };
}> {
  let stdout = '';
  let stderr = '';
  const status = await estimateCommand.run([path, '--json'], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  assert.equal(status, 0, stderr);
  return JSON.parse(stdout);
}

async function waitUntil<T>(what: string, probe: () => T | undefined, deadlineMs = 30_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolveTick) => setImmediate(resolveTick));
  }
}

test('lens, trade-off view and CLI: the same peak and time on lora-default.lora.yaml', async () => {
  // a calibration of this device kind in the session's cache: every path must find the same record
  mkdirSync(join(dir, 'cache', 'lora-lab'), { recursive: true });
  const record = (key: string, flopsPerSecond: number, measuredAt: string) => ({
    key,
    device: 'cpu',
    computePath: 'avx2',
    threads: 1,
    measuredAt,
    flopsPerSecond,
    runs: [],
  });
  writeFileSync(
    calibrationFilePath(),
    JSON.stringify({
      version: 1,
      devices: {
        'cpu:old:avx2:1t': record('cpu:old:avx2:1t', 1e9, '2026-01-01T00:00:00Z'),
        'cpu:new:avx2:2t': record('cpu:new:avx2:2t', 3e9, '2026-02-01T00:00:00Z'),
      },
    }),
  );
  assert.equal(newestCalibration('cpu')?.flopsPerSecond, 3e9);

  const cli = await cliEstimate(EXAMPLE);
  assert.equal(cli.calibrationFile, calibrationFilePath(), 'the CLI reads the calibration file the lens reads');
  assert.equal(cli.device, 'cpu');
  assert.equal(cli.seqLenSource, 'data');
  const peak = formatBytes(cli.estimate.memory.peakBytes);
  const time = formatDuration(cli.estimate.time.seconds);

  const analysis = analyzeConfig(readFileSync(EXAMPLE, 'utf8'), EXAMPLE, nodeFileSystem);
  const cache = new DataFactsCache();
  let refreshed = 0;
  const estimateLens = () =>
    codeLenses(
      analysis,
      (device) => newestCalibration(device),
      (config) => cache.peek(config, () => refreshed++),
    )[1].command!.title;
  const first = estimateLens();
  assert.match(first, /at max_seq_length \(data being read\)$/, 'answered at once, before the data is read');
  assert.ok(!first.startsWith(`Peak ≈ ${peak} `), `the max_seq_length estimate differs: ${first}`);
  await waitUntil('the data facts', () => (refreshed > 0 ? true : undefined));
  assert.equal(refreshed, 1);
  const ready = estimateLens();
  assert.ok(ready.startsWith(`Peak ≈ ${peak} on cpu `), `${ready} vs the CLI's ${peak}`);
  assert.ok(ready.includes(`time ≈ ${time} for 300 steps`), `${ready} vs the CLI's ${time}`);
  assert.doesNotMatch(ready, /max_seq_length/);

  const [variant] = variantFacts(EXAMPLE, readFileSync(EXAMPLE, 'utf8'), new DataFactsCache()).variants;
  assert.equal(formatBytes(variant.predicted?.peakBytes), peak, 'the comparison panel predicts the same peak');
  assert.equal(formatDuration(variant.predicted?.timeS), time, 'the comparison panel predicts the same time');
});

test('data that cannot be parsed: the lens and the CLI fall back to max_seq_length alike', async () => {
  writeFileSync(join(dir, 'broken.json'), '[{"instruction": "a", "output": ');
  const text = readFileSync(EXAMPLE, 'utf8')
    .replace('path: data/alpaca.json', `path: ${join(dir, 'broken.json')}`)
    .replace('checkpoint: tiny-llama', `checkpoint: ${resolve(__dirname, '../../../examples/tiny-llama')}`);
  const path = join(dir, 'broken-data.lora.yaml');
  writeFileSync(path, text);
  const cli = await cliEstimate(path);
  assert.equal(cli.seqLenSource, 'max_seq_length');
  const cache = new DataFactsCache();
  const analysis = analyzeConfig(text, path, nodeFileSystem);
  const lens = () =>
    codeLenses(
      analysis,
      () => null,
      (config) => cache.get(config),
    )[1].command!.title;
  assert.ok(lens().startsWith(`Peak ≈ ${formatBytes(cli.estimate.memory.peakBytes)} on cpu `), lens());
  assert.match(lens(), /at max_seq_length \(data not read\)$/);
});
