// The one typed protocol between the extension host and the trainer child process (IPC over
// `process.send`), and the shapes of the run-folder files both read: run.json and metrics.jsonl.
// The same events are printed as JSON lines by `lora-lab train --json`.
// CONTRACT: bump PROTOCOL_VERSION on any incompatible change.

export const PROTOCOL_VERSION = 1;

/** Seconds between heartbeat updates of run.json while a trainer is alive. */
export const HEARTBEAT_INTERVAL_S = 5;
/** A run whose heartbeat is older than this and has no final status is shown as crashed. */
export const HEARTBEAT_STALE_S = 30;

export type RunStatus = 'running' | 'completed' | 'failed' | 'stopped';
/** What a reader derives: 'crashed' is never written, it comes from a stale heartbeat. */
export type RunState = RunStatus | 'crashed';

export type MemoryCategory =
  | 'weights'
  | 'quant_constants'
  | 'lora_params'
  | 'grads'
  | 'optimizer_state'
  | 'activations'
  | 'logits'
  | 'workspace'
  | 'kv_cache';

export type BytesByCategory = Partial<Record<MemoryCategory, number>>;

export interface RunError {
  code: string;
  message: string;
  hint?: string;
}

export interface RunSummary {
  trainTimeS: number;
  tokens: number;
  tokensPerS: number;
  peakBytes: number;
  peakBytesByCategory: BytesByCategory;
  trainableParams: number;
  totalParams: number;
  finalTrainLoss: number | null;
  finalValLoss: number | null;
}

/** `<run>/run.json`, rewritten atomically by the trainer (temp + rename); never by the host. */
export interface RunJson {
  protocolVersion: number;
  name: string;
  status: RunStatus;
  configPath: string;
  configHash: string;
  sweep?: { id: string; variant: number; variants: number; overrides: Record<string, unknown> };
  overrides: Record<string, unknown>;
  /** model.checkpoint was a Hub repo id: the repo and the commit of the cache snapshot the run read. */
  hubModel?: { repo: string; commit: string };
  pid: number;
  /**
   * Process start time (ms since epoch) so a reused pid is not mistaken for the trainer. The host
   * compares it with /proc/<pid>/stat (btime + starttime) within 5 s, so on Linux take it from
   * there too (or Date.now() - process.uptime() * 1000, which is close enough).
   */
  processStartMs: number;
  heartbeatMs: number;
  heartbeatIntervalS: number;
  engineVersion: string;
  /** memoryBytes (added for the dashboard's memory chart): device memory, or RAM for the CPU. */
  device: { kind: 'cpu' | 'cuda'; name: string; computePath: string; memoryBytes?: number };
  step: number;
  totalSteps: number;
  startedMs: number;
  endedMs?: number;
  error?: RunError;
  summary?: RunSummary;
  /**
   * Written when the trainer receives a stop (IPC 'stop' or SIGTERM, which a host that reattached
   * after a window reload sends): the file-side twin of the 'stopping' event, so such a host
   * waits `expectedS` before it escalates to SIGKILL.
   */
  stopping?: { receivedMs: number; expectedS: number };
}

/** One line of `<run>/metrics.jsonl`. */
export type MetricsLine =
  | {
      kind: 'train';
      step: number;
      epoch: number;
      loss: number;
      lr: number;
      grad_norm: number;
      tokens: number;
      tokens_per_s: number;
      peak_bytes: number;
      elapsed_s: number;
    }
  | { kind: 'val'; step: number; loss: number };

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
