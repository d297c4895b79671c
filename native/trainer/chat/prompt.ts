// The chat's prompt text: a conversation rendered with the checkpoint's chat template, or with a
// run's prompt style (alpaca, plain) for models trained without one; and the stop-string filter
// that holds back streamed text which might be the start of a stop string.
import { alpacaPrompt, plainPrompt, type RenderedPrompt } from '../../../language-server/src/lib/data/prompts';
import type { TextTokenizer } from '../../../language-server/src/lib/data/tokenizer';
import type { ChatPromptFormat, ChatTurn } from '../chat-protocol';

/**
 * The prompt of `turns` (ending with the user's turn) in `format`. template: the tokenizer's chat
 * template with the generation prompt (it emits BOS itself). alpaca / plain: each earlier exchange
 * as the style renders one record followed by its answer and a blank line, then the last user turn;
 * a system prompt goes first, followed by a blank line. A single user turn without a system prompt
 * is exactly what the trainer renders for a record, and what `lora-lab generate --chat` renders.
 */
export function renderChatPrompt(turns: readonly ChatTurn[], format: ChatPromptFormat, tokenizer: TextTokenizer): RenderedPrompt {
  if (turns.length === 0 || turns[turns.length - 1].role !== 'user') throw new Error('the conversation must end with a user turn');
  if (format === 'template') {
    if (tokenizer.chatTemplate === null)
      throw new Error("this checkpoint's tokenizer_config.json has no chat_template: choose the prompt format alpaca or plain");
    return {
      text: tokenizer.renderChat(
        turns.map((t) => ({ role: t.role, content: t.content })),
        true,
      ),
      addBos: false,
    };
  }
  const style = format === 'alpaca' ? alpacaPrompt : plainPrompt;
  let text = '';
  for (const turn of turns) {
    if (turn.role === 'system') text += `${turn.content}\n\n`;
    else if (turn.role === 'user') text += style({ instruction: turn.content, input: '' });
    else text += `${turn.content}\n\n`;
  }
  return { text, addBos: tokenizer.addBos };
}

/**
 * Streamed text with stop strings cut off: push() returns what is safe to show (text that cannot
 * be the start of a stop string); once a stop string appears, `stopped` is true and the text before
 * it is the answer.
 */
export class StopStringFilter {
  private pending = '';
  private shown = '';
  stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  push(text: string): string {
    if (this.stopped) return '';
    this.pending += text;
    let cut = -1;
    for (const stop of this.stops) {
      const at = stop ? this.pending.indexOf(stop) : -1;
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.stopped = true;
      return this.emit(this.pending.slice(0, cut));
    }
    // hold back the longest tail that is a prefix of some stop string
    let hold = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, this.pending.length); n > hold; n--) {
        if (stop.startsWith(this.pending.slice(this.pending.length - n))) {
          hold = n;
          break;
        }
      }
    }
    return this.emit(this.pending.slice(0, this.pending.length - hold), this.pending.slice(this.pending.length - hold));
  }

  /** The held-back tail at the end of the answer (it was no stop string). */
  flush(): string {
    if (this.stopped) return '';
    return this.emit(this.pending);
  }

  /** Everything shown so far: the answer. */
  get text(): string {
    return this.shown;
  }

  private emit(out: string, keep = ''): string {
    this.pending = keep;
    this.shown += out;
    return out;
  }
}
