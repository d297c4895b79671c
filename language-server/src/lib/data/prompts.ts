// Prompt styles: how a record becomes prompt text. alpaca is Lit-GPT's exact Alpaca template (with
// and without input); plain is the instruction (and input) alone; chat is the tokenizer's template.
import type { PromptStyle } from '../../config/types';
import type { TextTokenizer } from './tokenizer';

export interface PromptParts {
  instruction: string;
  input: string;
}

export interface RenderedPrompt {
  text: string;
  /** false when the text already carries BOS (a chat template emits it). */
  addBos: boolean;
}

export function alpacaPrompt({ instruction, input }: PromptParts): string {
  if (input) {
    return (
      'Below is an instruction that describes a task, paired with an input that provides further context. ' +
      'Write a response that appropriately completes the request.\n\n' +
      `### Instruction:\n${instruction}\n\n### Input:\n${input}\n\n### Response:\n`
    );
  }
  return (
    'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
    `### Instruction:\n${instruction}\n\n### Response:\n`
  );
}

/** The instruction, the input after a blank line when there is one, then a newline before the response. */
export function plainPrompt({ instruction, input }: PromptParts): string {
  return input ? `${instruction}\n\n${input}\n` : `${instruction}\n`;
}

/** The prompt text of a record in `style`; chat uses the user turn plus the generation prompt. */
export function renderPrompt(style: PromptStyle, parts: PromptParts, tokenizer: TextTokenizer): RenderedPrompt {
  switch (style) {
    case 'alpaca':
      return { text: alpacaPrompt(parts), addBos: tokenizer.addBos };
    case 'plain':
      return { text: plainPrompt(parts), addBos: tokenizer.addBos };
    case 'chat': {
      const content = parts.input ? `${parts.instruction}\n\n${parts.input}` : parts.instruction;
      return { text: tokenizer.renderChat([{ role: 'user', content }], true), addBos: false };
    }
  }
}

/** What identifies a style's rendering for the data cache (the chat template text for chat). */
export function promptStyleFingerprint(style: PromptStyle, tokenizer: TextTokenizer): string {
  return style === 'chat' ? `chat:${tokenizer.chatTemplate ?? ''}` : `${style}:v1`;
}
