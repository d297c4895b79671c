// The comparison panel's run source: run folders are read a chunk per event-loop turn and posted as
// they come (the first rows before the last folder is read); a rescan reads only changed folders,
// reports removed ones, and keeps only the runs of the compared config. Plus the page protocol's guards.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RunSource } from '../../../extension/src/compare/run-source';
import { isCompareWebviewMessage, parseCompareState, type CompareRunsMessage } from '../../../webview/src/compare/protocol';
import { makeCompareWorkspace, SWEEP_CONFIG, variantConfig, writeRun } from '../helpers/compare-fixtures';

const dir = mkdtempSync(join(tmpdir(), 'lora-lab-compare-source-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const configPath = makeCompareWorkspace(dir);
const runsDir = join(dir, 'runs');
mkdirSync(runsDir);
const config = variantConfig(configPath, SWEEP_CONFIG, 0);
const RUNS = 20;
for (let i = 0; i < RUNS; i++) writeRun(runsDir, { name: `run-${String(i).padStart(3, '0')}`, config: { ...config, name: `run-${i}` } });
// A run of another config in the same folder is not this config's.
writeRun(runsDir, { name: 'zz-other', config: { ...config, configPath: join(dir, 'other.lora.yaml') } });

test('folders are read in chunks and posted as they come; the first runs arrive before the last folder is read', async () => {
  const messages: CompareRunsMessage[] = [];
  const source = new RunSource({
    subject: { mode: 'config', configPath },
    folders: () => [runsDir],
    emit: (message) => messages.push(message),
    foldersPerChunk: 4,
  });
  let turns = 0;
  const counter = setInterval(() => turns++, 0);
  await source.scan();
  clearInterval(counter);
  assert.ok(messages.length >= 5, `${messages.length} messages for ${RUNS + 1} folders in chunks of 4`);
  assert.ok(messages[0].runs.length > 0 && messages[0].read < messages[0].total, 'runs in the first message, before the end');
  assert.equal(messages.at(-1)!.read, RUNS + 1);
  assert.equal(messages.at(-1)!.total, RUNS + 1);
  assert.equal(messages.flatMap((m) => m.runs).length, RUNS, 'every run of the config once; the other config is left out');
  assert.ok(turns > 0, 'the event loop ran between chunks');

  messages.length = 0;
  await source.scan();
  assert.deepEqual(
    messages.flatMap((m) => m.runs),
    [],
    'nothing changed: nothing read again',
  );

  const changed = join(runsDir, 'run-003', 'run.json');
  const json = JSON.parse(readFileSync(changed, 'utf8'));
  writeFileSync(changed, JSON.stringify({ ...json, status: 'failed', step: 1 }));
  rmSync(join(runsDir, 'run-007'), { recursive: true });
  messages.length = 0;
  await source.scan();
  const runs = messages.flatMap((m) => m.runs);
  assert.deepEqual(
    runs.map((r) => [r.name, r.state]),
    [['run-003', 'failed']],
  );
  assert.deepEqual(
    messages.flatMap((m) => m.removed),
    [join(runsDir, 'run-007')],
  );
  assert.equal(source.runs().length, RUNS - 1);
  source.dispose();
});

test('runs mode: exactly the folders given, whatever their config', async () => {
  const messages: CompareRunsMessage[] = [];
  const source = new RunSource({
    subject: { mode: 'runs', runDirs: [join(runsDir, 'run-001'), join(runsDir, 'zz-other')] },
    folders: () => [],
    emit: (message) => messages.push(message),
  });
  await source.scan();
  assert.deepEqual(
    source
      .runs()
      .map((r) => r.name)
      .sort(),
    ['run-001', 'zz-other'],
  );
  source.dispose();
});

test('page protocol: messages and saved state are checked', () => {
  assert.ok(isCompareWebviewMessage({ type: 'start-variant', variant: 2 }));
  assert.ok(isCompareWebviewMessage({ type: 'start-variant', variant: null }));
  assert.ok(!isCompareWebviewMessage({ type: 'start-variant', variant: -1 }));
  assert.ok(!isCompareWebviewMessage({ type: 'run-action', action: 'delete', runDir: '/x' }));
  assert.ok(isCompareWebviewMessage({ type: 'export', format: 'csv', text: 'a' }));
  assert.ok(!isCompareWebviewMessage({ type: 'export', format: 'xlsx', text: 'a' }));
  assert.equal(parseCompareState({ subject: { mode: 'runs', runDirs: [] } }), undefined);
  const state = parseCompareState({ subject: { mode: 'config', configPath: '/a.lora.yaml' }, sortDir: 'desc', smoothing: 5 });
  assert.equal(state?.sortDir, 'desc');
  assert.equal(state?.smoothing, 0.99);
  assert.equal(state?.xAxis, 'step');
});
