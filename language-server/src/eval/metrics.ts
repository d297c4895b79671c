// Per-document metrics of EVAL.md (acc by argmax, mc2, BLiMP's pair rule, is_greedy) under both
// profiles, and the mean with its standard error (sample sd / sqrt(n)).
import { pyStrip } from './template';
import type { MetricKind, Normalization, ProfileName, ScoreResult } from './types';

/** Index of the first maximum (lm-eval's np.argmax). */
export function argmaxFirst(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function logSumExp(values: readonly number[]): number {
  const max = Math.max(...values);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

/**
 * TruthfulQA MC2: the normalised probability mass of the true answers. lm-eval profile: the true
 * answers are those labelled 1. Article profile (0.3): every answer from the first label 0 on
 * counts as false, which differs where the labels are not sorted (two questions).
 */
export function mc2(lls: readonly number[], labels: readonly number[], profile: ProfileName): number {
  if (lls.length !== labels.length) throw new Error(`mc2: ${lls.length} scores for ${labels.length} labels`);
  const split = labels.indexOf(0);
  const isTrue = (i: number): boolean => (profile === 'article' ? split < 0 || i < split : labels[i] === 1);
  const total = logSumExp(lls);
  let mass = 0;
  lls.forEach((ll, i) => {
    if (isTrue(i)) mass += Math.exp(ll - total);
  });
  return mass;
}

/** BLiMP: choice 0 is the good sentence. lm-eval: argmax (a tie counts as right); article: strictly greater. */
export function pairAcc(lls: readonly number[], profile: ProfileName): number {
  if (lls.length !== 2) throw new Error(`pair_acc needs two scores, got ${lls.length}`);
  if (profile === 'article') return lls[0] > lls[1] ? 1 : 0;
  return argmaxFirst(lls) === 0 ? 1 : 0;
}

/** The metric of one document from its requests' results. */
export function docMetric(
  metric: MetricKind,
  results: readonly ScoreResult[],
  gold: number,
  labels: readonly number[] | undefined,
  profile: ProfileName,
): number {
  const lls = results.map((r) => r.sumLogprob);
  switch (metric) {
    case 'acc':
      return argmaxFirst(lls) === gold ? 1 : 0;
    case 'mc2':
      return mc2(lls, labels ?? [], profile);
    case 'pair_acc':
      return pairAcc(lls, profile);
    case 'greedy_acc':
      return results.every((r) => r.isGreedy) ? 1 : 0;
    case 'exact_match':
    case 'contains':
      throw new Error(`${metric} scores generated text: use generationMetric`);
  }
}

/** The normalisations of a generate_until task, in order. remove_punctuation drops Unicode punctuation (\p{P}). */
export function normalizeText(text: string, steps: readonly Normalization[]): string {
  let out = text;
  for (const step of steps) {
    if (step === 'strip') out = pyStrip(out);
    else if (step === 'lower') out = out.toLowerCase();
    else if (step === 'collapse_whitespace') out = out.replace(/\s+/gu, ' ');
    else out = out.replace(/\p{P}/gu, '');
  }
  return out;
}

/** The generation cut before its first stop string (lm-eval's `until`). */
export function cutAtStop(text: string, until: readonly string[]): string {
  let end = text.length;
  for (const stop of until) {
    const at = text.indexOf(stop);
    if (at >= 0 && at < end) end = at;
  }
  return text.slice(0, end);
}

/** exact_match: equal after normalisation; contains: the normalised reference occurs in the normalised answer. */
export function generationMetric(
  metric: 'exact_match' | 'contains',
  answer: string,
  target: string,
  steps: readonly Normalization[],
): number {
  const a = normalizeText(answer, steps);
  const t = normalizeText(target, steps);
  return (metric === 'exact_match' ? a === t : a.includes(t)) ? 1 : 0;
}

/** lm-eval's perplexity of a loglikelihood task: exp(-mean(sum_logprob)) over the documents. */
export function perplexity(results: readonly (readonly ScoreResult[])[]): number {
  if (results.length === 0) return NaN;
  const lls = results.map((doc) => doc.reduce((a, r) => a + r.sumLogprob, 0));
  return Math.exp(-lls.reduce((a, b) => a + b, 0) / lls.length);
}

export interface MeanStderr {
  mean: number;
  /** Sample standard deviation (n - 1) over sqrt(n); null for fewer than two values. */
  stderr: number | null;
}

export function meanStderr(values: readonly number[]): MeanStderr {
  const n = values.length;
  if (n === 0) return { mean: NaN, stderr: null };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, stderr: null };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  return { mean, stderr: Math.sqrt(variance) / Math.sqrt(n) };
}
