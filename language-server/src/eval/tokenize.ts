// The joint tokenization rule of EVAL.md: trailing whitespace of the context moves to the
// continuation; context + continuation are tokenized as one string and the continuation is what
// follows the context's own token count; an empty context becomes one prefix token (BOS for
// lm-eval, EOS for the article profile); BOS before a non-empty context per profile (override
// possible); left truncation to the model's window.
import { isPySpace } from './template';
import type { ProfileName, RequestText, TokenRequest } from './types';

/** What the rule needs of a tokenizer (the trainer's TextTokenizer has it). */
export interface EvalTokenizer {
  encode(text: string, options: { bos?: boolean }): number[];
  readonly bosId: number | null;
  readonly eosId: number;
  /** The tokenizer's default: whether it puts BOS in front (add_bos_token). */
  readonly addBos: boolean;
  /** generate_until: ids back to text, and the ids that end a generation. */
  decode?(ids: readonly number[]): string;
  readonly stopIds?: readonly number[];
}

export interface TokenizeOptions {
  profile: ProfileName;
  /** Overrides the profile's BOS rule before a non-empty context (null/undefined: the profile's). */
  bos?: boolean | null;
  /** The model's context window (tokens fed at once); the input keeps the last maxLength + 1 tokens minus one. */
  maxLength: number;
}

/** Step 1: (context, continuation) with the context's trailing whitespace moved to the continuation. */
export function moveTrailingSpace(request: RequestText): RequestText {
  let end = request.context.length;
  while (end > 0 && isPySpace(request.context[end - 1])) end--;
  if (end === request.context.length) return request;
  return { context: request.context.slice(0, end), continuation: request.context.slice(end) + request.continuation };
}

/** Whether BOS goes in front of a non-empty context under these options. */
export function usesBos(tokenizer: EvalTokenizer, options: Pick<TokenizeOptions, 'profile' | 'bos'>): boolean {
  if (tokenizer.bosId === null) return false;
  if (options.bos !== undefined && options.bos !== null) return options.bos;
  return options.profile === 'lm-eval' ? tokenizer.addBos : false;
}

/** Steps 1-3 and 5: the token ids of one request, truncated on the left to fit the window. */
export function tokenizeRequest(request: RequestText, tokenizer: EvalTokenizer, options: TokenizeOptions): TokenRequest {
  const { context, continuation } = moveTrailingSpace(request);
  let contextIds: number[];
  let continuationIds: number[];
  if (context === '') {
    const prefix = options.profile === 'lm-eval' ? (tokenizer.bosId ?? tokenizer.eosId) : tokenizer.eosId;
    contextIds = [prefix];
    continuationIds = tokenizer.encode(continuation, { bos: false });
  } else {
    const bos = usesBos(tokenizer, options);
    const whole = tokenizer.encode(context + continuation, { bos });
    contextIds = tokenizer.encode(context, { bos });
    continuationIds = whole.slice(contextIds.length);
  }
  if (continuationIds.length === 0) {
    throw new Error(
      `the continuation ${JSON.stringify(request.continuation)} has no tokens of its own after the context ${JSON.stringify(request.context.slice(-40))}`,
    );
  }
  if (continuationIds.length > options.maxLength) {
    throw new Error(
      `the continuation ${JSON.stringify(request.continuation.slice(0, 40))} has ${continuationIds.length} tokens, more than the model's window of ${options.maxLength}`,
    );
  }
  return truncateRequest(contextIds, continuationIds, options.maxLength);
}

/** (context + continuation)[-(maxLength + 1):][:-1]: the last maxLength + 1 tokens stay (the continuation must fit). */
export function truncateRequest(context: number[], continuation: number[], maxLength: number): TokenRequest {
  const keep = Math.min(context.length, maxLength + 1 - continuation.length);
  const truncated = context.length - keep;
  return { context: truncated > 0 ? context.slice(truncated) : context, continuation, truncated };
}
