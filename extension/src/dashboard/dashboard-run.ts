// The dashboard header's data for one run, pure: run.json as the store sees it plus what only the
// host knows (a trainer it forked can be stopped; the trainer's own ETA while it sends steps), and
// the snapshot that opens a dashboard with all of it at once.
import type { ActiveRun } from '../run-manager';
import type { RunView } from '../runs-model';
import type { DashboardRun, SnapshotMessage } from '../../../webview/src/protocol';
import type { MetricsLine } from '../../../native/trainer/protocol';

export function toDashboardRun(view: RunView, active: ActiveRun | undefined): DashboardRun {
  const { run } = view;
  const stoppable = view.state === 'running' && active !== undefined && !active.final;
  return {
    runDir: view.dir,
    name: run.name,
    state: view.state,
    step: Math.max(run.step, active?.step ?? 0),
    totalSteps: run.totalSteps,
    startedMs: run.startedMs,
    endedMs: run.endedMs,
    etaS: view.state === 'running' ? (active?.etaS ?? view.etaS) : null,
    device: { kind: run.device?.kind ?? 'cpu', name: run.device?.name ?? '', memoryBytes: run.device?.memoryBytes },
    configPath: run.configPath,
    config: view.config,
    error: run.error,
    summary: run.summary,
    canStop: stoppable,
    canResume: view.state === 'stopped' || view.state === 'failed' || view.state === 'crashed',
  };
}

/** The dashboard's first message: the header (null before the store lists the folder) and every metrics line read so far. */
export function dashboardSnapshot(view: RunView | undefined, active: ActiveRun | undefined, lines: MetricsLine[]): SnapshotMessage {
  return { type: 'snapshot', run: view ? toDashboardRun(view, active) : null, lines };
}
