// Checks of tokenized data against the model, run before step 1 and per step, so an engine error
// that would name neither file nor record (E_TOKEN_RANGE, E_BATCH "no target tokens") is raised here
// naming the dataset file, the records and the config keys to change.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import { loadDataset, type DataRecord } from '../../../language-server/src/lib/data/dataset';
import { tokenizeExample, type TokenizedExample } from '../../../language-server/src/lib/data/example';
import { loadTokenizer } from '../../../language-server/src/lib/data/tokenizer';

/** A data problem with the engine's error code; the run records code, message and hint. */
export class DataCheckError extends Error {
  constructor(
    readonly code: 'E_TOKEN_RANGE' | 'E_BATCH',
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'DataCheckError';
  }
}

/** The checkpoint's vocab_size from its config.json, or null when it cannot be read (the engine then reports). */
export function checkpointVocabSize(checkpoint: string): number | null {
  try {
    const json = JSON.parse(readFileSync(join(checkpoint, 'config.json'), 'utf8')) as { vocab_size?: unknown };
    return Number.isSafeInteger(json.vocab_size) && (json.vocab_size as number) > 0 ? (json.vocab_size as number) : null;
  } catch {
    return null;
  }
}

/** 'record 13 (line 40)' for an example id (0-based record index). */
function describeRecord(id: number, records: readonly DataRecord[]): string {
  const line = records[id]?.index === id ? records[id].line : records.find((record) => record.index === id)?.line;
  return `record ${id + 1}${line ? ` (line ${line})` : ''}`;
}

/** Whether an example has at least one label that takes loss (targets are labels[1..n-1]). */
export function hasTargets(example: TokenizedExample): boolean {
  return example.inputIds.length > 1 && example.maskedLength < example.inputIds.length;
}

/** Throws E_TOKEN_RANGE naming the file and the first record with a token id outside [0, vocabSize). */
export function checkTokenRange(
  examples: readonly TokenizedExample[],
  vocabSize: number,
  config: LoraLabConfig,
  records: readonly DataRecord[],
): void {
  for (const example of examples) {
    for (let position = 0; position < example.inputIds.length; position++) {
      const id = example.inputIds[position];
      if (id >= 0 && id < vocabSize) continue;
      const bad = examples.filter((other) => other.inputIds.some((token) => token < 0 || token >= vocabSize)).length;
      throw new DataCheckError(
        'E_TOKEN_RANGE',
        `${config.data.path}: ${describeRecord(example.id, records)} has token id ${id} at position ${position}, outside the model's vocabulary of ${vocabSize} (vocab_size in ${join(config.model.checkpoint, 'config.json')}); ${bad} record(s) have such tokens.`,
        `The tokenizer.json in ${config.model.checkpoint} has more tokens than the model's embedding: use the tokenizer that came with the checkpoint, or a checkpoint whose vocab_size covers the added tokens.`,
      );
    }
  }
}

function maskingAdvice(config: LoraLabConfig): string {
  return config.data.mask_prompt
    ? `with data.mask_prompt: true their prompts fill all data.max_seq_length ${config.data.max_seq_length} tokens, so nothing of the response is left after truncation`
    : `each is a single token after truncation to data.max_seq_length ${config.data.max_seq_length}`;
}

const MASKING_HINT =
  'Raise data.max_seq_length, shorten the prompts of those records, or set data.mask_prompt: false; `lora-lab inspect-data` counts the examples with no loss-bearing tokens.';

/** Throws E_BATCH when no training example has a label that takes loss. */
export function checkTrainingTargets(train: readonly TokenizedExample[], config: LoraLabConfig): void {
  if (train.length === 0 || train.some(hasTargets)) return;
  throw new DataCheckError(
    'E_BATCH',
    `${config.data.path}: none of the ${train.length} training examples has a label that takes loss: ${maskingAdvice(config)}.`,
    MASKING_HINT,
  );
}

/** Throws E_BATCH naming the records when no example of an optimizer step has a label that takes loss. */
export function checkStepTargets(
  step: number,
  members: readonly TokenizedExample[],
  config: LoraLabConfig,
  records: readonly DataRecord[],
): void {
  if (members.some(hasTargets)) return;
  const named = members
    .slice(0, 5)
    .map((example) => describeRecord(example.id, records))
    .join(', ');
  throw new DataCheckError(
    'E_BATCH',
    `step ${step}: none of the ${members.length} example(s) of this step (${named}${members.length > 5 ? ', ...' : ''} of ${config.data.path}) has a label that takes loss: ${maskingAdvice(config)}.`,
    MASKING_HINT,
  );
}

/** What `lora-lab check` can know about mask_prompt: records whose response is gone after truncation. */
export interface MaskedResponseSurvey {
  /** Records tokenized (the first `limit` of the file). */
  checked: number;
  records: number;
  /** 0-based indices of the records with no loss-bearing token. */
  empty: number[];
}

/**
 * Tokenizes the first `limit` records as training would; null when it cannot tell (mask_prompt off,
 * no tokenizer, unreadable or malformed data: check reports those itself).
 */
export function surveyMaskedResponses(config: LoraLabConfig, limit = 2000): MaskedResponseSurvey | null {
  if (!config.data.mask_prompt) return null;
  try {
    const dataset = loadDataset(config.data.path, config.data.format);
    const tokenizer = loadTokenizer(config.model.checkpoint);
    const options = { promptStyle: config.data.prompt_style, maskPrompt: true, maxSeqLength: config.data.max_seq_length };
    const checked = dataset.records.slice(0, limit);
    const empty = checked
      .filter((record) => !hasTargets(tokenizeExample(tokenizer, record.index, record, options)))
      .map((record) => record.index);
    return { checked: checked.length, records: dataset.records.length, empty };
  } catch {
    return null;
  }
}
