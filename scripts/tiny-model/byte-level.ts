// GPT-2 byte-level pieces shared by our BPE trainer and encoder: the bytes <-> unicode map, the
// GPT-2 pre-tokenizer regex (the one Hugging Face ByteLevel uses with use_regex: true), special-token splitting.

/** GPT-2's split regex, identical to the Hugging Face ByteLevel pre-tokenizer with use_regex: true. */
export const GPT2_SPLIT_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 and up. */
function buildByteToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = new Array<string>(256);
  for (const b of printable) table[b] = String.fromCharCode(b);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCharCode(256 + next++);
  }
  return table;
}

/** BYTE_TO_UNICODE[b] is the one-character symbol of byte b. */
export const BYTE_TO_UNICODE: readonly string[] = buildByteToUnicode();

const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_UNICODE.map((symbol, byte) => [symbol, byte]));

const utf8Encoder = new TextEncoder();

/** Splits text into GPT-2 pre-tokens (no byte mapping). */
export function preTokenize(text: string): string[] {
  return text.match(GPT2_SPLIT_PATTERN) ?? [];
}

/** The byte-level form of one pre-token: its UTF-8 bytes, each as its symbol. */
export function toByteSymbols(piece: string): string {
  let symbols = '';
  for (const byte of utf8Encoder.encode(piece)) symbols += BYTE_TO_UNICODE[byte];
  return symbols;
}

/** Inverse of toByteSymbols over a concatenation of token strings; invalid UTF-8 becomes U+FFFD (as HF does). */
export function fromByteSymbols(symbols: string): string {
  const bytes = new Uint8Array(symbols.length);
  let length = 0;
  for (const symbol of symbols) {
    const byte = UNICODE_TO_BYTE.get(symbol);
    if (byte === undefined) throw new Error(`Expected a byte-level symbol but received ${JSON.stringify(symbol)}`);
    bytes[length++] = byte;
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, length));
}

/** A segment of input text: either a special token (matched literally) or ordinary text. */
export interface TextSegment {
  text: string;
  special: boolean;
}

/** Splits text around literal occurrences of the special tokens (longest match first), like HF added tokens. */
export function splitOnSpecialTokens(text: string, specialTokens: readonly string[]): TextSegment[] {
  if (specialTokens.length === 0) return text === '' ? [] : [{ text, special: false }];
  const escaped = specialTokens
    .slice()
    .sort((a, b) => b.length - a.length)
    .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pattern = new RegExp(escaped.join('|'), 'g');
  const segments: TextSegment[] = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const start = match.index ?? 0;
    if (start > last) segments.push({ text: text.slice(last, start), special: false });
    segments.push({ text: match[0], special: true });
    last = start + match[0].length;
  }
  if (last < text.length) segments.push({ text: text.slice(last), special: false });
  return segments;
}
