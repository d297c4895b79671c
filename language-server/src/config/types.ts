// Shared types of the config language: problems with positions, the file-system interface the
// pure modules read through, and the resolved config object (keys mirror the YAML file 1:1).

export type Severity = 'error' | 'warning' | 'information' | 'hint';

/** 0-based, like LSP. */
export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export const ZERO_RANGE: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

/** Stable problem codes: the language server keys quick fixes on them. */
export type ProblemCode =
  | 'yaml-syntax'
  | 'unknown-key'
  | 'wrong-type'
  | 'out-of-range'
  | 'unknown-enum-value'
  | 'batch-size-multiple'
  | 'checkpoint-missing'
  | 'checkpoint-not-folder'
  | 'checkpoint-incomplete'
  | 'checkpoint-not-downloaded'
  | 'checkpoint-weights-missing'
  | 'checkpoint-pickle-only'
  | 'checkpoint-config-unreadable'
  | 'data-path-missing'
  | 'quantize-on-cpu'
  | 'alpha-not-2r'
  | 'rank-exceeds-dimension'
  | 'no-lora-target'
  | 'epochs-over-one'
  | 'quantize-with-full'
  | 'fp16-on-cpu'
  | 'precision-on-cuda'
  | 'bf16-mixed-on-cpu'
  | 'data-format-mismatch'
  | 'warmup-exceeds-steps'
  | 'sweep-unknown-key'
  | 'sweep-bad-expression'
  | 'sweep-bad-value'
  | 'sweep-too-large'
  | 'config-too-large'
  | 'mask-prompt-empty-responses'
  | 'path-outside-workspace'
  | 'path-in-model-cache'
  | 'eval-task-invalid';

export interface Problem {
  severity: Severity;
  message: string;
  /** Dotted key path ('lora.r', 'sweep.lora.alpha'); '' for the whole document. */
  key: string;
  range: Range;
  code: ProblemCode;
  /** Quick-fix data: e.g. { suggestion: 'lora.alpha' } or { replacement: 16 }. */
  data?: Record<string, unknown>;
}

/** File access for the pure modules; language-server/src/config/node-fs.ts implements it on Node. */
export interface FileSystem {
  exists(path: string): boolean;
  isDirectory(path: string): boolean;
  /** UTF-8 text; throws when unreadable. */
  readFile(path: string): string;
  /** Entry names (not paths); throws when not a folder. */
  listDir(path: string): string[];
}

export type Precision = 'bf16-true' | 'bf16-mixed' | '16-true' | '32-true';
export type Quantize = 'none' | 'bnb.nf4' | 'bnb.nf4-dq' | 'bnb.fp4' | 'bnb.fp4-dq';
export type DataFormat = 'alpaca' | 'jsonl' | 'csv';
export type PromptStyle = 'alpaca' | 'plain' | 'chat';

/** One sweep entry as written: literal values and '=expr' strings. */
export interface SweepEntry {
  key: string;
  values: unknown[];
}

/**
 * The config with defaults applied. Keys keep the YAML file's snake_case names so a dotted key
 * ('train.max_steps') addresses the same field in the file, in --set and in sweeps. Path values
 * (model.checkpoint, data.path, eval.data_dir, out_dir) are absolute, resolved against the
 * config file's folder.
 */
export interface LoraLabConfig {
  name: string;
  model: { checkpoint: string; precision: Precision; quantize: Quantize };
  lora: {
    r: number;
    alpha: number;
    dropout: number;
    query: boolean;
    key: boolean;
    value: boolean;
    projection: boolean;
    mlp: boolean;
    head: boolean;
    rslora: boolean;
  };
  data: {
    format: DataFormat;
    path: string;
    prompt_style: PromptStyle;
    mask_prompt: boolean;
    val_split_fraction: number;
    max_seq_length: number;
    seed: number;
  };
  train: {
    method: 'lora' | 'full';
    global_batch_size: number;
    micro_batch_size: number;
    epochs: number;
    max_steps: number | null;
    optimizer: 'adamw' | 'sgd';
    learning_rate: number;
    weight_decay: number;
    betas: [number, number];
    momentum: number;
    lr_scheduler: 'cosine' | 'constant' | 'linear';
    warmup_steps: number;
    min_lr: number;
    grad_clip: number | null;
    gradient_checkpointing: boolean;
    seed: number;
    log_interval: number;
    val_interval: number;
    save_interval: number;
    keep_checkpoints: number;
  };
  device: string;
  eval: {
    after_train: boolean;
    tasks: string[];
    data_dir: string;
    num_fewshot: number;
    batch_size: number;
    limit: number | null;
    profile: 'lm-eval' | 'article';
    include_base: boolean;
    interval: number | null;
    interval_limit: number;
  };
  out_dir: string;
  /** Empty when the file has no sweep. */
  sweep: SweepEntry[];
  /** Absolute path of the config file (paths above were resolved against its folder). */
  configPath: string;
}

/** Thrown by loadConfigFile, applyOverrides and selectVariant; problems carry the details. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: Problem[] = [],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}
