// Sweep expansion (order, indices, expressions), the expression parser's errors with columns,
// --set overrides, --variant, run names and the config hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../language-server/src/config/parse';
import { ExpressionError, evaluateExpression, parseExpression, referencedKeys } from '../../../language-server/src/config/expression';
import { checkSweep, expandSweep, selectVariant, variantCount } from '../../../language-server/src/config/sweep';
import { applyOverrides, configHash, resolveRunConfig, runName, validateConfig } from '../../../language-server/src/config/overrides';
import { ConfigError } from '../../../language-server/src/config/types';
import { canonicalJson, sha256Hex } from '../../../language-server/src/config/hash';
import { createHash } from 'node:crypto';
import {
  describeSteps,
  gradientAccumulationSteps,
  microBatchIterations,
  optimizerStepsFromIterations,
  stepPlan,
  stepsPerEpoch,
  totalOptimizerSteps,
} from '../../../language-server/src/config/units';

const file = '/p/grid.lora.yaml';
const evaluate = (text: string, values: Record<string, number> = {}): number =>
  evaluateExpression(parseExpression(text), (key) => values[key]);

test('expressions: precedence, associativity, unary minus, parentheses, exponents', () => {
  assert.equal(evaluate('2*lora.r', { 'lora.r': 8 }), 16);
  assert.equal(evaluate('1 + 2 * 3'), 7);
  assert.equal(evaluate('(1 + 2) * 3'), 9);
  assert.equal(evaluate('2 ** 3 ** 2'), 512);
  assert.equal(evaluate('-2 ** 2'), -4);
  assert.equal(evaluate('2 ** -1'), 0.5);
  assert.equal(evaluate('10 - 4 - 3'), 3);
  assert.equal(evaluate('12 / 3 / 2'), 2);
  assert.equal(evaluate('3e-4 * 2'), 6e-4);
  assert.equal(evaluate('.5 + 1.'), 1.5);
  assert.deepEqual(referencedKeys(parseExpression('lora.r * train.global_batch_size / 2')), ['lora.r', 'train.global_batch_size']);
});

test('bad expressions throw with the column', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['2 *', 3, /expected a number/],
    ['(1 + 2', 6, /expected '\)'/],
    ['1 + 2)', 5, /unexpected '\)'/],
    ['2 ^ 3', 2, /unexpected character '\^'/],
    ['', 0, /found the end/],
    ['lora.r lora.alpha', 7, /unexpected 'lora\.alpha'/],
    ['__import__("os")', 11, /unexpected character '"'/],
  ];
  for (const [text, column, message] of cases) {
    assert.throws(
      () => parseExpression(text),
      (error: unknown) => error instanceof ExpressionError && error.column === column && message.test(error.message),
      text,
    );
  }
  assert.throws(() => parseExpression(`${'('.repeat(5000)}1${')'.repeat(5000)}`), /longer than 1000/);
  assert.throws(
    () => parseExpression(`${'('.repeat(300)}1${')'.repeat(300)}`),
    (e: unknown) => e instanceof ExpressionError && /nests deeper than 64/.test(e.message),
  );
  assert.throws(() => parseExpression(`${'-'.repeat(500)}1`), /nests deeper/);
  assert.equal(evaluate(`${'('.repeat(60)}1${')'.repeat(60)}`), 1);
  assert.throws(() => evaluate('1 / (2 - 2)'), /division by zero/);
  assert.throws(() => evaluate('lora.q * 2'), /'lora\.q' is not a numeric config key/);
  assert.throws(() => evaluate('10 ** 400'), /non-finite/);
});

test('a grid expands in itertools.product order with stable indices and evaluated expressions', () => {
  const text = 'lora:\n  r: 4\nsweep:\n  lora.r: [8, 16, 32]\n  lora.alpha: ["=2*lora.r", "=lora.r"]\n  train.optimizer: [adamw, sgd]\n';
  const { config, variants, problems } = parseConfig(text, file);
  assert.deepEqual(
    problems.map((p) => [p.code, p.data]),
    [['alpha-not-2r', { variants: [2, 3, 6, 7, 10, 11] }]],
  );
  assert.equal(variantCount(config), 12);
  assert.equal(variants.length, 12);
  assert.deepEqual(
    variants.map((v) => v.index),
    [...Array(12).keys()],
  );
  assert.deepEqual(variants[0].overrides, { 'lora.r': 8, 'lora.alpha': 16, 'train.optimizer': 'adamw' });
  assert.deepEqual(variants[1].overrides, { 'lora.r': 8, 'lora.alpha': 16, 'train.optimizer': 'sgd' });
  assert.deepEqual(variants[3].overrides, { 'lora.r': 8, 'lora.alpha': 8, 'train.optimizer': 'sgd' });
  assert.deepEqual(variants[11].overrides, { 'lora.r': 32, 'lora.alpha': 32, 'train.optimizer': 'sgd' });
  assert.equal(variants[4].config.lora.r, 16);
  assert.equal(variants[4].config.lora.alpha, 32);
  assert.deepEqual(variants[4].config.sweep, []);
  assert.equal(config.lora.r, 4, 'the base config is unchanged');
  const alphaFixed = parseConfig('sweep:\n  lora.r: [8, 16]\n', file).problems;
  assert.deepEqual(
    alphaFixed.map((p) => [p.code, p.severity, p.key, p.data]),
    [['alpha-not-2r', 'hint', 'sweep.lora.r', { variants: [1] }]],
  );
  assert.deepEqual(
    expandSweep(config).map((v) => v.overrides),
    variants.map((v) => v.overrides),
  );
  assert.deepEqual(selectVariant(config, 7).overrides, variants[7].overrides);
  assert.throws(() => selectVariant(config, 12), /--variant 12 does not exist: the sweep has 12 variant\(s\), 0\.\.11/);
});

test('expressions may refer to other swept expressions; cycles and non-integers are errors', () => {
  const chained = parseConfig('sweep:\n  lora.alpha: ["=2*lora.r"]\n  lora.r: ["=train.micro_batch_size*4"]\n', file);
  assert.deepEqual(chained.problems, []);
  assert.deepEqual(chained.variants[0].overrides, { 'lora.r': 4, 'lora.alpha': 8 });
  const cycle = parseConfig('sweep:\n  lora.alpha: ["=2*lora.r"]\n  lora.r: ["=lora.alpha/2"]\n', file).problems;
  assert.ok(cycle.some((p) => p.code === 'sweep-bad-expression' && /cycle/.test(p.message)));
  const fraction = parseConfig('sweep:\n  lora.r: ["=7/2"]\n', file).problems;
  assert.deepEqual(
    fraction.map((p) => [p.code, p.key]),
    [['sweep-bad-value', 'sweep.lora.r']],
  );
  assert.match(fraction[0].message, /'lora\.r' expects an integer/);
  const range = parseConfig('sweep:\n  lora.dropout: [0.1, 1.5]\n', file).problems;
  assert.deepEqual(
    range.map((p) => [p.code, p.range.start]),
    [['sweep-bad-value', { line: 1, character: 22 }]],
  );
});

test('unknown sweep keys and bad expressions are errors positioned on the sweep entry', () => {
  const text = 'sweep:\n  lora.rank: [8, 16]\n  name: [a, b]\n  lora.alpha: ["=2*(lora.r"]\n  train.learning_rate: ["=lr*2"]\n';
  const problems = parseConfig(text, file).problems;
  assert.deepEqual(
    problems.map((p) => [p.code, p.key]),
    [
      ['sweep-unknown-key', 'sweep.lora.rank'],
      ['sweep-unknown-key', 'sweep.name'],
      ['sweep-bad-expression', 'sweep.lora.alpha'],
      ['sweep-bad-expression', 'sweep.train.learning_rate'],
    ],
  );
  assert.deepEqual(problems[0].data, { suggestion: 'lora.r' });
  assert.match(
    parseConfig('sweep:\n  lora:\n    r: [8, 16]\n', file).problems[0].message,
    /sweep keys are dotted: write 'lora\.<key>: \[values\]'/,
  );
  assert.deepEqual(problems[0].range.start, { line: 1, character: 2 });
  // '=2*(lora.r' : the missing ')' is at the end of the text, column 10 after '=' -> character 15 + 1 + 1 + 9
  assert.deepEqual(problems[2].range.start, { line: 3, character: 26 });
  assert.match(problems[3].message, /'lr' is not a numeric config key/);
  assert.throws(
    () => expandSweep(parseConfig(text, file).config),
    (error: unknown) => error instanceof ConfigError && error.problems.length === 4,
  );
});

test('errors that only some variants have are reported on the sweep', () => {
  const text = 'train:\n  global_batch_size: 16\nsweep:\n  train.micro_batch_size: [4, 6]\n';
  const problems = parseConfig(text, file).problems;
  assert.deepEqual(
    problems.map((p) => [p.code, p.key]),
    [['batch-size-multiple', 'sweep']],
  );
  assert.match(problems[0].message, /variant 1/);
  assert.deepEqual(checkSweep(parseConfig(text, file).config).issues, []);
});

test('too large a sweep is refused', () => {
  const values = `[${[...Array(20).keys()].map((i) => i + 1).join(', ')}]`;
  const text = `sweep:\n  lora.r: ${values}\n  train.seed: ${values}\n  data.seed: ${values}\n`;
  assert.deepEqual(
    parseConfig(text, file).problems.map((p) => p.code),
    ['sweep-too-large'],
  );
});

test('--set overrides are typed by the schema and name the key on errors', () => {
  const { config } = parseConfig('lora:\n  r: 8\n', file);
  const result = applyOverrides(config, [
    'lora.r=16',
    'train.betas=[0.9, 0.95]',
    'train.max_steps=null',
    'lora.mlp=true',
    'data.path=other.jsonl',
    'device=cuda:0',
  ]);
  assert.deepEqual(result.overrides, {
    'lora.r': 16,
    'train.betas': [0.9, 0.95],
    'train.max_steps': null,
    'lora.mlp': true,
    'data.path': 'other.jsonl',
    device: 'cuda:0',
  });
  assert.equal(result.config.lora.r, 16);
  assert.equal(result.config.data.path, '/p/other.jsonl');
  assert.equal(config.lora.r, 8);
  assert.throws(() => applyOverrides(config, ['lora.rnk=16']), /'lora\.rnk' is not a config key; did you mean 'lora\.r'/);
  assert.throws(
    () => applyOverrides(config, ['train.max_steps=100000000000000000000']),
    /'train\.max_steps' is 100000000000000000000, out of range: .*2\^53/,
  );
  assert.throws(() => applyOverrides(config, ['lora.r=sixteen']), /--set lora\.r=sixteen: 'lora\.r' expects an integer/);
  assert.throws(() => applyOverrides(config, ['lora.r']), /expected key=value/);
  assert.throws(() => applyOverrides(config, ['lora.mlp=yes']), /'lora\.mlp' expects true or false/);
  assert.throws(() => applyOverrides(config, ['train.optimizer=adam']), /adamw, sgd/);
  assert.deepEqual(
    validateConfig(applyOverrides(config, ['train.micro_batch_size=3']).config).map((p) => p.code),
    ['batch-size-multiple'],
  );
});

test('run names and the config hash', () => {
  const date = new Date(Date.UTC(2025, 0, 9, 7, 5, 3));
  assert.equal(runName('llama2-qlora', 3, date), 'llama2-qlora-3-20250109-070503');
  assert.equal(runName('llama2-qlora', null, date), 'llama2-qlora-20250109-070503');
  const a = parseConfig('name: a\nlora:\n  r: 8\n', file).config;
  const b = parseConfig('lora:\n  r: 8\nname: b\n', '/elsewhere/x.lora.yaml').config;
  const c = parseConfig('lora:\n  r: 16\n', file).config;
  assert.match(configHash(a), /^[0-9a-f]{16}$/);
  assert.notEqual(configHash(a), configHash(c));
  assert.equal(configHash(parseConfig('name: a\nlora:\n  r: 8\n', file).config), configHash(a));
  // paths resolve differently from another folder, so the hash differs there
  assert.notEqual(configHash(a), configHash(b));
});

test("step units: optimizer steps vs the article's micro-batch iterations", () => {
  const train = parseConfig('', file).config.train;
  assert.equal(gradientAccumulationSteps(train), 128);
  assert.equal(optimizerStepsFromIterations(50000, train), 390);
  assert.equal(microBatchIterations(390, train), 49920);
  assert.equal(stepsPerEpoch(50000, train), 390);
  assert.equal(stepsPerEpoch(100, train), 1, 'a training set smaller than the global batch is one step');
  assert.equal(stepsPerEpoch(0, train), 0);
  assert.equal(totalOptimizerSteps(50000, train), 390);
  assert.equal(totalOptimizerSteps(50000, { ...train, epochs: 2 }), 780);
  assert.equal(totalOptimizerSteps(50000, { ...train, max_steps: 10 }), 10);
  assert.equal(totalOptimizerSteps(50000, { ...train, max_steps: 10 }, 4), 4, 'an override (resume, demo) wins');
  assert.deepEqual(stepPlan(100, { ...train, global_batch_size: 16, micro_batch_size: 4 }), {
    microBatch: 4,
    globalBatch: 16,
    stepsPerEpoch: 6,
  });
  assert.deepEqual(stepPlan(3, { ...train, global_batch_size: 16, micro_batch_size: 4 }), {
    microBatch: 3,
    globalBatch: 3,
    stepsPerEpoch: 1,
  });
  assert.match(describeSteps(390, train), /^390 optimizer steps = 49,920 micro-batch iterations/);
});

test('the pure SHA-256 matches node:crypto; canonical JSON sorts keys at every level', () => {
  for (const text of ['', 'abc', 'x'.repeat(55), 'y'.repeat(56), 'z'.repeat(64), 'Zürich 🤗 数据\n'.repeat(40)]) {
    assert.equal(sha256Hex(text), createHash('sha256').update(text, 'utf8').digest('hex'), JSON.stringify(text.slice(0, 20)));
  }
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } }), '{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}');
});

test('resolveRunConfig: variant then --set, merged overrides, hash, errors thrown', () => {
  const { config } = parseConfig('name: grid\nsweep:\n  lora.r: [8, 16]\n  lora.alpha: ["=2*lora.r"]\n', file);
  assert.throws(() => resolveRunConfig(config), /sweep of 2 variants: choose one with --variant 0\.\.1/);
  const run = resolveRunConfig(config, { variant: 1, sets: ['lora.alpha=8', 'train.seed=7'] });
  assert.equal(run.variant, 1);
  assert.equal(run.variants, 2);
  assert.deepEqual(run.overrides, { 'lora.r': 16, 'lora.alpha': 8, 'train.seed': 7 });
  assert.equal(run.config.lora.alpha, 8);
  assert.equal(run.hash, configHash(run.config));
  assert.deepEqual(
    run.problems.map((p) => p.code),
    ['alpha-not-2r'],
  );
  const single = parseConfig('lora:\n  r: 4\n  alpha: 8\n', file).config;
  assert.equal(resolveRunConfig(single).variant, null);
  assert.throws(() => resolveRunConfig(single, { variant: 2 }), /has no sweep: --variant 2/);
  assert.throws(
    () => resolveRunConfig(single, { sets: ['train.micro_batch_size=3'] }),
    (e: unknown) => e instanceof ConfigError && e.problems[0].code === 'batch-size-multiple',
  );
});

test('variants and overridden configs share no mutable state with the base', () => {
  const { config, variants } = parseConfig('sweep:\n  lora.r: [8, 16]\n  train.betas: [[0.9, 0.95]]\n', file);
  variants[0].config.lora.r = 999;
  variants[0].config.train.betas[0] = 0.1;
  variants[0].config.eval.tasks.push('x');
  assert.equal(variants[1].config.lora.r, 16);
  assert.deepEqual(variants[1].config.train.betas, [0.9, 0.95]);
  assert.deepEqual(config.train.betas, [0.9, 0.999]);
  assert.equal(config.eval.tasks.includes('x'), false);
  const { config: overridden } = applyOverrides(config, ['lora.r=4']);
  overridden.train.betas[1] = 0.5;
  assert.deepEqual(config.train.betas, [0.9, 0.999]);
  assert.deepEqual(config.sweep[1].values, [[0.9, 0.95]]);
});
