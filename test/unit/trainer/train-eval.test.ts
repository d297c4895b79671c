// Evaluation with training: eval.after_train writes the results files, summary.eval and final
// 'eval' lines (eval.interval adds final: false lines); the second run reads the base model's scores
// from the cache; a stop and an evaluation error during after_train evaluation keep the adapter and
// the run 'completed', with the evaluation 'stopped' / 'failed' (the error in summary.eval.error).
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { MetricsLine, RunJson } from '../../../native/trainer/protocol';
import { runCli, trainWithEvents } from '../helpers/run-cli';
import { makeWorkspace } from './fixtures';

const ws = makeWorkspace();
const env = { LORALAB_EVAL_CACHE: join(ws.dir, 'eval-cache') };
after(() => rmSync(ws.dir, { recursive: true, force: true }));

const runOf = (outDir: string) =>
  join(
    outDir,
    readdirSync(outDir).find((n) => existsSync(join(outDir, n, 'run.json')))!,
  );
const runJson = (runDir: string) => JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunJson;
const evalLines = (runDir: string) =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricsLine)
    .filter((l): l is Extract<MetricsLine, { kind: 'eval' }> => l.kind === 'eval');

const evalSection = (extra: Record<string, unknown> = {}) => ({
  after_train: true,
  tasks: ['arithmetic_2ds', 'blimp_causative'],
  limit: 5,
  ...extra,
});

test(
  'after_train writes results and summary.eval; interval adds curve lines; the base cache is hit on the 2nd run',
  { timeout: 300_000 },
  () => {
    const config = ws.writeConfig('after-train', { eval: evalSection({ interval: 4, interval_limit: 3 }), out_dir: 'out-after' });
    const r = runCli(['train', config], { env });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const runDir = runOf(join(ws.dir, 'out-after'));
    const run = runJson(runDir);
    assert.equal(run.status, 'completed');
    const summary = run.summary!.eval!;
    assert.equal(summary.status, 'completed');
    assert.equal(summary.step, 8);
    assert.equal(summary.adapter, 'final');
    assert.deepEqual(Object.keys(summary.tasks), ['arithmetic_2ds', 'blimp_causative']);
    const results = JSON.parse(readFileSync(join(runDir, summary.resultsFile!), 'utf8'));
    const base = JSON.parse(readFileSync(join(runDir, summary.baseResultsFile!), 'utf8'));
    assert.equal(results.config.adapter, join(runDir, 'adapter'));
    assert.equal(results.run.step, 8);
    assert.deepEqual(base.throughput.cached_tasks, [], 'first run: the base model is scored');
    for (const [task, score] of Object.entries(summary.tasks)) {
      assert.equal(score.value, results.results[task]['acc,none']);
      assert.equal(score.base!.value, base.results[task]['acc,none']);
      assert.equal(score.n, 5);
    }
    assert.deepEqual(
      evalLines(runDir).map((l) => [l.step, l.task, l.final, l.limit]),
      [
        [4, 'arithmetic_2ds', false, 3],
        [4, 'blimp_causative', false, 3],
        [8, 'arithmetic_2ds', true, 5],
        [8, 'blimp_causative', true, 5],
      ],
    );
    assert.match(readFileSync(join(runDir, 'train.log'), 'utf8'), /evaluation: arithmetic_2ds acc /);

    const second = ws.writeConfig('after-train-2', { eval: evalSection(), out_dir: 'out-after-2' });
    const r2 = runCli(['train', second], { env });
    assert.equal(r2.status, 0, r2.stderr + r2.stdout);
    const run2 = runOf(join(ws.dir, 'out-after-2'));
    const summary2 = runJson(run2).summary!.eval!;
    const base2 = JSON.parse(readFileSync(join(run2, summary2.baseResultsFile!), 'utf8'));
    assert.deepEqual(base2.throughput.cached_tasks, ['arithmetic_2ds', 'blimp_causative'], 'second run: from the cache');
    assert.deepEqual(base2.results, base.results);
  },
);

test(
  'a stop during after_train evaluation keeps the adapter; the run is completed, the evaluation stopped',
  { timeout: 300_000 },
  async () => {
    // all of TruthfulQA MC2 (5,882 requests) takes long enough on the 2 shared cores for a stop to land in it
    const config = ws.writeConfig('stop-eval', { eval: evalSection({ tasks: ['truthfulqa_mc2'], limit: null }), out_dir: 'out-stop' });
    let signalled = false;
    const { status, events, stderr } = await trainWithEvents(
      [config],
      (event, child) => {
        if (!signalled && event.type === 'log' && /evaluating the final adapter/.test(event.message)) {
          signalled = true;
          child.kill('SIGTERM');
        }
      },
      { ...env, LORALAB_EVAL_CACHE: mkdtempSync(join(ws.dir, 'cache-')) },
    );
    assert.equal(status, 0, stderr);
    assert.ok(signalled);
    assert.equal(events.at(-1)!.type, 'done');
    const runDir = runOf(join(ws.dir, 'out-stop'));
    const run = runJson(runDir);
    assert.equal(run.status, 'completed');
    assert.equal(run.step, 8);
    assert.equal(run.summary!.eval!.status, 'stopped');
    assert.equal(run.summary!.eval!.resultsFile, null);
    assert.ok(existsSync(join(runDir, 'adapter', 'adapter_model.safetensors')));
    assert.deepEqual(evalLines(runDir), []);
  },
);

test('an evaluation error keeps the adapter; the run is completed, the evaluation failed with the error', { timeout: 300_000 }, () => {
  const data = mkdtempSync(join(ws.dir, 'eval-data-'));
  cpSync(join(process.cwd(), 'language-server', 'eval-data'), data, { recursive: true });
  const file = join(data, 'blimp_causative.jsonl');
  writeFileSync(file, readFileSync(file, 'utf8').replace('a', 'b')); // one changed byte: the sha256 check fails
  const config = ws.writeConfig('error-eval', { eval: evalSection(), out_dir: 'out-error' });
  const r = runCli(['train', config], { env: { ...env, LORALAB_EVAL_DATA: data } });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const runDir = runOf(join(ws.dir, 'out-error'));
  const run = runJson(runDir);
  assert.equal(run.status, 'completed');
  assert.equal(run.error, undefined);
  const evalSummary = run.summary!.eval!;
  assert.equal(evalSummary.status, 'failed');
  assert.match(evalSummary.error!.message, /blimp_causative\.jsonl: sha256 is [0-9a-f]+ but MANIFEST\.json expects/);
  assert.ok(existsSync(join(runDir, 'adapter', 'adapter_model.safetensors')));
  assert.ok(run.summary!.finalTrainLoss !== null);
  assert.match(r.stdout, /warn: evaluation failed \(the trained adapter is kept\)/);
});

test(
  'a custom task in eval.data_dir is evaluated after training, copied into the run, and found again by eval --run',
  { timeout: 300_000 },
  () => {
    const fixtures = join(process.cwd(), 'test', 'fixtures', 'eval-tasks');
    mkdirSync(join(ws.dir, 'evals'), { recursive: true });
    for (const f of ['qa_choice.task.yaml', 'arithmetic_qa.jsonl']) cpSync(join(fixtures, f), join(ws.dir, 'evals', f));
    const config = ws.writeConfig('custom-eval', {
      eval: evalSection({ tasks: ['qa_choice', 'arithmetic_2ds'], data_dir: 'evals', include_base: false }),
      out_dir: 'out-custom',
    });
    const r = runCli(['train', config], { env });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const runDir = runOf(join(ws.dir, 'out-custom'));
    const summary = runJson(runDir).summary!.eval!;
    assert.equal(summary.status, 'completed', JSON.stringify(summary.error));
    assert.equal(summary.baseResultsFile, null, 'include_base: false');
    assert.equal(summary.tasks.qa_choice.value, 0.75, 'every document a tie: 3 of 4 golds are the first choice');
    const copy = readFileSync(join(runDir, 'qa_choice.task.yaml'), 'utf8');
    assert.match(copy, new RegExp(`file: ${join(ws.dir, 'evals', 'arithmetic_qa.jsonl').replace(/[/.]/g, '\\$&')}`));
    // later: the run's own config.yaml (in the run folder) finds the task through the copy
    const again = runCli(['eval', '--run', runDir, '--tasks', 'qa_choice', '--json'], { env });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).tasks.qa_choice.value, 0.75);
  },
);
