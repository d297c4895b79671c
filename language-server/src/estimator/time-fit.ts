// Fits the time model's costs (seconds per unit of each kind of work, step-work.ts) to measured steps:
// non-negative least squares on the relative error (Lawson-Hanson), as `lora-lab calibrate` does it.
import { WORK_TERMS, workSeconds, type StepWork, type WorkCosts, type WorkTerm } from './step-work';

/** One measured step: its work (stepWork of the config it ran) and its seconds. */
export interface TimeSample {
  work: StepWork;
  seconds: number;
}

export interface TimeFit {
  /** Seconds per unit of each term the samples exercised (terms no sample has are left out). */
  costs: WorkCosts;
  /** The largest |predicted - measured| / measured over the samples. */
  maxRelativeError: number;
}

/** Solves A x = b for a small square system (Gaussian elimination with partial pivoting); null when singular. */
function solve(a: number[][], b: number[]): number[] | null {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    if (Math.abs(m[pivot][col]) < 1e-12) return null;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r][col] / m[col][col];
      for (let c = col; c <= n; c++) m[r][c] -= f * m[col][c];
    }
  }
  return m.map((row, i) => row[n] / row[i]);
}

/** Least squares over the columns in `set` (normal equations, a tiny ridge against collinear columns). */
function leastSquares(a: number[][], b: number[], set: number[]): number[] | null {
  const gram = set.map((i) => set.map((j) => a.reduce((s, row) => s + row[i] * row[j], 0) + (i === j ? 1e-9 : 0)));
  const rhs = set.map((i) => a.reduce((s, row, r) => s + row[i] * b[r], 0));
  return solve(gram, rhs);
}

/** min |A x - b|^2 subject to x >= 0 (Lawson and Hanson, 1974). */
export function nonNegativeLeastSquares(a: number[][], b: number[]): number[] {
  const n = a[0]?.length ?? 0;
  const x = new Array<number>(n).fill(0);
  const passive = new Set<number>();
  const gradient = () => {
    const residual = b.map((bi, r) => bi - a[r].reduce((s, v, j) => s + v * x[j], 0));
    return Array.from({ length: n }, (_, j) => a.reduce((s, row, r) => s + row[j] * residual[r], 0));
  };
  for (let outer = 0; outer < 3 * n; outer++) {
    const w = gradient();
    let best = -1;
    for (let j = 0; j < n; j++) if (!passive.has(j) && w[j] > 1e-10 && (best < 0 || w[j] > w[best])) best = j;
    if (best < 0) break;
    passive.add(best);
    for (let inner = 0; inner < 3 * n; inner++) {
      const set = [...passive].sort((p, q) => p - q);
      const z = leastSquares(a, b, set);
      if (!z) {
        passive.delete(best);
        break;
      }
      if (z.every((v) => v > 0)) {
        set.forEach((j, k) => (x[j] = z[k]));
        break;
      }
      // step from x towards z until the first passive variable reaches zero, and drop it
      let alpha = 1;
      set.forEach((j, k) => {
        if (z[k] <= 0) alpha = Math.min(alpha, x[j] / (x[j] - z[k]));
      });
      set.forEach((j, k) => (x[j] += alpha * (z[k] - x[j])));
      for (const j of set) {
        if (x[j] > 1e-15) continue;
        passive.delete(j);
        x[j] = 0;
      }
    }
  }
  return x;
}

/**
 * Each term's seconds per unit so that the samples' predicted seconds match the measured ones with the
 * least squared relative error, every cost >= 0. Terms no sample exercises get no cost.
 */
export function fitWorkCosts(samples: readonly TimeSample[]): TimeFit {
  if (samples.length === 0) throw new Error('fitWorkCosts: no samples');
  const used = WORK_TERMS.filter((t) => samples.some((s) => s.work[t] > 0));
  // rows scaled by 1 / measured (relative error), columns by their largest entry (conditioning)
  const rows = samples.map((s) => used.map((t) => s.work[t] / s.seconds));
  const scale = used.map((_, j) => Math.max(...rows.map((r) => r[j])));
  const a = rows.map((r) => r.map((v, j) => v / scale[j]));
  const x = nonNegativeLeastSquares(
    a,
    samples.map(() => 1),
  );
  const costs: WorkCosts = {};
  used.forEach((t: WorkTerm, j) => (costs[t] = x[j] / scale[j]));
  const maxRelativeError = Math.max(...samples.map((s) => Math.abs(workSeconds(s.work, costs) - s.seconds) / s.seconds));
  return { costs, maxRelativeError };
}
