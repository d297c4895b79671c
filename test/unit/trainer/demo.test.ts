// `lora-lab demo --quick` on a copy of the examples: the tables have the article's sections and
// columns, every number is the one in the run folder or results file it names, the observations
// state the numbers of their rows (and the best row is the best), and the held-out answers are the
// first items of the held-out set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCli } from '../helpers/run-cli';
import type { DemoResult } from '../../../native/trainer/demo/demo';
import type { DemoRow, DemoTable, Fact } from '../../../native/trainer/demo/report';

const repo = join(__dirname, '..', '..', '..');
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

function copyExamples(): string {
  const dir = mkdtempSync(join(tmpdir(), 'demo-examples-'));
  for (const part of ['tiny-llama', 'data', 'article']) cpSync(join(repo, 'examples', part), join(dir, part), { recursive: true });
  rmSync(join(dir, 'article', 'out'), { recursive: true, force: true });
  return dir;
}

/** The headline value of `task` in a results file, read independently of the demo's reader. */
function resultsValue(file: string, task: string, metric: string): number {
  const json = JSON.parse(readFileSync(file, 'utf8'));
  return json.results[task][`${metric},none`];
}

function checkRow(row: DemoRow, examples: string): void {
  for (const [task, score] of Object.entries(row.scores)) {
    assert.equal(score.sources.length, row.kind === 'base' ? 1 : row.runs.length, `${row.label} ${task}: one source per run`);
    for (const source of score.sources) {
      const file = join(examples, source.source);
      assert.ok(existsSync(file), `${row.label} ${task}: ${source.source} exists`);
      assert.match(source.source, row.kind === 'base' ? /eval\/base_results_[^/]+\.json$/ : /eval\/results_[^/]+\.json$/);
      assert.equal(source.value, resultsValue(file, task, source.metric), `${row.label} ${task} = ${source.source}`);
    }
    const mean = score.sources.reduce((a, s) => a + s.value, 0) / score.sources.length;
    assert.ok(Math.abs(score.mean - mean) < 1e-12);
  }
  if (row.kind === 'base') return;
  assert.ok(row.runs.length >= 1);
  const runs = row.runs.map((r) => JSON.parse(readFileSync(join(examples, r, 'run.json'), 'utf8')));
  for (const run of runs) assert.equal(run.status, 'completed');
  // --quick trains half of each config's epochs: the run folder's resolved config says so
  const configured = parse(readFileSync(join(examples, row.config!), 'utf8')).train.epochs;
  for (const r of row.runs) assert.equal(parse(readFileSync(join(examples, r, 'config.yaml'), 'utf8')).train.epochs, configured / 2, r);
  const mean = (pick: (run: { summary: Record<string, number> }) => number) => runs.reduce((a, r) => a + pick(r), 0) / runs.length;
  assert.ok(Math.abs(row.peakMiB!.mean - mean((r) => r.summary.peakBytes / 2 ** 20)) < 1e-9, `${row.label} peak memory`);
  assert.ok(Math.abs(row.trainTimeS!.mean - mean((r) => r.summary.trainTimeS)) < 1e-9, `${row.label} train time`);
  assert.ok(Math.abs(row.tokensPerS!.mean - mean((r) => r.summary.tokensPerS)) < 1e-9, `${row.label} tokens/s`);
  // the run's summary.eval names a results file the row read
  for (const run of runs) assert.ok(run.summary.eval?.resultsFile, `${row.label}: summary.eval names its results file`);
}

/** An observation's number is its row's (mean, or the spread of a row of seeds), and a score is stated in the text. */
function checkFact(table: DemoTable, fact: Fact): void {
  const row = table.rows.find((x) => x.label === fact.row)!;
  const value =
    fact.column === 'heldout_instructions'
      ? row.scores.heldout_instructions.mean
      : fact.column === 'heldout_instructions.sd'
        ? row.scores.heldout_instructions.sd
        : row[fact.column as 'peakMiB']!.mean;
  assert.equal(fact.value, value, `${table.title}: ${fact.row} ${fact.column}`);
  if (fact.column.startsWith('heldout_instructions')) assert.ok(table.observation.text.includes(pct(value)), table.observation.text);
}

test('demo --quick: the article tables from run folders and results files, observations that match them', { timeout: 600_000 }, () => {
  const examples = copyExamples();
  try {
    const r = runCli(['demo', '--quick', '--examples', examples], { env: { LORALAB_THREADS: '2' } });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const progress = r.stdout.split('\n').filter((l) => /^\[\d+\/\d+\] .+: completed in [\d.]+ s -> .+; ETA \S+$/.test(l));
    const result: DemoResult = JSON.parse(readFileSync(join(examples, 'demo-results', 'demo-quick.json'), 'utf8'));
    const markdown = readFileSync(join(examples, 'demo-results', 'demo-quick.md'), 'utf8');
    assert.equal(r.stdout.includes(markdown.trim()), true, 'the tables are printed');
    // the header states what ran and the machine's load around it
    assert.match(result.plan, /^2 article sections; every config's train\.epochs x0\.5; --set eval\.limit=60; no lm-eval tasks$/);
    assert.ok(markdown.includes(`Plan: ${result.plan}.`));
    for (const l of [...result.load.start, ...result.load.end]) assert.ok(Number.isFinite(l) && l >= 0);
    assert.ok(markdown.includes(`load average ${result.load.start.map((l) => l.toFixed(2)).join(' ')} at the start`));
    assert.ok(result.cpuS > 0 && result.wallS > 0);

    assert.deepEqual(
      result.tables.map((t) => t.title),
      ['LoRA defaults', 'all layers'],
    );
    const runDirs = new Set(result.tables.flatMap((t) => t.rows.flatMap((row) => row.runs)));
    assert.equal(progress.length, runDirs.size, `a progress line per run:\n${r.stdout}`);
    assert.ok(progress.at(-1)!.endsWith('; ETA 0s'), progress.at(-1));
    for (const table of result.tables) {
      assert.equal(table.rows[0].kind, 'base');
      assert.equal(table.rows[1].label, 'LoRA defaults');
      for (const row of table.rows) {
        checkRow(row, examples);
        assert.ok(row.scores.heldout_instructions, `${table.title} / ${row.label}: held-out instructions scored`);
        assert.ok(row.scores.arithmetic_2ds, `${table.title} / ${row.label}: arithmetic scored`);
      }
      // Markdown: the section, the header, each row with its held-out score
      const section = markdown.split(`## ${table.title}\n`)[1].split('\n## ')[0];
      assert.match(
        section,
        /\| row \| peak memory \(MiB\) \| train time \(s\) \| tokens\/s \| val loss \| held-out instructions \| arithmetic 2-digit \|/,
      );
      for (const row of table.rows) {
        const line = section.split('\n').find((l) => l.startsWith(`| ${row.label} |`));
        assert.ok(line, `${table.title}: a line for ${row.label}`);
        assert.ok(line.includes(` ${pct(row.scores.heldout_instructions.mean)} `), `${row.label}: ${line}`);
        if (row.peakMiB) assert.ok(line.includes(` ${row.peakMiB.mean.toFixed(1)} `), `${row.label}: ${line}`);
      }
      assert.ok(section.includes(`Observation: ${table.observation.text}`));

      // the observation's facts are the rows' numbers, the text states them, and the best is the best
      const runRows = table.rows.filter((row) => row.kind === 'run');
      assert.ok(table.observation.facts.length >= 2);
      for (const fact of table.observation.facts) checkFact(table, fact);
      const claimed = table.observation.facts[0];
      const top = Math.max(...runRows.map((row) => row.scores.heldout_instructions.mean));
      assert.equal(claimed.value, top, `${table.title}: the observation names the best held-out score`);
      assert.ok(table.observation.text.startsWith(runRows.find((row) => row.scores.heldout_instructions.mean === top)!.label));
    }

    const heldOut = readFileSync(join(examples, 'data', 'instructions-heldout.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .slice(0, 5)
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      result.heldOut.answers.map((a) => [a.input, a.reference]),
      heldOut.map((h) => [h.input, h.output]),
    );
    assert.equal(result.arithmetic.items, 60);
    assert.ok(result.arithmetic.inPretrainingCorpus >= 0 && result.arithmetic.inPretrainingCorpus <= 60);
    assert.ok(
      markdown.includes(`${result.arithmetic.inPretrainingCorpus} of the 60 evaluated arithmetic_2ds items are in the pretraining corpus`),
    );
  } finally {
    rmSync(examples, { recursive: true, force: true });
  }
});
