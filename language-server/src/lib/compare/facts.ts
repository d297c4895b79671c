// What the comparison of variants, runs and scores is built from (plain JSON, so the host can post it
// to the webview and the CLI or demo can print it): a config's sweep variants with their predicted
// cost, and run folders with their settings, measured cost and evaluation scores. No I/O here.
import type { LoraLabConfig } from '../../config/types';
import type { FolderState } from '../run-folder/run-files';

export type SettingValue = string | number | boolean | null;

/** The estimator's numbers for one resolved config (the one estimate: estimateConfig). */
export interface PredictedCost {
  trainableParams: number;
  totalParams: number;
  peakBytes: number;
  /** Base weights and quantization constants. */
  weightsBytes: number;
  /** LoRA parameters, their gradients and the optimizer state. */
  trainStateBytes: number;
  activationsBytes: number;
  /** null when there is no calibration or no step count. */
  timeS: number | null;
  steps: number | null;
}

/** One sweep variant of the compared config (index null: a config without a sweep). */
export interface VariantFacts {
  index: number | null;
  /** The sweep keys' values of this variant ({ 'lora.r': 16 }). */
  overrides: Record<string, unknown>;
  settings: Record<string, SettingValue>;
  /** The resolved config's identity for run matching (see matchKey). */
  matchKey: string;
  predicted: PredictedCost | null;
  /** Why there is no prediction (an unreadable checkpoint...). */
  error?: string;
}

/** One task's score as the run's results file (or summary.eval) has it. */
export interface TaskResult {
  metric: string;
  value: number;
  stderr: number | null;
  higherIsBetter: boolean;
  n: number;
  base?: { value: number; stderr: number | null };
}

export interface RunEvalFacts {
  status: string;
  /** Relative to the run folder; null until a results file exists. */
  resultsFile: string | null;
  adapter: string;
  step: number;
  tasks: Record<string, TaskResult>;
}

/** Measured cost of a run: run.json's summary, or the last metrics line while it trains. */
export interface MeasuredCost {
  step: number;
  totalSteps: number;
  peakBytes: number | null;
  trainTimeS: number | null;
  tokens: number | null;
  tokensPerS: number | null;
  trainableParams: number | null;
  finalTrainLoss: number | null;
  finalValLoss: number | null;
}

/** One run folder as the comparison sees it. */
export interface RunFacts {
  /** Absolute path of the run folder. */
  dir: string;
  /** The run folder's name (data-run in the panel). */
  name: string;
  state: FolderState | 'unreadable';
  /** The config file the run was started from (run.json configPath). */
  configPath: string;
  startedMs: number;
  /** run.json's sweep variant, when it was started as one. */
  sweepVariant: number | null;
  /** From the run's config.yaml (null when it is missing or does not parse). */
  settings: Record<string, SettingValue> | null;
  matchKey: string | null;
  measured: MeasuredCost;
  /** The estimate of the run's own config.yaml (used when it matches no variant). */
  predicted: PredictedCost | null;
  eval: RunEvalFacts | null;
  /** Base model name (the checkpoint folder's name). */
  baseModel: string | null;
  error?: string;
}

/** Everything one panel compares. */
export interface CompareFacts {
  /** 'config': a config file's variants and its runs; 'runs': exactly the runs chosen. */
  mode: 'config' | 'runs';
  title: string;
  configPath: string | null;
  /** Empty in 'runs' mode. */
  variants: VariantFacts[];
  runs: RunFacts[];
  /** The base model's name, for the base row. */
  baseModel: string | null;
  /** Why the config cannot be compared (a YAML error...); variants are then empty. */
  configError?: string;
}

/** LoRA target switches and their labels, in display order. */
const TARGETS: [key: 'query' | 'key' | 'value' | 'projection' | 'mlp' | 'head', label: string][] = [
  ['query', 'q'],
  ['key', 'k'],
  ['value', 'v'],
  ['projection', 'o'],
  ['mlp', 'mlp'],
  ['head', 'head'],
];

function lastPathPart(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? p;
}

/** The settings the panel compares, by dotted key (targets as one 'q,v,mlp' value; paths by their last part). */
export function settingsOf(config: LoraLabConfig): Record<string, SettingValue> {
  const { model, lora, data, train } = config;
  return {
    'model.checkpoint': lastPathPart(model.checkpoint),
    'model.precision': model.precision,
    'model.quantize': model.quantize,
    'train.method': train.method,
    'lora.r': lora.r,
    'lora.alpha': lora.alpha,
    'lora.dropout': lora.dropout,
    'lora.targets': TARGETS.filter(([key]) => lora[key])
      .map(([, label]) => label)
      .join(','),
    'lora.rslora': lora.rslora,
    'data.path': lastPathPart(data.path),
    'data.max_seq_length': data.max_seq_length,
    'data.prompt_style': data.prompt_style,
    'data.mask_prompt': data.mask_prompt,
    'train.optimizer': train.optimizer,
    'train.learning_rate': train.learning_rate,
    'train.lr_scheduler': train.lr_scheduler,
    'train.warmup_steps': train.warmup_steps,
    'train.weight_decay': train.weight_decay,
    'train.epochs': train.epochs,
    'train.max_steps': train.max_steps,
    'train.global_batch_size': train.global_batch_size,
    'train.micro_batch_size': train.micro_batch_size,
    'train.gradient_checkpointing': train.gradient_checkpointing,
    'train.seed': train.seed,
  };
}

/** Short column labels of the settings. */
export const SETTING_LABELS: Record<string, string> = {
  'model.checkpoint': 'model',
  'model.precision': 'precision',
  'model.quantize': 'quantize',
  'train.method': 'method',
  'lora.r': 'r',
  'lora.alpha': 'alpha',
  'lora.dropout': 'dropout',
  'lora.targets': 'targets',
  'lora.rslora': 'rslora',
  'data.path': 'data',
  'data.max_seq_length': 'max seq',
  'data.prompt_style': 'prompt',
  'data.mask_prompt': 'mask prompt',
  'train.optimizer': 'optimizer',
  'train.learning_rate': 'lr',
  'train.lr_scheduler': 'scheduler',
  'train.warmup_steps': 'warmup',
  'train.weight_decay': 'weight decay',
  'train.epochs': 'epochs',
  'train.max_steps': 'max steps',
  'train.global_batch_size': 'batch',
  'train.micro_batch_size': 'micro batch',
  'train.gradient_checkpointing': 'grad ckpt',
  'train.seed': 'seed',
};

/** Keys that do not change what is trained: a run still belongs to its variant when only these differ. */
const IGNORED_TOP = new Set(['name', 'out_dir', 'device', 'eval', 'configPath', 'sweep']);
const IGNORED_TRAIN = new Set(['log_interval', 'val_interval', 'save_interval', 'keep_checkpoints']);

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  return JSON.stringify(value ?? null);
}

/**
 * A resolved config's identity for matching runs to variants: everything but the name, out_dir,
 * device, eval and the logging / validation / saving intervals, with keys in a stable order.
 */
export function matchKey(config: LoraLabConfig): string {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (IGNORED_TOP.has(key)) continue;
    if (key === 'train') {
      kept.train = Object.fromEntries(Object.entries(value as object).filter(([k]) => !IGNORED_TRAIN.has(k)));
    } else kept[key] = value;
  }
  return stableJson(kept);
}
