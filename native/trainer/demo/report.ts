// The demo's tables, read back from what the runs wrote: run.json's summary (peak memory, time,
// tokens/s, losses) and the lm-eval results files in each run's eval/ folder (scores of the
// adapter; base_results_* for the base model). Every number keeps the file it came from, and each
// section's observation is computed from the rows (with the facts it states, for checking).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { RunJson } from '../protocol';
import { readRunJson } from '../run/run-record';
import { ARITHMETIC_TASK, HELDOUT_HEADER, HELDOUT_TASK } from './grid';

/** A task's headline score in one results file. */
export interface Score {
  metric: string;
  value: number;
  stderr: number | null;
  /** The results file, relative to the examples folder. */
  source: string;
}

/** A row's value: the mean over its runs (one, or three seeds in --full) and their spread. */
export interface Measured {
  mean: number;
  /** Sample standard deviation over the runs (0 for one run). */
  sd: number;
  values: number[];
}

export interface DemoRow {
  label: string;
  kind: 'base' | 'run';
  /** The config under examples/ ('article/qlora.lora.yaml'), null for the base model. */
  config: string | null;
  /** Sweep overrides of the variant (or {} for a single-run config). */
  settings: Record<string, unknown>;
  /** Run folders, relative to the examples folder (several for a multi-seed row). */
  runs: string[];
  peakMiB: Measured | null;
  trainTimeS: Measured | null;
  tokensPerS: Measured | null;
  finalValLoss: Measured | null;
  /** Per task: the mean score and each run's score with its results file. */
  scores: Record<string, Measured & { metric: string; sources: Score[] }>;
}

export interface Fact {
  row: string;
  column: string;
  value: number;
}

export interface Observation {
  text: string;
  facts: Fact[];
}

export interface DemoTable {
  key: string;
  title: string;
  rows: DemoRow[];
  observation: Observation;
}

const HEADLINE_METRICS = ['exact_match', 'contains', 'acc', 'mc2'];

/** The headline metric of each task in a results file (lm-eval 0.4 layout: results[task]['acc,none']). */
export function headlineScores(file: string, examplesDir: string): Record<string, Score> {
  const json = JSON.parse(readFileSync(file, 'utf8')) as { results?: Record<string, Record<string, unknown>> };
  const out: Record<string, Score> = {};
  for (const [task, entry] of Object.entries(json.results ?? {})) {
    const metric = HEADLINE_METRICS.find((m) => typeof entry[`${m},none`] === 'number');
    if (!metric) continue;
    const stderr = entry[`${metric}_stderr,none`];
    out[task] = {
      metric,
      value: entry[`${metric},none`] as number,
      stderr: typeof stderr === 'number' ? stderr : null,
      source: relative(examplesDir, file),
    };
  }
  return out;
}

/** Newest score per task across a run's results files (`results_*` for the adapter, `base_results_*` for the base). */
export function runScores(runDir: string, examplesDir: string, base: boolean): Record<string, Score> {
  const dir = join(runDir, 'eval');
  if (!existsSync(dir)) return {};
  const prefix = base ? 'base_results_' : 'results_';
  const files = readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .sort();
  const out: Record<string, Score> = {};
  for (const f of files) Object.assign(out, headlineScores(join(dir, f), examplesDir));
  return out;
}

function measured(values: number[]): Measured {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = values.length > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, sd, values };
}

function measuredOf(runs: RunJson[], pick: (run: RunJson) => number | null | undefined): Measured | null {
  const values = runs.map(pick).filter((v): v is number => typeof v === 'number');
  return values.length === runs.length && values.length > 0 ? measured(values) : null;
}

function scoresOf(perRun: Record<string, Score>[]): DemoRow['scores'] {
  const out: DemoRow['scores'] = {};
  const tasks = new Set(perRun.flatMap((s) => Object.keys(s)));
  for (const task of tasks) {
    const sources = perRun.map((s) => s[task]).filter((s): s is Score => s !== undefined);
    if (sources.length !== perRun.length) continue;
    out[task] = { metric: sources[0].metric, sources, ...measured(sources.map((s) => s.value)) };
  }
  return out;
}

/** A row from finished run folders (absolute paths); the values are means over the folders. */
export function runRow(label: string, config: string, settings: Record<string, unknown>, runDirs: string[], examplesDir: string): DemoRow {
  const runs = runDirs.map((d) => readRunJson(d));
  return {
    label,
    kind: 'run',
    config,
    settings,
    runs: runDirs.map((d) => relative(examplesDir, d)),
    peakMiB: measuredOf(runs, (r) => (r.summary ? r.summary.peakBytes / 2 ** 20 : null)),
    trainTimeS: measuredOf(runs, (r) => r.summary?.trainTimeS),
    tokensPerS: measuredOf(runs, (r) => r.summary?.tokensPerS),
    finalValLoss: measuredOf(runs, (r) => r.summary?.finalValLoss),
    scores: scoresOf(runDirs.map((d) => runScores(d, examplesDir, false))),
  };
}

/** The base model's row: its scores from the base_results files the runs' evaluations wrote. */
export function baseRow(runDirs: string[], examplesDir: string): DemoRow {
  const scores: Record<string, Score> = {};
  for (const dir of runDirs) for (const [task, s] of Object.entries(runScores(dir, examplesDir, true))) scores[task] ??= s;
  return {
    label: 'base model',
    kind: 'base',
    config: null,
    settings: {},
    runs: [],
    peakMiB: null,
    trainTimeS: null,
    tokensPerS: null,
    finalValLoss: null,
    scores: scoresOf([scores]),
  };
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
/** A signed difference; one that rounds to zero is '+0' (not '-0'). */
const signed = (v: number, digits = 1): string => {
  const size = Math.abs(v).toFixed(digits);
  return `${v < 0 && Number(size) !== 0 ? '-' : '+'}${size}`;
};

function cell(m: Measured | null | undefined, format: (v: number) => string): string {
  if (!m) return '-';
  return m.values.length > 1 ? `${format(m.mean)} ± ${format(m.sd)}` : format(m.mean);
}

export function settingsLabel(settings: Record<string, unknown>): string {
  const entries = Object.entries(settings);
  return entries.length ? entries.map(([k, v]) => `${k}=${String(v)}`).join(', ') : '';
}

/** Extra score columns: every task some row has besides the two the grid always scores. */
function extraTasks(rows: DemoRow[]): string[] {
  const tasks = new Set(rows.flatMap((r) => Object.keys(r.scores)));
  return [...tasks].filter((t) => t !== HELDOUT_TASK && t !== ARITHMETIC_TASK).sort();
}

/** The section's table as Markdown: cost columns, then the held-out instructions, arithmetic and any other task. */
export function tableMarkdown(table: DemoTable): string {
  const extra = extraTasks(table.rows);
  const head = ['row', 'peak memory (MiB)', 'train time (s)', 'tokens/s', 'val loss', HELDOUT_HEADER, 'arithmetic 2-digit', ...extra];
  const lines = [
    `| ${head.join(' | ')} |`,
    `|---|${head
      .slice(1)
      .map(() => '---:')
      .join('|')}|`,
  ];
  for (const row of table.rows) {
    const score = (task: string) => cell(row.scores[task], pct);
    const cells = [
      row.label,
      cell(row.peakMiB, (v) => v.toFixed(1)),
      cell(row.trainTimeS, (v) => v.toFixed(1)),
      cell(row.tokensPerS, (v) => v.toFixed(0)),
      cell(row.finalValLoss, (v) => v.toFixed(3)),
      score(HELDOUT_TASK),
      score(ARITHMETIC_TASK),
      ...extra.map(score),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/**
 * One line computed from the section's rows: the best held-out score against the reference row
 * (the first run row) and the base model, and the peak memory and time of that row against the
 * reference. Facts list every number the text states.
 */
export function observe(rows: DemoRow[]): Observation {
  const base = rows.find((r) => r.kind === 'base');
  const runs = rows.filter((r) => r.kind === 'run' && r.scores[HELDOUT_TASK]);
  if (runs.length === 0) return { text: 'No run of this section finished with an evaluation.', facts: [] };
  const reference = runs[0];
  const best = runs.reduce((a, b) => (b.scores[HELDOUT_TASK].mean > a.scores[HELDOUT_TASK].mean ? b : a));
  const facts: Fact[] = [];
  const fact = (row: DemoRow, column: string, value: number): number => (facts.push({ row: row.label, column, value }), value);
  const bestScore = fact(best, HELDOUT_TASK, best.scores[HELDOUT_TASK].mean);
  // a row of several seeds states its spread beside its mean (the sample standard deviation)
  const spread = (row: DemoRow): string => {
    const m = row.scores[HELDOUT_TASK];
    return m.values.length > 1 ? ` ± ${pct(fact(row, `${HELDOUT_TASK}.sd`, m.sd))}` : '';
  };
  const parts: string[] = [];
  const baseScore = base?.scores[HELDOUT_TASK] ? fact(base, HELDOUT_TASK, base.scores[HELDOUT_TASK].mean) : null;
  const vsBase = baseScore === null ? '' : ` (base model ${pct(baseScore)}, ${signed(100 * (bestScore - baseScore))} points)`;
  if (runs.length === 1) {
    parts.push(`${best.label} scores ${pct(bestScore)}${spread(best)} on the ${HELDOUT_HEADER}${vsBase}`);
  } else if (best === reference) {
    parts.push(`${reference.label} stays best on the ${HELDOUT_HEADER} at ${pct(bestScore)}${spread(best)}${vsBase}`);
  } else {
    const refScore = fact(reference, HELDOUT_TASK, reference.scores[HELDOUT_TASK].mean);
    // with seeds, a lead no larger than the two rows' spreads together is not a finding
    const sds = best.scores[HELDOUT_TASK].sd + reference.scores[HELDOUT_TASK].sd;
    const within = sds > 0 && bestScore - refScore <= sds ? "; a lead within the seeds' spread" : '';
    parts.push(
      `${best.label} scores best on the ${HELDOUT_HEADER}: ${pct(bestScore)}${spread(best)}, ${signed(100 * (bestScore - refScore))} points vs ${reference.label} (${pct(refScore)}${spread(reference)}${within})${vsBase}`,
    );
  }
  if (best !== reference && best.peakMiB && reference.peakMiB && best.trainTimeS && reference.trainTimeS) {
    const mem = fact(best, 'peakMiB', best.peakMiB.mean) / fact(reference, 'peakMiB', reference.peakMiB.mean) - 1;
    const time = fact(best, 'trainTimeS', best.trainTimeS.mean) / fact(reference, 'trainTimeS', reference.trainTimeS.mean) - 1;
    parts.push(`with ${signed(100 * mem, 0)}% peak memory and ${signed(100 * time, 0)}% training time`);
  }
  const lowest = runs.reduce((a, b) => ((b.peakMiB?.mean ?? Infinity) < (a.peakMiB?.mean ?? Infinity) ? b : a));
  // only a real saving is worth a clause: at least 1% below the reference's peak
  if (runs.length > 1 && lowest !== best && lowest.peakMiB && reference.peakMiB && lowest.peakMiB.mean < 0.99 * reference.peakMiB.mean) {
    const lowScore = fact(lowest, HELDOUT_TASK, lowest.scores[HELDOUT_TASK].mean);
    parts.push(
      `; ${lowest.label} needs the least memory (${fact(lowest, 'peakMiB', lowest.peakMiB.mean).toFixed(1)} MiB) and scores ${pct(lowScore)}`,
    );
  }
  return { text: parts.join(' ').replace(' ;', ';') + '.', facts };
}
