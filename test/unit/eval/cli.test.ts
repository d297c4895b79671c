// `lora-lab eval` end to end on the bundled tiny model: the summary table, progress on stderr,
// results_<time>.json and samples files, the base-model cache (second run reads it, an adapter run
// does not), --json, usage errors, and a tampered data file (exit 1, nothing written).
import { configWith, engineOptions } from '../../../native/trainer/run/engine-options';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadAddon } from '../../../native/trainer/addon';
import { runCli } from '../helpers/run-cli';

const model = join(process.cwd(), 'examples', 'tiny-llama');
const dir = mkdtempSync(join(tmpdir(), 'lora-lab-eval-cli-'));
const env = { LORALAB_EVAL_CACHE: join(dir, 'cache') };
after(() => rmSync(dir, { recursive: true, force: true }));

const args = ['eval', '--checkpoint', model, '--tasks', 'arithmetic_2ds,mmlu_global_facts,blimp_causative', '--limit', '8'];

test('eval writes the results file, samples and a table; the second run reads the base-model cache', () => {
  const out = join(dir, 'out1');
  const r = runCli([...args, '--out', out, '--log-samples'], { env });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\| Task +\| Version \| n-shot \| Metric +\| +Value \| Stderr \| +n \|$/m);
  assert.match(r.stdout, /^\| arithmetic_2ds +\| 2\.0 +\| 0 +\| acc +\| +[01]\.\d{4} \| +\d\.\d{4} \| +8 \|$/m);
  assert.match(r.stderr, /\] 56\/56 requests +[\d.]+ req\/s +ETA 0s/);
  const files = readdirSync(out).sort();
  assert.equal(files.length, 4, files.join(', '));
  const results = JSON.parse(
    readFileSync(
      join(
        out,
        files.find((f) => f.startsWith('results_'))!,
      ),
      'utf8',
    ),
  );
  assert.deepEqual(Object.keys(results.results), ['arithmetic_2ds', 'mmlu_global_facts', 'blimp_causative']);
  assert.equal(results['n-samples'].mmlu_global_facts.effective, 8);
  assert.equal(results.config.model, model);
  assert.equal(results.config.profile, 'lm-eval');
  const samples = readFileSync(
    join(
      out,
      files.find((f) => f.startsWith('samples_mmlu_global_facts_'))!,
    ),
    'utf8',
  )
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(samples.length, 8);
  assert.equal(samples[0].resps.length, 4);
  assert.equal(samples[0].arguments.gen_args_2.arg_1, ' C');
  // the metric of each line follows from its responses
  for (const s of samples) {
    const lls = s.resps.map((r: [number, boolean]) => r[0]);
    assert.equal(s.acc, lls.indexOf(Math.max(...lls)) === s.target ? 1 : 0);
  }

  const again = runCli([...args, '--json'], { env });
  assert.equal(again.status, 0, again.stderr);
  const json = JSON.parse(again.stdout);
  assert.deepEqual(json.throughput.cached_tasks, ['arithmetic_2ds', 'mmlu_global_facts', 'blimp_causative']);
  assert.deepEqual(json.results, results.results);
  const article = JSON.parse(runCli([...args, '--json', '--profile', 'article'], { env }).stdout);
  assert.deepEqual(article.throughput.cached_tasks, [], 'another profile is another cache key');
  assert.ok(article['results_0.3']['hendrycksTest-global_facts']);
});

test('an adapter changes the scores and bypasses the base-model cache', async () => {
  const engine = await loadAddon().loadEngine(
    model,
    engineOptions(
      configWith({
        device: 'cpu',
        'model.precision': '32-true',
        'train.learning_rate': 0.05,
        'train.warmup_steps': 0,
        'lora.r': 4,
        'lora.alpha': 8,
      }),
      2,
      true,
      undefined,
      1,
    ),
  );
  const tokens = Int32Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 2048);
  for (let s = 0; s < 3; s++) await engine.step([{ rows: 1, seqLen: 32, tokens, targets: tokens.map((t) => (t * 7) % 2048) }]);
  await engine.saveAdapter(join(dir, 'adapter'), model);
  engine.dispose();
  const base = JSON.parse(runCli([...args, '--json'], { env }).stdout);
  const adapted = runCli([...args, '--json', '--adapter', join(dir, 'adapter')], { env });
  assert.equal(adapted.status, 0, adapted.stderr);
  const json = JSON.parse(adapted.stdout);
  assert.deepEqual(json.throughput.cached_tasks, []);
  assert.equal(json.config.adapter, join(dir, 'adapter'));
  assert.notDeepEqual(json.results, base.results);
});

test("eval RUN_FOLDER scores the run's final adapter into <run>/eval; eval CONFIG scores its base model", () => {
  const config = join(process.cwd(), 'examples', 'lora-default.lora.yaml');
  const trained = runCli(['train', config, '--max-steps', '2', '--set', `out_dir=${join(dir, 'runs')}`], { env });
  assert.equal(trained.status, 0, trained.stderr);
  const run = join(
    dir,
    'runs',
    readdirSync(join(dir, 'runs')).find((n) => n.startsWith('lora-default-'))!,
  );
  const r = runCli(['eval', run, '--tasks', 'arithmetic_2ds', '--limit', '4', '--json'], { env });
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.equal(json.config.adapter, join(run, 'adapter'));
  assert.deepEqual(json.throughput.cached_tasks, []);
  assert.equal(readdirSync(join(run, 'eval')).filter((f) => /^results_.*\.json$/.test(f)).length, 1);
  const base = runCli(['eval', config, '--tasks', 'arithmetic_2ds', '--limit', '4', '--out', join(dir, 'base')], { env });
  assert.equal(base.status, 0, base.stderr);
  assert.equal(JSON.parse(readFileSync(join(dir, 'base', readdirSync(join(dir, 'base'))[0]), 'utf8')).config.adapter, null);
});

test('usage errors exit 2 and name the problem', () => {
  const cases: [string[], RegExp][] = [
    [
      ['eval', '--checkpoint', model, '--tasks', 'truthfulqa_mc3'],
      /unknown task 'truthfulqa_mc3' \(did you mean 'truthfulqa_mc1'\?\); known tasks: truthfulqa_mc1/,
    ],
    [['eval', '--checkpoint', model, '--profile', 'harness'], /--profile must be lm-eval or article/],
    [['eval', '--checkpoint', model, '--num-fewshot', '6'], /--num-fewshot needs a whole number from 0 to 5/],
    [['eval'], /name a CONFIG, a RUN_FOLDER or --checkpoint DIR/],
    [['eval', '--checkpoint', model, '--log-samples'], /--log-samples needs --out DIR/],
    [['eval', dir], /not a run folder/],
  ];
  for (const [argv, message] of cases) {
    const r = runCli(argv, { env });
    assert.equal(r.status, 2, argv.join(' '));
    assert.match(r.stderr, message);
  }
});

test('a tampered data file stops the run before anything is written', () => {
  const data = join(dir, 'eval-data');
  cpSync(join(process.cwd(), 'language-server', 'eval-data'), data, { recursive: true });
  const file = join(data, 'arithmetic_two_digit_subtraction.jsonl');
  writeFileSync(file, readFileSync(file, 'utf8').replace('17 minus 14', '17 minus 13'));
  const out = join(dir, 'out-bad');
  const r = runCli([...args, '--out', out, '--no-cache'], { env: { ...env, LORALAB_EVAL_DATA: data } });
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: sha256 is [0-9a-f]{64} but MANIFEST\\.json expects da956066`),
  );
  assert.ok(!existsSync(out));
});
