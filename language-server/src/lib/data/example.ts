// One record -> token ids and labels: prompt + response + EOS, mask_prompt masking exactly the prompt
// tokens (checked to be a prefix of the joint encoding), truncation to max_seq_length.
import type { PromptStyle } from '../../config/types';
import { renderPrompt, type PromptParts } from './prompts';
import type { TextTokenizer } from './tokenizer';

/** Label value that takes no loss (masked prompt, padding): PyTorch's ignore_index. */
export const IGNORE_INDEX = -100;

export interface TokenizedExample {
  /** Stable example id: the record's index in the dataset file. */
  id: number;
  inputIds: Int32Array;
  /** Leading tokens that take no loss (0 without mask_prompt). labels = inputIds with these set to IGNORE_INDEX. */
  maskedLength: number;
  /** Prompt tokens (masked or not), for display. */
  promptLength: number;
  truncated: boolean;
  /** The prompt's tokens were not a prefix of the prompt + response tokens (a merge across the boundary). */
  prefixViolation: boolean;
}

export interface TokenizeOptions {
  promptStyle: PromptStyle;
  maskPrompt: boolean;
  maxSeqLength: number;
}

/** Labels of an example: its ids with the masked prefix set to IGNORE_INDEX. */
export function labelsOf(example: TokenizedExample): Int32Array {
  const labels = Int32Array.from(example.inputIds);
  labels.fill(IGNORE_INDEX, 0, Math.min(example.maskedLength, labels.length));
  return labels;
}

/**
 * Encodes prompt and prompt + response; EOS is appended to every response so trained models learn
 * to stop. With mask_prompt the prompt's tokens are masked when they are a prefix of the joint
 * tokens; otherwise (counted as a violation) only the common prefix is masked.
 */
export function tokenizeExample(
  tokenizer: TextTokenizer,
  id: number,
  parts: PromptParts & { output: string },
  options: TokenizeOptions,
): TokenizedExample {
  const prompt = renderPrompt(options.promptStyle, parts, tokenizer);
  const promptIds = tokenizer.encode(prompt.text, { bos: prompt.addBos });
  const fullIds = [...tokenizer.encode(prompt.text + parts.output, { bos: prompt.addBos }), tokenizer.eosId];
  let common = 0;
  while (common < promptIds.length && common < fullIds.length && promptIds[common] === fullIds[common]) common++;
  const prefixViolation = common !== promptIds.length;
  const truncated = fullIds.length > options.maxSeqLength;
  const inputIds = Int32Array.from(truncated ? fullIds.slice(0, options.maxSeqLength) : fullIds);
  return {
    id,
    inputIds,
    maskedLength: options.maskPrompt ? Math.min(common, inputIds.length) : 0,
    promptLength: Math.min(common, inputIds.length),
    truncated,
    prefixViolation,
  };
}
