/**
 * Seeded pseudo-random numbers for the district simulator.
 *
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state) seeded through
 * splitmix32: fast in V8 (32-bit integer math only), good statistical quality, and identical
 * on every platform, so a (seed, stream) pair always yields the same district. We do not use
 * Math.random anywhere in the simulator, and no faker (too slow and too heavy for 1.5M records).
 *
 * Streams: every independent concern (base generation, dirty data, each churn day) draws from its
 * own stream derived from (seed, label), so turning dirty data on does not move a single clean
 * record, and advancing 2 days equals advancing 1 day twice.
 */

/** 32-bit FNV-1a of a label, mixed with the seed: the seed of a derived stream. */
export function streamSeed(seed: number, label: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // One splitmix32 round so that nearby seeds give unrelated streams.
  h = (h + 0x9e3779b9) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A deterministic random source. Cheap to create; holds four uint32s of state. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** @param seed any integer; @param stream optional label deriving an independent stream. */
  constructor(seed: number, stream = '') {
    let s = streamSeed(seed, stream);
    // splitmix32 expands the 32-bit seed into the 128-bit sfc32 state.
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = 1;
    // Discard the first outputs, as sfc32's author recommends, to mix the state.
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Next uniform uint32. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). `n` must be a positive integer below 2^32. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [min, max] (both inclusive). */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** A uniformly chosen element. The array must not be empty. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** Picks by weight; `weights` are non-negative and parallel to `items`. */
  weighted<T>(items: readonly T[], weights: readonly number[]): T {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.float() * total;
    for (let i = 0; i < items.length; i++) {
      r -= weights[i] ?? 0;
      if (r < 0) return items[i] as T;
    }
    return items[items.length - 1] as T;
  }

  /**
   * A whole count with mean `lambda`: floor(lambda) plus one more with probability frac(lambda).
   * Used for daily churn counts so small districts still see occasional events.
   */
  count(lambda: number): number {
    const whole = Math.floor(lambda);
    return whole + (this.chance(lambda - whole) ? 1 : 0);
  }

  /** Shuffles in place (Fisher–Yates) and returns the same array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /**
   * Exactly `k` distinct indices of [0, n), ascending (Knuth's selection sampling, Algorithm S).
   * Deterministic for the stream; used where bookkeeping must be exact (dirty data).
   */
  sample(n: number, k: number): number[] {
    const out: number[] = [];
    let needed = Math.min(k, n);
    for (let i = 0; i < n && needed > 0; i++) {
      if (this.float() * (n - i) < needed) {
        out.push(i);
        needed--;
      }
    }
    return out;
  }
}
