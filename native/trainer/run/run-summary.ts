// The summary of a run across all its sessions (a start, then each --resume): time and tokens
// come from the checkpoint cursor (cumulative), peak memory is the maximum over every session and
// the metrics lines, and each session is recorded in run.json's `sessions`.
import type { MetricsLine, RunJson, RunSession, RunStatus, RunSummary } from '../protocol';
import type { TrainerCursor } from './checkpoints';

export interface SessionStart {
  pid: number;
  startedMs: number;
  fromStep: number;
  elapsedBeforeS: number;
  tokensBefore: number;
}

export function sessionRecord(
  start: SessionStart,
  cursor: TrainerCursor,
  status: Exclude<RunStatus, 'running'>,
  peakBytes: number,
  nowMs = Date.now(),
): RunSession {
  return {
    pid: start.pid,
    startedMs: start.startedMs,
    endedMs: nowMs,
    fromStep: start.fromStep,
    toStep: cursor.step,
    status,
    trainTimeS: Math.max(0, cursor.elapsedS - start.elapsedBeforeS),
    tokens: Math.max(0, cursor.tokensSeen - start.tokensBefore),
    peakBytes,
  };
}

/** The largest peak of earlier sessions, the previous summary and the kept metrics lines. */
export function previousPeakBytes(previous: RunJson | null, metrics: readonly MetricsLine[]): number {
  let peak = previous?.summary?.peakBytes ?? 0;
  for (const s of previous?.sessions ?? []) peak = Math.max(peak, s.peakBytes);
  for (const line of metrics) if (line.kind === 'train') peak = Math.max(peak, line.peak_bytes);
  return peak;
}

export function mergedSummary(
  cursor: TrainerCursor,
  session: { peakBytes: number; peakBytesByCategory: RunSummary['peakBytesByCategory'] },
  previous: RunJson | null,
  earlierPeak: number,
  counts: { trainable: number; total: number },
): RunSummary {
  const thisSessionIsPeak = session.peakBytes >= earlierPeak;
  return {
    trainTimeS: cursor.elapsedS,
    tokens: cursor.tokensSeen,
    tokensPerS: cursor.tokensSeen / Math.max(1e-9, cursor.elapsedS),
    peakBytes: Math.max(session.peakBytes, earlierPeak),
    peakBytesByCategory: thisSessionIsPeak || !previous?.summary ? session.peakBytesByCategory : previous.summary.peakBytesByCategory,
    trainableParams: counts.trainable,
    totalParams: counts.total,
    finalTrainLoss: cursor.lastTrainLoss,
    finalValLoss: cursor.lastValLoss,
    finalValStep: cursor.lastValLoss === null ? null : (cursor.lastValStep ?? null),
    // the newest evaluation stays until a newer one replaces it (it names its own adapter and step)
    ...(previous?.summary?.eval ? { eval: previous.summary.eval } : {}),
  };
}
