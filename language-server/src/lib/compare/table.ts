// The comparison table, pure: rows for the base model, each sweep variant and each run (matched to a
// variant by its resolved config, else "config edited"), the columns that differ between rows, the
// best value of each column, sorting and the status filter. The panel, the exports and tests share it.
import { formatBytes, formatCompact, formatDuration, formatLoss } from '../format';
import { SETTING_LABELS, type CompareFacts, type PredictedCost, type RunFacts, type SettingValue, type VariantFacts } from './facts';

export type RowKind = 'base' | 'variant' | 'run';
export type ColumnGroup = 'info' | 'setting' | 'predicted' | 'measured' | 'error' | 'eval' | 'delta';

export interface CompareColumn {
  /** data-col: 'status', 'lora.r', 'peak', 'score:arc_easy'... */
  key: string;
  label: string;
  group: ColumnGroup;
  /** Which way is better, for the best-of-column mark (none for settings and errors). */
  better?: 'lower' | 'higher';
  /** What the column means (the header's tooltip and the README). */
  description: string;
}

export interface CompareCell {
  /** The raw number (data-value), or null for text and unknown values. */
  value: number | null;
  text: string;
  stderr?: number | null;
  best?: boolean;
}

export interface CompareRow {
  /** 'base', 'variant:<index>', 'run:<folder name>'. */
  id: string;
  kind: RowKind;
  variant: number | null;
  /** The run folder's name (run rows). */
  run: string | null;
  runDir: string | null;
  label: string;
  /** base, planned (a variant without a run), or the (newest matching) run's state. */
  status: string;
  /** The variant's overrides, or the settings of a run: what "copy as YAML overrides" copies. */
  settings: Record<string, SettingValue>;
  cells: Record<string, CompareCell>;
}

export interface CompareTable {
  columns: CompareColumn[];
  rows: CompareRow[];
  /** The settings every row shares, folded into one header line. */
  common: { key: string; label: string; text: string }[];
  /** Evaluated tasks, in name order. */
  tasks: string[];
}

const text = (value: string): CompareCell => ({ value: null, text: value });
const num = (value: number | null | undefined, format: (v: number) => string): CompareCell =>
  value === null || value === undefined || !Number.isFinite(value) ? { value: null, text: '—' } : { value, text: format(value) };
const bytes = (v: number | null | undefined) => num(v, formatBytes);
const secs = (v: number | null | undefined) => num(v, formatDuration);
const percent = (v: number) => `${v > 0 ? '+' : ''}${v.toFixed(1)}%`;

/** Signed error of a prediction in percent of the measured value: +10% predicted 10% too high. */
export function errorPercent(predicted: number | null | undefined, measured: number | null | undefined): number | null {
  if (predicted == null || measured == null || !(measured > 0) || !Number.isFinite(predicted)) return null;
  return ((predicted - measured) / measured) * 100;
}

export function formatSetting(value: SettingValue | undefined): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number' && !Number.isInteger(value)) return String(Number(value.toPrecision(4)));
  return String(value);
}

const FIXED_COLUMNS: CompareColumn[] = [
  { key: 'status', label: 'status', group: 'info', description: 'base model, planned (a variant not run yet), or the run state' },
  { key: 'variant', label: 'variant', group: 'info', description: 'the sweep variant a run belongs to, or "config edited"' },
  { key: 'params', label: 'trainable', group: 'predicted', description: 'trainable parameters (measured for a run that has a summary)' },
  { key: 'mem_weights_pred', label: 'weights', group: 'predicted', better: 'lower', description: 'predicted memory of the base weights' },
  {
    key: 'mem_state_pred',
    label: 'params+grads+opt',
    group: 'predicted',
    better: 'lower',
    description: 'predicted memory of trainable parameters, gradients and optimizer state',
  },
  { key: 'mem_act_pred', label: 'activations', group: 'predicted', better: 'lower', description: 'predicted activation memory' },
  { key: 'peak_pred', label: 'peak (pred)', group: 'predicted', better: 'lower', description: 'predicted peak memory' },
  { key: 'peak', label: 'peak', group: 'measured', better: 'lower', description: 'measured peak memory' },
  { key: 'peak_err', label: 'peak err', group: 'error', description: 'error of the predicted peak in percent of the measured one' },
  { key: 'time_pred', label: 'time (pred)', group: 'predicted', better: 'lower', description: 'predicted training time' },
  { key: 'time', label: 'time', group: 'measured', better: 'lower', description: 'measured training time' },
  { key: 'time_err', label: 'time err', group: 'error', description: 'error of the predicted time in percent of the measured one' },
  { key: 'steps', label: 'steps', group: 'measured', description: 'optimizer steps done / planned' },
  { key: 'tokens_per_s', label: 'tokens/s', group: 'measured', better: 'higher', description: 'training throughput' },
  { key: 'train_loss', label: 'train loss', group: 'measured', better: 'lower', description: 'final training loss' },
  { key: 'val_loss', label: 'val loss', group: 'measured', better: 'lower', description: 'final validation loss' },
];

function predictedCells(p: PredictedCost | null): Record<string, CompareCell> {
  return {
    params: num(p?.trainableParams, formatCompact),
    peak_pred: bytes(p?.peakBytes),
    mem_weights_pred: bytes(p?.weightsBytes),
    mem_state_pred: bytes(p?.trainStateBytes),
    mem_act_pred: bytes(p?.activationsBytes),
    time_pred: secs(p?.timeS),
  };
}

function measuredCells(run: RunFacts, predicted: PredictedCost | null): Record<string, CompareCell> {
  const m = run.measured;
  const peakErr = errorPercent(predicted?.peakBytes, m.peakBytes);
  const timeErr = run.state === 'completed' ? errorPercent(predicted?.timeS, m.trainTimeS) : null;
  return {
    ...(m.trainableParams != null ? { params: num(m.trainableParams, formatCompact) } : {}),
    peak: bytes(m.peakBytes),
    peak_err: num(peakErr, percent),
    time: secs(m.trainTimeS),
    time_err: num(timeErr, percent),
    steps: { value: m.step, text: `${m.step}/${m.totalSteps}` },
    tokens_per_s: num(m.tokensPerS, (v) => v.toFixed(0)),
    train_loss: num(m.finalTrainLoss, formatLoss),
    val_loss: num(m.finalValLoss, formatLoss),
  };
}

/** The base model's score of each task: a run's own base value first, newest run first. */
export function baseScores(runs: readonly RunFacts[]): Record<string, { value: number; stderr: number | null }> {
  const out: Record<string, { value: number; stderr: number | null }> = {};
  for (const run of [...runs].sort((a, b) => b.startedMs - a.startedMs)) {
    for (const [task, score] of Object.entries(run.eval?.tasks ?? {})) if (score.base && !out[task]) out[task] = score.base;
  }
  return out;
}

function scoreText(value: number, stderr: number | null): string {
  return `${value.toFixed(4)}${stderr != null ? ` ± ${stderr.toFixed(4)}` : ''}`;
}

function evalCells(run: RunFacts | undefined, base: Record<string, { value: number; stderr: number | null }>): Record<string, CompareCell> {
  const cells: Record<string, CompareCell> = {};
  for (const [task, score] of Object.entries(run?.eval?.tasks ?? {})) {
    cells[`score:${task}`] = { value: score.value, text: scoreText(score.value, score.stderr), stderr: score.stderr };
    const reference = score.base ?? base[task];
    if (reference) cells[`delta:${task}`] = num(score.value - reference.value, (v) => `${v > 0 ? '+' : ''}${v.toFixed(4)}`);
  }
  return cells;
}

/** The newest run of a list, finished ones first. */
function representative(runs: readonly RunFacts[]): RunFacts | undefined {
  const byNewest = [...runs].sort((a, b) => b.startedMs - a.startedMs);
  return byNewest.find((r) => r.state === 'completed') ?? byNewest[0];
}

/** Which variant each run belongs to (by matchKey), or null ("config edited"). */
export function matchRuns(variants: readonly VariantFacts[], runs: readonly RunFacts[]): Map<string, VariantFacts | null> {
  const byKey = new Map<string, VariantFacts>();
  for (const variant of variants) if (!byKey.has(variant.matchKey)) byKey.set(variant.matchKey, variant);
  return new Map(runs.map((run) => [run.dir, (run.matchKey && byKey.get(run.matchKey)) || null]));
}

function variantLabel(variant: VariantFacts): string {
  const parts = Object.entries(variant.overrides).map(
    ([key, value]) => `${SETTING_LABELS[key] ?? key}=${formatSetting(value as SettingValue)}`,
  );
  return variant.index === null ? 'config' : `#${variant.index}${parts.length ? ` ${parts.join(' ')}` : ''}`;
}

export function buildTable(facts: CompareFacts): CompareTable {
  const matched = matchRuns(facts.variants, facts.runs);
  const base = baseScores(facts.runs);
  const rows: CompareRow[] = [];
  const tasks = [...new Set(facts.runs.flatMap((run) => Object.keys(run.eval?.tasks ?? {})))].sort();
  const higher: Record<string, boolean> = {};
  for (const run of facts.runs) for (const [task, s] of Object.entries(run.eval?.tasks ?? {})) higher[task] ??= s.higherIsBetter;

  const baseCells: Record<string, CompareCell> = { status: text('base'), variant: text('—') };
  for (const [task, score] of Object.entries(base))
    baseCells[`score:${task}`] = { value: score.value, text: scoreText(score.value, score.stderr), stderr: score.stderr };
  rows.push({
    id: 'base',
    kind: 'base',
    variant: null,
    run: null,
    runDir: null,
    label: facts.baseModel ?? 'base model',
    status: 'base',
    settings: {},
    cells: baseCells,
  });

  for (const variant of facts.variants) {
    const runs = facts.runs.filter((run) => matched.get(run.dir) === variant);
    const latest = representative(runs);
    const status = latest ? latest.state : 'planned';
    rows.push({
      id: `variant:${variant.index ?? 0}`,
      kind: 'variant',
      variant: variant.index ?? 0,
      run: null,
      runDir: null,
      label: variantLabel(variant),
      status,
      settings: variant.settings,
      cells: {
        status: text(variant.error ? `planned (${variant.error})` : status),
        variant: num(variant.index ?? 0, (v) => `#${v}`),
        ...predictedCells(variant.predicted),
        ...(latest ? measuredCells(latest, variant.predicted) : {}),
        ...evalCells(latest, base),
      },
    });
  }

  for (const run of facts.runs) {
    const variant = matched.get(run.dir) ?? null;
    const predicted = variant?.predicted ?? run.predicted;
    rows.push({
      id: `run:${run.name}`,
      kind: 'run',
      variant: variant ? (variant.index ?? 0) : null,
      run: run.name,
      runDir: run.dir,
      label: run.name,
      status: run.state,
      settings: run.settings ?? {},
      cells: {
        status: text(run.error ? `${run.state}: ${run.error}` : run.state),
        variant: variant
          ? num(variant.index ?? 0, (v) => `#${v}`)
          : text(facts.mode === 'config' ? 'config edited' : run.sweepVariant !== null ? `#${run.sweepVariant}` : '—'),
        ...predictedCells(predicted),
        ...measuredCells(run, predicted),
        ...evalCells(run, base),
      },
    });
  }

  // Settings: the ones that differ between variant/run rows become columns, the rest a header line.
  const settingRows = rows.filter((row) => row.kind !== 'base' && Object.keys(row.settings).length > 0);
  const keys = Object.keys(SETTING_LABELS).filter((key) => settingRows.some((row) => key in row.settings));
  const settingColumns: CompareColumn[] = [];
  const common: CompareTable['common'] = [];
  for (const key of keys) {
    const values = new Set(settingRows.map((row) => formatSetting(row.settings[key])));
    if (values.size > 1) settingColumns.push({ key, label: SETTING_LABELS[key], group: 'setting', description: `the config's ${key}` });
    else common.push({ key, label: SETTING_LABELS[key], text: [...values][0] });
  }
  for (const row of rows) {
    for (const column of settingColumns) {
      const value = row.settings[column.key];
      row.cells[column.key] = typeof value === 'number' ? { value, text: formatSetting(value) } : text(formatSetting(value));
    }
  }

  const evalColumns: CompareColumn[] = tasks.flatMap((task) => {
    const better = higher[task] === false ? ('lower' as const) : ('higher' as const);
    return [
      { key: `score:${task}`, label: task, group: 'eval' as const, better, description: `${task} score ± stderr` },
      { key: `delta:${task}`, label: `Δ ${task}`, group: 'delta' as const, better, description: `${task} score minus the base model's` },
    ];
  });
  const columns = [...FIXED_COLUMNS.slice(0, 2), ...settingColumns, ...FIXED_COLUMNS.slice(2), ...evalColumns];
  markBest(columns, rows);
  return { columns, rows, common, tasks };
}

/** Marks the best value of each column that has a direction, among variant and run rows (two values at least). */
export function markBest(columns: readonly CompareColumn[], rows: readonly CompareRow[]): void {
  for (const column of columns) {
    if (!column.better) continue;
    const cells = rows
      .filter((row) => row.kind !== 'base')
      .map((row) => row.cells[column.key])
      .filter((cell): cell is CompareCell => cell !== undefined && cell.value !== null);
    for (const cell of cells) cell.best = false;
    if (cells.length < 2) continue;
    const values = cells.map((cell) => cell.value!);
    const best = column.better === 'lower' ? Math.min(...values) : Math.max(...values);
    if (values.every((v) => v === best)) continue;
    for (const cell of cells) if (cell.value === best) cell.best = true;
  }
}

export type SortDirection = 'asc' | 'desc';

/** Rows sorted by a column (numbers, else text; unknown values last); the base row stays first. */
export function sortRows(rows: readonly CompareRow[], key: string | null, direction: SortDirection): CompareRow[] {
  const base = rows.filter((row) => row.kind === 'base');
  const rest = rows.filter((row) => row.kind !== 'base');
  if (!key) return [...base, ...rest];
  const sign = direction === 'asc' ? 1 : -1;
  const sorted = rest
    .map((row, i) => ({ row, i }))
    .sort((a, b) => {
      const ca = a.row.cells[key];
      const cb = b.row.cells[key];
      const va = ca?.value ?? null;
      const vb = cb?.value ?? null;
      if (va !== null && vb !== null && va !== vb) return (va - vb) * sign;
      if (va !== null && vb === null) return -1;
      if (va === null && vb !== null) return 1;
      if (va === null && vb === null) {
        const ta = ca && ca.text !== '—' ? ca.text : null;
        const tb = cb && cb.text !== '—' ? cb.text : null;
        if (ta !== null && tb !== null && ta !== tb) return ta.localeCompare(tb, 'en', { numeric: true }) * sign;
        if (ta !== null && tb === null) return -1;
        if (ta === null && tb !== null) return 1;
      }
      return a.i - b.i;
    })
    .map(({ row }) => row);
  return [...base, ...sorted];
}

/** The rows whose status is shown (an empty filter shows every row). */
export function filterRows(rows: readonly CompareRow[], statuses: readonly string[]): CompareRow[] {
  if (statuses.length === 0) return [...rows];
  return rows.filter((row) => statuses.includes(row.status));
}

/** Every status present, in a fixed order (for the filter's choices). */
export function statusesOf(rows: readonly CompareRow[]): string[] {
  const order = ['base', 'planned', 'running', 'completed', 'stopped', 'failed', 'crashed', 'incomplete', 'unreadable'];
  const present = new Set(rows.map((row) => row.status));
  return [...order.filter((s) => present.has(s)), ...[...present].filter((s) => !order.includes(s)).sort()];
}
