// Micro-batches for the engine: right-padded to the longest member, with targets already shifted
// (targets[t] is the label of the token after position t; -100 means no loss). Matches the C++
// engine's Batch struct in native/src/engine.h.
import { IGNORE_INDEX, labelsOf, type TokenizedExample } from '../../../language-server/src/lib/data/example';

export interface Batch {
  rows: number;
  seqLen: number;
  /** (rows, seqLen) row-major token ids; padding positions hold padId. */
  tokens: Int32Array;
  /** (rows, seqLen) label of the next token; IGNORE_INDEX (-100) for masked prompt and padding. */
  targets: Int32Array;
  /** (rows,) valid prefix length of each row. */
  lengths: Int32Array;
  /** (rows,) stable example ids (they key the engine's dropout RNG). */
  exampleIds: number[];
}

/**
 * One micro-batch. Each example of n tokens contributes n - 1 positions: inputs ids[0..n-2] and
 * targets labels[1..n-1], as in Lit-GPT (input_ids[:-1], labels[1:]).
 */
export function makeBatch(examples: readonly TokenizedExample[], padId: number): Batch {
  if (examples.length === 0) throw new Error('makeBatch: a micro-batch needs at least one example');
  const rows = examples.length;
  const lengths = Int32Array.from(examples, (example) => Math.max(0, example.inputIds.length - 1));
  const seqLen = Math.max(1, ...lengths);
  const tokens = new Int32Array(rows * seqLen).fill(padId);
  const targets = new Int32Array(rows * seqLen).fill(IGNORE_INDEX);
  examples.forEach((example, row) => {
    const labels = labelsOf(example);
    const length = lengths[row];
    tokens.set(example.inputIds.subarray(0, length), row * seqLen);
    targets.set(labels.subarray(1, length + 1), row * seqLen);
  });
  return { rows, seqLen, tokens, targets, lengths, exampleIds: examples.map((example) => example.id) };
}

/** Consecutive micro-batches of `microBatchSize` over `examples` in the given order (the last may be smaller). */
export function* microBatches(examples: readonly TokenizedExample[], microBatchSize: number, padId: number): Generator<Batch> {
  for (let start = 0; start < examples.length; start += microBatchSize)
    yield makeBatch(examples.slice(start, start + microBatchSize), padId);
}

/** Target tokens (labels that take loss) in a batch. */
export function targetTokenCount(batch: Batch): number {
  let count = 0;
  for (const target of batch.targets) if (target !== IGNORE_INDEX) count++;
  return count;
}
