// The demo's modes without training: which runs each mode plans from examples/article/ (--full:
// twice every config's epochs, the epochs sweep's values included, and 3 seeds of the key rows;
// --quick: half the epochs), and the observation of a section whose rows have several seeds
// (mean ± spread, and a lead within the spread said to be so).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { planDemo } from '../../../native/trainer/demo/plan';
import { observe, tableMarkdown, type DemoRow } from '../../../native/trainer/demo/report';

const examples = join(__dirname, '..', '..', '..', 'examples');
const configured = (file: string) => parse(readFileSync(join(examples, file), 'utf8'));

test('demo --full plans every config at twice its epochs and 3 seeds of the LoRA defaults and all layers', () => {
  const runs = planDemo(examples, 'full', new Date('2026-12-06T12:00:00Z'));
  const byConfig = new Map<string, typeof runs>();
  for (const r of runs) byConfig.set(r.config, [...(byConfig.get(r.config) ?? []), r]);
  assert.deepEqual(
    [...byConfig.keys()],
    ['lora-defaults', 'qlora', 'optimizers', 'epochs', 'all-layers', 'r-alpha', 'large-r-qlora'].map((n) => `article/${n}.lora.yaml`),
  );
  for (const [config, planned] of byConfig) {
    const yaml = configured(config);
    const variants = yaml.sweep ? Object.values<unknown[]>(yaml.sweep).reduce((n, v) => n * v.length, 1) : 1;
    const seeds = /lora-defaults|all-layers/.test(config) ? 3 : 1;
    assert.equal(planned.length, variants * seeds, config);
    if (seeds > 1) {
      assert.deepEqual(
        planned.map((p) => [p.plan.config.train.seed, p.seed]),
        [
          [1, 1],
          [2, 2],
          [3, 3],
        ],
      );
      assert.equal(new Set(planned.map((p) => p.plan.runDir)).size, 3, `${config}: one folder per seed`);
    }
    for (const p of planned) {
      if (config.includes('epochs')) continue;
      assert.equal(p.plan.config.train.epochs, 2 * yaml.train.epochs, p.label);
      assert.equal(p.plan.overrides['train.epochs'], 2 * yaml.train.epochs, `${p.label}: recorded as an override`);
      assert.equal(p.weight, p.plan.config.train.epochs * (p.plan.config.model.quantize === 'none' ? 1 : 1.5));
      if (seeds === 1) assert.equal(p.seed, null);
    }
  }
  // the epochs sweep compares twice its values, and each variant records the epochs it trains
  const epochs = byConfig.get('article/epochs.lora.yaml')!;
  const swept: number[] = configured('article/epochs.lora.yaml').sweep['train.epochs'];
  assert.deepEqual(
    epochs.map((p) => [p.plan.config.train.epochs, p.plan.sweep!.overrides['train.epochs'], p.label]),
    swept.map((e) => [2 * e, 2 * e, `epochs (train.epochs=${2 * e})`]),
  );
  for (const p of epochs) assert.equal(p.plan.overrides['train.epochs'], undefined);
});

test('demo --quick plans the defaults and all layers at half their epochs; the default grid as configured', () => {
  const quick = planDemo(examples, 'quick', new Date());
  assert.deepEqual(
    quick.map((p) => [p.label, p.plan.config.train.epochs, p.plan.config.eval.limit]),
    [
      ['LoRA defaults', configured('article/lora-defaults.lora.yaml').train.epochs / 2, 60],
      ['all-layers', configured('article/all-layers.lora.yaml').train.epochs / 2, 60],
    ],
  );
  const grid = planDemo(examples, 'default', new Date());
  assert.equal(grid.length, 13);
  for (const p of grid) {
    assert.equal(p.plan.overrides['train.epochs'], undefined, `${p.label}: no override in the default grid`);
    const yaml = configured(p.config);
    const swept = p.plan.sweep?.overrides['train.epochs'];
    assert.equal(p.plan.config.train.epochs, swept ?? yaml.train.epochs);
  }
});

function row(label: string, scores: number[], peak = 40): DemoRow {
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const sd = scores.length > 1 ? Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / (scores.length - 1)) : 0;
  const m = (v: number) => ({ mean: v, sd: 0, values: scores.map(() => v) });
  return {
    label,
    kind: 'run',
    config: `article/${label}.lora.yaml`,
    settings: {},
    runs: scores.map((_, i) => `article/out/${label}/seed${i + 1}`),
    peakMiB: m(peak),
    trainTimeS: m(10),
    tokensPerS: m(100),
    finalValLoss: m(2),
    scores: { heldout_instructions: { metric: 'exact_match', mean, sd, values: scores, sources: [] } },
  };
}

test('a section with seeded rows: cells and observation give mean ± sample standard deviation', () => {
  const defaults = row('defaults', [0.3, 0.35, 0.4]);
  const all = row('all', [0.6, 0.7, 0.8], 42);
  const table = { key: 'k', title: 't', rows: [defaults, all], observation: observe([defaults, all]) };
  assert.match(tableMarkdown(table), /\| all \| 42\.0 ± 0\.0 \| .* \| 70\.0% ± 10\.0% \|/);
  const o = table.observation;
  assert.equal(
    o.text,
    'all scores best on the held-out instructions: 70.0% ± 10.0%, +35.0 points vs defaults (35.0% ± 5.0%) with +5% peak memory and +0% training time.',
  );
  assert.deepEqual(
    o.facts.filter((f) => f.column.endsWith('.sd')).map((f) => [f.row, f.value.toFixed(3)]),
    [
      ['all', '0.100'],
      ['defaults', '0.050'],
    ],
  );
  // a lead no larger than the spreads together is said to be within them
  const close = row('close', [0.35, 0.45, 0.55]);
  assert.match(observe([defaults, close]).text, /\+10\.0 points vs defaults \(35\.0% ± 5\.0%; a lead within the seeds' spread\) with/);
  // a difference that rounds to zero is +0, not -0
  const slower = { ...row('b', [0.5]), trainTimeS: { mean: 9.99, sd: 0, values: [9.99] } };
  assert.match(observe([row('a', [0.3]), slower]).text, /\+0% peak memory and \+0% training time\.$/);
  // single runs state no spread
  assert.doesNotMatch(observe([row('a', [0.3]), row('b', [0.5])]).text, /±|spread/);
});
