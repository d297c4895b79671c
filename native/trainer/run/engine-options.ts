// The one builder of the native engine's options: a resolved config mapped onto every field (the
// binding requires them all; EngineOptions in C++ has no defaults), so the trainer, generate, demo,
// calibrate and the tiny-model pretraining agree, and the config schema is the one source of defaults.
// Callers without a .lora.yaml start from configWith(): the schema's defaults plus the values they set.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { keySpec } from '../../../language-server/src/config/schema';
import { resolveConfig } from '../../../language-server/src/config/resolve';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import { checkValue } from '../../../language-server/src/config/values';
import type { DeviceReport, EngineOptions } from '../addon';

/** AdamW's epsilon: torch's default, as in the reference article's runs (not a config key). */
export const ADAMW_EPS = 1e-8;

/** Threads: LORALAB_THREADS (the extension's loraLab.threads setting) when > 0, else every core. */
export function threadCount(env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env.LORALAB_THREADS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : availableParallelism();
}

/** The checkpoint's architecture from its config.json (null when it cannot be read). */
function checkpointArchitecture(config: LoraLabConfig): string | null {
  try {
    const json = JSON.parse(readFileSync(join(config.model.checkpoint, 'config.json'), 'utf8')) as Record<string, unknown>;
    if (Array.isArray(json.architectures) && typeof json.architectures[0] === 'string') return json.architectures[0];
    return json.model_type === 'phi' ? 'PhiForCausalLM' : json.model_type === 'falcon' ? 'FalconForCausalLM' : null;
  } catch {
    return null;
  }
}

/** Why `device: auto` does not pick the CUDA engine for this config (null when it does): it computes in bf16
 * only; Phi and Falcon run on CUDA with an explicit `device: cuda` (native/cuda/parallel_block_cuda.h), but
 * auto keeps them on the CPU until that path has been verified on a GPU (test/device/run.sh). */
export function cudaRefusal(config: LoraLabConfig): string | null {
  if (config.model.precision !== 'bf16-true' && config.model.precision !== 'bf16-mixed')
    return `model.precision '${config.model.precision}' is not implemented on CUDA`;
  const architecture = checkpointArchitecture(config);
  if (architecture === 'PhiForCausalLM' || architecture === 'FalconForCausalLM')
    return `${architecture} on CUDA is not yet verified on a GPU (device: auto runs it on the CPU; set device: cuda to use it)`;
  if (config.train.optimizer === 'adamw8bit' || config.train.optimizer === 'sgd8bit')
    return `train.optimizer '${config.train.optimizer}' is not implemented on CUDA yet`;
  if (config.train.state_precision === 'bf16') return "train.state_precision 'bf16' is not implemented on CUDA yet";
  return null;
}

/** A usable CUDA device in the addon's device report (built with CUDA, a device listed, no reason against). */
export function cudaUsable(report: DeviceReport): boolean {
  return report.cuda.builtWithCuda && report.cuda.devices.length > 0 && !report.cuda.unavailableReason;
}

/**
 * The engine device of config `device`: 'auto' is 'cuda' when the device report (read only for
 * 'auto'; a report that throws counts as none) shows a usable CUDA device and the CUDA engine runs
 * this config, else 'cpu'; an explicit device passes through (the engine refuses what it cannot use).
 */
export function resolveDevice(config: LoraLabConfig, report: () => DeviceReport): string {
  if (config.device !== 'auto') return config.device;
  if (cudaRefusal(config) !== null) return 'cpu';
  try {
    return cudaUsable(report()) ? 'cuda' : 'cpu';
  } catch {
    return 'cpu';
  }
}

/**
 * A resolved config with the schema's defaults and `values` (dotted key -> value, each checked against
 * the schema: a bad one throws naming the key), for engines loaded without a config file.
 */
export function configWith(values: Readonly<Record<string, unknown>> = {}): LoraLabConfig {
  const set = new Map<string, unknown>();
  for (const [key, value] of Object.entries(values)) {
    const spec = keySpec(key);
    if (!spec) throw new Error(`configWith: '${key}' is not a config key (see language-server/src/config/schema.ts)`);
    const checked = checkValue(spec, value);
    if (!checked.ok) throw new Error(`configWith: ${checked.message}`);
    set.set(key, checked.value);
  }
  return resolveConfig(set, resolve('engine-options.lora.yaml'));
}

/**
 * Every engine option from `config`. `totalSteps`: the schedule's length (optimizer steps) when
 * training; `training` false loads for inference only; `report`: the addon's device report, which
 * resolves device 'auto' (without it 'auto' is 'cpu'); `threads`: 0 = every core.
 */
export function engineOptions(
  config: LoraLabConfig,
  totalSteps: number,
  training = true,
  report?: () => DeviceReport,
  threads = threadCount(),
): EngineOptions {
  const device = report ? resolveDevice(config, report) : config.device === 'auto' ? 'cpu' : config.device;
  return {
    precision: config.model.precision,
    quantize: config.model.quantize,
    method: config.train.method,
    targets: {
      query: config.lora.query,
      key: config.lora.key,
      value: config.lora.value,
      projection: config.lora.projection,
      mlp: config.lora.mlp,
      head: config.lora.head,
    },
    loraR: config.lora.r,
    loraAlpha: config.lora.alpha,
    loraDropout: config.lora.dropout,
    rslora: config.lora.rslora,
    optimizer: config.train.optimizer,
    statePrecision: config.train.state_precision,
    learningRate: config.train.learning_rate,
    weightDecay: config.train.weight_decay,
    beta1: config.train.betas[0],
    beta2: config.train.betas[1],
    eps: ADAMW_EPS,
    momentum: config.train.momentum,
    lrSchedule: config.train.lr_scheduler,
    warmupSteps: config.train.warmup_steps,
    totalSteps,
    minLr: config.train.min_lr,
    gradClip: config.train.grad_clip ?? 0,
    gradientCheckpointing: config.train.gradient_checkpointing,
    seed: config.train.seed,
    threads,
    device,
    training,
  };
}
