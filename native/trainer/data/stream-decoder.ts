// Incremental detokenization of generated tokens that never emits half a UTF-8 character: text is
// held back while the decoded tail is an incomplete byte sequence (U+FFFD), as in Hugging Face TGI.
import type { TextTokenizer } from '../../../language-server/src/lib/data/tokenizer';

/** Pending tokens after which an undecodable tail is emitted anyway (no UTF-8 character spans more). */
const MAX_PENDING_TOKENS = 8;

export class StreamDecoder {
  private ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;

  /**
   * `contextIds`: the prompt's tokens (the last few suffice), so the first generated token keeps
   * its leading space under decoders that strip the start of a text (SentencePiece).
   */
  constructor(
    private readonly tokenizer: Pick<TextTokenizer, 'decode'>,
    private readonly options: { skipSpecialTokens?: boolean } = { skipSpecialTokens: true },
    contextIds: readonly number[] = [],
  ) {
    this.ids = contextIds.slice(-4);
    this.readOffset = this.ids.length;
  }

  /** Adds one generated token; returns the text that became complete ('' while a character is pending). */
  push(id: number): string {
    this.ids.push(id);
    const before = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const after = this.decode(this.ids.slice(this.prefixOffset));
    const pending = this.ids.length - this.readOffset;
    if ((after.length > before.length && !after.endsWith('\uFFFD')) || pending >= MAX_PENDING_TOKENS) {
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      return after.slice(commonPrefixLength(before, after));
    }
    return '';
  }

  /** Emits whatever is still held back (an incomplete character at the end of generation becomes U+FFFD). */
  flush(): string {
    const before = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const after = this.decode(this.ids.slice(this.prefixOffset));
    this.prefixOffset = this.readOffset = this.ids.length;
    return after.slice(commonPrefixLength(before, after));
  }

  private decode(ids: number[]): string {
    return ids.length ? this.tokenizer.decode(ids, this.options) : '';
  }
}

function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
