// The shape of the Runs tree, pure: a "Queue" group, then one group per config (newest run first)
// holding its single runs and one node per sweep, whose children are every variant in index order
// (its run, or a "queued" / "never run" row); each run lists its checkpoints and any extra rows.
import * as path from 'node:path';
import {
  formatSettings,
  runNode,
  type QueuedView,
  type RunChildren,
  type RunView,
  type RunsNode,
  type SweepNode,
  type VariantNode,
} from './runs-model';

const newestFirst = (a: RunView, b: RunView) => b.run.startedMs - a.run.startedMs || a.run.name.localeCompare(b.run.name);

/** Settings keys that never tell runs apart (or always do). */
const IGNORED_SETTINGS = /^(name|out_dir|configPath|sweep|eval)(\.|$)/;
/** At most this many differing settings in a row's description. */
const MAX_IDENTITY_KEYS = 4;

/**
 * The settings that differ between runs of one config, per run (`r=16 lr=0.001`): only keys whose
 * value is not the same in every run that knows its settings. Empty when the config has one run.
 */
export function differingSettings(views: readonly RunView[]): Map<RunView, string> {
  const out = new Map<RunView, string>();
  const known = views.filter((v) => v.settings);
  if (known.length < 2) return out;
  const keys = new Set<string>();
  for (const view of known) for (const key of Object.keys(view.settings!)) if (!IGNORED_SETTINGS.test(key)) keys.add(key);
  const differing = [...keys].filter((key) => new Set(known.map((v) => v.settings![key] ?? '(unset)')).size > 1).sort();
  for (const view of known) {
    const own: Record<string, string> = {};
    for (const key of differing.slice(0, MAX_IDENTITY_KEYS)) own[key] = view.settings![key] ?? '(unset)';
    out.set(view, formatSettings(own));
  }
  return out;
}

function stateCounts(views: RunView[]): string {
  const running = views.filter((v) => v.state === 'running').length;
  return `${views.length} run${views.length === 1 ? '' : 's'}${running ? ` · ${running} running` : ''}`;
}

function queueGroup(queued: readonly QueuedView[]): RunsNode {
  return {
    kind: 'group',
    id: 'queue',
    label: 'Queue',
    description: `${queued.length} waiting`,
    tooltip: ['Runs wait here until their device has room (setting loraLab.maxConcurrentRuns).'],
    contextValue: 'loraQueue',
    children: queued.map((q, i) => ({
      kind: 'queued',
      id: `queued:${q.id}`,
      queuedId: q.id,
      label: q.label,
      description: `queued · #${i + 1} in queue`,
      tooltip: [`${q.label} — queued (#${i + 1})`, q.configPath],
      contextValue: 'loraQueued',
      icon: { id: 'clock' },
      accessibleLabel: `${q.label}, queued, number ${i + 1} in the queue`,
    })),
  };
}

/** A sweep node and its variant rows, in variant order. */
function sweepNode(configPath: string, sweepId: string, variants: RunView[], extra: RunChildren[]): SweepNode {
  const newest = [...variants].sort(newestFirst)[0];
  const total = Math.max(newest.run.sweep?.variants ?? variants.length, ...variants.map((v) => (v.run.sweep?.variant ?? 0) + 1));
  const plan = newest.sweepPlan && newest.sweepPlan.length === total ? newest.sweepPlan : undefined;
  const live = variants.some((v) => v.state === 'running' || v.trainerAlive === true);
  const byIndex = new Map<number, RunView>();
  for (const view of [...variants].sort((a, b) => a.run.startedMs - b.run.startedMs)) byIndex.set(view.run.sweep?.variant ?? 0, view);
  const children: RunsNode[] = [];
  const counts: Record<string, number> = {};
  for (let i = 0; i < total; i++) {
    const view = byIndex.get(i);
    if (view) {
      counts[view.state] = (counts[view.state] ?? 0) + 1;
      children.push(runNode(view, formatSettings(view.run.sweep?.overrides ?? {}), extra));
      continue;
    }
    const state = live ? 'queued' : 'never run';
    counts[state] = (counts[state] ?? 0) + 1;
    const settings = plan ? formatSettings(plan[i]) : '';
    const variant: VariantNode = {
      kind: 'variant',
      id: `variant:${sweepId}:${i}`,
      sweepId,
      variant: i,
      state,
      label: `variant ${i}`,
      description: [state, settings].filter(Boolean).join(' · '),
      tooltip: [
        `variant ${i} of sweep ${sweepId} — ${state}`,
        state === 'queued'
          ? 'The sweep trains its variants one after another; this one has not started yet.'
          : 'The sweep ended before this variant started. Start the config again to train it (lora-lab train CONFIG --variant ' + i + ').',
      ],
      contextValue: `loraVariant.${state === 'queued' ? 'queued' : 'never'}`,
      icon: { id: state === 'queued' ? 'clock' : 'circle-slash' },
      accessibleLabel: `variant ${i}, ${state}${settings ? `, ${settings}` : ''}`,
    };
    children.push(variant);
  }
  const order = ['running', 'queued', 'completed', 'stopped', 'failed', 'crashed', 'never run'];
  const description = order
    .filter((state) => counts[state])
    .map((state) => `${counts[state]} ${state}`)
    .join(' · ');
  return {
    kind: 'sweep',
    id: `sweep:${configPath}:${sweepId}`,
    sweepId,
    configPath,
    label: `sweep ${sweepId}`,
    description: `${total} variants · ${description}`,
    tooltip: [`Sweep ${sweepId} of ${configPath}`, `${total} variants: ${description}`],
    contextValue: live ? 'loraSweep.live' : 'loraSweep',
    icon: live ? { id: 'sync~spin', color: 'charts.blue' } : { id: 'layers' },
    accessibleLabel: `sweep ${sweepId}, ${live ? 'running' : 'ended'}, ${total} variants: ${description}`,
    children,
  };
}

/** The tree's roots; `extra` adds rows under each run (after its checkpoints). */
export function buildRunsTree(views: readonly RunView[], queued: readonly QueuedView[] = [], extra: RunChildren[] = []): RunsNode[] {
  const roots: RunsNode[] = [];
  if (queued.length) roots.push(queueGroup(queued));
  const byConfig = new Map<string, RunView[]>();
  for (const view of [...views].sort(newestFirst)) {
    const key = view.run.configPath || '(unknown config)';
    byConfig.set(key, [...(byConfig.get(key) ?? []), view]);
  }
  for (const [configPath, runs] of byConfig) {
    const children: RunsNode[] = [];
    const sweeps = new Map<string, RunView[]>();
    const identity = differingSettings(runs.filter((v) => !v.run.sweep));
    for (const view of runs) {
      const sweepId = view.run.sweep?.id;
      if (sweepId === undefined) {
        children.push(runNode(view, identity.get(view) ?? '', extra));
        continue;
      }
      if (!sweeps.has(sweepId)) {
        sweeps.set(sweepId, []);
        children.push({ kind: 'sweep', id: `pending:${sweepId}` } as SweepNode); // its place, newest first
      }
      sweeps.get(sweepId)!.push(view);
    }
    for (const [sweepId, variants] of sweeps) {
      const at = children.findIndex((c) => c.id === `pending:${sweepId}`);
      children[at] = sweepNode(configPath, sweepId, variants, extra);
    }
    roots.push({
      kind: 'group',
      id: `config:${configPath}`,
      label: path.basename(configPath),
      description: stateCounts(runs),
      tooltip: [configPath],
      contextValue: 'loraGroup',
      children,
    });
  }
  return roots;
}
