// Deterministic validation split and per-epoch shuffling from seeds (a seeded xorshift-style PRNG),
// so a resumed run sees exactly the same order.

/** mulberry32: a small 32-bit PRNG; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes a seed with a purpose and a counter into a 32-bit seed (different streams never coincide by accident). */
export function deriveSeed(seed: number, purpose: string, counter = 0): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  const text = `${purpose}#${counter}#${seed}`;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h >>> 0;
}

/** Fisher-Yates shuffle of a copy. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const random = seededRandom(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Splits record indices 0..count-1: floor(count * fraction) validation records (at least one when
 * the fraction is positive and there are two or more records), chosen by `seed`; both lists sorted.
 */
export function splitTrainValidation(count: number, fraction: number, seed: number): { train: number[]; validation: number[] } {
  let validationCount = Math.floor(count * fraction);
  if (fraction > 0 && validationCount === 0 && count >= 2) validationCount = 1;
  const order = shuffled([...Array(count).keys()], deriveSeed(seed, 'validation-split'));
  const validation = order.slice(0, validationCount).sort((a, b) => a - b);
  const train = order.slice(validationCount).sort((a, b) => a - b);
  return { train, validation };
}

/** The training order of each epoch: a seeded permutation of the training items, the same on every call. */
export class EpochSampler<T> {
  constructor(
    private readonly items: readonly T[],
    private readonly seed: number,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** Items in the order of epoch `epoch` (0-based). */
  epochOrder(epoch: number): T[] {
    return shuffled(this.items, deriveSeed(this.seed, 'epoch-order', epoch));
  }
}
