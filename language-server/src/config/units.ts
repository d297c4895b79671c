// Step arithmetic shared by hovers, estimates and the trainer: optimizer steps vs the article's
// micro-batch iterations (max_iters), gradient accumulation, steps per epoch.
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

/**
 * Optimizer steps of one pass over `trainExamples`, as the trainer counts them
 * (native/trainer/run/training-data.ts): whole global batches only; the examples left over do not
 * make a smaller step, the next epoch reshuffles everything. At least 1.
 */
export function stepsPerEpoch(trainExamples: number, train: TrainSizes): number {
  if (trainExamples <= 0) return 0;
  const microBatch = Math.min(train.micro_batch_size, trainExamples);
  const globalBatch = Math.min(trainExamples, microBatch * Math.max(1, Math.floor(train.global_batch_size / train.micro_batch_size)));
  return Math.max(1, Math.floor(trainExamples / globalBatch));
}

/** Steps the run will take: max_steps when set, else epochs * steps per epoch. */
export function totalOptimizerSteps(trainExamples: number, train: LoraLabConfig['train']): number {
  return train.max_steps ?? train.epochs * stepsPerEpoch(trainExamples, train);
}

/** Hover text for a step count: '390 optimizer steps = 49,920 micro-batch iterations (the article's max_iters)'. */
export function describeSteps(optimizerSteps: number, train: TrainSizes): string {
  const iterations = microBatchIterations(optimizerSteps, train).toLocaleString('en-US');
  return `${optimizerSteps.toLocaleString('en-US')} optimizer steps = ${iterations} micro-batch iterations (the article's max_iters) at global batch ${train.global_batch_size} / micro-batch ${train.micro_batch_size}`;
}
