// Writes a trained ByteLevelBpe as a standard Hugging Face tokenizer folder: tokenizer.json,
// tokenizer_config.json (with the chat template), special_tokens_map.json, generation_config.json.
import { join } from 'node:path';
import type { ByteLevelBpe } from './bpe';
import { writeJsonAtomic } from './files';
import { CHAT_TEMPLATE } from './prompts';

export interface TokenizerFileOptions {
  bosToken: string;
  eosToken: string;
  padToken: string;
  /** tokenizer_config.json's model_max_length (the model's context length). */
  modelMaxLength: number;
}

export const DEFAULT_TOKENIZER_FILE_OPTIONS: TokenizerFileOptions = {
  bosToken: '<s>',
  eosToken: '</s>',
  padToken: '<pad>',
  modelMaxLength: 512,
};

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

function idOf(bpe: ByteLevelBpe, token: string): number {
  const id = bpe.vocab.indexOf(token);
  if (id < 0) throw new Error(`Expected the token ${token} in the vocabulary`);
  return id;
}

/** The tokenizer.json object (format "1.0", as written by Hugging Face tokenizers). */
export function tokenizerJson(bpe: ByteLevelBpe, options: TokenizerFileOptions = DEFAULT_TOKENIZER_FILE_OPTIONS): object {
  const bosId = idOf(bpe, options.bosToken);
  const vocab: Record<string, number> = {};
  bpe.vocab.forEach((token, id) => {
    if (token in vocab) throw new Error(`Duplicate vocabulary token ${JSON.stringify(token)}`);
    vocab[token] = id;
  });
  const special = (type_id: number) => ({ SpecialToken: { id: options.bosToken, type_id } });
  const sequence = (id: 'A' | 'B', type_id: number) => ({ Sequence: { id, type_id } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: bpe.specialTokens.map((content) => ({
      id: idOf(bpe, content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: BYTE_LEVEL,
    post_processor: {
      type: 'TemplateProcessing',
      single: [special(0), sequence('A', 0)],
      pair: [special(0), sequence('A', 0), special(1), sequence('B', 1)],
      special_tokens: { [options.bosToken]: { id: options.bosToken, ids: [bosId], tokens: [options.bosToken] } },
    },
    decoder: BYTE_LEVEL,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: bpe.merges.map(([left, right]) => `${left} ${right}`),
    },
  };
}

/** tokenizer_config.json as transformers writes it for a fast tokenizer with a chat template. */
export function tokenizerConfig(bpe: ByteLevelBpe, options: TokenizerFileOptions = DEFAULT_TOKENIZER_FILE_OPTIONS): object {
  const addedTokensDecoder: Record<string, object> = {};
  for (const content of bpe.specialTokens) {
    addedTokensDecoder[String(idOf(bpe, content))] = {
      content,
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
      special: true,
    };
  }
  return {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: addedTokensDecoder,
    bos_token: options.bosToken,
    chat_template: CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: options.eosToken,
    model_max_length: options.modelMaxLength,
    pad_token: options.padToken,
    padding_side: 'right',
    tokenizer_class: 'PreTrainedTokenizerFast',
    unk_token: null,
  };
}

/** Writes the four tokenizer files into dir (atomically, each). Returns the paths written. */
export function writeTokenizerFiles(dir: string, bpe: ByteLevelBpe, options: Partial<TokenizerFileOptions> = {}): string[] {
  const opts: TokenizerFileOptions = { ...DEFAULT_TOKENIZER_FILE_OPTIONS, ...options };
  const paths = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'].map((name) =>
    join(dir, name),
  );
  writeJsonAtomic(paths[0], tokenizerJson(bpe, opts));
  writeJsonAtomic(paths[1], tokenizerConfig(bpe, opts));
  writeJsonAtomic(paths[2], { bos_token: opts.bosToken, eos_token: opts.eosToken, pad_token: opts.padToken });
  writeJsonAtomic(paths[3], {
    bos_token_id: idOf(bpe, opts.bosToken),
    eos_token_id: idOf(bpe, opts.eosToken),
    pad_token_id: idOf(bpe, opts.padToken),
    do_sample: false,
  });
  return paths;
}

interface TokenizerJsonShape {
  added_tokens: { id: number; content: string; special: boolean }[];
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
}

/** Reads a ByteLevelBpe back from a tokenizer.json object (merges as "a b" strings or [a, b] pairs). */
export function bpeFromTokenizerJson(json: unknown): ByteLevelBpe {
  const shape = json as TokenizerJsonShape;
  if (shape?.model?.type !== 'BPE') throw new Error('Expected a tokenizer.json with a BPE model');
  const vocab: string[] = [];
  for (const [token, id] of Object.entries(shape.model.vocab)) vocab[id] = token;
  for (const added of shape.added_tokens) vocab[added.id] = added.content;
  for (let id = 0; id < vocab.length; id++) if (vocab[id] === undefined) throw new Error(`Vocabulary id ${id} is missing`);
  const merges = shape.model.merges.map((merge): [string, string] => {
    if (Array.isArray(merge)) return [merge[0], merge[1]];
    const separator = merge.indexOf(' ');
    return [merge.slice(0, separator), merge.slice(separator + 1)];
  });
  return { vocab, merges, specialTokens: shape.added_tokens.filter((t) => t.special).map((t) => t.content) };
}
