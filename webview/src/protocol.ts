// The one typed protocol between the extension host and the run dashboard webview
// (postMessage both ways), and the state the webview persists with setState; at the end the same
// for the dataset panel ("LoRA Lab: Inspect Dataset").
import type { DatasetReport, InspectPhase, MetricsLine, RunError, RunState, RunSummary } from '../../native/trainer/protocol';

/** What the dashboard's charts put on their x axis. */
export type XAxis = 'step' | 'tokens' | 'time';

/** The run settings the dashboard header and the Runs tooltip show. */
export interface ConfigSummary {
  method: string;
  precision: string;
  r: number | null;
  alpha: number | null;
  targets: string[];
  quantize: string;
  optimizer: string;
  learningRate: number | null;
  globalBatchSize: number | null;
  microBatchSize: number | null;
}

/** Everything the dashboard header needs about one run (a view of run.json plus derived state). */
export interface DashboardRun {
  runDir: string;
  name: string;
  state: RunState;
  step: number;
  totalSteps: number;
  startedMs: number;
  endedMs?: number;
  /** Seconds left while running (from the trainer's event or the metrics pace). */
  etaS: number | null;
  device: { kind: string; name: string; memoryBytes?: number };
  configPath: string;
  config: ConfigSummary | null;
  error?: RunError;
  summary?: RunSummary;
  /** The host can stop it (a trainer it forked, or a live reattached pid). */
  canStop: boolean;
  /** Resume is offered (stopped, failed or crashed, with a checkpoint to resume from). */
  canResume: boolean;
}

/** Host -> webview: the run's header data changed (state, step, ETA, summary, error). */
export interface RunMessage {
  type: 'run';
  run: DashboardRun;
}

/**
 * Host -> webview: a batch of metrics.jsonl lines in file order. `reset` first clears what the
 * webview holds (a replay after reveal or a resume rewrote the file).
 */
export interface MetricsMessage {
  type: 'metrics';
  reset: boolean;
  lines: MetricsLine[];
}

/**
 * Host -> webview: the first message after 'ready', everything the run folder holds at once (the
 * header and every metrics.jsonl line), so the first paint shows the charts; 'run' and 'metrics'
 * messages stream after it. `run` is null when the host has not listed the folder yet.
 */
export interface SnapshotMessage {
  type: 'snapshot';
  run: DashboardRun | null;
  lines: MetricsLine[];
}

/** One metric of a task as a results file has it (`<metric>,<filter>` and `<metric>_stderr,<filter>`). */
export interface ResultsMetric {
  metric: string;
  value: number;
  stderr: number | null;
}

/**
 * Host -> webview: what the results files named by summary.eval hold beyond the headline metric
 * (every metric per task, the base model's too), for the evaluation table; sent when they change.
 */
export interface EvalResultsMessage {
  type: 'eval-results';
  /** Relative to the run folder, as summary.eval names it. */
  resultsFile: string;
  baseResultsFile: string | null;
  /** The evaluated model (results' config.model) and the lm-eval date of the file (seconds since the epoch). */
  model: string | null;
  date: number | null;
  /** Per task, every metric of the results file, in the file's order. */
  metrics: Record<string, ResultsMetric[]>;
  /** The same of the base model's results file (empty without one). */
  baseMetrics: Record<string, ResultsMetric[]>;
}

export type HostToWebview = RunMessage | MetricsMessage | SnapshotMessage | EvalResultsMessage;

/** Webview -> host: the page's script is listening; the host replays run and metrics. */
export interface ReadyMessage {
  type: 'ready';
}

export type DashboardAction = 'stop' | 'resume' | 'reveal' | 'openConfig' | 'chat' | 'evaluate';
export const DASHBOARD_ACTIONS: readonly DashboardAction[] = ['stop', 'resume', 'reveal', 'openConfig', 'chat', 'evaluate'];

/** Webview -> host: a header button was pressed. */
export interface ActionMessage {
  type: 'action';
  action: DashboardAction;
}

export type WebviewToHost = ReadyMessage | ActionMessage;

/** What the webview keeps across hide / reload / window restart (vscode.setState). */
export interface DashboardState {
  runDir: string;
  /** EMA weight in [0, 0.99]. */
  smoothing: number;
  xAxis: XAxis;
  logY: boolean;
}

/** Lines per metrics message: a replay of a long run goes in several batches. */
export const METRICS_BATCH_LINES = 2000;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function isWebviewToHost(value: unknown): value is WebviewToHost {
  if (!isObject(value)) return false;
  if (value.type === 'ready') return true;
  return value.type === 'action' && DASHBOARD_ACTIONS.includes(value.action as DashboardAction);
}

export function isHostToWebview(value: unknown): value is HostToWebview {
  if (!isObject(value)) return false;
  if (value.type === 'run') return isObject(value.run) && typeof value.run.runDir === 'string';
  if (value.type === 'snapshot')
    return (value.run === null || (isObject(value.run) && typeof value.run.runDir === 'string')) && Array.isArray(value.lines);
  if (value.type === 'eval-results') return typeof value.resultsFile === 'string' && isObject(value.metrics) && isObject(value.baseMetrics);
  return value.type === 'metrics' && typeof value.reset === 'boolean' && Array.isArray(value.lines);
}

/** The persisted state if it is well-formed, else undefined. */
export function parseDashboardState(value: unknown): DashboardState | undefined {
  if (!isObject(value) || typeof value.runDir !== 'string') return undefined;
  const smoothing = typeof value.smoothing === 'number' ? Math.min(0.99, Math.max(0, value.smoothing)) : 0.6;
  const xAxis: XAxis = value.xAxis === 'tokens' || value.xAxis === 'time' ? value.xAxis : 'step';
  return { runDir: value.runDir, smoothing, xAxis, logY: value.logY === true };
}

/** Splits lines into metrics messages of at most `batch` lines; the first carries `reset`. */
export function metricsMessages(lines: readonly MetricsLine[], reset: boolean, batch = METRICS_BATCH_LINES): MetricsMessage[] {
  const out: MetricsMessage[] = [];
  for (let i = 0; i < lines.length || (i === 0 && reset); i += batch) {
    out.push({ type: 'metrics', reset: reset && i === 0, lines: lines.slice(i, i + batch) });
    if (lines.length === 0) break;
  }
  return out;
}

// ---- The dataset panel ----------------------------------------------------------------------

/** Host -> dataset webview: inspect-data's progress, its report, or why there is none. */
export type DatasetHostMessage =
  | { type: 'dataset-progress'; configPath: string; phase: InspectPhase; done: number; total: number }
  | { type: 'dataset-report'; report: DatasetReport }
  | { type: 'dataset-error'; configPath: string; message: string };

/** Dataset webview -> host: listening; open a file at a 1-based line; inspect again. */
export type DatasetWebviewMessage = { type: 'ready' } | { type: 'open-location'; file: string; line: number } | { type: 'refresh' };

/** What the dataset webview keeps across hide / reload (vscode.setState). */
export interface DatasetState {
  configPath: string;
  /** Index into the report's samples shown in the browser. */
  sample: number;
}

export function isDatasetHostMessage(value: unknown): value is DatasetHostMessage {
  if (!isObject(value)) return false;
  if (value.type === 'dataset-report') return isObject(value.report) && isObject(value.report.stats);
  if (value.type === 'dataset-progress') return typeof value.done === 'number' && typeof value.total === 'number';
  return value.type === 'dataset-error' && typeof value.message === 'string';
}

export function isDatasetWebviewMessage(value: unknown): value is DatasetWebviewMessage {
  if (!isObject(value)) return false;
  if (value.type === 'ready' || value.type === 'refresh') return true;
  return value.type === 'open-location' && typeof value.file === 'string' && Number.isInteger(value.line) && (value.line as number) >= 1;
}

export function parseDatasetState(value: unknown): DatasetState | undefined {
  if (!isObject(value) || typeof value.configPath !== 'string') return undefined;
  return {
    configPath: value.configPath,
    sample: Number.isInteger(value.sample) && (value.sample as number) >= 0 ? (value.sample as number) : 0,
  };
}
