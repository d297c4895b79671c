// Pure data logic of the run dashboard metrics.jsonl lines ->
// column series, TensorBoard's debiased EMA, min/max downsampling. No DOM, no VS Code.
import type { MetricsLine } from '../../native/trainer/protocol';
import type { XAxis } from './protocol';

export type TrainLine = Extract<MetricsLine, { kind: 'train' }>;
export type ValLine = Extract<MetricsLine, { kind: 'val' }>;

/** Column store of a run's metrics; train lines are kept in step order, duplicates dropped. */
export class MetricsColumns {
  step: number[] = [];
  loss: number[] = [];
  lr: number[] = [];
  gradNorm: number[] = [];
  tokens: number[] = [];
  tokensPerS: number[] = [];
  peakBytes: number[] = [];
  /** Bytes in use after each step (null: a run from before the trainer logged it). */
  currentBytes: (number | null)[] = [];
  elapsedS: number[] = [];
  valStep: number[] = [];
  valLoss: number[] = [];

  reset(): void {
    for (const column of [
      this.step,
      this.loss,
      this.lr,
      this.gradNorm,
      this.tokens,
      this.tokensPerS,
      this.peakBytes,
      this.currentBytes,
      this.elapsedS,
      this.valStep,
      this.valLoss,
    ]) {
      column.length = 0;
    }
  }

  /** Appends lines; a train or val line at a step not after the last one is ignored (a replay). */
  append(lines: readonly MetricsLine[]): number {
    let added = 0;
    for (const line of lines) {
      if (line.kind === 'train') {
        if (this.step.length && line.step <= this.step[this.step.length - 1]) continue;
        this.step.push(line.step);
        this.loss.push(line.loss);
        this.lr.push(line.lr);
        this.gradNorm.push(line.grad_norm);
        this.tokens.push(line.tokens);
        this.tokensPerS.push(line.tokens_per_s);
        this.peakBytes.push(line.peak_bytes);
        this.currentBytes.push(typeof line.current_bytes === 'number' ? line.current_bytes : null);
        this.elapsedS.push(line.elapsed_s);
        added++;
      } else if (line.kind === 'val') {
        if (this.valStep.length && line.step <= this.valStep[this.valStep.length - 1]) continue;
        this.valStep.push(line.step);
        this.valLoss.push(line.loss);
        added++;
      }
    }
    return added;
  }

  /** The memory of the last train line: in use after it (when logged) and the peak so far. */
  latestMemory(): { currentBytes?: number; peakBytes?: number } {
    const n = this.step.length;
    if (n === 0) return {};
    return { currentBytes: this.currentBytes[n - 1] ?? undefined, peakBytes: this.peakBytes[n - 1] };
  }

  /** The x value of each train line on the chosen axis (time in seconds since the start). */
  xOf(axis: XAxis): number[] {
    return axis === 'step' ? this.step : axis === 'tokens' ? this.tokens : this.elapsedS;
  }

  /** The x value of each val line: its step, or the tokens/time of the train line at or before it. */
  valX(axis: XAxis): number[] {
    if (axis === 'step') return this.valStep;
    const x = this.xOf(axis);
    let i = 0;
    return this.valStep.map((s) => {
      while (i + 1 < this.step.length && this.step[i + 1] <= s) i++;
      return x.length ? x[i] : 0;
    });
  }
}

/**
 * TensorBoard's smoothing: an exponential moving average debiased like Adam's moments (so the
 * first points are not pulled towards 0). weight in [0, 1); 0 returns the values unchanged.
 * Non-finite values are passed through and do not disturb the average.
 */
export function debiasedEma(values: readonly number[], weight: number): number[] {
  if (!(weight > 0)) return values.slice();
  const w = Math.min(weight, 0.999);
  let last = 0;
  let count = 0;
  return values.map((v) => {
    if (!Number.isFinite(v)) return v;
    last = last * w + (1 - w) * v;
    count++;
    return last / (1 - Math.pow(w, count));
  });
}

/**
 * Indices of points to draw so that at most ~maxPoints remain: the first and last point, and per
 * bucket the minimum and the maximum of `ys` (so spikes survive). Returns every index when short.
 */
export function downsampleIndices(ys: readonly number[], maxPoints: number): number[] {
  const n = ys.length;
  if (n <= maxPoints || maxPoints < 4) return Array.from({ length: n }, (_, i) => i);
  const buckets = Math.floor((maxPoints - 2) / 2);
  const size = (n - 2) / buckets;
  const out = [0];
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor(b * size);
    const end = Math.min(n - 1, 1 + Math.floor((b + 1) * size));
    let lo = start;
    let hi = start;
    for (let i = start; i < end; i++) {
      if (ys[i] < ys[lo]) lo = i;
      if (ys[i] > ys[hi]) hi = i;
    }
    if (end > start) {
      out.push(Math.min(lo, hi));
      if (hi !== lo) out.push(Math.max(lo, hi));
    }
  }
  out.push(n - 1);
  return out;
}

export function pick<T>(values: readonly T[], indices: readonly number[]): T[] {
  return indices.map((i) => values[i]);
}

/**
 * Joins two series with their own sorted x values onto the union of x (uPlot's aligned data);
 * a series has null where it has no point.
 */
export function joinSeries(
  xa: readonly number[],
  ya: readonly (number | null)[][],
  xb: readonly number[],
  yb: readonly (number | null)[],
): { x: number[]; a: (number | null)[][]; b: (number | null)[] } {
  const x: number[] = [];
  const a: (number | null)[][] = ya.map(() => []);
  const b: (number | null)[] = [];
  let i = 0;
  let j = 0;
  while (i < xa.length || j < xb.length) {
    const takeA = j >= xb.length || (i < xa.length && xa[i] <= xb[j]);
    const takeB = i >= xa.length || (j < xb.length && xb[j] <= xa[i]);
    x.push(takeA ? xa[i] : xb[j]);
    ya.forEach((col, k) => a[k].push(takeA ? col[i] : null));
    b.push(takeB ? yb[j] : null);
    if (takeA) i++;
    if (takeB) j++;
  }
  return { x, a, b };
}
