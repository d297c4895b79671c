// From a resolved config to training data: read the dataset, load the checkpoint's tokenizer,
// tokenize every record (or read them from the cache), split train/validation deterministically.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import { loadDataset, type Dataset } from '../../../language-server/src/lib/data/dataset';
import { loadTokenizer, type TextTokenizer } from '../../../language-server/src/lib/data/tokenizer';
import { tokenizeExample, type TokenizedExample } from '../../../language-server/src/lib/data/example';
import { promptStyleFingerprint } from '../../../language-server/src/lib/data/prompts';
import { dataCacheKey, readTokenizedCache, writeTokenizedCache } from './cache';
import { EpochSampler, splitTrainValidation } from '../../../language-server/src/lib/data/split';

export interface PreparedData {
  tokenizer: TextTokenizer;
  dataset: Dataset;
  /** Every record, in file order (example.id = record index). */
  examples: TokenizedExample[];
  train: TokenizedExample[];
  validation: TokenizedExample[];
  /** Seeded by train.seed: sampler.epochOrder(epoch) is the training order of an epoch. */
  sampler: EpochSampler<TokenizedExample>;
  cacheHit: boolean;
  cacheKey: string;
}

/** Where tokenized data is cached unless the caller says otherwise: <out_dir>/.cache/tokenized. */
export function defaultDataCacheDir(config: LoraLabConfig): string {
  return join(config.out_dir, '.cache', 'tokenized');
}

/**
 * Prepares the data of a config. `cacheDir: null` disables the cache. Throws DatasetError for
 * malformed records and Error for tokenizer problems (messages name the file).
 */
export function prepareData(config: LoraLabConfig, options: { cacheDir?: string | null; tokenizer?: TextTokenizer } = {}): PreparedData {
  const dataset = loadDataset(config.data.path, config.data.format);
  const tokenizer = options.tokenizer ?? loadTokenizer(config.model.checkpoint);
  const tokenizeOptions = {
    promptStyle: config.data.prompt_style,
    maskPrompt: config.data.mask_prompt,
    maxSeqLength: config.data.max_seq_length,
  };
  const cacheKey = dataCacheKey({
    dataBytes: readFileSync(config.data.path),
    format: config.data.format,
    tokenizerFingerprint: tokenizer.fingerprint,
    promptFingerprint: promptStyleFingerprint(config.data.prompt_style, tokenizer),
    maskPrompt: config.data.mask_prompt,
    maxSeqLength: config.data.max_seq_length,
  });
  const cacheDir = options.cacheDir === undefined ? defaultDataCacheDir(config) : options.cacheDir;
  let examples = cacheDir ? readTokenizedCache(cacheDir, cacheKey) : null;
  const cacheHit = examples !== null && examples.length === dataset.records.length;
  if (!cacheHit) {
    examples = dataset.records.map((record) => tokenizeExample(tokenizer, record.index, record, tokenizeOptions));
    if (cacheDir) writeTokenizedCache(cacheDir, cacheKey, examples);
  }
  const all = examples!;
  const split = splitTrainValidation(all.length, config.data.val_split_fraction, config.data.seed);
  const train = split.train.map((i) => all[i]);
  return {
    tokenizer,
    dataset,
    examples: all,
    train,
    validation: split.validation.map((i) => all[i]),
    sampler: new EpochSampler(train, config.train.seed),
    cacheHit,
    cacheKey,
  };
}
