// The dataset panel's numbers: a config's data read leniently (rejected rows listed, not thrown),
// tokenized with progress (or read from the token cache), the same DataStats as
// `lora-lab inspect-data --json`, and a spread of records cut at token boundaries for the browser.
import { readFileSync } from 'node:fs';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import { readDatasetLenient } from '../../../language-server/src/lib/data/dataset';
import { tokenizeExample, type TokenizedExample } from '../../../language-server/src/lib/data/example';
import { promptStyleFingerprint } from '../../../language-server/src/lib/data/prompts';
import { splitTrainValidation } from '../../../language-server/src/lib/data/split';
import { loadTokenizer, type TextTokenizer } from '../../../language-server/src/lib/data/tokenizer';
import type { DatasetReport, DatasetSample, InspectPhase } from '../protocol';
import { dataCacheKey, readTokenizedCache, writeTokenizedCache } from './cache';
import { defaultDataCacheDir } from './pipeline';
import { dataStats } from './stats';

export interface InspectOptions {
  /** Called at most every `progressEvery` records and at the end of each phase. */
  onProgress?: (phase: InspectPhase, done: number, total: number) => void;
  progressEvery?: number;
  /** Records rendered for the sample browser. */
  samples?: number;
  /** null disables the token cache; default <out_dir>/.cache/tokenized like the trainer. */
  cacheDir?: string | null;
  tokenizer?: TextTokenizer;
}

/** Lets queued IPC messages go out between chunks of synchronous work. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The decoded text of each token: piece i is what decoding up to token i adds to decoding up to the
 * last complete piece (within a short window, so SentencePiece's leading spaces come out right).
 * A token that ends inside a UTF-8 character (byte fallback) gets '' and the token that completes
 * the character carries it; the pieces joined are the decoded example.
 */
export function tokenPieces(tokenizer: Pick<TextTokenizer, 'decode'>, ids: readonly number[], window = 8): string[] {
  const pieces: string[] = [];
  let anchor = 0;
  for (let i = 0; i < ids.length; i++) {
    const start = Math.max(0, anchor - window);
    const after = tokenizer.decode(ids.slice(start, i + 1));
    if (after.endsWith('\uFFFD') && i + 1 < ids.length && i + 1 - anchor < 4) {
      pieces.push('');
      continue;
    }
    const before = tokenizer.decode(ids.slice(start, anchor));
    pieces.push(after.startsWith(before) ? after.slice(before.length) : tokenizer.decode(ids.slice(anchor, i + 1)));
    anchor = i + 1;
  }
  return pieces;
}

/** Up to `count` records worth browsing: the first, the median-length and the longest, then an even spread; in file order. */
export function pickSamples(examples: readonly TokenizedExample[], count: number): TokenizedExample[] {
  if (examples.length <= count) return [...examples];
  const byLength = [...examples].sort((a, b) => a.inputIds.length - b.inputIds.length || a.id - b.id);
  const chosen = new Map<number, TokenizedExample>();
  for (const example of [examples[0], byLength[Math.floor(byLength.length / 2)], byLength[byLength.length - 1]])
    chosen.set(example.id, example);
  for (let k = 0; chosen.size < count && k < count * 2; k++) {
    const example = examples[Math.floor((k * examples.length) / count)];
    chosen.set(example.id, example);
  }
  return [...chosen.values()].sort((a, b) => a.id - b.id);
}

/** Inspects a resolved config's data. Throws (with a message naming the file) when the data or tokenizer cannot be read. */
export async function inspectDataset(config: LoraLabConfig, configPath: string, options: InspectOptions = {}): Promise<DatasetReport> {
  const every = options.progressEvery ?? 2000;
  const progress = options.onProgress ?? (() => {});
  progress('reading', 0, 1);
  const dataset = readDatasetLenient(config.data.path, config.data.format);
  const tokenizer = options.tokenizer ?? loadTokenizer(config.model.checkpoint);
  progress('reading', 1, 1);
  const records = dataset.records;
  const tokenizeOptions = {
    promptStyle: config.data.prompt_style,
    maskPrompt: config.data.mask_prompt,
    maxSeqLength: config.data.max_seq_length,
  };
  // The trainer's token cache holds only files it accepts (no rejected row): the same key as prepareData.
  const cacheDir = dataset.rejected.length ? null : options.cacheDir === undefined ? defaultDataCacheDir(config) : options.cacheDir;
  const cacheKey = cacheDir
    ? dataCacheKey({
        dataBytes: readFileSync(config.data.path),
        format: config.data.format,
        tokenizerFingerprint: tokenizer.fingerprint,
        promptFingerprint: promptStyleFingerprint(config.data.prompt_style, tokenizer),
        maskPrompt: config.data.mask_prompt,
        maxSeqLength: config.data.max_seq_length,
      })
    : '';
  const cached = cacheDir ? readTokenizedCache(cacheDir, cacheKey) : null;
  let examples: TokenizedExample[];
  if (cached && cached.length === records.length) {
    examples = cached;
  } else {
    examples = [];
    for (let i = 0; i < records.length; i++) {
      examples.push(tokenizeExample(tokenizer, records[i].index, records[i], tokenizeOptions));
      if ((i + 1) % every === 0) {
        progress('tokenizing', i + 1, records.length);
        await yieldToEventLoop();
      }
    }
    if (cacheDir && examples.length) writeTokenizedCache(cacheDir, cacheKey, examples);
  }
  if (records.length === 0 || records.length % every !== 0 || examples === cached) progress('tokenizing', records.length, records.length);
  const split = splitTrainValidation(examples.length, config.data.val_split_fraction, config.data.seed);
  const validation = new Set(split.validation.map((i) => examples[i].id));
  const stats = dataStats(examples);
  const promptTokens = examples.reduce((sum, example) => sum + Math.min(example.promptLength, example.inputIds.length), 0);
  const lineOf = new Map(records.map((record) => [record.index, record.line]));
  const picked = pickSamples(examples, options.samples ?? 60);
  const samples: DatasetSample[] = [];
  for (const [i, example] of picked.entries()) {
    const ids = [...example.inputIds];
    samples.push({
      record: example.id,
      line: lineOf.get(example.id) ?? 1,
      split: validation.has(example.id) ? 'validation' : 'train',
      pieces: tokenPieces(tokenizer, ids),
      ids,
      maskedTokens: example.maskedLength,
      promptTokens: example.promptLength,
      truncated: example.truncated,
    });
    if ((i + 1) % 20 === 0) {
      progress('rendering', i + 1, picked.length);
      await yieldToEventLoop();
    }
  }
  return {
    config: configPath,
    dataset: {
      file: dataset.file,
      format: dataset.format,
      records: records.length,
      train: split.train.length,
      validation: split.validation.length,
    },
    tokenizer: {
      checkpoint: config.model.checkpoint,
      vocabSize: tokenizer.vocabSize,
      bos: tokenizer.addBos ? tokenizer.bosToken : null,
      eos: tokenizer.eosToken,
    },
    promptStyle: config.data.prompt_style,
    maskPrompt: config.data.mask_prompt,
    maxSeqLength: config.data.max_seq_length,
    stats,
    promptShare: stats.totalTokens ? promptTokens / stats.totalTokens : 0,
    rejected: dataset.rejected,
    warnings: dataset.issues,
    samples,
  };
}
