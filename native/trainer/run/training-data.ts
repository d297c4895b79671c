// The data side of a run (prepared by data/pipeline: tokenizer, tokenized examples through the
// cache, validation split) and the micro-batches of every optimizer step as a pure function of the
// step index, so a resumed run sees exactly the batches an uninterrupted one would.
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import { stepPlan, totalOptimizerSteps } from '../../../language-server/src/config/units';
import type { EngineBatch } from '../addon';
import { makeBatch, type Batch } from '../data/batches';
import { checkStepTargets, checkTokenRange, checkTrainingTargets, checkpointVocabSize } from '../data/checks';
import type { TokenizedExample } from '../../../language-server/src/lib/data/example';
import { prepareData } from '../data/pipeline';
import type { TextTokenizer } from '../../../language-server/src/lib/data/tokenizer';

export interface TrainingData {
  tokenizer: TextTokenizer;
  examples: TokenizedExample[];
  train: TokenizedExample[];
  validation: TokenizedExample[];
  truncatedCount: number;
  prefixViolations: number;
  /** Examples per optimizer step (global batch, at most the training set). */
  globalBatch: number;
  microBatch: number;
  stepsPerEpoch: number;
  totalSteps: number;
  /** Micro-batches of optimizer step `step` (1-based) and the epoch it belongs to (1-based). */
  stepBatches(step: number): { epoch: number; batches: EngineBatch[] };
  validationBatches(): EngineBatch[];
  /** Longest tokenized example after truncation. */
  longestExample: number;
  fromCache: boolean;
}

export function toEngineBatch(batch: Batch): EngineBatch {
  return {
    rows: batch.rows,
    seqLen: batch.seqLen,
    tokens: batch.tokens,
    targets: batch.targets,
    lengths: batch.lengths,
    exampleIds: Int32Array.from(batch.exampleIds),
  };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function prepareTrainingData(config: LoraLabConfig, cacheDir: string, maxStepsOverride?: number): TrainingData {
  const { tokenizer, dataset, examples: all, train, validation, sampler, cacheHit } = prepareData(config, { cacheDir });
  if (all.length === 0) throw Object.assign(new Error(`${config.data.path}: the dataset has no records`), { code: 'E_DATA_EMPTY' });
  if (train.length === 0)
    throw Object.assign(new Error(`${config.data.path}: no training records remain after the validation split`), { code: 'E_DATA_EMPTY' });
  const vocabSize = checkpointVocabSize(config.model.checkpoint);
  if (vocabSize !== null) checkTokenRange(all, vocabSize, config, dataset.records);
  checkTrainingTargets(train, config);

  const { microBatch, globalBatch, stepsPerEpoch } = stepPlan(train.length, config.train);
  const totalSteps = totalOptimizerSteps(train.length, config.train, maxStepsOverride);
  const orders = new Map<number, TokenizedExample[]>();
  const orderOf = (epoch: number) => {
    let order = orders.get(epoch);
    if (!order) {
      orders.clear(); // keep one epoch's order in memory
      order = sampler.epochOrder(epoch);
      orders.set(epoch, order);
    }
    return order;
  };

  return {
    tokenizer,
    examples: all,
    train,
    validation,
    truncatedCount: all.filter((e) => e.truncated).length,
    prefixViolations: all.filter((e) => e.prefixViolation).length,
    globalBatch,
    microBatch,
    stepsPerEpoch,
    totalSteps,
    longestExample: Math.max(...all.map((e) => e.inputIds.length)),
    fromCache: cacheHit,
    stepBatches(step: number) {
      const epoch0 = Math.floor((step - 1) / stepsPerEpoch);
      const within = (step - 1) % stepsPerEpoch;
      const members = orderOf(epoch0).slice(within * globalBatch, (within + 1) * globalBatch);
      checkStepTargets(step, members, config, dataset.records);
      return { epoch: epoch0 + 1, batches: chunk(members, microBatch).map((m) => toEngineBatch(makeBatch(m, tokenizer.padId))) };
    },
    validationBatches() {
      return chunk(validation, Math.max(1, config.eval.batch_size)).map((m) => toEngineBatch(makeBatch(m, tokenizer.padId)));
    },
  };
}
