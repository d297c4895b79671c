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
  type EvalSummary,
  type EvalStatus,
  type TaskScore,
} from '../../language-server/src/lib/run-folder/run-files';
import type { EvalSummary, MetricsLine, RunError, RunSummary } from '../../language-server/src/lib/run-folder/run-files';

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
  /**
   * Finish the current step, save a checkpoint, mark stopped, exit 0. With `scope: 'variant'` (a
   * sweep's "Stop Variant") only the run in `runDir` stops, if it is the one training, and the
   * trainer goes on with the sweep's next variant; SIGUSR2 is the same for a reattached host.
   */
  { type: 'stop'; scope?: 'variant'; runDir?: string };

export function isTrainerEvent(value: unknown): value is TrainerEvent {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return (
    typeof type === 'string' && ['started', 'step', 'val', 'checkpoint', 'log', 'stopping', 'stopped', 'done', 'failed'].includes(type)
  );
}

export function isHostMessage(value: unknown): value is HostMessage {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'stop';
}

// ---- `lora-lab inspect-data CONFIG --ipc`: the dataset panel's child process -------------------

/** One rejected row of a dataset: where it is and why the trainer refuses it. */
export interface DatasetIssue {
  severity: 'error' | 'warning';
  file: string;
  /** 1-based line. */
  line: number;
  /** 0-based record index, when the issue belongs to one record. */
  record?: number;
  field?: string;
  message: string;
}

/** One record as the trainer sees it: the prompt-style rendering cut at token boundaries. */
export interface DatasetSample {
  /** 0-based record index in the file. */
  record: number;
  /** 1-based line where the record starts. */
  line: number;
  split: 'train' | 'validation';
  /** Decoded text of each token, in order (concatenated: the rendered, tokenized example). */
  pieces: string[];
  ids: number[];
  /** Leading tokens that take no loss (mask_prompt). */
  maskedTokens: number;
  /** Prompt tokens (masked or not). */
  promptTokens: number;
  truncated: boolean;
}

/** What the dataset panel shows; `stats` is the same DataStats as `lora-lab inspect-data --json`. */
export interface DatasetReport {
  config: string;
  dataset: { file: string; format: string; records: number; train: number; validation: number };
  tokenizer: { checkpoint: string; vocabSize: number; bos: string | null; eos: string };
  promptStyle: string;
  maskPrompt: boolean;
  maxSeqLength: number;
  stats: {
    examples: number;
    totalTokens: number;
    lengths: { min: number; max: number; mean: number; median: number; p90: number; p99: number };
    histogram: { from: number; to: number; count: number }[];
    truncated: number;
    truncatedShare: number;
    maskedTokens: number;
    maskedShare: number;
    prefixViolations: number;
    emptyTargets: number;
  };
  /** Prompt tokens (what mask_prompt masks) over all tokens, whether or not masking is on. */
  promptShare: number;
  /** Rows the trainer refuses (malformed JSON, missing fields): it will not train until they are fixed. */
  rejected: DatasetIssue[];
  warnings: DatasetIssue[];
  /** Records rendered for the sample browser (a spread over the file: first, median, longest, ...). */
  samples: DatasetSample[];
}

export type InspectPhase = 'reading' | 'tokenizing' | 'rendering';

/** Child -> host over IPC while `inspect-data --ipc` works. */
export type InspectMessage =
  | { type: 'inspect-progress'; phase: InspectPhase; done: number; total: number }
  | { type: 'inspect-report'; report: DatasetReport }
  | { type: 'inspect-error'; message: string };

export function isInspectMessage(value: unknown): value is InspectMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'inspect-progress' || type === 'inspect-report' || type === 'inspect-error';
}

/**
 * Child -> host over IPC while `lora-lab eval --run DIR --ipc` evaluates a run (the host's "Evaluate
 * Run"). The host cancels with the IPC message `{ type: 'stop' }` (or SIGTERM); the child then
 * writes summary.eval with status 'stopped' and exits 0. Errors of the evaluation never change the
 * run's own status.
 */
export type EvalMessage =
  | { type: 'eval-progress'; task: string | null; done: number; total: number; elapsedS: number }
  | { type: 'eval-done'; runDir: string; summary: EvalSummary }
  | { type: 'eval-error'; code: string; message: string; hint?: string };

export function isEvalMessage(value: unknown): value is EvalMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'eval-progress' || type === 'eval-done' || type === 'eval-error';
}
