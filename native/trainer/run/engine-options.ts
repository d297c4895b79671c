// Maps a resolved config onto the native engine's options (one place, so the trainer, the CLI's
// generate/eval and the estimator calibration agree).
import { availableParallelism } from 'node:os';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import type { EngineOptions } from '../addon';

/** Threads: LORALAB_THREADS (the extension's loraLab.threads setting) when > 0, else every core. */
export function threadCount(env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env.LORALAB_THREADS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : availableParallelism();
}

export function engineOptions(config: LoraLabConfig, totalSteps: number, training = true): EngineOptions {
  const device = config.device === 'auto' ? 'cpu' : config.device;
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
