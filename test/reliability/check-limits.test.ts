// Slow-check cases of issue 20: `check` and the language server stay bounded on long strings,
// many unknown keys and large sweeps (work counts and generous bounds, not tight timings), and the
// language server answers "config too large to analyse" past its time budget instead of blocking.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_SWEEP_VARIANTS, parseConfig, suggestionWork } from '../../language-server/src/config';
import { analyzeConfig } from '../../language-server/src/service';
import { LspSession } from '../unit/language-server/lsp-harness';

const FILE = '/ws/limits.lora.yaml';
const MEGABYTE = 'x'.repeat(1 << 20);
const list = (count: number, from = 1) => `[${Array.from({ length: count }, (_, i) => i + from).join(', ')}]`;

function timed<T>(work: () => T): { result: T; ms: number } {
  const started = performance.now();
  const result = work();
  return { result, ms: performance.now() - started };
}

test('a 1 MB value in a 40-variant sweep: one bounded check per value, a short message', () => {
  const text = `sweep:\n  lora.r: ${list(40)}\n  train.optimizer: [${MEGABYTE}]\n`;
  const before = suggestionWork.comparisons;
  // was 36 s (64 s on 2 loaded cores): a 1M x 6 edit-distance table per variant
  const { result, ms } = timed(() => analyzeConfig(text, FILE));
  assert.equal(suggestionWork.comparisons - before, 0, 'no candidate is within edit distance of a 1 MB value');
  const bad = result.parsed.problems.filter((problem) => problem.code === 'sweep-bad-value');
  assert.equal(bad.length, 1, 'the value is checked once, not once per variant');
  assert.ok(bad[0].message.length < 400, `the message echoes a cut value: ${bad[0].message.length} characters`);
  assert.match(bad[0].message, /'train\.optimizer' cannot be "x{60}"\.\.\. \(1048576 characters\)/);
  assert.ok(ms < 10_000, `analysed in ${ms.toFixed(0)} ms`);
});

test('a 1 MB key, a 1 MB sweep key and a 1 MB enum value: no edit-distance work, short messages', () => {
  const cases: Array<[string, string]> = [
    [`${MEGABYTE}: 1\n`, 'unknown-key'],
    [`sweep:\n  lora.r: ${list(40)}\n  ${MEGABYTE}: [1]\n`, 'sweep-unknown-key'],
    [`model:\n  precision: ${MEGABYTE}\n`, 'unknown-enum-value'],
  ];
  for (const [text, code] of cases) {
    const before = suggestionWork.comparisons;
    const { result, ms } = timed(() => parseConfig(text, FILE));
    assert.equal(suggestionWork.comparisons - before, 0);
    assert.ok(
      result.problems.some((problem) => problem.code === code),
      JSON.stringify(result.problems.map((problem) => problem.code)),
    );
    for (const problem of result.problems) assert.ok(problem.message.length < 600, `${problem.code}: ${problem.message.length} characters`);
    assert.ok(ms < 10_000, `parsed in ${ms.toFixed(0)} ms`);
  }
});

test('typos still get their suggestion; a distinct unknown key is compared only with keys of similar length', () => {
  const before = suggestionWork.comparisons;
  const { problems } = parseConfig('lora:\n  alpah: 16\n  a_much_longer_key_than_any_lora_key: 1\n', FILE);
  assert.deepEqual(
    problems.map((problem) => problem.data?.suggestion),
    ['alpha', undefined],
  );
  assert.ok(
    suggestionWork.comparisons - before <= 11,
    `${suggestionWork.comparisons - before} comparisons for two keys against the 11 keys of lora`,
  );
});

test('50,000 unknown keys: linear in the key count (the duplicate-key check was quadratic)', () => {
  const file = (count: number) => `lora:\n${Array.from({ length: count }, (_, i) => `  key${i}: 1\n`).join('')}`;
  parseConfig(file(2_000), FILE); // warm up the JIT, so the ratio compares steady-state work
  const small = timed(() => parseConfig(file(2_000), FILE));
  const large = timed(() => parseConfig(file(50_000), FILE));
  assert.equal(large.result.problems.length, 50_000);
  // 25 times the keys: about 25 times the time when linear (measured x10-x15), about 625 when quadratic
  // (measured x200 with the YAML library's duplicate-key check: 22 s for 50,000 keys)
  const ratio = large.ms / Math.max(small.ms, 1);
  assert.ok(ratio < 60, `2,000 keys ${small.ms.toFixed(0)} ms, 50,000 keys ${large.ms.toFixed(0)} ms (x${ratio.toFixed(1)})`);
  assert.ok(large.ms < 30_000);
});

test('duplicate keys are still syntax errors, found without the quadratic check', () => {
  const { problems } = parseConfig('lora:\n  r: 8\n  alpha: 16\n  r: 16\nsweep:\n  lora.r: [8]\n  lora.r: [16]\n', FILE);
  assert.deepEqual(
    problems.filter((problem) => problem.code === 'yaml-syntax').map((problem) => [problem.range.start.line, problem.message]),
    [
      [3, 'YAML syntax: Map keys must be unique'],
      [6, 'YAML syntax: Map keys must be unique'],
    ],
  );
});

test(`a sweep of more than ${MAX_SWEEP_VARIANTS} variants is an error naming the key and the count; ${MAX_SWEEP_VARIANTS} is allowed`, () => {
  assert.equal(MAX_SWEEP_VARIANTS, 1024);
  const largest = parseConfig(`sweep:\n  train.seed: ${list(32)}\n  data.seed: ${list(32)}\n`, FILE);
  assert.equal(largest.variants.length, 1024);
  assert.deepEqual(
    largest.problems.filter((problem) => problem.severity === 'error'),
    [],
  );
  const tooLarge = parseConfig(`sweep:\n  train.seed: ${list(32)}\n  data.seed: ${list(33)}\n`, FILE);
  assert.deepEqual(
    tooLarge.problems.map((problem) => [problem.code, problem.key]),
    [['sweep-too-large', 'sweep.data.seed']],
  );
  assert.match(tooLarge.problems[0].message, /1056 variants \(train\.seed: 32 values, data\.seed: 33 values\); at most 1024/);
  assert.match(tooLarge.problems[0].message, /'data\.seed'/);
  assert.deepEqual(tooLarge.variants, []);
});

test('past its budget the analysis reports "config too large to analyse" instead of finishing', () => {
  const text = `sweep:\n  train.seed: ${list(32)}\n  data.seed: ${list(32)}\n`;
  let ticks = 0;
  const clock = () => ticks++; // one "ms" per deadline check: deterministic
  const budgeted = analyzeConfig(text, FILE, undefined, { budgetMs: 100, now: clock });
  assert.deepEqual(
    budgeted.parsed.problems.map((problem) => problem.code),
    ['config-too-large'],
  );
  assert.match(budgeted.parsed.problems[0].message, /^Config too large to analyse: .*100 ms/);
  assert.ok(ticks < 200, `stopped at the first check past the budget (${ticks} checks)`);
  const unbudgeted = analyzeConfig(text, FILE);
  assert.equal(unbudgeted.parsed.variants.length, 1024);
  assert.ok(!unbudgeted.parsed.problems.some((problem) => problem.code === 'config-too-large'));
});

test('the language server publishes "config too large to analyse" for a document past its budget', async () => {
  const lsp = LspSession.inProcess(undefined, 1);
  try {
    await lsp.initialize();
    const uri = 'untitled:big-sweep.lora.yaml';
    await lsp.open(uri, `sweep:\n  train.seed: ${list(32)}\n  data.seed: ${list(32)}\n`);
    const diagnostics = await lsp.diagnostics(uri, undefined, 30_000);
    assert.deepEqual(
      diagnostics.map((diagnostic) => diagnostic.code),
      ['config-too-large'],
    );
    await lsp.close(uri);
  } finally {
    await lsp.shutdown();
  }
});
