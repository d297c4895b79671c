// The run dashboard's page script: receives typed messages from the host, keeps the metrics in
// columns, paints the host's first snapshot at once and then redraws at most ~4 times a second,
// and persists its view settings.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import 'uplot/dist/uPlot.min.css';
import { MetricsColumns } from '../metrics';
import {
  isHostToWebview,
  parseDashboardState,
  type DashboardRun,
  type XAxis,
  type DashboardState,
  type HostToWebview,
  type WebviewToHost,
} from '../protocol';
import { Charts, type ChartOptions } from './charts';
import { Header } from './header';
import { EvalView } from './eval-view';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: DashboardState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const REDRAW_INTERVAL_MS = 250;

const vscode = acquireVsCodeApi();
const saved = parseDashboardState(vscode.getState());
const settings = { smoothing: saved?.smoothing ?? 0.6, xAxis: saved?.xAxis ?? ('step' as XAxis), logY: saved?.logY ?? false };
const columns = new MetricsColumns();
let run: DashboardRun | undefined;
let runDir = saved?.runDir;

const app = document.getElementById('app')!;
const header = new Header((action) => vscode.postMessage({ type: 'action', action }));
const controls = document.createElement('div');
controls.className = 'controls';
const chartsHost = document.createElement('div');
chartsHost.className = 'charts';
const empty = document.createElement('p');
empty.className = 'empty';
empty.textContent = 'Reading the run folder…';
const evalView = new EvalView(() => vscode.postMessage({ type: 'action', action: 'evaluate' }));
app.append(header.root, controls, empty, chartsHost, evalView.root);
const charts = new Charts(chartsHost);

function persist(): void {
  if (runDir) vscode.setState({ runDir, ...settings });
}

function chartOptions(): ChartOptions {
  return { ...settings, capacityBytes: run?.device.memoryBytes };
}

function buildControls(): void {
  const smoothingLabel = document.createElement('label');
  smoothingLabel.textContent = 'Smoothing ';
  const slider = document.createElement('input');
  slider.type = 'range';
  slider.min = '0';
  slider.max = '0.99';
  slider.step = '0.01';
  slider.value = String(settings.smoothing);
  const sliderValue = document.createElement('span');
  sliderValue.className = 'slider-value';
  sliderValue.textContent = settings.smoothing.toFixed(2);
  slider.addEventListener('input', () => {
    settings.smoothing = Number(slider.value);
    sliderValue.textContent = settings.smoothing.toFixed(2);
    persist();
    rebuild();
  });
  smoothingLabel.append(slider, sliderValue);

  const axisLabel = document.createElement('label');
  axisLabel.textContent = 'X axis ';
  const axis = document.createElement('vscode-single-select') as HTMLElement & { value: string };
  for (const [value, text] of [
    ['step', 'step'],
    ['tokens', 'tokens'],
    ['time', 'wall time'],
  ]) {
    const option = document.createElement('vscode-option') as HTMLElement & { value: string; selected: boolean };
    option.value = value;
    option.textContent = text;
    option.selected = value === settings.xAxis;
    axis.append(option);
  }
  axis.addEventListener('change', () => {
    settings.xAxis = axis.value as XAxis;
    persist();
    rebuild();
  });
  axisLabel.append(axis);

  const logY = document.createElement('vscode-checkbox') as HTMLElement & { checked: boolean; label: string };
  logY.label = 'log-scale loss';
  logY.checked = settings.logY;
  logY.addEventListener('change', () => {
    settings.logY = logY.checked;
    persist();
    rebuild();
  });
  controls.append(smoothingLabel, axisLabel, logY);
}

let built = false;
let redrawTimer: ReturnType<typeof setTimeout> | undefined;
let lastDraw = 0;

function rebuild(): void {
  built = false;
  scheduleRedraw();
}

function draw(): void {
  if (redrawTimer) clearTimeout(redrawTimer);
  redrawTimer = undefined;
  lastDraw = Date.now();
  empty.hidden = columns.step.length > 0;
  if (run) empty.textContent = emptyText(run.state);
  const rebuilding = !built;
  if (!built) {
    charts.build(chartOptions(), columns);
    built = true;
  } else {
    charts.update(chartOptions(), columns);
  }
  // The time from the page's start to its first charts with data (the e2e scenario reports it).
  if (columns.step.length > 0 && !app.dataset.firstChartMs) app.dataset.firstChartMs = performance.now().toFixed(0);
  evalView.draw(settings.xAxis, columns, rebuilding);
  if (run) renderHeader();
}

/** What the page says while it has no training step to chart. */
function emptyText(state: DashboardRun['state']): string {
  if (state === 'running') return 'Waiting for the first training step…';
  return `No training step was logged: the run ${state === 'completed' ? 'completed' : `is ${state}`} without metrics.jsonl train lines.`;
}

/** Coalesces redraws: at most one per REDRAW_INTERVAL_MS however fast batches arrive. */
function scheduleRedraw(): void {
  if (redrawTimer) return;
  redrawTimer = setTimeout(draw, Math.max(0, lastDraw + REDRAW_INTERVAL_MS - Date.now()));
}

function renderHeader(): void {
  if (!run) return;
  const n = columns.step.length;
  header.render(run, n ? columns.tokensPerS[n - 1] : undefined, n ? columns.loss[n - 1] : undefined, Date.now(), columns.latestMemory());
}

function adoptRun(next: DashboardRun): void {
  if (run?.device.memoryBytes !== next.device.memoryBytes) built = false;
  run = next;
  if (runDir !== run.runDir) {
    runDir = run.runDir;
    persist();
  }
  evalView.setRun(run);
}

function receive(message: HostToWebview): void {
  if (message.type === 'snapshot') {
    // The first paint: everything the folder holds, drawn now rather than on the redraw timer.
    columns.reset();
    columns.append(message.lines);
    evalView.append(true, message.lines); // the score curves of eval.interval come with the first paint too
    if (message.run) adoptRun(message.run);
    built = false;
    draw();
    return;
  }
  if (message.type === 'run') {
    adoptRun(message.run);
    renderHeader();
    scheduleRedraw();
    return;
  }
  if (message.type === 'eval-results') {
    evalView.setResults(message);
    return;
  }
  if (message.reset) columns.reset();
  columns.append(message.lines);
  evalView.append(message.reset, message.lines);
  scheduleRedraw();
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (isHostToWebview(event.data)) receive(event.data);
});

// Theme changes swap the body's class: rebuild the charts with the new colours.
new MutationObserver(() => rebuild()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
new ResizeObserver(() => charts.resize()).observe(chartsHost);
new ResizeObserver(() => evalView.resize()).observe(evalView.root);
// Elapsed time and ETA keep moving between messages while a run trains.
setInterval(() => {
  if (run?.state === 'running') renderHeader();
}, 1000);

buildControls();
persist();
vscode.postMessage({ type: 'ready' });
