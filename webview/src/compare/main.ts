// The comparison panel's page script: keeps the facts the host posts (the config's variants, the runs
// as they are read), builds the table with the shared row model, and renders the toolbar, the table
// and the charts (coalesced, at most ~5 times a second). Sort, filter, task, selection and chart
// settings persist with setState.
import 'uplot/dist/uPlot.min.css';
import type { CompareFacts, RunFacts } from '../../../language-server/src/lib/compare/facts';
import { overridesYaml, toCsv, toMarkdown } from '../../../language-server/src/lib/compare/export';
import {
  buildTable,
  filterRows,
  sortRows,
  statusesOf,
  type CompareRow,
  type CompareTable,
} from '../../../language-server/src/lib/compare/table';
import { CompareCharts, type LossCurve } from './charts';
import {
  isCompareHostMessage,
  parseCompareState,
  type CompareHostMessage,
  type CompareState,
  type CompareWebviewMessage,
  type CurveAxis,
} from './protocol';
import { renderTable, type RowAction } from './table-view';

interface VsCodeApi {
  postMessage(message: CompareWebviewMessage): void;
  getState(): unknown;
  setState(state: CompareState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const RENDER_INTERVAL_MS = 200;

const vscode = acquireVsCodeApi();
const saved = parseCompareState(vscode.getState());
const ui = {
  sortKey: saved?.sortKey ?? null,
  sortDir: saved?.sortDir ?? ('asc' as const),
  statuses: saved?.statuses ?? [],
  task: saved?.task ?? null,
  selected: new Set(saved?.selected ?? []),
  smoothing: saved?.smoothing ?? 0.6,
  xAxis: saved?.xAxis ?? ('step' as CurveAxis),
};
let subject = saved?.subject;
let config: Omit<CompareFacts, 'runs'> | undefined;
const runs = new Map<string, RunFacts>();
const curves = new Map<string, LossCurve>();
const loading = { read: 0, total: 0 };
/** How many folders were read when the first run row was shown (the e2e check of incremental reading). */
let firstRowAt: number | null = null;
let table: CompareTable | undefined;

const app = document.getElementById('app')!;
const header = document.createElement('header');
header.className = 'compare-header';
const title = document.createElement('h2');
const problem = document.createElement('p');
problem.className = 'problem';
const common = document.createElement('p');
common.className = 'common';
const progress = document.createElement('p');
progress.className = 'progress';
const toolbar = document.createElement('div');
toolbar.className = 'toolbar';
const filters = document.createElement('div');
filters.className = 'filters';
filters.setAttribute('role', 'group');
filters.setAttribute('aria-label', 'Show rows with status');
header.append(title, problem, common, progress, toolbar, filters);
const tableHost = document.createElement('div');
tableHost.className = 'table-host';
const chartControls = document.createElement('div');
chartControls.className = 'controls';
const chartsHost = document.createElement('div');
chartsHost.className = 'charts';
app.append(header, tableHost, chartControls, chartsHost);
const charts = new CompareCharts(chartsHost);

function persist(): void {
  if (!subject) return;
  vscode.setState({
    subject,
    sortKey: ui.sortKey,
    sortDir: ui.sortDir,
    statuses: ui.statuses,
    task: ui.task,
    selected: [...ui.selected],
    smoothing: ui.smoothing,
    xAxis: ui.xAxis,
  });
}

function toolButton(label: string, action: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.dataset.action = action;
  b.addEventListener('click', onClick);
  return b;
}

function shownRows(): CompareRow[] {
  return table ? filterRows(sortRows(table.rows, ui.sortKey, ui.sortDir), ui.statuses) : [];
}

function exportTable(format: 'markdown' | 'csv'): void {
  if (!table) return;
  const rows = shownRows();
  const text = format === 'markdown' ? toMarkdown(table, rows, config?.title) : toCsv(table, rows);
  vscode.postMessage({ type: 'export', format, text });
}

function requestCurves(): void {
  vscode.postMessage({ type: 'curves', runDirs: [...ui.selected] });
}

const select = (options: [string, string][], value: string, label: string, onChange: (v: string) => void): HTMLLabelElement => {
  const wrapper = document.createElement('label');
  wrapper.textContent = `${label} `;
  const element = document.createElement('select');
  for (const [v, text] of options) {
    const option = document.createElement('option');
    option.value = v;
    option.textContent = text;
    option.selected = v === value;
    element.append(option);
  }
  element.addEventListener('change', () => onChange(element.value));
  wrapper.append(element);
  return wrapper;
};

function renderChartControls(tasks: string[]): void {
  const taskPicker = select(tasks.length ? tasks.map((t) => [t, t]) : [['', 'no evaluated task']], ui.task ?? '', 'Task', (value) => {
    ui.task = value || null;
    persist();
    scheduleRender();
  });
  taskPicker.dataset.control = 'task';
  const smoothing = document.createElement('label');
  smoothing.textContent = 'Smoothing ';
  const slider = document.createElement('input');
  slider.type = 'range';
  slider.min = '0';
  slider.max = '0.99';
  slider.step = '0.01';
  slider.value = String(ui.smoothing);
  const shown = document.createElement('span');
  shown.className = 'slider-value';
  shown.textContent = ui.smoothing.toFixed(2);
  slider.addEventListener('change', () => {
    ui.smoothing = Number(slider.value);
    persist();
    scheduleRender();
  });
  slider.addEventListener('input', () => (shown.textContent = Number(slider.value).toFixed(2)));
  smoothing.append(slider, shown);
  const axis = select(
    [
      ['step', 'step'],
      ['tokens', 'tokens'],
      ['time', 'wall time'],
    ],
    ui.xAxis,
    'Loss x axis',
    (value) => {
      ui.xAxis = value as CurveAxis;
      persist();
      scheduleRender();
    },
  );
  chartControls.replaceChildren(taskPicker, smoothing, axis);
}

function renderFilters(statuses: string[]): void {
  filters.replaceChildren(
    ...statuses.map((status) => {
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.dataset.status = status;
      box.checked = ui.statuses.length === 0 || ui.statuses.includes(status);
      box.addEventListener('change', () => {
        const on = new Set(ui.statuses.length ? ui.statuses : statuses);
        if (box.checked) on.add(status);
        else on.delete(status);
        ui.statuses = on.size === statuses.length ? [] : [...on];
        persist();
        scheduleRender();
      });
      label.append(box, ` ${status}`);
      return label;
    }),
  );
}

function onAction(row: CompareRow, action: RowAction): void {
  if (action === 'start-variant')
    vscode.postMessage({ type: 'start-variant', variant: config?.variants.some((v) => v.index !== null) ? row.variant : null });
  else if (action === 'copy')
    vscode.postMessage({ type: 'copy', text: overridesYaml(row.settings), what: `the settings of ${row.label} as YAML overrides` });
  else if (row.runDir) vscode.postMessage({ type: 'run-action', action, runDir: row.runDir });
}

function render(): void {
  renderTimer = undefined;
  lastRender = Date.now();
  if (!config) return;
  table = buildTable({ ...config, runs: [...runs.values()].sort((a, b) => a.startedMs - b.startedMs || a.name.localeCompare(b.name)) });
  title.textContent = config.title;
  problem.textContent = config.configError ?? '';
  problem.hidden = !config.configError;
  common.textContent = table.common.length ? `Shared: ${table.common.map((c) => `${c.label} ${c.text}`).join(' · ')}` : '';
  progress.textContent = loading.read < loading.total ? `Reading run folders: ${loading.read} of ${loading.total}…` : '';
  const canStart = config.mode === 'config' && !config.configError;
  toolbar.replaceChildren(
    ...(canStart && config.variants.length > 1
      ? [toolButton('Start whole sweep', 'start-sweep', () => vscode.postMessage({ type: 'start-sweep' }))]
      : []),
    toolButton('Export Markdown', 'export-markdown', () => exportTable('markdown')),
    toolButton('Export CSV', 'export-csv', () => exportTable('csv')),
  );
  renderFilters(statusesOf(table.rows));
  if (ui.task === null || !table.tasks.includes(ui.task)) ui.task = table.tasks[0] ?? null;
  renderChartControls(table.tasks);

  const focusedId = (document.activeElement as HTMLElement | null)?.dataset?.rowId;
  const rows = shownRows();
  const element = renderTable(table, rows, { key: ui.sortKey, dir: ui.sortDir }, ui.selected, canStart, {
    sort: (key) => {
      if (ui.sortKey === key) ui.sortDir = ui.sortDir === 'asc' ? 'desc' : 'asc';
      else {
        ui.sortKey = key;
        ui.sortDir = 'asc';
      }
      persist();
      render();
      tableHost.querySelector<HTMLButtonElement>(`button[data-sort="${CSS.escape(key)}"]`)?.focus();
    },
    toggleSelected: (row) => {
      if (!row.runDir) return;
      if (ui.selected.has(row.runDir)) ui.selected.delete(row.runDir);
      else ui.selected.add(row.runDir);
      persist();
      requestCurves();
      render();
    },
    action: onAction,
  });
  element.dataset.loaded = String(loading.read);
  element.dataset.total = String(loading.total);
  if (firstRowAt === null && rows.some((row) => row.kind === 'run')) firstRowAt = loading.read;
  if (firstRowAt !== null) element.dataset.firstRowAt = String(firstRowAt);
  tableHost.replaceChildren(element);
  if (focusedId) tableHost.querySelector<HTMLElement>(`tr[data-row-id="${CSS.escape(focusedId)}"]`)?.focus();

  const selectedCurves = [...ui.selected].map((dir) => curves.get(dir)).filter((c): c is LossCurve => c !== undefined);
  charts.draw(table, ui.task, selectedCurves, ui.smoothing, ui.xAxis);
}

let renderTimer: ReturnType<typeof setTimeout> | undefined;
let lastRender = 0;
function scheduleRender(): void {
  if (renderTimer) return;
  renderTimer = setTimeout(render, Math.max(0, lastRender + RENDER_INTERVAL_MS - Date.now()));
}

function receive(message: CompareHostMessage): void {
  if (message.type === 'compare-config') {
    config = message.facts;
    subject = message.subject;
    persist();
  } else if (message.type === 'compare-runs') {
    for (const dir of message.removed) runs.delete(dir);
    for (const run of message.runs) runs.set(run.dir, run);
    const progressed = loading.read !== message.read || loading.total !== message.total;
    loading.read = message.read;
    loading.total = message.total;
    // A rescan that found nothing new: nothing to draw.
    if (message.runs.length === 0 && message.removed.length === 0 && !progressed && table) return;
  } else {
    const run = runs.get(message.runDir);
    curves.set(message.runDir, {
      label: run?.name ?? message.runDir,
      step: message.step,
      tokens: message.tokens,
      elapsedS: message.elapsedS,
      loss: message.loss,
    });
  }
  scheduleRender();
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (isCompareHostMessage(event.data)) receive(event.data);
});
// Theme changes swap the body's class: redraw the charts with the new colours.
new MutationObserver(() => scheduleRender()).observe(document.body, { attributes: true, attributeFilter: ['class'] });

persist();
vscode.postMessage({ type: 'ready' });
if (ui.selected.size) requestCurves();
