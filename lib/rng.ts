// Randomness, injected: seeded for tests and simulations, crypto-backed in production
// (RFC 6528 ISN secret, ephemeral ports, SYN-cookie secret) (DESIGN.md).
import { randomBytes, randomFillSync } from 'node:crypto';

/** A source of random 32-bit integers, floats and bytes. */
export interface Rng {
  /** A uniformly random unsigned 32-bit integer. */
  u32(): number;
  /** A uniformly random float in [0, 1). */
  float(): number;
  /** `n` random bytes. */
  bytes(n: number): Buffer;
}

/** A deterministic generator (sfc32) for tests: the same seed gives the same sequence. */
export class SeededRng implements Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }

  u32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  float(): number {
    return this.u32() / 0x1_0000_0000;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

/** The production generator: node:crypto, refilled in blocks so `u32()` stays cheap. */
export class CryptoRng implements Rng {
  readonly #pool = new Uint32Array(256);
  #i = 256;

  u32(): number {
    if (this.#i === this.#pool.length) {
      randomFillSync(this.#pool);
      this.#i = 0;
    }
    return this.#pool[this.#i++]!;
  }

  float(): number {
    return this.u32() / 0x1_0000_0000;
  }

  bytes(n: number): Buffer {
    return randomBytes(n);
  }
}
