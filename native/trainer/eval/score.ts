// Runs tokenized evaluation requests through the engine's score call: packs them into one
// Int32Array, forwards progress, and returns per-request results in request order.
import type { NativeEngine, PackedScoreRequests } from '../addon';
import type { ScoreResult, TokenRequest } from '../../../language-server/src/eval';

export function packScoreRequests(requests: readonly Pick<TokenRequest, 'context' | 'continuation'>[]): PackedScoreRequests {
  const total = requests.reduce((a, r) => a + r.context.length + r.continuation.length, 0);
  const tokens = new Int32Array(total);
  const contextLengths = new Int32Array(requests.length);
  const continuationLengths = new Int32Array(requests.length);
  let at = 0;
  requests.forEach((r, i) => {
    tokens.set(r.context, at);
    at += r.context.length;
    tokens.set(r.continuation, at);
    at += r.continuation.length;
    contextLengths[i] = r.context.length;
    continuationLengths[i] = r.continuation.length;
  });
  return { tokens, contextLengths, continuationLengths };
}

export interface ScoreRun {
  results: ScoreResult[];
  /** Tokens run through the model (less than the inputs when prefixes were shared). */
  computedTokens: number;
}

export async function scoreRequests(
  engine: NativeEngine,
  requests: readonly TokenRequest[],
  options: { sharePrefix?: boolean; onProgress?: (done: number, total: number) => void } = {},
): Promise<ScoreRun> {
  if (requests.length === 0) return { results: [], computedTokens: 0 };
  const out = await engine.score(packScoreRequests(requests), { sharePrefix: options.sharePrefix ?? true }, options.onProgress);
  const results = Array.from(out.sumLogprob, (sumLogprob, i) => ({ sumLogprob, isGreedy: out.isGreedy[i] === 1 }));
  return { results, computedTokens: out.computed.reduce((a, b) => a + b, 0) };
}
