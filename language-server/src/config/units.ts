// Step arithmetic, one home for hovers, estimates and the trainer (native/trainer/run/training-data.ts
// batches its steps with stepPlan): optimizer steps vs the article's micro-batch iterations (max_iters),
// gradient accumulation, steps per epoch, the run's total.
import type { LoraLabConfig } from './types';

type TrainSizes = Pick<LoraLabConfig['train'], 'global_batch_size' | 'micro_batch_size'>;

/** Micro-batches per optimizer step (global_batch_size / micro_batch_size, rounded up). */
export function gradientAccumulationSteps(train: TrainSizes): number {
  return Math.ceil(train.global_batch_size / train.micro_batch_size);
}

/** The article's max_iters for a number of optimizer steps. */
export function microBatchIterations(optimizerSteps: number, train: TrainSizes): number {
  return optimizerSteps * gradientAccumulationSteps(train);
}

/** Optimizer steps for the article's max_iters (50,000 micro-batches at 128 / 1 -> 390). */
export function optimizerStepsFromIterations(iterations: number, train: TrainSizes): number {
  return Math.floor(iterations / gradientAccumulationSteps(train));
}

/** How the trainer cuts a training set into optimizer steps. */
export interface StepPlan {
  /** Examples per micro-batch (at most the training set). */
  microBatch: number;
  /** Examples per optimizer step (whole micro-batches, at most the training set). */
  globalBatch: number;
  stepsPerEpoch: number;
}

/**
 * The trainer's batching of `trainExamples` (at least 1): whole global batches only; the examples left
 * over do not make a smaller step, the next epoch reshuffles everything. At least one step per epoch.
 */
export function stepPlan(trainExamples: number, train: TrainSizes): StepPlan {
  const microBatch = Math.min(train.micro_batch_size, trainExamples);
  const globalBatch = Math.min(trainExamples, microBatch * Math.max(1, Math.floor(train.global_batch_size / train.micro_batch_size)));
  return { microBatch, globalBatch, stepsPerEpoch: Math.max(1, Math.floor(trainExamples / globalBatch)) };
}

/** Optimizer steps of one pass over `trainExamples` (0 for none). */
export function stepsPerEpoch(trainExamples: number, train: TrainSizes): number {
  return trainExamples <= 0 ? 0 : stepPlan(trainExamples, train).stepsPerEpoch;
}

/** Steps the run will take: `maxStepsOverride` (resume, demo), else max_steps when set, else epochs * steps per epoch (at least 1). */
export function totalOptimizerSteps(trainExamples: number, train: LoraLabConfig['train'], maxStepsOverride?: number): number {
  return maxStepsOverride ?? train.max_steps ?? Math.max(1, Math.round(train.epochs * stepsPerEpoch(trainExamples, train)));
}

/** Hover text for a step count: '390 optimizer steps = 49,920 micro-batch iterations (the article's max_iters)'. */
export function describeSteps(optimizerSteps: number, train: TrainSizes): string {
  const iterations = microBatchIterations(optimizerSteps, train).toLocaleString('en-US');
  return `${optimizerSteps.toLocaleString('en-US')} optimizer steps = ${iterations} micro-batch iterations (the article's max_iters) at global batch ${train.global_batch_size} / micro-batch ${train.micro_batch_size}`;
}
