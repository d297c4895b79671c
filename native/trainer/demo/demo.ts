// `lora-lab demo`: the reference article in miniature on the bundled tiny model. Trains each
// section's config under examples/article/ (evaluated after training: the held-out instructions and
// 2-digit arithmetic, the base model beside it), scores the article's lm-eval tasks on the base and
// the best row, and writes the tables with one computed observation each to examples/demo-results/
// (Markdown + JSON). The first 5 held-out items are answered before and after finetuning.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { loadAddon } from '../addon';
import { StreamDecoder } from '../data/stream-decoder';
import { loadTokenizer } from '../../../language-server/src/lib/data/tokenizer';
import { loadRows, parseTaskFile, parseTemplate, render, BUILTIN_TASKS, type Row } from '../../../language-server/src/eval';
import { writeFileAtomic } from '../run/atomic';
import { configWith, engineOptions, threadCount } from '../run/engine-options';
import { EventSink } from '../run/events';
import { runTraining, StopSignal } from '../run/trainer';
import { runEvalOfRun } from '../commands/eval-run';
import { evalDataDir } from '../eval/runner';
import { generateCorpus } from '../../../scripts/tiny-model/corpus';
import {
  ARITHMETIC_TASK,
  DEFAULTS_CONFIG,
  describePlan,
  HELDOUT_TASK,
  LM_EVAL_LIMIT,
  LM_EVAL_TASKS,
  modePlan,
  type DemoMode,
} from './grid';
import { planDemo, type PlannedRun } from './plan';
import { baseRow, observe, runRow, settingsLabel, tableMarkdown, type DemoRow, type DemoTable } from './report';

export interface DemoOptions {
  examplesDir: string;
  mode: DemoMode;
  log: (line: string) => void;
}

export interface HeldOutAnswer {
  input: string;
  instruction: string;
  reference: string;
  before: string;
  after: string;
}

export interface DemoResult {
  mode: DemoMode;
  date: string;
  machine: { cpu: string; threads: number };
  /** What the mode ran (grid.ts's plan in words). */
  plan: string;
  /** The machine's 1-, 5- and 15-minute load averages when the demo started and when it ended (other processes included). */
  load: { start: number[]; end: number[] };
  wallS: number;
  cpuS: number;
  tables: DemoTable[];
  /** The run row with the best held-out score (the lm-eval tasks were scored on it and the base). */
  best: string | null;
  heldOut: { adapterRun: string | null; answers: HeldOutAnswer[] };
  arithmetic: { task: string; items: number; inPretrainingCorpus: number };
  failed: string[];
}

const clock = (s: number): string =>
  s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`;

/** Greedy answers of the first `count` held-out items (the task's own prompt and stop string), with and without the adapter. */
async function heldOutAnswers(examplesDir: string, adapter: string, count: number): Promise<HeldOutAnswer[]> {
  const taskFile = join(examplesDir, 'article', `${HELDOUT_TASK}.task.yaml`);
  const task = parseTaskFile(readFileSync(taskFile, 'utf8'), taskFile);
  const rows: Row[] = loadRows(task.dataDir, task.spec.data, false)
    .slice(0, count)
    .map((r) => r.row);
  const context = parseTemplate(task.spec.context ?? '', 'context');
  const target = parseTemplate(task.spec.target ?? '', 'target');
  const checkpoint = join(examplesDir, 'tiny-llama');
  const tokenizer = loadTokenizer(checkpoint);
  const until = task.spec.until ?? ['\n'];
  const answer = async (withAdapter: boolean): Promise<string[]> => {
    const config = configWith({ 'model.precision': 'bf16-true', 'train.method': withAdapter ? 'lora' : 'full', device: 'cpu' });
    const engine = await loadAddon().loadEngine(checkpoint, engineOptions(config, 1, false));
    try {
      if (withAdapter) await engine.loadAdapter(adapter);
      const out: string[] = [];
      for (const row of rows) {
        const prompt = tokenizer.encode(render(context, row, 'context'), { bos: tokenizer.addBos });
        const decoder = new StreamDecoder(tokenizer, { skipSpecialTokens: true }, prompt);
        let text = '';
        await engine.generate(
          Int32Array.from(prompt),
          { maxNewTokens: task.spec.max_tokens ?? 16, temperature: 0, stopTokens: tokenizer.stopIds },
          (id) => {
            if (!tokenizer.stopIds.includes(id)) text += decoder.push(id);
          },
        );
        text += decoder.flush();
        const cut = Math.min(...until.map((s) => (text.indexOf(s) < 0 ? text.length : text.indexOf(s))));
        out.push(text.slice(0, cut).trim());
      }
      return out;
    } finally {
      engine.dispose();
    }
  };
  const before = await answer(false);
  const after = await answer(true);
  return rows.map((row, i) => ({
    instruction: String(row.instruction),
    input: String(row.input),
    reference: render(target, row, 'target'),
    before: before[i],
    after: after[i],
  }));
}

/** How many of the first `limit` items of the arithmetic task's data the pretraining corpus contains (same text, same answer). */
export function arithmeticInCorpus(limit: number | null): { items: number; inPretrainingCorpus: number } {
  const spec = BUILTIN_TASKS.find((t) => t.name === ARITHMETIC_TASK)!;
  const rows = loadRows(evalDataDir(), spec.data, false)
    .slice(0, limit ?? undefined)
    .map((r) => r.row);
  const corpus = new Set(generateCorpus().documents.map((d) => d.text));
  const context = parseTemplate(spec.context ?? '', 'context');
  const continuation = parseTemplate(spec.continuation ?? '', 'continuation');
  let inCorpus = 0;
  for (const row of rows) if (corpus.has(render(context, row, 'context') + render(continuation, row, 'continuation'))) inCorpus++;
  return { items: rows.length, inPretrainingCorpus: inCorpus };
}

function heldOutMarkdown(answers: HeldOutAnswer[]): string[] {
  const esc = (s: string) => s.replace(/\|/g, '/').replace(/\n/g, ' ');
  return [
    '| instruction | input | reference | base model | after finetuning |',
    '|---|---|---|---|---|',
    ...answers.map((a) => `| ${esc(a.instruction)} | ${esc(a.input)} | ${esc(a.reference)} | ${esc(a.before)} | ${esc(a.after)} |`),
  ];
}

export function demoMarkdown(result: DemoResult): string {
  const lines = [
    `# LoRA Lab demo (${result.mode}, ${result.date})`,
    '',
    `Bundled tiny Llama (examples/tiny-llama), CPU engine, ${result.machine.threads} threads, ${result.machine.cpu}; ` +
      `${result.wallS.toFixed(0)} s wall, ${result.cpuS.toFixed(0)} CPU-seconds; ` +
      `load average ${result.load.start.map((l) => l.toFixed(2)).join(' ')} at the start, ${result.load.end.map((l) => l.toFixed(2)).join(' ')} at the end.`,
    '',
    `Plan: ${result.plan}.`,
    '',
  ];
  for (const table of result.tables)
    lines.push(`## ${table.title}`, '', tableMarkdown(table), '', `Observation: ${table.observation.text}`, '');
  lines.push(
    `Arithmetic 2-digit: ${result.arithmetic.inPretrainingCorpus} of the ${result.arithmetic.items} evaluated ${result.arithmetic.task} items are in the pretraining corpus.`,
    '',
  );
  if (result.heldOut.answers.length) {
    lines.push(`## The first ${result.heldOut.answers.length} held-out instructions before and after (${result.heldOut.adapterRun})`, '');
    lines.push(...heldOutMarkdown(result.heldOut.answers), '');
  }
  if (result.failed.length) lines.push(`Runs that did not complete: ${result.failed.join(', ')}`, '');
  return lines.join('\n');
}

const RESULT_NAMES: Record<DemoMode, string> = { quick: 'demo-quick', default: 'demo', full: 'demo-full' };

export async function runDemo(options: DemoOptions): Promise<{ result: DemoResult; markdown: string; failed: boolean }> {
  const { examplesDir, mode, log } = options;
  const model = join(examplesDir, 'tiny-llama');
  if (!existsSync(join(model, 'model.safetensors'))) {
    throw Object.assign(new Error(`${model}: the bundled tiny model is missing; rebuild it with \`npm run build:tiny-model\``), {
      code: 'E_CHECKPOINT_NOT_FOUND',
    });
  }
  const startedAt = new Date();
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const load0 = loadavg();
  const planned = planDemo(examplesDir, mode, startedAt);
  const plan = modePlan(mode);
  log(`lora-lab demo (${mode}): ${planned.length} runs; ${describePlan(plan)}`);
  const totalWeight = planned.reduce((a, p) => a + p.weight, 0);
  let doneWeight = 0;
  const finished: (PlannedRun & { ok: boolean })[] = [];
  for (const [i, run] of planned.entries()) {
    const runStart = Date.now();
    const sink = new EventSink({ json: false, ipc: false, tty: false, write: () => {} });
    const outcome = await runTraining(run.plan, sink, new StopSignal());
    doneWeight += run.weight;
    const elapsed = (Date.now() - t0) / 1000;
    const eta = (elapsed / doneWeight) * (totalWeight - doneWeight);
    log(
      `[${i + 1}/${planned.length}] ${run.label}${run.seed === null ? '' : ` seed ${run.seed}`}: ${outcome} in ${((Date.now() - runStart) / 1000).toFixed(1)} s -> ${relative(examplesDir, run.plan.runDir)}; ETA ${clock(eta)}`,
    );
    finished.push({ ...run, ok: outcome === 'completed' && existsSync(join(run.plan.runDir, 'run.json')) });
  }

  const ok = finished.filter((r) => r.ok);
  const rowOf = new Map<string, DemoRow>();
  const groups = new Map<string, typeof ok>();
  for (const r of ok) {
    const key = `${r.config}\u0000${settingsLabel(r.plan.sweep?.overrides ?? {})}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const [key, runs] of groups)
    rowOf.set(
      key,
      runRow(
        runs.length > 1 ? `${runs[0].label} (${runs.length} seeds)` : runs[0].label,
        runs[0].config,
        runs[0].plan.sweep?.overrides ?? {},
        runs.map((r) => r.plan.runDir),
        examplesDir,
      ),
    );
  const runRows = [...rowOf.values()];
  const scored = runRows.filter((r) => r.scores[HELDOUT_TASK]);
  const best = scored.length ? scored.reduce((a, b) => (b.scores[HELDOUT_TASK].mean > a.scores[HELDOUT_TASK].mean ? b : a)) : null;
  if (best && plan.lmEval) {
    // every run of the row (each seed of a key row in --full), so its lm-eval cells are means too
    log(`scoring the article's lm-eval tasks (limit ${LM_EVAL_LIMIT}) on ${best.label} and the base model`);
    for (const run of best.runs) {
      const lmStart = Date.now();
      const args = ['--run', join(examplesDir, run), '--tasks', LM_EVAL_TASKS.join(','), '--limit', String(LM_EVAL_LIMIT)];
      const code = await runEvalOfRun(args, { stdout: () => {}, stderr: () => {} });
      if (code !== 0) log(`  ${run}: lm-eval tasks failed (exit ${code}); the table shows the other scores`);
      else log(`  ${run}: done in ${((Date.now() - lmStart) / 1000).toFixed(1)} s`);
    }
    rowOf.forEach((row, key) => {
      if (row === best)
        rowOf.set(
          key,
          runRow(
            row.label,
            row.config!,
            row.settings,
            row.runs.map((r) => join(examplesDir, r)),
            examplesDir,
          ),
        );
    });
  }
  const bestRow = best ? [...rowOf.values()].find((r) => r.label === best.label)! : null;
  // The base row: the base_results files of the best run first (they hold the lm-eval tasks), then the others.
  const base = baseRow(
    [...(bestRow ? [bestRow] : []), ...rowOf.values()].flatMap((r) => r.runs.map((d) => join(examplesDir, d))),
    examplesDir,
  );
  const defaults = [...rowOf.values()].find((r) => r.config === `article/${DEFAULTS_CONFIG}`);
  const tables: DemoTable[] = plan.sections.map((section) => {
    const own = [...rowOf.values()].filter((r) => section.configs.some((c) => r.config === `article/${c}`));
    const rows = [base, ...(defaults && !own.includes(defaults) ? [defaults] : []), ...own];
    return { key: section.key, title: section.title, rows, observation: observe(rows) };
  });

  const answers = bestRow ? await heldOutAnswers(examplesDir, join(examplesDir, bestRow.runs[0], 'adapter'), 5) : [];
  const limit = ok[0]?.plan.config.eval.limit ?? null;
  const cpu = process.cpuUsage(cpu0);
  const result: DemoResult = {
    mode,
    date: startedAt.toISOString(),
    machine: { cpu: loadAddon().deviceReport().cpu.model, threads: threadCount() },
    plan: describePlan(plan),
    load: { start: load0, end: loadavg() },
    wallS: (Date.now() - t0) / 1000,
    cpuS: (cpu.user + cpu.system) / 1e6,
    tables,
    best: bestRow?.label ?? null,
    heldOut: { adapterRun: bestRow?.runs[0] ?? null, answers },
    arithmetic: { task: ARITHMETIC_TASK, ...arithmeticInCorpus(limit) },
    failed: finished.filter((r) => !r.ok).map((r) => r.label),
  };
  const markdown = demoMarkdown(result);
  const outDir = join(examplesDir, 'demo-results');
  mkdirSync(outDir, { recursive: true });
  writeFileAtomic(join(outDir, `${RESULT_NAMES[mode]}.md`), markdown);
  writeFileAtomic(join(outDir, `${RESULT_NAMES[mode]}.json`), JSON.stringify(result, null, 2) + '\n');
  return { result, markdown, failed: !defaults || result.failed.length > 0 };
}

export function readDemoResult(examplesDir: string, mode: DemoMode): DemoResult {
  return JSON.parse(readFileSync(join(examplesDir, 'demo-results', `${RESULT_NAMES[mode]}.json`), 'utf8')) as DemoResult;
}
