// The Runs explorer as pure data: the node kinds of the tree and the text of a run's row (label,
// description with its status word and differing settings, tooltip, accessible label, icon, the
// viewItem context the manifest's `when` clauses test). The tree's shape is runs-tree-build.ts.
import type { RunJson, RunState } from '../../native/trainer/protocol';
import { formatBytes, formatDuration, formatLoss } from '../../language-server/src/lib/format';
import type { ConfigSummary } from '../../webview/src/protocol';

/** One complete checkpoint of a run folder. */
export interface CheckpointView {
  step: number;
  /** Absolute path of `<run>/checkpoints/step-NNNNNN`. */
  dir: string;
}

/** One run folder as the host sees it. */
export interface RunView {
  dir: string;
  run: RunJson;
  state: RunState;
  hasAdapter: boolean;
  lastTrainLoss?: number;
  lastValLoss?: number;
  lastPeakBytes?: number;
  lastElapsedS?: number;
  etaS: number | null;
  config: ConfigSummary | null;
  /** The user's name for the run (`<run>/label.json`, "Rename Run"); the folder keeps its name. */
  label?: string;
  /** Complete checkpoints, oldest first. */
  checkpoints?: CheckpointView[];
  /** The resolved config's settings, flattened (`lora.r` -> `16`), to tell runs of one config apart. */
  settings?: Record<string, string>;
  /** Whether the trainer process that wrote run.json is alive (a sweep's trainer between variants). */
  trainerAlive?: boolean;
  /** Every variant's overrides of the sweep this run belongs to (from its config), by variant index. */
  sweepPlan?: Record<string, unknown>[];
}

/** One request waiting in the host's queue. */
export interface QueuedView {
  id: number;
  label: string;
  configPath: string;
}

export interface IconSpec {
  id: string;
  color?: string;
}

interface NodeText {
  id: string;
  label: string;
  description: string;
  /** Plain-text lines (the tree escapes them). */
  tooltip: string[];
  contextValue: string;
  icon?: IconSpec;
  /** The row as a screen reader reads it (status word included). */
  accessibleLabel?: string;
}

export type GroupNode = NodeText & { kind: 'group'; children: RunsNode[] };
export type SweepNode = NodeText & { kind: 'sweep'; sweepId: string; configPath: string; children: RunsNode[] };
export type RunNode = NodeText & { kind: 'run'; view: RunView; children: RunsNode[] };
/** A sweep variant without a run folder: queued (its trainer is alive) or never run. */
export type VariantNode = NodeText & { kind: 'variant'; sweepId: string; variant: number; state: 'queued' | 'never run' };
export type CheckpointNode = NodeText & { kind: 'checkpoint'; runDir: string; checkpoint: CheckpointView; latest: boolean };
export type QueuedNode = NodeText & { kind: 'queued'; queuedId: number };
/** Extra rows other features hang under a run (evaluation scores...), see RunChildren. */
export type DetailNode = NodeText & { kind: 'detail'; runDir: string; children?: RunsNode[] };

export type RunsNode = GroupNode | SweepNode | RunNode | VariantNode | CheckpointNode | QueuedNode | DetailNode;

/** Adds rows under a run node (after its checkpoints); ids must be unique and stable per run. */
export type RunChildren = (view: RunView) => RunsNode[];

const ICONS: Record<RunState, IconSpec> = {
  running: { id: 'sync~spin', color: 'charts.blue' },
  completed: { id: 'pass', color: 'testing.iconPassed' },
  failed: { id: 'error', color: 'testing.iconFailed' },
  stopped: { id: 'debug-pause' },
  crashed: { id: 'warning', color: 'list.warningForeground' },
};

/**
 * viewItem context of a run: `loraRun.<state>`, `.adapter` when a merge-ready adapter exists,
 * `.variant` for a sweep's run. The manifest matches e.g. `viewItem =~ /^loraRun\.running/`.
 */
export function runContextValue(view: Pick<RunView, 'state' | 'hasAdapter'> & { run?: Pick<RunJson, 'sweep'> }): string {
  return `loraRun.${view.state}${view.hasAdapter ? '.adapter' : ''}${view.run?.sweep ? '.variant' : ''}`;
}

/** `key=value` pairs, short keys (the last segment), for a row's description. */
export function formatSettings(settings: Record<string, unknown>): string {
  return Object.entries(settings)
    .map(([key, value]) => `${key.split('.').pop()}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

/** The row's description: the status word first, progress, loss, ETA, then what sets the run apart. */
export function runDescription(view: RunView, identity = ''): string {
  const { run, state } = view;
  const progress = `${run.step}/${run.totalSteps}`;
  const loss = view.lastTrainLoss ?? run.summary?.finalTrainLoss ?? undefined;
  const lossText = loss !== undefined ? `loss ${formatLoss(loss)}` : '';
  let parts: string[];
  switch (state) {
    case 'running':
      parts = ['running', progress, lossText, view.etaS !== null ? `ETA ${formatDuration(view.etaS)}` : ''];
      break;
    case 'completed':
      parts = ['completed', progress, lossText, view.lastValLoss !== undefined ? `val ${formatLoss(view.lastValLoss)}` : ''];
      break;
    case 'failed':
      parts = [`failed at ${progress}${run.error ? `: ${run.error.code}` : ''}`];
      break;
    case 'crashed':
      parts = [`crashed at ${progress}`];
      break;
    case 'stopped':
      parts = [`stopped at ${progress}`, lossText];
      break;
  }
  return [...parts, identity].filter(Boolean).join(' · ');
}

/** Tooltip lines (plain text; the tree turns them into a MarkdownString with appendText). */
export function runTooltip(view: RunView): string[] {
  const { run, config } = view;
  const lines = [`${view.label ? `${view.label} (${run.name})` : run.name} — ${view.state}`, view.dir];
  if (run.sweep)
    lines.push(
      `sweep ${run.sweep.id}, variant ${run.sweep.variant + 1} of ${run.sweep.variants}: ${formatSettings(run.sweep.overrides) || 'base config'}`,
    );
  if (run.forkedFrom) lines.push(`forked from ${run.forkedFrom.runDir} at step ${run.forkedFrom.step}`);
  if (config) {
    lines.push(
      `method ${config.method} · r ${config.r ?? '—'} · alpha ${config.alpha ?? '—'} · targets ${config.targets.join(', ') || 'none'}`,
      `quantize ${config.quantize} · ${config.precision} · optimizer ${config.optimizer} · lr ${config.learningRate ?? '—'}`,
    );
  }
  const peak = run.summary?.peakBytes ?? view.lastPeakBytes;
  const time = run.summary?.trainTimeS ?? view.lastElapsedS;
  lines.push(`step ${run.step}/${run.totalSteps} · peak memory ${formatBytes(peak)} · time ${formatDuration(time)}`);
  lines.push(`device ${run.device?.name ?? '—'}`);
  if (run.error) lines.push(`${run.error.code}: ${run.error.message}${run.error.hint ? ` (${run.error.hint})` : ''}`);
  return lines;
}

/** A run's row; `identity` is what sets it apart from its config's other runs; `extra` rows follow its checkpoints. */
export function runNode(view: RunView, identity: string, extra: RunChildren[] = []): RunNode {
  const checkpoints = view.checkpoints ?? [];
  const last = checkpoints[checkpoints.length - 1];
  const children: RunsNode[] = [...checkpoints].reverse().map((c) => checkpointNode(view, c, c === last));
  for (const more of extra) children.push(...more(view));
  const label = view.label ?? view.run.name;
  const description = runDescription(view, identity);
  const tooltip = runTooltip(view);
  return {
    kind: 'run',
    id: `run:${view.dir}`,
    view,
    label,
    description,
    tooltip,
    contextValue: runContextValue(view),
    icon: ICONS[view.state],
    accessibleLabel: `${label}, ${view.state}. ${description}. ${tooltip.slice(1).join('. ')}`,
    children,
  };
}

function checkpointNode(view: RunView, checkpoint: CheckpointView, latest: boolean): CheckpointNode {
  const name = checkpoint.dir.split(/[\\/]/).pop() ?? '';
  return {
    kind: 'checkpoint',
    id: `checkpoint:${checkpoint.dir}`,
    runDir: view.dir,
    checkpoint,
    latest,
    label: `step ${checkpoint.step}`,
    description: latest ? 'latest checkpoint' : 'checkpoint',
    tooltip: [`${view.label ?? view.run.name}: checkpoint at step ${checkpoint.step}${latest ? ' (the latest)' : ''}`, checkpoint.dir],
    contextValue: `loraCheckpoint${latest ? '.latest' : ''}.${view.state}`,
    icon: { id: 'save' },
    accessibleLabel: `checkpoint ${name} of ${view.label ?? view.run.name}${latest ? ', latest' : ''}`,
  };
}
