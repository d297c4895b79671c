// The estimator's public API: parameters, peak memory by the engine's categories and training time of
// a resolved config before it runs. Pure TypeScript (no I/O): callers pass the parsed config.json.
import { totalOptimizerSteps } from '../config/units';
import type { LoraLabConfig } from '../config/types';
import { estimateMemory, type MemoryEstimate, type TrainingSettings } from './memory';
import { readModelShape, type ModelShape } from './model-shape';
import { countParams, type ParamEstimate } from './params';
import { estimateTime, type Calibration, type TimeEstimate, type TimeInputs } from './time';

export { ModelShapeError, readModelShape, LLAMA2_7B_CONFIG, type ModelShape } from './model-shape';
export { adaptedModules, countParams, LINEAR_TARGETS, type LinearTarget, type LoraTargets, type ParamEstimate } from './params';
export { estimateMemory, MEMORY_CATEGORIES, type MemoryCategory, type MemoryEstimate, type MemoryInputs, type BufferGroup } from './memory';
export { estimateTime, stepSeconds, trainingFlopsPerToken, workCosts, type Calibration, type TimeEstimate, type TimeInputs } from './time';
export { fitWorkCosts, type TimeFit, type TimeSample } from './time-fit';
export { stepWork, WORK_TERMS, workSeconds, type StepInputs, type StepWork, type WorkCosts, type WorkTerm } from './step-work';

export interface EstimateOptions {
  /** Which memory layout: the CPU engine (exact) or the CUDA layout (bf16 activations, CUDA context). */
  device: 'cpu' | 'cuda';
  /** Tokens of the longest example after truncation (capped at data.max_seq_length); default max_seq_length. */
  seqLen?: number;
  /** Training examples (after the validation split), for the step count when max_steps is not set. */
  trainExamples?: number;
  calibration?: Calibration | null;
  /** CPU engine threads (each packs small weights into panels of its own); default 1. */
  threads?: number;
}

export interface Estimate {
  params: ParamEstimate;
  memory: MemoryEstimate;
  time: TimeEstimate;
  /** Token rows per example the engine sees (inputs are the example minus its last token). */
  rows: number;
}

/** Token rows of the longest micro-batch: examples are truncated to max_seq_length and lose their last token as input. */
export function engineRows(config: Pick<LoraLabConfig, 'data'>, seqLen?: number): number {
  const longest = Math.min(seqLen ?? config.data.max_seq_length, config.data.max_seq_length);
  return Math.max(1, Math.floor(longest) - 1);
}

/** The estimate for one config (one sweep variant) on a checkpoint's config.json (object or its ModelShape). */
export function estimate(config: LoraLabConfig, model: unknown, options: EstimateOptions): Estimate {
  const shape: ModelShape = isShape(model) ? model : readModelShape(model);
  const { lora, train } = config;
  const params = countParams(shape, train.method, lora.r, lora);
  const rows = engineRows(config, options.seqLen);
  const memory = estimateMemory({
    ...trainingSettings(config, shape, rows),
    device: options.device,
    microBatchSize: Math.min(train.micro_batch_size, options.trainExamples ?? Infinity),
    threads: options.threads,
  });
  const steps = train.max_steps ?? (options.trainExamples !== undefined ? totalOptimizerSteps(options.trainExamples, train) : null);
  const time = estimateTime(timeInputs(config, shape, rows, steps), options.calibration);
  return { params, memory, time, rows };
}

/** What both the memory and the time model read of a config: its training settings on `shape`, `rows` token rows per example. */
function trainingSettings(config: LoraLabConfig, shape: ModelShape, rows: number): TrainingSettings {
  const { lora, train } = config;
  return {
    shape,
    method: train.method,
    precision: config.model.precision,
    quantize: train.method === 'full' ? 'none' : config.model.quantize,
    rank: lora.r,
    targets: lora,
    dropout: lora.dropout,
    optimizer: train.optimizer,
    statePrecision: train.state_precision,
    gradientCheckpointing: train.gradient_checkpointing,
    rows,
  };
}

/** The time model's inputs of a config: its training settings on `shape`, `rows` token rows per example. */
export function timeInputs(config: LoraLabConfig, shape: ModelShape, rows: number, steps: number | null): TimeInputs {
  const { train } = config;
  return {
    ...trainingSettings(config, shape, rows),
    microBatchSize: Math.min(train.micro_batch_size, train.global_batch_size),
    globalBatchSize: train.global_batch_size,
    steps,
  };
}

function isShape(model: unknown): model is ModelShape {
  return !!model && typeof model === 'object' && 'hiddenSize' in model && 'checkpointBytesPerElement' in model;
}

/** What an estimate knows of the config's data (lib/data-facts.ts computes it off the request path). */
export interface DataFacts {
  trainExamples: number;
  /** Tokens of the longest example after truncation to max_seq_length. */
  longestExample: number;
}

export type DataFactsResult = DataFacts | { error: string };

/** One config's estimate as the code lens, the trade-off view and `lora-lab estimate` all show it. */
export interface ConfigEstimate {
  device: 'cpu' | 'cuda';
  /** Where the sequence length came from: the data's longest example, or max_seq_length when the data is not known. */
  seqLenSource: 'data' | 'max_seq_length';
  /** Why the data was not used: its error, "not read (--no-data)", or "being read". */
  dataNote?: string;
  estimate?: Estimate;
  /** Why there is no estimate (checkpoint config.json unreadable or refused). */
  error?: string;
  /** Why the time is not priced although a calibration was asked for: the calibration file's error (naming the file). */
  calibrationError?: string;
}

/**
 * The one estimate path: the data's longest tokenized example and training-set size when known, else
 * max_seq_length (and train.max_steps for the step count). `readModel` returns the parsed config.json or
 * throws an Error naming the file; `calibration` may be a lookup, whose error (a calibration file it
 * cannot use) leaves the time unpriced with the reason in `calibrationError`.
 */
export function estimateConfig(
  config: LoraLabConfig,
  readModel: () => unknown,
  inputs: {
    device: 'cpu' | 'cuda';
    dataFacts: DataFactsResult | 'pending';
    calibration: Calibration | null | (() => Calibration | null);
    threads?: number;
  },
): ConfigEstimate {
  const { device, dataFacts } = inputs;
  let calibration: Calibration | null = null;
  let calibrationError: string | undefined;
  try {
    calibration = typeof inputs.calibration === 'function' ? inputs.calibration() : inputs.calibration;
  } catch (error) {
    calibrationError = error instanceof Error ? error.message : String(error);
  }
  const known = dataFacts !== 'pending' && !('error' in dataFacts);
  const base = {
    device,
    seqLenSource: known ? ('data' as const) : ('max_seq_length' as const),
    ...(calibrationError ? { calibrationError } : {}),
  };
  const dataNote = dataFacts === 'pending' ? 'being read' : 'error' in dataFacts ? dataFacts.error : undefined;
  try {
    const facts = known ? { seqLen: dataFacts.longestExample, trainExamples: dataFacts.trainExamples } : {};
    return { ...base, dataNote, estimate: estimate(config, readModel(), { device, calibration, threads: inputs.threads, ...facts }) };
  } catch (error) {
    return { ...base, dataNote, error: error instanceof Error ? error.message : String(error) };
  }
}

/** The engine layout an estimate uses for a config's device: CUDA for cuda devices, else the CPU layout. */
export function estimateLayout(device: string): 'cpu' | 'cuda' {
  return device.startsWith('cuda') ? 'cuda' : 'cpu';
}
