// `lora-lab eval --run DIR --ipc` on a trained tiny run: EvalMessages over IPC, results and base
// results files, summary.eval in run.json and 'eval' lines in metrics.jsonl; a stop message ends it
// as 'stopped' (exit 0, the run still completed); a live writer's lock refuses it (E_RUN_LOCKED).
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { EvalMessage, MetricsLine, RunJson } from '../../../native/trainer/protocol';
import { processStartMs } from '../../../native/trainer/run/run-record';
import { CLI, runCli } from '../helpers/run-cli';

const dir = mkdtempSync(join(tmpdir(), 'lora-lab-eval-run-'));
const env = { LORALAB_EVAL_CACHE: join(dir, 'cache') };
after(() => rmSync(dir, { recursive: true, force: true }));

function trainRun(): string {
  const config = join(process.cwd(), 'examples', 'lora-default.lora.yaml');
  const out = mkdtempSync(join(dir, 'runs-'));
  const r = runCli(['train', config, '--max-steps', '2', '--set', `out_dir=${out}`], { env });
  assert.equal(r.status, 0, r.stderr);
  return join(
    out,
    readdirSync(out).find((n) => n.startsWith('lora-default-'))!,
  );
}

function evalIpc(args: string[], onMessage?: (m: EvalMessage, send: (v: unknown) => void) => void) {
  return new Promise<{ status: number | null; messages: EvalMessage[]; stderr: string }>((resolve, reject) => {
    const child = fork(CLI, ['eval', ...args, '--ipc'], {
      env: { ...process.env, LORALAB_THREADS: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const messages: EvalMessage[] = [];
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('message', (m) => {
      messages.push(m as EvalMessage);
      onMessage?.(m as EvalMessage, (v) => child.connected && child.send(v as object));
    });
    child.on('error', reject);
    child.on('exit', (status) => resolve({ status, messages, stderr }));
  });
}

const readRun = (run: string): RunJson => JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as RunJson;
const metrics = (run: string): MetricsLine[] =>
  readFileSync(join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricsLine);

test('eval --run --ipc writes results, base results, summary.eval and eval metrics lines', { timeout: 300_000 }, async () => {
  const run = trainRun();
  const { status, messages, stderr } = await evalIpc(['--run', run, '--tasks', 'arithmetic_2ds,blimp_causative', '--limit', '6']);
  assert.equal(status, 0, stderr);
  const progress = messages.filter((m) => m.type === 'eval-progress');
  assert.ok(progress.length > 0);
  assert.ok(progress.every((m) => m.type === 'eval-progress' && m.done <= m.total));
  const done = messages.at(-1)!;
  assert.equal(done.type, 'eval-done');
  const json = readRun(run);
  assert.equal(json.status, 'completed', 'the run keeps its status');
  const summary = json.summary!.eval!;
  assert.deepEqual(done.type === 'eval-done' && done.summary, summary);
  assert.equal(summary.status, 'completed');
  assert.equal(summary.adapter, 'final');
  assert.equal(summary.step, 2);
  assert.equal(summary.limit, 6);
  assert.deepEqual(Object.keys(summary.tasks), ['arithmetic_2ds', 'blimp_causative']);
  const results = JSON.parse(readFileSync(join(run, summary.resultsFile!), 'utf8'));
  const base = JSON.parse(readFileSync(join(run, summary.baseResultsFile!), 'utf8'));
  assert.match(summary.resultsFile!, /^eval\/results_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}\.json$/);
  assert.equal(results.config.adapter, join(run, 'adapter'));
  assert.equal(base.config.adapter, null);
  for (const [task, score] of Object.entries(summary.tasks)) {
    assert.equal(score.value, results.results[task]['acc,none']);
    assert.equal(score.base!.value, base.results[task]['acc,none']);
    assert.equal(score.n, 6);
  }
  const lines = metrics(run).filter((l) => l.kind === 'eval');
  assert.deepEqual(
    lines.map((l) => l.kind === 'eval' && [l.task, l.step, l.final, l.limit]),
    [
      ['arithmetic_2ds', 2, true, 6],
      ['blimp_causative', 2, true, 6],
    ],
  );
  // a second evaluation reads the base model's scores from the cache and names the newest file
  const again = await evalIpc(['--run', run, '--tasks', 'arithmetic_2ds,blimp_causative', '--limit', '6']);
  assert.equal(again.status, 0, again.stderr);
  const second = readRun(run).summary!.eval!;
  assert.notEqual(second.resultsFile, summary.resultsFile);
  const secondBase = JSON.parse(readFileSync(join(run, second.baseResultsFile!), 'utf8'));
  assert.deepEqual(secondBase.throughput.cached_tasks, ['arithmetic_2ds', 'blimp_causative']);
  assert.deepEqual(secondBase.results, base.results);
  // resuming the run (no after_train) keeps its newest evaluation in the merged summary
  const resumed = runCli(['train', '--resume', run], { env });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.deepEqual(readRun(run).summary!.eval, second);
});

test('a stop message during eval --run ends it stopped; the run stays completed', { timeout: 300_000 }, async () => {
  const run = trainRun();
  let sent = false;
  const { status, messages, stderr } = await evalIpc(
    ['--run', run, '--tasks', 'truthfulqa_mc2', '--limit', '300', '--no-cache'],
    (m, send) => {
      if (m.type === 'eval-progress' && !sent) {
        sent = true;
        send({ type: 'stop' });
      }
    },
  );
  assert.equal(status, 0, stderr);
  const done = messages.at(-1)!;
  assert.ok(done.type === 'eval-done' && done.summary.status === 'stopped', JSON.stringify(done));
  const json = readRun(run);
  assert.equal(json.status, 'completed');
  assert.equal(json.summary!.eval!.status, 'stopped');
  assert.equal(json.summary!.eval!.resultsFile, null);
  assert.ok(existsSync(join(run, 'adapter', 'adapter_config.json')), 'the adapter is kept');
  assert.equal(existsSync(join(run, 'eval')) ? readdirSync(join(run, 'eval')).filter((f) => f.startsWith('results_')).length : 0, 0);
  assert.equal(metrics(run).filter((l) => l.kind === 'eval').length, 0);
});

test(
  'eval --run refuses a run folder another live process holds (E_RUN_LOCKED), and names a bad checkpoint',
  { timeout: 300_000 },
  async () => {
    const run = trainRun();
    writeFileSync(join(run, '.lock'), JSON.stringify({ pid: process.pid, processStartMs: processStartMs(), acquiredMs: Date.now() }));
    const locked = await evalIpc(['--run', run, '--tasks', 'arithmetic_2ds', '--limit', '2']);
    rmSync(join(run, '.lock'));
    assert.equal(locked.status, 1);
    const error = locked.messages.at(-1)!;
    assert.ok(error.type === 'eval-error' && error.code === 'E_RUN_LOCKED', JSON.stringify(error));
    assert.equal(readRun(run).summary!.eval, undefined, 'nothing recorded without the lock');
    const bad = runCli(['eval', '--run', run, '--checkpoint', 'checkpoints/step-999999'], { env });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /step-999999: not a checkpoint of this run/);
  },
);
