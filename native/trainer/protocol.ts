// The one typed protocol between the extension host and the trainer child process (IPC over
// `process.send`); the run-folder file shapes (run.json, metrics.jsonl) are re-exported from
// language-server/src/lib/run-folder/run-files.ts, their home beside the one run-folder reader.
// The same events are printed as JSON lines by `lora-lab train --json`.
// CONTRACT: bump PROTOCOL_VERSION on any incompatible change.

export {
  PROTOCOL_VERSION,
  HEARTBEAT_INTERVAL_S,
  HEARTBEAT_STALE_S,
  type RunStatus,
  type RunState,
  type MemoryCategory,
  type BytesByCategory,
  type RunError,
  type RunSummary,
  type RunJson,
  type MetricsLine,
  type RunSession,
  type ResumeOverride,
} from '../../language-server/src/lib/run-folder/run-files';
import type { MetricsLine, RunError, RunSummary } from '../../language-server/src/lib/run-folder/run-files';

/**
 * Trainer -> host. The host forks `cli.js train CONFIG --ipc [--variant i] [--resume RUN_DIR]`
 * (cwd: the config's folder; env LORALAB_THREADS=n when the loraLab.threads setting is > 0) with
 * stdout/stderr going to a host-owned file (it cannot name <run>/train.log before the trainer
 * chose the folder): the trainer writes <run>/train.log itself, and sends 'log' events.
 */
export type TrainerEvent =
  /** The run folder exists and training is about to start. */
  | { type: 'started'; runDir: string; name: string; totalSteps: number; pid: number }
  /** One optimizer step (coalesced: at most ~10 per second). */
  | { type: 'step'; runDir: string; line: Extract<MetricsLine, { kind: 'train' }>; totalSteps: number; etaS: number | null }
  /** A validation pass finished. */
  | { type: 'val'; runDir: string; line: Extract<MetricsLine, { kind: 'val' }> }
  /** A checkpoint is complete on disk. */
  | { type: 'checkpoint'; runDir: string; step: number; path: string }
  /** A log line (also written to train.log). */
  | { type: 'log'; runDir: string; level: 'debug' | 'info' | 'warn' | 'error'; message: string }
  /** A stop request was received; the run stops at the next safe point. */
  | { type: 'stopping'; runDir: string; expectedS: number }
  /** The run stopped on request after saving a checkpoint. */
  | { type: 'stopped'; runDir: string; step: number }
  /** Training completed. */
  | { type: 'done'; runDir: string; summary: RunSummary }
  /** Training failed; the last good checkpoint is intact. */
  | { type: 'failed'; runDir: string; error: RunError };

/** Host -> trainer. */
export type HostMessage =
  /** Finish the current step, save a checkpoint, mark stopped, exit 0. */
  { type: 'stop' };

export function isTrainerEvent(value: unknown): value is TrainerEvent {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return (
    typeof type === 'string' &&
    ['started', 'step', 'val', 'checkpoint', 'log', 'stopping', 'stopped', 'done', 'failed'].includes(type)
  );
}

export function isHostMessage(value: unknown): value is HostMessage {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'stop';
}
