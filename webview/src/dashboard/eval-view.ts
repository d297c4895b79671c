// The dashboard's evaluation section: what was evaluated and how (adapter, step, limit, shots, profile,
// results file), the table of scores (task, metric, value, stderr, delta to the base model, the base
// value, documents, the results file's other metrics) and the score curves of eval.interval.
// DOM contract: table[data-table="eval"], rows tr[data-task], cells td[data-col][data-value].
import type { DashboardRun, EvalResultsMessage, XAxis } from '../protocol';
import type { MetricsLine } from '../../../native/trainer/protocol';
import type { MetricsColumns } from '../metrics';
import {
  evalSettingsLabel,
  evaluatedAdapterLabel,
  formatDelta,
  formatScore,
  formatScoreWithStderr,
} from '../../../language-server/src/lib/eval-scores';
import { EvalCurveCharts } from './eval-curves';
import { EvalCurves, evalTableRows, stepsToX, type EvalTableRow } from './eval-model';

const X_LABEL: Record<XAxis, string> = { step: 'step', tokens: 'tokens', time: 'wall time (s)' };

const COLUMNS: { col: string; title: string; numeric: boolean }[] = [
  { col: 'task', title: 'Task', numeric: false },
  { col: 'metric', title: 'Metric', numeric: false },
  { col: 'value', title: 'Value', numeric: true },
  { col: 'stderr', title: 'Stderr', numeric: true },
  { col: 'delta', title: 'Δ vs base', numeric: true },
  { col: 'base', title: 'Base model', numeric: true },
  { col: 'n', title: 'Documents', numeric: true },
  { col: 'others', title: 'Other metrics', numeric: false },
];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A cell's text and data-value (the number as JSON has it, '' for none). */
function cell(row: EvalTableRow, col: string): { text: string; value: string; className?: string } {
  const num = (v: number | null) => (v === null ? '' : String(v));
  switch (col) {
    case 'task':
      return { text: row.task, value: row.task };
    case 'metric':
      return { text: `${row.metric} ${row.higherIsBetter ? '↑' : '↓'}`, value: row.metric };
    case 'value':
      return { text: formatScore(row.value, row.metric), value: num(row.value) };
    case 'stderr':
      return { text: row.stderr === null ? 'N/A' : formatScore(row.stderr, row.metric), value: num(row.stderr) };
    case 'delta':
      return {
        text: formatDelta(row.delta, row.metric),
        value: num(row.delta),
        className: row.improved === null ? undefined : row.improved ? 'better' : 'worse',
      };
    case 'base':
      return { text: row.base === null ? '—' : formatScoreWithStderr(row.base, row.baseStderr, row.metric), value: num(row.base) };
    case 'n':
      return { text: String(row.n), value: String(row.n) };
    default:
      return {
        text: row.others
          .map((m) => `${m.metric} ${formatScore(m.value, m.metric)}${m.base === null ? '' : ` (base ${formatScore(m.base, m.metric)})`}`)
          .join(' · '),
        value: row.others.map((m) => `${m.metric}=${m.value}`).join(','),
      };
  }
}

export class EvalView {
  readonly root = el('section', 'eval');
  private readonly meta = el('p', 'eval-meta');
  private readonly error = el('div', 'run-error');
  private readonly table = el('table', 'eval-table');
  private readonly curvesHost = el('div', 'charts eval-curves');
  private readonly evaluate = document.createElement('vscode-button') as HTMLElement & { disabled: boolean; secondary: boolean };
  private readonly charts = new EvalCurveCharts(this.curvesHost);
  private readonly curves = new EvalCurves();
  private run: DashboardRun | undefined;
  private results: EvalResultsMessage | undefined;
  private curvesChanged = false;

  constructor(onEvaluate: () => void) {
    this.root.dataset.section = 'eval';
    this.table.dataset.table = 'eval';
    const title = el('div', 'eval-title');
    title.append(el('h3', undefined, 'Evaluation'));
    this.evaluate.textContent = 'Evaluate…';
    this.evaluate.secondary = true;
    this.evaluate.dataset.action = 'evaluate';
    this.evaluate.title = 'Score this run on evaluation tasks (LoRA Lab: Evaluate Run)';
    this.evaluate.addEventListener('click', () => {
      if (!this.evaluate.disabled) onEvaluate();
    });
    title.append(this.evaluate);
    const head = el('thead');
    const headRow = el('tr');
    for (const { title: text, numeric } of COLUMNS) headRow.append(el('th', numeric ? 'num' : undefined, text));
    head.append(headRow);
    this.table.append(head, el('tbody'));
    this.root.append(title, this.meta, this.error, this.table, this.curvesHost);
    this.root.hidden = true;
    this.curvesHost.hidden = true;
  }

  setRun(run: DashboardRun): void {
    this.run = run;
    this.renderTable();
  }

  setResults(message: EvalResultsMessage): void {
    this.results = message;
    this.renderTable();
  }

  /** Takes a metrics batch; returns whether the curves need a redraw. */
  append(reset: boolean, lines: readonly MetricsLine[]): boolean {
    if (reset) {
      this.curves.reset();
      this.curvesChanged = true;
    }
    if (this.curves.append(lines)) this.curvesChanged = true;
    return this.curvesChanged;
  }

  /** Draws the curves (x on the dashboard's axis, through the train lines' tokens / time). */
  draw(xAxis: XAxis, columns: MetricsColumns, rebuild: boolean): void {
    if (!this.curvesChanged && !rebuild) return;
    this.curvesChanged = false;
    const trainX = xAxis === 'step' ? null : columns.xOf(xAxis);
    const curves = this.curves.curves();
    this.charts.render(curves, X_LABEL[xAxis], (curve) => stepsToX(curve.steps, columns.step, trainX), rebuild);
    this.updateVisibility();
  }

  resize(): void {
    this.charts.resize();
  }

  private updateVisibility(): void {
    const evaluation = this.run?.summary?.eval;
    const finished = this.run?.state === 'completed' || this.run?.state === 'stopped';
    this.root.hidden = !evaluation && this.curvesHost.hidden && !finished;
  }

  private renderTable(): void {
    const run = this.run;
    const evaluation = run?.summary?.eval;
    this.evaluate.hidden = !(run?.state === 'completed' || run?.state === 'stopped');
    this.evaluate.disabled = evaluation?.status === 'running';
    this.evaluate.textContent = evaluation ? 'Evaluate Again…' : 'Evaluate…';
    const body = this.table.tBodies[0];
    body.replaceChildren();
    this.error.hidden = true;
    if (!evaluation) {
      this.meta.textContent =
        run?.state === 'completed' || run?.state === 'stopped'
          ? 'Not evaluated yet: "Evaluate…" scores the adapter on evaluation tasks (eval.after_train does it after training).'
          : 'Scores of the adapter during training (eval.interval, a small limit); the full evaluation comes after training with eval.after_train.';
      this.table.hidden = true;
      this.updateVisibility();
      return;
    }
    const status =
      evaluation.status === 'completed' ? '' : evaluation.status === 'running' ? 'evaluating… · ' : `evaluation ${evaluation.status} · `;
    const file = this.results && this.results.resultsFile === evaluation.resultsFile ? this.results : undefined;
    const parts = [`${status}${evaluatedAdapterLabel(evaluation)}`, evalSettingsLabel(evaluation)];
    if (evaluation.resultsFile) parts.push(evaluation.resultsFile);
    if (evaluation.baseResultsFile) parts.push(`base: ${evaluation.baseResultsFile}`);
    if (file?.date) parts.push(new Date(file.date * 1000).toLocaleString());
    this.meta.textContent = parts.join(' · ');
    this.meta.dataset.status = evaluation.status;
    if (evaluation.error) {
      this.error.hidden = false;
      this.error.textContent = `${evaluation.error.code}: ${evaluation.error.message}${evaluation.error.hint ? `\n${evaluation.error.hint}` : ''}`;
    }
    const rows = evalTableRows(evaluation, file);
    this.table.hidden = rows.length === 0;
    for (const row of rows) {
      const tr = el('tr');
      tr.dataset.task = row.task;
      for (const { col, numeric } of COLUMNS) {
        const { text, value, className } = cell(row, col);
        const td = el('td', [numeric ? 'num' : '', className ?? ''].filter(Boolean).join(' ') || undefined, text);
        td.dataset.col = col;
        td.dataset.value = value;
        tr.append(td);
      }
      body.append(tr);
    }
    this.updateVisibility();
  }
}
