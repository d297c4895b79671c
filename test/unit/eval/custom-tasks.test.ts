// Custom task files (test/fixtures/eval-tasks): errors name file, line and key; one task of each
// kind scored by `lora-lab eval --tasks` on the bundled tiny model against an expected score the
// test computes on its own: ties by hand (multiple_choice), the engine's raw score call and
// exp(-mean) (loglikelihood), and greedy generation cut and normalised by hand (generate_until).
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { nodeFileSystem } from '../../../language-server/src/config/node-fs';
import {
  BUILTIN_REQUEST_COUNTS,
  BUILTIN_TASKS,
  buildTaskRequests,
  checkTaskData,
  discoverTasks,
  parseTaskFile,
  TaskFileError,
} from '../../../language-server/src/eval';
import { loadTokenizer } from '../../../language-server/src/lib/data/tokenizer';
import { loadAddon } from '../../../native/trainer/addon';
import { configWith, engineOptions } from '../../../native/trainer/run/engine-options';
import { runCli } from '../helpers/run-cli';

const fixtures = join(process.cwd(), 'test', 'fixtures', 'eval-tasks');
const model = join(process.cwd(), 'examples', 'tiny-llama');
const dir = mkdtempSync(join(tmpdir(), 'lora-lab-custom-tasks-'));
const env = { LORALAB_EVAL_CACHE: join(dir, 'cache') };
after(() => rmSync(dir, { recursive: true, force: true }));

const rows = readFileSync(join(fixtures, 'arithmetic_qa.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { question: string; answer: string; right: string });
const prompt = (q: string) => `Question: ${q}\nAnswer:`;

function fails(text: string, pattern: RegExp, file = '/w/bad.task.yaml'): void {
  assert.throws(
    () => parseTaskFile(text, file),
    (e: unknown) => e instanceof TaskFileError && pattern.test(e.message),
  );
}

test('task file errors name the file, the line and the key', () => {
  const good = readFileSync(join(fixtures, 'qa_generate.task.yaml'), 'utf8');
  fails(good.replace('max_tokens: 8', 'max_tokens: 8\nmax_tokenz: 9'), /^\/w\/bad\.task\.yaml:9: max_tokenz: unknown field/);
  fails(
    good.replace('kind: generate_until', 'kind: generate'),
    /bad\.task\.yaml:3: kind: expected multiple_choice, loglikelihood, generate_until/,
  );
  fails(good.replace('target: "{{answer}}"', 'target: "{{answer"'), /bad\.task\.yaml:6: target: '\{\{' at offset 0 is never closed/);
  fails(good.replace('target: "{{answer}}"\n', ''), /bad\.task\.yaml:1: target: a generate_until task needs a target template/);
  fails(
    good.replace('normalize: [strip, lower]', 'normalize:\n  - strip\n  - upper'),
    /bad\.task\.yaml:11: normalize\[1\]: unknown normalisation "upper"/,
  );
  fails(good.replace('name: qa_generate', 'name: arithmetic_2ds'), /bad\.task\.yaml:1: name: 'arithmetic_2ds' is a built-in task/);
  fails(
    good.replace('normalize: [strip, lower]', 'metric: acc'),
    /bad\.task\.yaml:9: metric: a generate_until task scores exact_match or contains/,
  );
  fails('name: x\nkind: [', /bad\.task\.yaml:2: not valid YAML/);
  const choice = readFileSync(join(fixtures, 'qa_choice.task.yaml'), 'utf8');
  fails(
    choice.replace('["{{first}}", "{{second}}"]', '["{{first}}"]'),
    /bad\.task\.yaml:6: choices\.templates: needs at least two choices/,
  );

  // the data: a missing file at data.file's line, a field the rows lack at the template's line
  const tasks = discoverTasks([fixtures], nodeFileSystem);
  assert.deepEqual(
    tasks.tasks.map((t) => t.spec.name),
    ['qa_choice', 'qa_generate', 'qa_likelihood'],
  );
  assert.deepEqual(tasks.errors, []);
  assert.deepEqual(checkTaskData(tasks.tasks[0], nodeFileSystem), { docs: 4, requests: 8 });
  const moved = parseTaskFile(good.replace('arithmetic_qa.jsonl', 'nowhere.jsonl'), join(fixtures, 'moved.task.yaml'));
  assert.throws(() => checkTaskData(moved, nodeFileSystem), /moved\.task\.yaml:4: data\.file: .*nowhere\.jsonl does not exist/);
  const field = parseTaskFile(good.replace('{{question}}', '{{query}}'), join(fixtures, 'field.task.yaml'));
  assert.throws(
    () => checkTaskData(field, nodeFileSystem),
    /field\.task\.yaml:5: context: .*arithmetic_qa\.jsonl:1: the field 'query' is missing/,
  );
});

function evalTasks(tasks: string, taskDir: string): Record<string, Record<string, unknown>> {
  const out = mkdtempSync(join(dir, 'out-'));
  const r = runCli(['eval', '--checkpoint', model, '--tasks', tasks, '--task-dir', taskDir, '--out', out], { env });
  assert.equal(r.status, 0, r.stderr);
  const file = readdirSync(out).find((f) => f.startsWith('results_'))!;
  return JSON.parse(readFileSync(join(out, file), 'utf8')).results;
}

test('multiple_choice: every document is a tie, so acc is the share of rows whose right choice is the first', () => {
  const results = evalTasks('qa_choice', fixtures);
  const expected = rows.filter((r) => r.right === 'first').length / rows.length; // 3 of 4
  assert.equal(expected, 0.75);
  assert.equal(results.qa_choice['acc,none'], expected);
});

test('loglikelihood: acc is the share of greedy answers, perplexity exp(-mean sum_logprob), from the raw score call', async () => {
  const tokenizer = loadTokenizer(model);
  const bos = tokenizer.bosId !== null && tokenizer.addBos;
  const engine = await loadAddon().loadEngine(
    model,
    engineOptions(configWith({ device: 'cpu', 'model.precision': '32-true', 'train.method': 'full' }), 1, false, undefined, 1),
  );
  const contexts: number[][] = [];
  const continuations: number[][] = [];
  for (const r of rows) {
    const context = tokenizer.encode(prompt(r.question), { bos });
    contexts.push(context);
    continuations.push(tokenizer.encode(`${prompt(r.question)} ${r.answer}`, { bos }).slice(context.length));
  }
  const scored = await engine.score(
    {
      tokens: Int32Array.from(contexts.flatMap((c, i) => [...c, ...continuations[i]])),
      contextLengths: Int32Array.from(contexts.map((c) => c.length)),
      continuationLengths: Int32Array.from(continuations.map((c) => c.length)),
    },
    { sharePrefix: false },
  );
  engine.dispose();
  const greedy = Array.from(scored.isGreedy).reduce((a, b) => a + b, 0) / rows.length;
  const perplexity = Math.exp(-Array.from(scored.sumLogprob).reduce((a, b) => a + b, 0) / rows.length);
  const results = evalTasks('qa_likelihood', fixtures);
  assert.equal(results.qa_likelihood['acc,none'], greedy);
  assert.ok(Math.abs((results.qa_likelihood['perplexity,none'] as number) / perplexity - 1) < 1e-9, `${perplexity}`);
  assert.equal(results.qa_likelihood['perplexity_stderr,none'], 'N/A');
});

test('generate_until: greedy answers cut at the stop string and normalised; exact_match and contains counted by hand', async () => {
  const tokenizer = loadTokenizer(model);
  const engine = await loadAddon().loadEngine(
    model,
    engineOptions(configWith({ device: 'cpu', 'model.precision': '32-true', 'train.method': 'full' }), 1, false, undefined, 1),
  );
  const answers: string[] = [];
  for (const r of rows) {
    const ids = await engine.generate(Int32Array.from(tokenizer.encode(prompt(r.question), { bos: tokenizer.addBos })), {
      maxNewTokens: 8,
      temperature: 0,
      stopTokens: [...tokenizer.stopIds],
    });
    const text = tokenizer.decode(Array.from(ids).filter((id) => !tokenizer.stopIds.includes(id)));
    answers.push(text.split('\n')[0]);
  }
  engine.dispose();
  // references: rows 0 and 2 are the answer with other spacing (equal after strip), row 1 a wrong one, row 3 the answer plus text
  const taskDir = mkdtempSync(join(dir, 'gen-'));
  cpSync(fixtures, taskDir, { recursive: true });
  const refs = [`  ${answers[0].trim()}\t`, `${answers[1].trim()}x`, ` ${answers[2].trim()} `, `${answers[3].trim()} and more`];
  writeFileSync(join(taskDir, 'arithmetic_qa.jsonl'), rows.map((r, i) => JSON.stringify({ ...r, answer: refs[i] })).join('\n') + '\n');
  const exact = answers.filter((a, i) => a.trim().toLowerCase() === refs[i].trim().toLowerCase()).length / rows.length;
  assert.equal(exact, 0.5);
  assert.equal(evalTasks('qa_generate', taskDir).qa_generate['exact_match,none'], exact);
  // contains: the reference inside the answer (rows 0, 2 and any whose wrong reference happens to occur)
  const task = join(taskDir, 'qa_generate.task.yaml');
  writeFileSync(task, readFileSync(task, 'utf8').replace('max_tokens: 8', 'max_tokens: 8\nmetric: contains'));
  const contains = answers.filter((a, i) => a.trim().toLowerCase().includes(refs[i].trim().toLowerCase())).length / rows.length;
  assert.equal(evalTasks('qa_generate', taskDir).qa_generate['contains,none'], contains);
});

test('an unknown task names the folders searched and the nearest name', () => {
  const r = runCli(['eval', '--checkpoint', model, '--tasks', 'qa_choise', '--task-dir', fixtures], { env });
  assert.equal(r.status, 2);
  assert.match(
    r.stderr,
    /unknown task 'qa_choise' \(did you mean 'qa_choice'\?\); known tasks: .*qa_choice.*task files \(\*\.task\.yaml\) are looked for in/,
  );
});

test('the request counts shown in hover and completion are those of the shipped data', () => {
  for (const task of BUILTIN_TASKS) {
    const built = buildTaskRequests(task, join(process.cwd(), 'language-server', 'eval-data'), {
      profile: 'lm-eval',
      numFewshot: 0,
      limit: null,
    });
    const requests = built.docs.reduce((a, d) => a + d.requests.length, 0);
    assert.deepEqual(BUILTIN_REQUEST_COUNTS[task.name], { docs: built.docs.length, requests }, task.name);
  }
});
