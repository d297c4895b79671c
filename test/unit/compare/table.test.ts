// The comparison's row model on fixture run folders: variants from a sweep with their predictions,
// runs matched to variants by resolved settings (else "config edited"), scores from the results
// files, deltas to the base model, best-of-column, sorting, filtering, the Pareto front and exports.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DataFactsCache } from '../../../language-server/src/lib/data-facts';
import { overridesYaml, toCsv, toMarkdown } from '../../../language-server/src/lib/compare/export';
import { matchKey } from '../../../language-server/src/lib/compare/facts';
import { costPoints, paretoFront } from '../../../language-server/src/lib/compare/pareto';
import { variantFacts } from '../../../language-server/src/lib/compare/predict';
import { readRunFacts } from '../../../language-server/src/lib/compare/read-run';
import { buildTable, errorPercent, filterRows, sortRows, statusesOf } from '../../../language-server/src/lib/compare/table';
import { makeCompareWorkspace, SWEEP_CONFIG, variantConfig, writeRun } from '../helpers/compare-fixtures';

const dir = mkdtempSync(join(tmpdir(), 'lora-lab-compare-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const configPath = makeCompareWorkspace(dir);
const runsDir = join(dir, 'runs');
mkdirSync(runsDir);
const dataFacts = new DataFactsCache();

test('variants from a sweep: one per combination, predicted peak grows with the rank', () => {
  const facts = variantFacts(configPath, SWEEP_CONFIG, dataFacts);
  assert.equal(facts.variants.length, 3);
  assert.deepEqual(
    facts.variants.map((v) => v.overrides),
    [
      { 'lora.r': 4, 'lora.alpha': 8 },
      { 'lora.r': 8, 'lora.alpha': 16 },
      { 'lora.r': 16, 'lora.alpha': 32 },
    ],
  );
  const peaks = facts.variants.map((v) => v.predicted!.peakBytes);
  assert.ok(peaks[0] < peaks[1] && peaks[1] < peaks[2], `peaks ${peaks}`);
  assert.ok(facts.variants.every((v) => v.predicted!.trainableParams > 0));
  assert.deepEqual(facts.outDirs, [join(dir, 'runs')]);
  assert.equal(facts.baseModel, 'ckpt');

  const quantized = variantFacts(
    configPath,
    SWEEP_CONFIG.replace(/sweep:[\s\S]*$/, 'sweep:\n  model.quantize: [none, bnb.nf4]\n'),
    dataFacts,
  );
  const weights = quantized.variants.map((v) => v.predicted!.weightsBytes);
  assert.ok(weights[1] < weights[0], `nf4 lowers the weights: ${weights}`);

  const missing = variantFacts(configPath, SWEEP_CONFIG.replace('checkpoint: ckpt', 'checkpoint: nowhere'), dataFacts);
  assert.match(missing.variants[0].error ?? '', /config\.json cannot be read/);
  assert.equal(missing.variants[0].predicted, null);

  const broken = variantFacts(configPath, 'model: [unclosed', dataFacts);
  assert.match(broken.configError ?? '', /sweep\.lora\.yaml line 1/);
});

test('a run belongs to the variant whose resolved config it has, whatever its name, out_dir, device, eval and intervals', () => {
  const v1 = variantConfig(configPath, SWEEP_CONFIG, 1);
  const moved = {
    ...v1,
    name: 'other-name',
    out_dir: '/elsewhere',
    device: 'auto',
    eval: { ...v1.eval, tasks: ['arc_easy'], limit: 5 },
    train: { ...v1.train, log_interval: 7, save_interval: 3, val_interval: 2 },
  };
  assert.equal(matchKey(moved), matchKey(v1));
  assert.notEqual(matchKey({ ...v1, train: { ...v1.train, learning_rate: 1e-3 } }), matchKey(v1));
  assert.notEqual(matchKey(variantConfig(configPath, SWEEP_CONFIG, 2)), matchKey(v1));
});

const v0 = variantConfig(configPath, SWEEP_CONFIG, 0);
const v1 = variantConfig(configPath, SWEEP_CONFIG, 1);
const runA = writeRun(runsDir, {
  name: 'cmp-r4',
  config: { ...v0, name: 'cmp-r4', train: { ...v0.train, log_interval: 3 } },
  startedMs: 1000,
  peakBytes: 3e6,
  trainTimeS: 4,
  finalTrainLoss: 2.5,
  scores: { arc_easy: [0.3, 0.02, 0.25], boolq: [0.6, 0.03, 0.62] },
  sweepVariant: 0,
});
const runB = writeRun(runsDir, {
  name: 'cmp-r8',
  config: { ...v1, name: 'cmp-r8' },
  startedMs: 2000,
  peakBytes: 5e6,
  trainTimeS: 2,
  finalTrainLoss: 2.1,
  scores: { arc_easy: [0.35, 0.02, 0.25], boolq: [0.64, 0.03, 0.62] },
  sweepVariant: 1,
});
const runEdited = writeRun(runsDir, {
  name: 'cmp-edited',
  config: { ...v1, name: 'cmp-edited', train: { ...v1.train, learning_rate: 1e-3 } },
  startedMs: 3000,
  peakBytes: 6e6,
  trainTimeS: 3,
  finalTrainLoss: 2.8,
});

test("a run folder's facts: measured from the summary, scores and base from the results files summary.eval names", () => {
  const facts = readRunFacts(runA)!;
  assert.equal(facts.state, 'completed');
  assert.equal(facts.name, 'cmp-r4');
  assert.equal(facts.measured.peakBytes, 3e6);
  assert.equal(facts.measured.trainTimeS, 4);
  assert.equal(facts.sweepVariant, 0);
  assert.equal(facts.settings?.['lora.r'], 4);
  assert.equal(facts.settings?.['lora.targets'], 'q,v');
  assert.equal(facts.eval?.tasks.arc_easy.value, 0.3, 'the results file, not the stale summary copy');
  assert.equal(facts.eval?.tasks.arc_easy.stderr, 0.02);
  assert.deepEqual(facts.eval?.tasks.arc_easy.base, { value: 0.25, stderr: 0.01 });

  const running = readRunFacts(
    writeRun(join(dir, 'live'), { name: 'live-run', config: { ...v0, name: 'live-run' }, summary: false, peakBytes: 7e6 }),
  )!;
  assert.equal(running.state, 'running');
  assert.equal(running.measured.peakBytes, 7e6, 'while it trains: the metrics lines');
  assert.equal(running.measured.finalTrainLoss, 3 - 5 * 0.2);

  mkdirSync(join(dir, 'half', 'killed'), { recursive: true });
  writeFileSync(join(dir, 'half', 'killed', 'config.yaml'), readFileSync(join(runA, 'config.yaml')));
  assert.equal(readRunFacts(join(dir, 'half', 'killed'))?.state, 'incomplete');
  writeFileSync(join(dir, 'half', 'killed', 'run.json'), '{"name": ');
  const unreadable = readRunFacts(join(dir, 'half', 'killed'))!;
  assert.equal(unreadable.state, 'unreadable');
  assert.match(unreadable.error ?? '', /run\.json/);
});

function table() {
  const variants = variantFacts(configPath, SWEEP_CONFIG, dataFacts);
  return buildTable({
    mode: 'config',
    title: 'sweep',
    configPath,
    variants: variants.variants,
    baseModel: variants.baseModel,
    runs: [runA, runB, runEdited].map((d) => readRunFacts(d)!),
  });
}

test('rows: base, each variant, each run; runs matched to variants or "config edited"; deltas to the base', () => {
  const t = table();
  assert.deepEqual(
    t.rows.map((r) => r.id),
    ['base', 'variant:0', 'variant:1', 'variant:2', 'run:cmp-r4', 'run:cmp-r8', 'run:cmp-edited'],
  );
  const row = (id: string) => t.rows.find((r) => r.id === id)!;
  assert.equal(row('run:cmp-r4').variant, 0);
  assert.equal(row('run:cmp-r8').variant, 1);
  assert.equal(row('run:cmp-edited').variant, null);
  assert.equal(row('run:cmp-edited').cells.variant.text, 'config edited');
  assert.equal(row('variant:0').status, 'completed');
  assert.equal(row('variant:2').status, 'planned');
  assert.equal(row('variant:1').cells.peak.value, 5e6, 'a variant that ran shows its measured peak');
  const predicted = row('variant:1').cells.peak_pred.value!;
  assert.ok(Math.abs(row('variant:1').cells.peak_err.value! - ((predicted - 5e6) / 5e6) * 100) < 1e-9);
  assert.equal(row('run:cmp-r8').cells.peak_pred.value, predicted, "a matched run carries its variant's prediction");
  assert.equal(row('base').cells['score:arc_easy'].value, 0.25);
  assert.ok(Math.abs(row('run:cmp-r8').cells['delta:arc_easy'].value! - 0.1) < 1e-12);
  assert.ok(Math.abs(row('run:cmp-r4').cells['delta:boolq'].value! - -0.02) < 1e-12);
  assert.equal(row('run:cmp-r4').cells['score:arc_easy'].text, '0.3000 ± 0.0200');
  assert.deepEqual(t.tasks, ['arc_easy', 'boolq']);
  // Settings: r and alpha differ (columns), the optimizer is shared (header line); lr differs through the edited run.
  const settingColumns = t.columns.filter((c) => c.group === 'setting').map((c) => c.key);
  assert.deepEqual(settingColumns, ['lora.r', 'lora.alpha', 'train.learning_rate']);
  assert.ok(t.common.some((c) => c.key === 'train.optimizer' && c.text === 'adamw'));
  assert.equal(errorPercent(110, 100), 10);
  assert.equal(errorPercent(1, 0), null);
});

test('best of each column: lowest peak and time, highest score; never the base row', () => {
  const t = table();
  const best = (key: string) => t.rows.filter((r) => r.cells[key]?.best).map((r) => r.id);
  assert.deepEqual(best('peak'), ['variant:0', 'run:cmp-r4']);
  assert.deepEqual(best('time'), ['variant:1', 'run:cmp-r8']);
  assert.deepEqual(best('score:arc_easy'), ['variant:1', 'run:cmp-r8']);
  assert.deepEqual(best('train_loss'), ['variant:1', 'run:cmp-r8']);
  assert.deepEqual(best('peak_err'), [], 'errors are not ranked');
});

test('sorting reorders the rows (base first, unknown values last); the status filter', () => {
  const t = table();
  const asc = sortRows(t.rows, 'peak', 'asc').map((r) => r.id);
  assert.deepEqual(asc, ['base', 'variant:0', 'run:cmp-r4', 'variant:1', 'run:cmp-r8', 'run:cmp-edited', 'variant:2']);
  const desc = sortRows(t.rows, 'peak', 'desc').map((r) => r.id);
  assert.deepEqual(desc, ['base', 'run:cmp-edited', 'variant:1', 'run:cmp-r8', 'variant:0', 'run:cmp-r4', 'variant:2']);
  assert.deepEqual(
    sortRows(t.rows, 'variant', 'asc').map((r) => r.id),
    ['base', 'variant:0', 'run:cmp-r4', 'variant:1', 'run:cmp-r8', 'variant:2', 'run:cmp-edited'],
  );
  assert.deepEqual(statusesOf(t.rows), ['base', 'planned', 'completed']);
  assert.deepEqual(
    filterRows(t.rows, ['planned']).map((r) => r.id),
    ['variant:2'],
  );
  assert.equal(filterRows(t.rows, []).length, t.rows.length);
});

test('Pareto front: the runs no other run beats on both cost and score', () => {
  const t = table();
  const points = costPoints(t, 'arc_easy', 'peak');
  assert.deepEqual(points.map((p) => p.run).sort(), ['cmp-r4', 'cmp-r8'], 'one point per run with a score');
  const front = paretoFront([
    { run: 'a', x: 1, score: 0.3 },
    { run: 'b', x: 2, score: 0.2 },
    { run: 'c', x: 3, score: 0.5 },
    { run: 'd', x: 3, score: 0.4 },
    { run: 'e', x: 4, score: 0.5 },
  ]);
  assert.deepEqual(
    front.map((p) => p.run),
    ['a', 'c'],
  );
  assert.deepEqual(
    paretoFront(
      [
        { run: 'a', x: 1, score: 10 },
        { run: 'b', x: 2, score: 5 },
      ],
      false,
    ).map((p) => p.run),
    ['a', 'b'],
    'lower-is-better scores (perplexity)',
  );
});

test('exports: Markdown marks the best values, CSV has raw numbers and stderr, YAML overrides by section', () => {
  const t = table();
  const md = toMarkdown(t, t.rows, 'sweep.lora.yaml');
  assert.match(md, /^# sweep\.lora\.yaml/);
  assert.match(md, /Shared settings: .*optimizer adamw/);
  const r8 = md.split('\n').find((line) => line.startsWith('| cmp-r8 |'))!;
  assert.match(r8, /\*\*0\.3500 ± 0\.0200\*\*/);
  const csv = toCsv(t).trim().split('\n');
  assert.equal(csv.length, 1 + t.rows.length);
  const header = csv[0].split(',');
  const r8csv = csv.find((line) => line.startsWith('run,cmp-r8,'))!.split(',');
  assert.equal(r8csv[header.indexOf('peak')], '5000000');
  assert.equal(r8csv[header.indexOf('score:arc_easy:stderr')], '0.02');
  const yaml = overridesYaml(t.rows.find((r) => r.id === 'variant:1')!.settings);
  assert.match(yaml, /^model:\n {2}precision: "32-true"\n {2}quantize: none\n/);
  assert.match(yaml, /lora:\n {2}r: 8\n {2}alpha: 16\n/);
  assert.match(yaml, / {2}query: true\n {2}key: false\n {2}value: true\n/);
  assert.doesNotMatch(yaml, /^ {2}(checkpoint|path):/m, 'paths are not copied (the panel shows their last part only)');
});
