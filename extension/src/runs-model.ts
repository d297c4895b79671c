// The Runs explorer as pure data: run views and the queue -> groups (config, sweep) and items with
// labels, descriptions, tooltips, icons and the viewItem contexts the manifest's `when` clauses test.
import * as path from 'node:path';
import type { RunJson, RunState } from '../../native/trainer/protocol';
import { formatBytes, formatDuration, formatLoss } from '../../language-server/src/lib/format';
import type { ConfigSummary } from '../../webview/src/protocol';
import type { ScoreNode } from './eval/score-nodes';

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

export type RunsNode =
  | { kind: 'group'; id: string; label: string; description: string; tooltip: string; children: RunsNode[] }
  | { kind: 'run'; id: string; view: RunView; label: string; description: string; tooltip: string[]; contextValue: string; icon: IconSpec }
  | {
      kind: 'queued';
      id: string;
      queuedId: number;
      label: string;
      description: string;
      tooltip: string[];
      contextValue: string;
      icon: IconSpec;
    }
  /** A run's evaluation score or status (extension/src/eval/score-nodes.ts). */
  | ScoreNode;

const ICONS: Record<RunState, IconSpec> = {
  running: { id: 'sync~spin', color: 'charts.blue' },
  completed: { id: 'pass', color: 'testing.iconPassed' },
  failed: { id: 'error', color: 'testing.iconFailed' },
  stopped: { id: 'debug-pause' },
  crashed: { id: 'warning', color: 'list.warningForeground' },
};

/**
 * viewItem context of a run: `loraRun.<state>` plus `.adapter` when a merged-ready adapter exists.
 * The manifest matches e.g. `viewItem =~ /^loraRun\.running/` (stop) or `/\.adapter/` (merge).
 */
export function runContextValue(view: Pick<RunView, 'state' | 'hasAdapter'>): string {
  return `loraRun.${view.state}${view.hasAdapter ? '.adapter' : ''}`;
}

export function runDescription(view: RunView): string {
  const { run, state } = view;
  const progress = `${run.step}/${run.totalSteps}`;
  const loss = view.lastTrainLoss ?? run.summary?.finalTrainLoss ?? undefined;
  switch (state) {
    case 'running':
      return [progress, loss !== undefined ? `loss ${formatLoss(loss)}` : '', view.etaS !== null ? `ETA ${formatDuration(view.etaS)}` : '']
        .filter(Boolean)
        .join(' · ');
    case 'completed':
      return [
        progress,
        loss !== undefined ? `loss ${formatLoss(loss)}` : '',
        view.lastValLoss !== undefined ? `val ${formatLoss(view.lastValLoss)}` : '',
      ]
        .filter(Boolean)
        .join(' · ');
    case 'failed':
      return `failed at ${progress}${run.error ? `: ${run.error.code}` : ''}`;
    case 'crashed':
      return `crashed at ${progress}`;
    case 'stopped':
      return `stopped at ${progress}${loss !== undefined ? ` · loss ${formatLoss(loss)}` : ''}`;
  }
}

/** Tooltip lines (plain text; the tree turns them into a MarkdownString with appendText). */
export function runTooltip(view: RunView): string[] {
  const { run, config } = view;
  const lines = [`${run.name} — ${view.state}`, view.dir];
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

function runNode(view: RunView): RunsNode {
  return {
    kind: 'run',
    id: `run:${view.dir}`,
    view,
    label: view.run.name,
    description: runDescription(view),
    tooltip: runTooltip(view),
    contextValue: runContextValue(view),
    icon: ICONS[view.state],
  };
}

const newestFirst = (a: RunView, b: RunView) => b.run.startedMs - a.run.startedMs || a.run.name.localeCompare(b.run.name);

function stateCounts(views: RunView[]): string {
  const running = views.filter((v) => v.state === 'running').length;
  return `${views.length} run${views.length === 1 ? '' : 's'}${running ? ` · ${running} running` : ''}`;
}

/**
 * The tree: a "Queue" group first (in start order), then one group per config (newest run first),
 * and inside it one group per sweep (its variants newest first) beside the single runs.
 */
export function buildRunsTree(views: readonly RunView[], queued: readonly QueuedView[] = []): RunsNode[] {
  const roots: RunsNode[] = [];
  if (queued.length) {
    roots.push({
      kind: 'group',
      id: 'queue',
      label: 'Queue',
      description: `${queued.length} waiting`,
      tooltip: 'Runs wait here until their device has room (setting loraLab.maxConcurrentRuns).',
      children: queued.map((q, i) => ({
        kind: 'queued',
        id: `queued:${q.id}`,
        queuedId: q.id,
        label: q.label,
        description: `#${i + 1} in queue`,
        tooltip: [`${q.label} — queued (#${i + 1})`, q.configPath],
        contextValue: 'loraQueued',
        icon: { id: 'clock' },
      })),
    });
  }
  const byConfig = new Map<string, RunView[]>();
  for (const view of [...views].sort(newestFirst)) {
    const key = view.run.configPath || '(unknown config)';
    byConfig.set(key, [...(byConfig.get(key) ?? []), view]);
  }
  for (const [configPath, runs] of byConfig) {
    const children: RunsNode[] = [];
    const sweeps = new Map<string, { node: Extract<RunsNode, { kind: 'group' }>; variants: RunView[] }>();
    for (const view of runs) {
      const sweepId = view.run.sweep?.id;
      if (sweepId === undefined) {
        children.push(runNode(view));
        continue;
      }
      let sweep = sweeps.get(sweepId);
      if (!sweep) {
        const node = {
          kind: 'group' as const,
          id: `sweep:${configPath}:${sweepId}`,
          label: `sweep ${sweepId}`,
          description: '',
          tooltip: `Sweep ${sweepId} of ${configPath}`,
          children: [],
        };
        sweep = { node, variants: [] };
        sweeps.set(sweepId, sweep);
        children.push(node);
      }
      sweep.variants.push(view);
    }
    for (const { node, variants } of sweeps.values()) {
      const total = variants[0].run.sweep?.variants ?? variants.length;
      node.children = variants.map(runNode);
      node.description = `${variants.length}/${total} variants · ${stateCounts(variants)}`;
    }
    roots.push({
      kind: 'group',
      id: `config:${configPath}`,
      label: path.basename(configPath),
      description: stateCounts(runs),
      tooltip: configPath,
      children,
    });
  }
  return roots;
}
