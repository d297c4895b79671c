// The run manager: with the real trainer (dist/cli.js train on the example config) for events,
// queue, stop and reattach after the manager is recreated; with a scripted process for the stop
// escalation of a trainer that never acknowledges and ignores SIGTERM.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseDocument } from 'yaml';
import type { TrainerEvent } from '../../../native/trainer/protocol';
import { copyExample, planExampleCopy } from '../../../extension/src/examples';
import { readMetrics, readRunJson } from '../../../language-server/src/lib/run-folder/reader';
import { RunManager, waitUntil, type ActiveRun, type RunManagerOptions } from '../../../extension/src/run-manager';
import { RunsStore } from '../../../extension/src/runs-store';

const root = path.join(__dirname, '../../..');
const cli = path.join(root, 'dist', 'cli.js');
const fixture = path.join(__dirname, 'fixtures', 'scripted-trainer.js');
/** The bundled example workspace (LORALAB_EXAMPLES_DIR points elsewhere to try another one). */
const examplesDir = process.env.LORALAB_EXAMPLES_DIR ?? path.join(root, 'examples');
/** A config path in an existing folder (the fork's cwd); the scripted trainer does not read it. */
const fixtureConfig = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lora-fixture-')), name);

function manager(entry: string, extra: Partial<RunManagerOptions> = {}): RunManager {
  return new RunManager({
    trainerEntry: entry,
    outputDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lora-host-out-')),
    maxConcurrentRuns: () => 1,
    threads: () => 1,
    log: () => {},
    ...extra,
  });
}

/** Why the real-trainer tests cannot run here: only when `train` is not built into the CLI yet. */
function trainUnavailable(): string | false {
  if (!fs.existsSync(cli)) return 'dist/cli.js is not built (node scripts/build.mjs)';
  const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' }).stdout;
  if (/^\s*train\s.*\(not available yet\)/m.test(help)) return 'lora-lab train is not available yet in this build of the CLI';
  try {
    planExampleCopy(examplesDir, os.tmpdir());
  } catch (err) {
    return `the bundled example is not complete yet: ${(err as Error).message}`;
  }
  return false;
}

/** The example (config, tiny model, data) copied to a temp folder, with max_steps set. */
function exampleConfig(maxSteps: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-example-'));
  const plan = planExampleCopy(examplesDir, dir);
  copyExample(plan);
  const doc = parseDocument(fs.readFileSync(plan.config, 'utf8'));
  doc.setIn(['train', 'max_steps'], maxSteps);
  doc.setIn(['device'], 'cpu');
  doc.deleteIn(['sweep']);
  fs.writeFileSync(plan.config, String(doc));
  return plan.config;
}

function collect(m: RunManager): TrainerEvent[] {
  const events: TrainerEvent[] = [];
  m.onEvent.on((_run, event) => events.push(event));
  return events;
}

const skipReal = trainUnavailable();

test(
  'real trainer: typed events, queue order with one run per device, files of the run',
  { skip: skipReal, timeout: 300_000 },
  async () => {
    const config = exampleConfig(3);
    const m = manager(cli);
    const events = collect(m);
    const [first, second] = m.enqueue([
      { request: { configPath: config }, device: 'cpu', label: 'first' },
      { request: { configPath: config }, device: 'cpu', label: 'second' },
    ]);
    assert.deepEqual(
      m.active().map((r) => r.id),
      [first.id],
    );
    assert.deepEqual(
      m.queue().map((q) => q.id),
      [second.id],
      'the second waits for the device',
    );
    assert.ok(
      await waitUntil(() => events.filter((e) => e.type === 'done' || e.type === 'failed').length === 2, 280_000),
      `events: ${events.map((e) => e.type).join(',')}`,
    );
    const failed = events.find((e) => e.type === 'failed');
    assert.equal(failed, undefined, JSON.stringify(failed));
    const started = events.filter((e): e is Extract<TrainerEvent, { type: 'started' }> => e.type === 'started');
    assert.equal(started.length, 2);
    const firstDone = events.findIndex((e) => e.type === 'done');
    assert.ok(events.indexOf(started[1]) > firstDone, 'the queued run started after the first finished');
    assert.ok(await waitUntil(() => m.active().length === 0, 10_000));
    for (const { runDir } of started) {
      const run = readRunJson(runDir);
      assert.equal(run?.status, 'completed');
      const steps = events.filter((e) => e.type === 'step' && e.runDir === runDir).length;
      assert.ok(steps >= 1, 'step events arrive');
      assert.equal(readMetrics(path.join(runDir, 'metrics.jsonl')).filter((l) => l.kind === 'train').length, run?.step);
      assert.ok(fs.existsSync(path.join(runDir, 'train.log')), 'the trainer writes train.log itself');
    }
    m.dispose();
  },
);

test('real trainer: stop sends the stop message and the run ends stopped', { skip: skipReal, timeout: 300_000 }, async () => {
  const config = exampleConfig(100_000);
  const m = manager(cli);
  const events = collect(m);
  const [entry] = m.enqueue([{ request: { configPath: config }, device: 'cpu', label: 'long' }]);
  assert.ok(await waitUntil(() => events.some((e) => e.type === 'step'), 240_000), 'a first step');
  const active = m.active().find((r) => r.id === entry.id) as ActiveRun;
  const outcome = await m.stop({ runDir: active.runDir });
  assert.equal(outcome, 'stopped');
  assert.ok(
    events.some((e) => e.type === 'stopping'),
    'the trainer acknowledged',
  );
  assert.ok(events.some((e) => e.type === 'stopped'));
  assert.equal(readRunJson(active.runDir!)?.status, 'stopped');
  m.dispose();
});

test(
  'real trainer: a recreated manager reattaches by pid and stops the run with SIGTERM',
  { skip: skipReal, timeout: 300_000 },
  async () => {
    const config = exampleConfig(100_000);
    const first = manager(cli);
    const events = collect(first);
    first.enqueue([{ request: { configPath: config }, device: 'cpu', label: 'detached' }]);
    assert.ok(await waitUntil(() => events.some((e) => e.type === 'step'), 240_000), 'a first step');
    const runDir = first.active()[0].runDir!;
    first.dispose(); // the window reloads: the host goes, the trainer keeps training

    const store = new RunsStore();
    const [view] = store.refresh([path.dirname(runDir)]);
    assert.equal(view.state, 'running', 'recognised as live by pid, start time and heartbeat');
    const second = manager(cli);
    const attached = second.attach(runDir, view.run);
    assert.ok(attached, 'reattached');
    assert.equal(second.attach(runDir, view.run), undefined, 'only once');
    const stepBefore = view.run.step;
    assert.ok(
      await waitUntil(() => (store.refresh([path.dirname(runDir)])[0].run.step ?? 0) > stepBefore, 120_000),
      'the trainer kept training after the host went',
    );
    const outcome = await second.stop({ runDir });
    assert.ok(outcome === 'stopped' || outcome === 'terminated', outcome);
    assert.equal(readRunJson(runDir)?.status, 'stopped');
    assert.equal(second.active().length, 0);
    second.dispose();
  },
);

test('stop: an acknowledged stop waits for the trainer; the next queued run then starts', { timeout: 30_000 }, async () => {
  process.env.LORALAB_FIXTURE_MODE = 'acks';
  process.env.LORALAB_FIXTURE_DIR = os.tmpdir();
  const m = manager(fixture, { timing: { ackTimeoutMs: 5000, graceMs: 5000, pollMs: 100 } });
  const events = collect(m);
  const [a, b] = m.enqueue([
    { request: { configPath: fixtureConfig('a.lora.yaml') }, device: 'cuda:0', label: 'a' },
    { request: { configPath: fixtureConfig('b.lora.yaml') }, device: 'cuda:0', label: 'b' },
  ]);
  assert.deepEqual([m.active().map((r) => r.id), m.queue().map((q) => q.id)], [[a.id], [b.id]]);
  assert.ok(await waitUntil(() => m.active()[0]?.runDir !== undefined, 10_000));
  assert.equal(await m.stop({ activeId: a.id }), 'stopped');
  assert.deepEqual(
    events.filter((e) => e.type !== 'started').map((e) => e.type),
    ['stopping', 'stopped'],
  );
  assert.ok(await waitUntil(() => m.active().some((r) => r.id === b.id), 5000), 'b starts once a is gone');
  assert.equal(await m.stop({ queuedId: 999 }), 'not-running');
  assert.equal(await m.stop({ activeId: b.id }), 'stopped');
  m.dispose();
});

test('a trainer that cannot be spawned leaves the active list, and the queue moves on', { timeout: 30_000 }, async () => {
  process.env.LORALAB_FIXTURE_MODE = 'acks';
  process.env.LORALAB_FIXTURE_DIR = os.tmpdir();
  const logs: string[] = [];
  const m = manager(fixture, { log: (_level, message) => logs.push(message) });
  m.enqueue([
    { request: { configPath: '/nonexistent-folder/a.lora.yaml' }, device: 'cpu', label: 'broken' },
    { request: { configPath: fixtureConfig('b.lora.yaml') }, device: 'cpu', label: 'fine' },
  ]);
  assert.ok(await waitUntil(() => m.active().length === 1 && m.active()[0].label === 'fine', 10_000), logs.join('\n'));
  assert.ok(logs.some((l) => /broken/.test(l) && /ENOENT/.test(l)));
  assert.equal(await m.stop({ activeId: m.active()[0].id }), 'stopped');
  m.dispose();
});

test('stop escalation: no acknowledgement -> SIGTERM after the ack timeout -> SIGKILL after the grace', { timeout: 30_000 }, async () => {
  process.env.LORALAB_FIXTURE_MODE = 'stubborn';
  process.env.LORALAB_FIXTURE_DIR = os.tmpdir();
  const logs: string[] = [];
  const m = manager(fixture, { timing: { ackTimeoutMs: 300, graceMs: 300, pollMs: 100 }, log: (_level, message) => logs.push(message) });
  const [entry] = m.enqueue([{ request: { configPath: fixtureConfig('a.lora.yaml') }, device: 'cpu', label: 'stubborn' }]);
  assert.ok(await waitUntil(() => m.active()[0]?.runDir !== undefined, 10_000));
  const pid = m.active()[0].pid;
  const started = Date.now();
  assert.equal(await m.stop({ activeId: entry.id }), 'killed');
  assert.ok(Date.now() - started >= 600, 'waited for the ack timeout and the SIGTERM grace');
  assert.ok(logs.some((l) => /SIGTERM/.test(l)) && logs.some((l) => /SIGKILL/.test(l)), logs.join('\n'));
  assert.throws(() => process.kill(pid, 0), 'the process is gone');
  m.dispose();
});

test(
  'attach: a live pid once; a finished run.json or the next variant of the same trainer ends the entry',
  { timeout: 30_000 },
  async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-attach-'));
    const write = (name: string, status: 'running' | 'completed') => {
      fs.mkdirSync(path.join(root, name), { recursive: true });
      fs.writeFileSync(
        path.join(root, name, 'run.json'),
        JSON.stringify({
          name,
          status,
          pid: process.pid,
          processStartMs: Date.now() - process.uptime() * 1000,
          heartbeatMs: Date.now(),
          device: { kind: 'cpu' },
        }),
      );
      return path.join(root, name);
    };
    const m = manager(fixture, { timing: { ackTimeoutMs: 1000, graceMs: 1000, pollMs: 50 } });
    const first = write('sweep-0', 'running');
    assert.ok(m.attach(first));
    assert.equal(m.attach(first), undefined, 'known already');
    assert.equal(m.attach(write('done', 'completed')), undefined, 'not running');
    const second = write('sweep-1', 'running');
    assert.ok(m.attach(second));
    assert.deepEqual(
      m.active().map((r) => path.basename(r.runDir!)),
      ['sweep-1'],
      'the same trainer moved on to the next variant',
    );
    write('sweep-1', 'completed');
    assert.ok(await waitUntil(() => m.active().length === 0, 5000), 'a run.json that says completed ends the entry');
    m.dispose();
  },
);
