// parseConfig: defaults, path resolution, positions and codes of key/value problems, broken YAML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, formatProblem, keyAt } from '../../../language-server/src/config/parse';

const file = '/work/proj/configs/run.lora.yaml';

test('an empty file gets every default, the file name as run name and paths resolved against its folder', () => {
  const { config, problems } = parseConfig('', file);
  assert.equal(config.name, 'run');
  assert.equal(config.model.checkpoint, '/work/proj/configs/checkpoints/meta-llama/Llama-2-7b-hf');
  assert.equal(config.data.path, '/work/proj/configs/data/alpaca.json');
  assert.equal(config.out_dir, '/work/proj/configs/out/lora');
  assert.equal(config.lora.r, 8);
  assert.equal(config.train.max_steps, null);
  assert.deepEqual(config.train.betas, [0.9, 0.999]);
  assert.deepEqual(problems, []);
});

test('set values, absolute and parent paths', () => {
  const text =
    'name: mine\nmodel:\n  checkpoint: /models/tiny\ndata:\n  path: ../data/x.csv\n  format: csv\nlora:\n  r: 16\n  alpha: 32\ndevice: cuda:1\n';
  const { config, problems, setValues } = parseConfig(text, file);
  assert.deepEqual(problems, []);
  assert.equal(config.name, 'mine');
  assert.equal(config.model.checkpoint, '/models/tiny');
  assert.equal(config.data.path, '/work/proj/data/x.csv');
  assert.equal(config.device, 'cuda:1');
  assert.equal(setValues.get('lora.r'), 16);
  assert.equal(setValues.size, 7);
});

test('a misspelt key is an error on the key with a suggestion', () => {
  const { problems } = parseConfig('lora:\n  r: 8\n  alpah: 16\n', file);
  assert.equal(problems.length, 1);
  const [problem] = problems;
  assert.equal(problem.code, 'unknown-key');
  assert.equal(problem.severity, 'error');
  assert.equal(problem.key, 'lora.alpah');
  assert.deepEqual(problem.range, { start: { line: 2, character: 2 }, end: { line: 2, character: 7 } });
  assert.deepEqual(problem.data, { suggestion: 'alpha', suggestedKey: 'lora.alpha' });
  assert.match(problem.message, /did you mean 'alpha'/);
  const top = parseConfig('trian:\n  epochs: 1\nbogus_thing: 3\n', file).problems;
  assert.deepEqual(
    top.map((p) => [p.key, p.data?.suggestion]),
    [
      ['trian', 'train'],
      ['bogus_thing', undefined],
    ],
  );
  const misplaced = parseConfig('model:\n  mask_prompt: true\nlora.r: 8\n', file).problems;
  assert.deepEqual(
    misplaced.map((p) => [p.key, p.data?.suggestedKey]),
    [
      ['model.mask_prompt', 'data.mask_prompt'],
      ['lora.r', 'lora.r'],
    ],
  );
  assert.match(misplaced[0].message, /'data\.mask_prompt' is written as data: then mask_prompt: indented under it/);
});

test('wrong types, out-of-range and unknown enum values name the key and the choices', () => {
  const text =
    'model:\n  precision: fp16\nlora:\n  r: 0\n  dropout: "a"\ntrain:\n  betas: [0.9]\n  max_steps: 2.5\neval:\n  tasks: [mmlu_global_facts, hellaswag]\ndevice: gpu\n';
  const problems = parseConfig(text, file).problems;
  const byKey = new Map(problems.map((p) => [p.key, p]));
  assert.equal(byKey.get('model.precision')!.code, 'unknown-enum-value');
  assert.match(byKey.get('model.precision')!.message, /bf16-true, bf16-mixed, 16-true, 32-true/);
  assert.deepEqual(byKey.get('model.precision')!.range, { start: { line: 1, character: 13 }, end: { line: 1, character: 17 } });
  assert.equal(byKey.get('lora.r')!.code, 'out-of-range');
  assert.equal(byKey.get('lora.dropout')!.code, 'wrong-type');
  assert.equal(byKey.get('train.betas')!.code, 'wrong-type');
  assert.equal(byKey.get('train.max_steps')!.code, 'wrong-type');
  // an unknown eval task sits on its own list item
  assert.match(byKey.get('eval.tasks[1]')!.message, /unknown task "hellaswag"/);
  assert.deepEqual(byKey.get('eval.tasks[1]')!.range, { start: { line: 9, character: 29 }, end: { line: 9, character: 38 } });
  assert.equal(byKey.get('device')!.code, 'unknown-enum-value');
  assert.ok(problems.every((p) => p.severity === 'error'));
});

test('a bad value falls back to the default so the rest of the file still resolves', () => {
  const { config } = parseConfig('lora:\n  r: -3\n  alpha: 6\n', file);
  assert.equal(config.lora.r, 8);
  assert.equal(config.lora.alpha, 6);
});

test('broken YAML reports a syntax error with its position and keeps the readable keys', () => {
  const text = 'lora:\n  r: 16\n  alpha: [32\ntrain:\n  epochs: 1\n';
  const { problems, config } = parseConfig(text, file);
  const syntax = problems.filter((p) => p.code === 'yaml-syntax');
  assert.ok(syntax.length >= 1);
  assert.ok(syntax[0].range.start.line >= 2);
  assert.equal(config.lora.r, 16);
  const duplicate = parseConfig('lora:\n  r: 8\n  r: 16\n', file).problems;
  assert.equal(duplicate[0].code, 'yaml-syntax');
  assert.match(duplicate[0].message, /unique/);
  assert.equal(duplicate[0].range.start.line, 2);
  const notAMap = parseConfig('- a\n- b\n', file).problems;
  assert.equal(notAMap[0].code, 'wrong-type');
  const sectionScalar = parseConfig('lora: 8\n', file).problems;
  assert.equal(sectionScalar[0].key, 'lora');
});

test('formatProblem prints 1-based file:line:col', () => {
  const [problem] = parseConfig('lora:\n  alpah: 16\n', file).problems;
  assert.match(
    formatProblem(file, problem),
    /^\/work\/proj\/configs\/run\.lora\.yaml:2:3: error: Unknown key 'lora\.alpah'.*\[unknown-key\]$/,
  );
});

test('keyAt finds the innermost key under a position, on its key or its value', () => {
  const parsed = parseConfig('lora:\n  r: 8\nsweep:\n  lora.alpha: ["=2*lora.r"]\n', file);
  assert.deepEqual(keyAt(parsed, { line: 1, character: 2 }), { key: 'lora.r', part: 'key' });
  assert.deepEqual(keyAt(parsed, { line: 1, character: 5 }), { key: 'lora.r', part: 'value' });
  assert.deepEqual(keyAt(parsed, { line: 0, character: 1 }), { key: 'lora', part: 'key' });
  assert.deepEqual(keyAt(parsed, { line: 3, character: 4 }), { key: 'sweep.lora.alpha', part: 'key' });
  assert.equal(keyAt(parseConfig('\n\n', file), { line: 1, character: 0 }), null);
});

test('enum typos get a suggestion; run names must be folder-safe; aliases resolve', () => {
  const [precision] = parseConfig('model:\n  precision: bf16_true\n', file).problems;
  assert.equal(precision.data?.suggestion, 'bf16-true');
  assert.match(precision.message, /did you mean bf16-true\?/);
  const [name] = parseConfig('name: ../../etc\n', file).problems;
  assert.equal(name.key, 'name');
  assert.match(name.message, /folder name/);
  assert.equal(parseConfig('', '/w/my run (copy).lora.yaml').config.name, 'my-run-copy-');
  const aliased = parseConfig('lora:\n  r: &rank 16\n  alpha: 32\ntrain:\n  warmup_steps: *rank\n', file);
  assert.deepEqual(aliased.problems, []);
  assert.equal(aliased.config.train.warmup_steps, 16);
  const nonScalar = parseConfig('? [a, b]\n: 1\n', file).problems;
  assert.equal(nonScalar[0].code, 'unknown-key');
});

test('integers beyond 2^53 are refused with a range error naming the key, not silently rounded', () => {
  const huge = '100000000000000000000';
  const { config, problems } = parseConfig(`train:\n  max_steps: ${huge}\n  global_batch_size: ${huge}\n  micro_batch_size: 4\n`, file);
  assert.deepEqual(
    problems.map((problem) => [problem.code, problem.key]),
    [
      ['out-of-range', 'train.max_steps'],
      ['out-of-range', 'train.global_batch_size'],
    ],
  );
  assert.match(problems[0].message, /^'train\.max_steps' is 100000000000000000000, out of range: .*9007199254740991 \(2\^53 - 1\)/);
  assert.equal(config.train.max_steps, null, 'the default is used, not a rounded value');
  assert.equal(parseConfig('train:\n  max_steps: 9007199254740993\n', file).problems[0]?.code, 'out-of-range');
  assert.deepEqual(parseConfig('train:\n  max_steps: 9007199254740991\n', file).problems, []);
  const swept = parseConfig(`sweep:\n  train.seed: [1, ${huge}]\n`, file).problems;
  assert.deepEqual(
    swept.map((problem) => [problem.code, problem.key]),
    [['sweep-bad-value', 'sweep.train.seed']],
  );
  assert.match(swept[0].message, /'train\.seed' is 100000000000000000000, out of range/);
});
