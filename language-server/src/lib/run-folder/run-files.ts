// The run-folder file protocol: the shapes of <run>/run.json and <run>/metrics.jsonl, which the
// trainer writes (native/trainer/run) and the CLI (`lora-lab runs`) and the extension read through
// ./reader.ts. It lives here, beside its one reader, because language-server/ imports nothing of
// ours; native/trainer/protocol.ts re-exports it next to the IPC events.
// CONTRACT: bump PROTOCOL_VERSION on any incompatible change.

export const PROTOCOL_VERSION = 1;

/** Seconds between heartbeat updates of run.json while a trainer is alive. */
export const HEARTBEAT_INTERVAL_S = 5;
/** A run whose heartbeat is older than this and has no final status is shown as crashed. */
export const HEARTBEAT_STALE_S = 30;

export type RunStatus = 'running' | 'completed' | 'failed' | 'stopped';
/** What a reader derives: 'crashed' is never written, it comes from a stale heartbeat. */
export type RunState = RunStatus | 'crashed';
/** A folder with config.yaml but no readable run.json: a trainer killed before it wrote one. */
export type FolderState = RunState | 'incomplete';

export type MemoryCategory =
  'weights' | 'quant_constants' | 'lora_params' | 'grads' | 'optimizer_state' | 'activations' | 'logits' | 'workspace' | 'kv_cache';

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
  /** The step of the validation pass that gave finalValLoss (null when none completed). */
  finalValStep?: number | null;
  /** The newest evaluation of this run (after training, or "Evaluate Run" later). */
  eval?: EvalSummary;
}

export type EvalStatus = 'running' | 'completed' | 'stopped' | 'failed';

/** One task's headline metric, as its results file has it (e.g. `acc,none` and `acc_stderr,none`). */
export interface TaskScore {
  /** Metric name as results files spell it: acc, mc2, exact_match, contains, perplexity... */
  metric: string;
  value: number;
  /** null where lm-eval writes "N/A". */
  stderr: number | null;
  higherIsBetter: boolean;
  /** Documents scored. */
  n: number;
  /** The base model's value of the same task and settings, when it was evaluated (else absent). */
  base?: { value: number; stderr: number | null };
}

/**
 * `summary.eval`: the newest evaluation of the run. Readers (dashboard, Runs view, comparison panel,
 * demo) take scores from here and from the results files it names, never from anywhere else.
 */
export interface EvalSummary {
  status: EvalStatus;
  /** The newest finished results file, relative to the run folder: `eval/results_<ISO time>.json` (null until one is written). */
  resultsFile: string | null;
  /** The base model's results file for the same tasks and settings, relative to the run folder (`eval/base_results_<ISO time>.json`). */
  baseResultsFile: string | null;
  /** What was evaluated: 'final' (the run's adapter) or a checkpoint folder relative to the run (`checkpoints/step-000200`). */
  adapter: string;
  /** The training step of that adapter. */
  step: number;
  profile: string;
  limit: number | null;
  numFewshot: number;
  /** Per task name. */
  tasks: Record<string, TaskScore>;
  startedMs: number;
  endedMs?: number;
  error?: RunError;
}

/**
 * One trainer process's part of a run (a start, then each --resume). The summary combines them:
 * time and tokens are sums (carried in the checkpoint cursor), peak memory is the maximum.
 */
export interface RunSession {
  pid: number;
  startedMs: number;
  endedMs: number;
  fromStep: number;
  toStep: number;
  status: Exclude<RunStatus, 'running'>;
  trainTimeS: number;
  tokens: number;
  peakBytes: number;
}

/** Config values changed by `--resume RUN --set key=value`, and the step they took effect at. */
export interface ResumeOverride {
  step: number;
  set: Record<string, unknown>;
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
  /** Earlier sessions of this run (the current one is added when it ends). */
  sessions?: RunSession[];
  /** Overrides given on resume, oldest first. */
  resumeOverrides?: ResumeOverride[];
  /**
   * Set on a run started by resuming another run from a checkpoint that was not its latest
   * (`train --resume RUN --checkpoint checkpoints/step-N`): the original run folder, untouched, that
   * checkpoint (relative to it) and its step. The fork's metrics.jsonl starts with the original's lines up to that step.
   */
  forkedFrom?: { runDir: string; checkpoint: string; step: number };
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
      /** Bytes in use after the step (weights, adapter, optimizer state; activations freed); absent in older runs. */
      current_bytes?: number;
      elapsed_s: number;
    }
  | { kind: 'val'; step: number; loss: number }
  /**
   * One task's score of the adapter at `step`: after training (final: true), or every eval.interval
   * steps with a small limit (final: false; the dashboard draws these as curves).
   */
  | {
      kind: 'eval';
      step: number;
      task: string;
      metric: string;
      value: number;
      stderr: number | null;
      limit: number | null;
      final: boolean;
      /** The base model's value, when known. */
      base?: number | null;
    };
