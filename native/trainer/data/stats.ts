// Statistics of tokenized data for inspect-data and the dataset inspector: token-length
// distribution (histogram, median, percentiles), truncated, masked and prefix-violation shares.
import type { TokenizedExample } from '../../../language-server/src/lib/data/example';

export interface HistogramBin {
  /** Token counts from `from` (inclusive) to `to` (exclusive); bins are equally wide and cover min..max. */
  from: number;
  to: number;
  count: number;
}

export interface DataStats {
  examples: number;
  totalTokens: number;
  lengths: { min: number; max: number; mean: number; median: number; p90: number; p99: number };
  histogram: HistogramBin[];
  truncated: number;
  truncatedShare: number;
  /** Tokens that take no loss because mask_prompt masks them, over all tokens. */
  maskedTokens: number;
  maskedShare: number;
  prefixViolations: number;
  /** Examples with no loss-bearing target at all (fully masked). */
  emptyTargets: number;
}

/** Nearest-rank percentile of sorted values (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Statistics of `examples`; the histogram covers the shortest to the longest example in at most `bins` bins. */
export function dataStats(examples: readonly TokenizedExample[], bins = 10): DataStats {
  const lengths = examples.map((example) => example.inputIds.length).sort((a, b) => a - b);
  const totalTokens = lengths.reduce((sum, length) => sum + length, 0);
  const low = lengths[0] ?? 0;
  const high = lengths[lengths.length - 1] ?? 0;
  const width = Math.max(1, Math.ceil((high - low + 1) / bins));
  const histogram: HistogramBin[] = Array.from({ length: lengths.length ? Math.ceil((high - low + 1) / width) : 0 }, (_, i) => ({
    from: low + i * width,
    to: low + (i + 1) * width,
    count: 0,
  }));
  for (const length of lengths) histogram[Math.floor((length - low) / width)].count++;
  const maskedTokens = examples.reduce((sum, example) => sum + Math.min(example.maskedLength, example.inputIds.length), 0);
  const truncated = examples.filter((example) => example.truncated).length;
  const count = examples.length;
  return {
    examples: count,
    totalTokens,
    lengths: {
      min: lengths[0] ?? 0,
      max: lengths[count - 1] ?? 0,
      mean: count ? totalTokens / count : 0,
      median: percentile(lengths, 50),
      p90: percentile(lengths, 90),
      p99: percentile(lengths, 99),
    },
    histogram,
    truncated,
    truncatedShare: count ? truncated / count : 0,
    maskedTokens,
    maskedShare: totalTokens ? maskedTokens / totalTokens : 0,
    prefixViolations: examples.filter((example) => example.prefixViolation).length,
    emptyTargets: examples.filter((example) => example.inputIds.length <= 1 || example.maskedLength >= example.inputIds.length).length,
  };
}
