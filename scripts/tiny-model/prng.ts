// Seeded pseudo-random numbers for the tiny-model data generators (mulberry32 seeded through
// splitmix32), so corpus, datasets and held-out sets are byte-identical on every machine.

/** One splitmix32 step: spreads a small integer seed over all 32 bits. */
function splitmix32(seed: number): number {
  let z = (seed + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A deterministic random source (mulberry32). Never use Math.random in the generators. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`Expected an integer seed but received ${seed}`);
    this.state = splitmix32(seed);
  }

  /** Uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [low, high] (both inclusive). */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Expected a non-empty list to pick from');
    return items[Math.floor(this.next() * items.length)];
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const held = items[i];
      items[i] = items[j];
      items[j] = held;
    }
    return items;
  }

  /** `count` distinct items in random order (count <= items.length). */
  sample<T>(items: readonly T[], count: number): T[] {
    return this.shuffle(items.slice()).slice(0, count);
  }

  /** A child generator with an independent stream, derived from this one and a label. */
  fork(label: string): Prng {
    let hash = 0x811c9dc5;
    for (let i = 0; i < label.length; i++) hash = Math.imul(hash ^ label.charCodeAt(i), 0x01000193);
    return new Prng((hash ^ Math.floor(this.next() * 4294967296)) | 0);
  }
}
