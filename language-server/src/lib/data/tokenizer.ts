// The checkpoint's tokenizer: tokenizer.json through @huggingface/tokenizers, with BOS/EOS and the
// chat template as tokenizer_config.json says (rendered with @huggingface/jinja).
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

type Json = Record<string, unknown>;

/** A special token in tokenizer_config.json: a string or an AddedToken dict {content: ...}. */
function tokenText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return null;
}

/** Whether tokenizer.json's post-processor puts a special token in front of a single sequence. */
function postProcessorBos(tokenizerJson: Json): string | null {
  const processor = tokenizerJson.post_processor as Json | null | undefined;
  const candidates = processor?.type === 'Sequence' ? ((processor.processors as Json[]) ?? []) : processor ? [processor] : [];
  for (const candidate of candidates) {
    if (candidate.type !== 'TemplateProcessing') continue;
    const first = (candidate.single as Json[] | undefined)?.[0];
    const special = first?.SpecialToken as Json | undefined;
    if (special && typeof special.id === 'string') return special.id;
  }
  return null;
}

const METASPACE = '\u2581';
const JOINS_WORD_AND_SPACE = /[^\u2581]\u2581/;

/**
 * SentencePiece-style BPE without a pre-tokenizer (Llama 2, Mistral) runs each text through BPE as
 * one long word, which is slow. When no vocabulary entry and no merge joins a character with a
 * following '▁', BPE can never merge across the position before such a '▁', so splitting there
 * gives exactly the same tokens, and the per-word cache then works. Installs that split as the
 * pre-tokenizer when the condition holds; returns whether it did.
 */
function installMetaspaceSplit(tokenizer: Tokenizer, tokenizerJson: Json): boolean {
  const model = tokenizerJson.model as Json | undefined;
  if (tokenizerJson.pre_tokenizer !== null && tokenizerJson.pre_tokenizer !== undefined) return false;
  if (model?.type !== 'BPE' || !model.vocab || !Array.isArray(model.merges)) return false;
  if (Object.keys(model.vocab as Json).some((token) => JOINS_WORD_AND_SPACE.test(token))) return false;
  const merged = (merge: unknown): string => (Array.isArray(merge) ? merge.join('') : String(merge).replace(' ', ''));
  if ((model.merges as unknown[]).some((merge) => JOINS_WORD_AND_SPACE.test(merged(merge)))) return false;
  const split = (text: string): string[] => {
    const pieces: string[] = [];
    let start = 0;
    for (let i = 1; i < text.length; i++) {
      if (text[i] === METASPACE && text[i - 1] !== METASPACE) {
        pieces.push(text.slice(start, i));
        start = i;
      }
    }
    pieces.push(text.slice(start));
    return pieces;
  };
  // The library calls `pre_tokenizer(text, options)` and passes the returned words to the model.
  (tokenizer as unknown as { pre_tokenizer: unknown }).pre_tokenizer = split;
  return true;
}

export class TextTokenizer {
  private readonly tokenizer: Tokenizer;
  readonly bosToken: string | null;
  readonly eosToken: string;
  readonly bosId: number | null;
  readonly eosId: number;
  /** EOS plus any further stop ids (generation_config.json's eos_token_id list). */
  readonly stopIds: number[];
  /** Whether encode() puts BOS in front (add_bos_token, else what tokenizer.json's post-processor does). */
  readonly addBos: boolean;
  /** Id that fills padding positions (pad_token, else EOS); padding never takes loss. */
  readonly padId: number;
  readonly chatTemplate: string | null;
  readonly vocabSize: number;
  /** sha256 over tokenizer.json, tokenizer_config.json and the extra stop ids: keys the data cache. */
  readonly fingerprint: string;
  private template: Template | null = null;

  /** Whether the exact metaspace split speeds up encoding (SentencePiece-style BPE only). */
  readonly metaspaceSplit: boolean;

  /**
   * `options.modelTokenIds`: config.json's bos/eos ids, used when tokenizer_config.json names no
   * bos_token/eos_token. `options.metaspaceSplit: false` keeps the library's whole-text BPE.
   */
  constructor(
    tokenizerJsonText: string,
    tokenizerConfigText: string,
    extraStopIds: number[] = [],
    options: { metaspaceSplit?: boolean; modelTokenIds?: { bos?: number; eos?: number } } = {},
  ) {
    const tokenizerJson = JSON.parse(tokenizerJsonText) as Json;
    const config = JSON.parse(tokenizerConfigText) as Json;
    this.tokenizer = new Tokenizer(tokenizerJson, config);
    this.metaspaceSplit = options.metaspaceSplit !== false && installMetaspaceSplit(this.tokenizer, tokenizerJson);
    this.vocabSize = this.tokenizer.get_vocab(true).size;
    const idOf = (token: string | null, what: string): number | null => {
      if (token === null) return null;
      const id = this.tokenizer.token_to_id(token);
      if (id === undefined) throw new Error(`tokenizer_config.json: the ${what} '${token}' is not in the vocabulary of tokenizer.json`);
      return id;
    };
    const fromModel = (id: number | undefined): string | null => (id === undefined ? null : (this.tokenizer.id_to_token(id) ?? null));
    const eosToken = tokenText(config.eos_token) ?? fromModel(options.modelTokenIds?.eos);
    if (eosToken === null)
      throw new Error(
        'neither tokenizer_config.json (eos_token) nor config.json (eos_token_id) names an end-of-sequence token: training needs one to teach the model to stop',
      );
    this.eosToken = eosToken;
    this.eosId = idOf(eosToken, 'eos_token')!;
    const processorBos = postProcessorBos(tokenizerJson);
    this.bosToken = tokenText(config.bos_token) ?? processorBos ?? fromModel(options.modelTokenIds?.bos);
    this.bosId = idOf(this.bosToken, 'bos_token');
    this.addBos = this.bosId !== null && (typeof config.add_bos_token === 'boolean' ? config.add_bos_token : processorBos !== null);
    this.padId = idOf(tokenText(config.pad_token), 'pad_token') ?? this.eosId;
    this.chatTemplate = typeof config.chat_template === 'string' ? config.chat_template : null;
    this.stopIds = [...new Set([this.eosId, ...extraStopIds])];
    this.fingerprint = createHash('sha256')
      .update(tokenizerJsonText)
      .update('\0')
      .update(tokenizerConfigText)
      .update('\0')
      .update(this.stopIds.join(','))
      .digest('hex');
  }

  /** Token ids of `text`: special-token text in it is recognised, BOS added when addBos (or `bos` says so). */
  encode(text: string, options: { bos?: boolean } = {}): number[] {
    const ids = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    return (options.bos ?? this.addBos) && this.bosId !== null ? [this.bosId, ...ids] : ids;
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode([...ids], {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: false,
    });
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }

  /** Renders the chat template (it emits BOS itself: encode its output with { bos: false }). */
  renderChat(messages: ChatMessage[], addGenerationPrompt: boolean): string {
    if (this.chatTemplate === null)
      throw new Error("the checkpoint's tokenizer_config.json has no chat_template: use prompt_style alpaca or plain");
    this.template ??= new Template(this.chatTemplate);
    try {
      return this.template.render({
        messages,
        add_generation_prompt: addGenerationPrompt,
        bos_token: this.bosToken ?? '',
        eos_token: this.eosToken,
      });
    } catch (error) {
      // raise_exception() in a template (built into @huggingface/jinja) lands here
      throw new Error(`the chat template refused the conversation: ${(error as Error).message}`);
    }
  }
}

/** Loads tokenizer.json + tokenizer_config.json (and generation_config.json's stop ids) from a checkpoint folder. */
export function loadTokenizer(checkpointDir: string): TextTokenizer {
  const read = (name: string, required: boolean): string | null => {
    const path = join(checkpointDir, name);
    if (!existsSync(path)) {
      if (required) throw new Error(`${path} is missing: the checkpoint folder needs the Hugging Face ${name}`);
      return null;
    }
    return readFileSync(path, 'utf8');
  };
  const tokenizerJson = read('tokenizer.json', true)!;
  const tokenizerConfig = read('tokenizer_config.json', false) ?? '{}';
  const generation = read('generation_config.json', false);
  const modelConfig = read('config.json', false);
  const modelTokenIds: { bos?: number; eos?: number } = {};
  if (modelConfig) {
    try {
      const json = JSON.parse(modelConfig) as Json;
      const first = (value: unknown): number | undefined => {
        const id = Array.isArray(value) ? value[0] : value;
        return Number.isInteger(id) ? (id as number) : undefined;
      };
      modelTokenIds.bos = first(json.bos_token_id);
      modelTokenIds.eos = first(json.eos_token_id);
    } catch {
      // config.json problems are the model loader's to report; the tokenizer does not need it
    }
  }
  let extraStopIds: number[] = [];
  if (generation) {
    try {
      const eos = (JSON.parse(generation) as Json).eos_token_id;
      extraStopIds = (Array.isArray(eos) ? eos : [eos]).filter((id): id is number => Number.isInteger(id));
    } catch (error) {
      throw new Error(`${join(checkpointDir, 'generation_config.json')} is not valid JSON: ${(error as Error).message}`);
    }
  }
  try {
    return new TextTokenizer(tokenizerJson, tokenizerConfig, extraStopIds, { modelTokenIds });
  } catch (error) {
    throw new Error(`${checkpointDir}: cannot load the tokenizer: ${(error as Error).message}`);
  }
}
