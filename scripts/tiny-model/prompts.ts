// Prompt formats of the tiny model: the Alpaca prompt (as in Stanford Alpaca / litgpt) and the chat
// format, both as a Jinja chat template for tokenizer_config.json and as a TypeScript mirror of it.
import type { InstructionRecord } from './instructions';

export const ALPACA_PREAMBLE_NO_INPUT =
  'Below is an instruction that describes a task. Write a response that appropriately completes the request.';
export const ALPACA_PREAMBLE_WITH_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.';

/** The Alpaca prompt up to and including "### Response:\n" (the response follows directly). */
export function alpacaPrompt(record: Pick<InstructionRecord, 'instruction' | 'input'>): string {
  if (record.input === '') return `${ALPACA_PREAMBLE_NO_INPUT}\n\n### Instruction:\n${record.instruction}\n\n### Response:\n`;
  return `${ALPACA_PREAMBLE_WITH_INPUT}\n\n### Instruction:\n${record.instruction}\n\n### Input:\n${record.input}\n\n### Response:\n`;
}

/** Prompt followed by the response: one pretraining document. */
export function alpacaText(record: InstructionRecord): string {
  return alpacaPrompt(record) + record.output;
}

export type ChatRole = 'system' | 'user' | 'assistant';
export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/**
 * The chat template (Jinja, Hugging Face conventions: `messages`, `bos_token`, `eos_token`,
 * `add_generation_prompt`, `raise_exception`). Renders
 * "<s>### System:\n...\n\n### User:\n...\n\n### Assistant:\n...</s>" with "\n\n" between an
 * assistant turn and the next one; the generation prompt is "### Assistant:\n".
 */
export const CHAT_TEMPLATE =
  '{{ bos_token }}' +
  '{% for message in messages %}' +
  "{% if message['role'] == 'system' %}{{ '### System:\\n' + message['content'] + '\\n\\n' }}" +
  "{% elif message['role'] == 'user' %}{{ '### User:\\n' + message['content'] + '\\n\\n' }}" +
  "{% elif message['role'] == 'assistant' %}{{ '### Assistant:\\n' + message['content'] + eos_token }}" +
  "{% if not loop.last %}{{ '\\n\\n' }}{% endif %}" +
  "{% else %}{{ raise_exception('Unknown chat role: ' + message['role']) }}{% endif %}" +
  '{% endfor %}' +
  "{% if add_generation_prompt %}{{ '### Assistant:\\n' }}{% endif %}";

export interface ChatTokens {
  bosToken: string;
  eosToken: string;
}

/** The same rendering as CHAT_TEMPLATE, in TypeScript (a test checks both agree). */
export function renderChat(messages: readonly ChatMessage[], tokens: ChatTokens, addGenerationPrompt = false): string {
  let text = tokens.bosToken;
  messages.forEach((message, index) => {
    if (message.role === 'system') text += `### System:\n${message.content}\n\n`;
    else if (message.role === 'user') text += `### User:\n${message.content}\n\n`;
    else if (message.role === 'assistant') {
      text += `### Assistant:\n${message.content}${tokens.eosToken}`;
      if (index !== messages.length - 1) text += '\n\n';
    } else throw new Error(`Unknown chat role: ${String((message as { role: unknown }).role)}`);
  });
  if (addGenerationPrompt) text += '### Assistant:\n';
  return text;
}

/** The user turn for an instruction record: the instruction, then the input after a blank line. */
export function chatUserContent(record: Pick<InstructionRecord, 'instruction' | 'input'>): string {
  return record.input === '' ? record.instruction : `${record.instruction}\n\n${record.input}`;
}
