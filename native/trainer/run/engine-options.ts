// Maps a resolved config onto the native engine's options (one place, so the trainer, the CLI's
// generate/eval and the estimator calibration agree).
import { availableParallelism } from 'node:os';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import type { DeviceReport, EngineOptions } from '../addon';

/** Threads: LORALAB_THREADS (the extension's loraLab.threads setting) when > 0, else every core. */
export function threadCount(env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env.LORALAB_THREADS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : availableParallelism();
}

/** Why the CUDA engine cannot run this config (null when it can): it computes in bf16 only. */
export function cudaRefusal(config: LoraLabConfig): string | null {
  if (config.model.precision !== 'bf16-true' && config.model.precision !== 'bf16-mixed') return `model.precision '${config.model.precision}' is not implemented on CUDA`;
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

/** `report`: the addon's device report, which resolves device 'auto'; without it 'auto' is 'cpu'. */
export function engineOptions(config: LoraLabConfig, totalSteps: number, training = true, report?: () => DeviceReport): EngineOptions {
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
    learningRate: config.train.learning_rate,
    weightDecay: config.train.weight_decay,
    beta1: config.train.betas[0],
    beta2: config.train.betas[1],
    momentum: config.train.momentum,
    lrSchedule: config.train.lr_scheduler,
    warmupSteps: config.train.warmup_steps,
    totalSteps,
    minLr: config.train.min_lr,
    gradClip: config.train.grad_clip ?? 0,
    gradientCheckpointing: config.train.gradient_checkpointing,
    seed: config.train.seed,
    threads: threadCount(),
    device,
    training,
  };
}
