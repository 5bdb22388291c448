// Seeds for reproducible runs: xa.setSeed(n) fixes weight initialisation,
// dropout masks and the shuffling order of every model made afterwards.
import { randomBytes } from 'node:crypto';

const MASK = (1n << 64n) - 1n;
let state: bigint = BigInt('0x' + randomBytes(8).toString('hex'));

function mix64(x: bigint): bigint {
  x = (x + 0x9e3779b97f4a7c15n) & MASK;
  x = ((x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
  x = ((x ^ (x >> 27n)) * 0x94d049bb133111ebn) & MASK;
  return x ^ (x >> 31n);
}

/** Makes initialisation, dropout and shuffling reproducible (like tf.random.set_seed). */
export function setSeed(seed: number): void {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0) {
    throw new TypeError(`setSeed: seed must be a non-negative integer, received ${String(seed)}`);
  }
  state = BigInt(seed);
}

/** A fresh 53-bit seed from the global sequence. */
export function nextSeed(): number {
  state = (state + 1n) & MASK;
  return Number(mix64(state) >> 11n);
}

/** A small deterministic generator (SplitMix32-style) for shuffling. */
export class Random {
  private s: number;
  constructor(seed: number) {
    this.s = (seed ^ Math.floor(seed / 0x100000000)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let z = (this.s = (this.s + 0x9e3779b9) >>> 0);
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 0x100000000;
  }
  /** A random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }
}
