// The facts of a config's data that an estimate needs: training examples after the validation split
// and the longest tokenized example after truncation, computed exactly as the trainer prepares its data
// (same reader, tokenizer, prompt and split). One computation for the code lens, the trade-off view and
// `lora-lab estimate`, cached per data file + tokenizer (keyed by path, size and mtime of each file).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LoraLabConfig } from '../config/types';
import type { DataFactsResult } from '../estimator';
import { loadDataset } from './data/dataset';
import { tokenizeExample } from './data/example';
import { splitTrainValidation } from './data/split';
import { loadTokenizer } from './data/tokenizer';

export type { DataFacts, DataFactsResult } from '../estimator';

/** The tokenizer's files: a change to any of them can change the token counts. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'config.json'];

function fileStamp(path: string): string {
  try {
    const stat = statSync(path);
    return `${path}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return `${path}:absent`;
  }
}

/** What the facts depend on: the data file and tokenizer files (path, size, mtime) and the data settings. */
export function dataFactsKey(config: LoraLabConfig): string {
  const { data, model } = config;
  return JSON.stringify([
    fileStamp(data.path),
    ...TOKENIZER_FILES.map((name) => fileStamp(join(model.checkpoint, name))),
    data.format,
    data.prompt_style,
    data.mask_prompt,
    data.max_seq_length,
    data.val_split_fraction,
    data.seed,
  ]);
}

/** Reads and tokenizes the data now; the error names the file when it cannot be read. */
export function computeDataFacts(config: LoraLabConfig): DataFactsResult {
  try {
    const dataset = loadDataset(config.data.path, config.data.format);
    if (dataset.records.length === 0) return { error: `${config.data.path}: the dataset has no records` };
    if (!existsSync(join(config.model.checkpoint, 'tokenizer.json'))) {
      return {
        error: `no tokenizer yet (${join(config.model.checkpoint, 'tokenizer.json')} is missing; download the model for it), so the sequence length is data.max_seq_length`,
      };
    }
    const tokenizer = loadTokenizer(config.model.checkpoint);
    const options = {
      promptStyle: config.data.prompt_style,
      maskPrompt: config.data.mask_prompt,
      maxSeqLength: config.data.max_seq_length,
    };
    let longestExample = 0;
    for (const record of dataset.records)
      longestExample = Math.max(longestExample, tokenizeExample(tokenizer, record.index, record, options).inputIds.length);
    const split = splitTrainValidation(dataset.records.length, config.data.val_split_fraction, config.data.seed);
    return { trainExamples: split.train.length, longestExample };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** Facts per key; the language server asks without waiting (`peek`), the CLI and the host wait (`get`). */
export class DataFactsCache {
  private readonly known = new Map<string, DataFactsResult>();
  private readonly pending = new Set<string>();

  constructor(
    private readonly compute: (config: LoraLabConfig) => DataFactsResult = computeDataFacts,
    private readonly maxEntries = 64,
  ) {}

  /** The facts, computed now on a miss. */
  get(config: LoraLabConfig): DataFactsResult {
    const key = dataFactsKey(config);
    return this.known.get(key) ?? this.store(key, this.compute(config));
  }

  /**
   * The facts when known; otherwise 'pending', and they are computed after the current request has
   * been answered (setImmediate), then `ready` is called once (the server refreshes its code lenses).
   */
  peek(config: LoraLabConfig, ready: () => void): DataFactsResult | 'pending' {
    const key = dataFactsKey(config);
    const found = this.known.get(key);
    if (found) return found;
    if (!this.pending.has(key)) {
      this.pending.add(key);
      setImmediate(() => {
        this.store(key, this.compute(config));
        this.pending.delete(key);
        ready();
      });
    }
    return 'pending';
  }

  private store(key: string, facts: DataFactsResult): DataFactsResult {
    if (this.known.size >= this.maxEntries) this.known.delete(this.known.keys().next().value!);
    this.known.set(key, facts);
    return facts;
  }
}
