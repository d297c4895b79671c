// Our byte-level BPE: a trainer (merges learned by pair frequency, ties broken by the pair's
// strings) and an encoder/decoder that applies merges exactly like Hugging Face tokenizers' BPE model.
import { BYTE_TO_UNICODE, fromByteSymbols, preTokenize, splitOnSpecialTokens, toByteSymbols } from './byte-level';

export interface BpeTrainingOptions {
  /** Total vocabulary size: special tokens + 256 byte symbols + merges. */
  vocabSize: number;
  /** Special tokens, given ids 0..n-1 in this order; never split, never part of a merge. */
  specialTokens: readonly string[];
  /** Stop early when the most frequent pair occurs fewer times than this. */
  minPairFrequency: number;
  /** When true (default), no merge involves an ASCII digit, so numbers are always encoded digit by digit. */
  splitDigits: boolean;
}

export const DEFAULT_BPE_OPTIONS: BpeTrainingOptions = {
  vocabSize: 2048,
  specialTokens: ['<pad>', '<s>', '</s>'],
  minPairFrequency: 2,
  splitDigits: true,
};

/** A trained byte-level BPE model: what tokenizer.json stores. */
export interface ByteLevelBpe {
  /** vocab[id] is the token string (byte-level symbols, or a special token's content). */
  vocab: string[];
  /** Merges in rank order. */
  merges: [string, string][];
  specialTokens: string[];
}

const pairKey = (left: string, right: string): string => `${left} ${right}`;
const HAS_DIGIT = /[0-9]/;

interface Word {
  symbols: string[];
  count: number;
}

/** Counts the byte-level pre-tokens of all texts (special tokens removed). */
function countWords(texts: Iterable<string>, specialTokens: readonly string[]): Word[] {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const segment of splitOnSpecialTokens(text, specialTokens)) {
      if (segment.special) continue;
      for (const piece of preTokenize(segment.text)) {
        const symbols = toByteSymbols(piece);
        counts.set(symbols, (counts.get(symbols) ?? 0) + 1);
      }
    }
  }
  const words: Word[] = [];
  for (const [symbols, count] of counts) if (symbols.length > 1) words.push({ symbols: Array.from(symbols), count });
  return words;
}

/** Trains a byte-level BPE on texts. Deterministic: equal inputs give equal vocab and merges. */
export function trainBpe(texts: Iterable<string>, options: Partial<BpeTrainingOptions> = {}): ByteLevelBpe {
  const opts: BpeTrainingOptions = { ...DEFAULT_BPE_OPTIONS, ...options };
  const specialTokens = [...opts.specialTokens];
  const vocab: string[] = [...specialTokens, ...BYTE_TO_UNICODE];
  if (opts.vocabSize < vocab.length) throw new Error(`Expected vocabSize >= ${vocab.length} but received ${opts.vocabSize}`);
  const known = new Set(vocab);
  const merges: [string, string][] = [];
  const words = countWords(texts, specialTokens);
  const mergeable = (left: string, right: string): boolean => !opts.splitDigits || (!HAS_DIGIT.test(left) && !HAS_DIGIT.test(right));

  const pairCounts = new Map<string, number>();
  const pairWords = new Map<string, Set<number>>();
  const addPairs = (index: number, sign: 1 | -1): void => {
    const { symbols, count } = words[index];
    for (let i = 0; i + 1 < symbols.length; i++) {
      if (!mergeable(symbols[i], symbols[i + 1])) continue;
      const key = pairKey(symbols[i], symbols[i + 1]);
      const updated = (pairCounts.get(key) ?? 0) + sign * count;
      if (updated === 0) pairCounts.delete(key);
      else pairCounts.set(key, updated);
      if (sign === 1) {
        let holders = pairWords.get(key);
        if (!holders) pairWords.set(key, (holders = new Set()));
        holders.add(index);
      }
    }
  };
  for (let index = 0; index < words.length; index++) addPairs(index, 1);

  while (vocab.length < opts.vocabSize) {
    let bestKey: string | null = null;
    let bestCount = 0;
    for (const [key, count] of pairCounts) {
      if (count > bestCount || (count === bestCount && bestKey !== null && key < bestKey)) {
        bestKey = key;
        bestCount = count;
      }
    }
    if (bestKey === null || bestCount < opts.minPairFrequency) break;
    const separator = bestKey.indexOf(' ');
    const left = bestKey.slice(0, separator);
    const right = bestKey.slice(separator + 1);
    const merged = left + right;
    merges.push([left, right]);
    if (!known.has(merged)) {
      known.add(merged);
      vocab.push(merged);
    }
    for (const index of pairWords.get(bestKey) ?? []) {
      const word = words[index];
      addPairs(index, -1);
      const next: string[] = [];
      for (let i = 0; i < word.symbols.length; i++) {
        if (i + 1 < word.symbols.length && word.symbols[i] === left && word.symbols[i + 1] === right) {
          next.push(merged);
          i++;
        } else next.push(word.symbols[i]);
      }
      word.symbols = next;
      addPairs(index, 1);
    }
    pairWords.delete(bestKey);
  }
  return { vocab, merges, specialTokens };
}

export interface EncodeOptions {
  /** Prepend <s> (what tokenizer.json's post-processor does). Default true. */ addBosToken?: boolean;
}
export interface DecodeOptions {
  skipSpecialTokens?: boolean;
}

/** Encoder/decoder for a ByteLevelBpe; its ids equal those of Hugging Face tokenizers loading our tokenizer.json. */
export class BpeTokenizer {
  readonly idOf: ReadonlyMap<string, number>;
  private readonly ranks: Map<string, number>;
  private readonly special: Set<string>;
  private readonly cache = new Map<string, number[]>();

  constructor(
    readonly model: ByteLevelBpe,
    readonly bosToken = '<s>',
  ) {
    this.idOf = new Map(model.vocab.map((token, id) => [token, id]));
    this.ranks = new Map(model.merges.map(([left, right], rank) => [pairKey(left, right), rank]));
    this.special = new Set(model.specialTokens);
    if (!this.idOf.has(bosToken)) throw new Error(`Expected the BOS token ${bosToken} in the vocabulary`);
  }

  get vocabSize(): number {
    return this.model.vocab.length;
  }

  /**
   * Applies merges to one pre-token: repeatedly merges the adjacent pair with the lowest rank
   * (leftmost on ties), exactly the order of the Rust and JS BPE models.
   */
  private encodeWord(symbolsText: string): number[] {
    const cached = this.cache.get(symbolsText);
    if (cached) return cached;
    const symbols = Array.from(symbolsText);
    while (symbols.length > 1) {
      let bestRank = Infinity;
      let bestIndex = -1;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.ranks.get(pairKey(symbols[i], symbols[i + 1]));
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestIndex = i;
        }
      }
      if (bestIndex < 0) break;
      symbols.splice(bestIndex, 2, symbols[bestIndex] + symbols[bestIndex + 1]);
    }
    const ids = symbols.map((symbol) => {
      const id = this.idOf.get(symbol);
      if (id === undefined) throw new Error(`Token ${JSON.stringify(symbol)} is missing from the vocabulary`);
      return id;
    });
    if (this.cache.size < 100_000) this.cache.set(symbolsText, ids);
    return ids;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = options.addBosToken === false ? [] : [this.idOf.get(this.bosToken) as number];
    for (const segment of splitOnSpecialTokens(text, this.model.specialTokens)) {
      if (segment.special) {
        ids.push(this.idOf.get(segment.text) as number);
        continue;
      }
      for (const piece of preTokenize(segment.text)) ids.push(...this.encodeWord(toByteSymbols(piece)));
    }
    return ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    let symbols = '';
    for (const id of ids) {
      const token = this.model.vocab[id];
      if (token === undefined) throw new Error(`Expected a token id below ${this.vocabSize} but received ${id}`);
      if (this.special.has(token)) {
        if (!options.skipSpecialTokens) symbols += toByteSymbols(token);
      } else symbols += token;
    }
    return fromByteSymbols(symbols);
  }
}
