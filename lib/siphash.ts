// SipHash-2-4 (Aumasson and Bernstein, 2012): a fast keyed hash that is a MAC/PRF, the function
// Linux keys its SYN cookies, ISNs and IP IDs with. Written here over 32-bit halves of its
// 64-bit words, for a few whole 32-bit words of input with no allocation per call: it runs once
// per received SYN under a flood and once per datagram sent, where a node:crypto digest (an
// object per call) cost a fifth of the time.

/** A 128-bit SipHash key, kept as the four little-endian 32-bit words of its 16 bytes. */
export class SipKey {
  readonly k0lo: number;
  readonly k0hi: number;
  readonly k1lo: number;
  readonly k1hi: number;

  /** The key from the first 16 bytes of `bytes` (e.g. `rng.bytes(16)`). */
  constructor(bytes: Uint8Array) {
    if (bytes.length < 16) throw new RangeError('a SipHash key is 16 bytes');
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, 16);
    this.k0lo = b.readUInt32LE(0);
    this.k0hi = b.readUInt32LE(4);
    this.k1lo = b.readUInt32LE(8);
    this.k1hi = b.readUInt32LE(12);
  }
}

// The state v0..v3 as [lo, hi] pairs: one module-level array, so a hash allocates nothing.
const v = new Uint32Array(8);

function init(k: SipKey): void {
  // "somepseudorandomlygeneratedbytes" xor the key (SipHash paper §2.1).
  v[0] = k.k0lo ^ 0x70736575; v[1] = k.k0hi ^ 0x736f6d65;
  v[2] = k.k1lo ^ 0x6e646f6d; v[3] = k.k1hi ^ 0x646f7261;
  v[4] = k.k0lo ^ 0x6e657261; v[5] = k.k0hi ^ 0x6c796765;
  v[6] = k.k1lo ^ 0x79746573; v[7] = k.k1hi ^ 0x74656462;
}

/** a += b (64-bit, words at a and b). */
function add(a: number, b: number): void {
  const lo = (v[a]! + v[b]!) >>> 0;
  v[a + 1] = (v[a + 1]! + v[b + 1]! + (lo < v[a]! ? 1 : 0)) >>> 0;
  v[a] = lo;
}

/** a = rotl(a, n) ^ b, for 0 < n < 32. */
function rotXor(a: number, n: number, b: number): void {
  const lo = v[a]!;
  const hi = v[a + 1]!;
  v[a] = ((lo << n) | (hi >>> (32 - n))) ^ v[b]!;
  v[a + 1] = ((hi << n) | (lo >>> (32 - n))) ^ v[b + 1]!;
}

/** a = rotl(a, 32). */
function swap(a: number): void {
  const lo = v[a]!;
  v[a] = v[a + 1]!;
  v[a + 1] = lo;
}

function sipRound(): void {
  add(0, 2); rotXor(2, 13, 0); swap(0);
  add(4, 6); rotXor(6, 16, 4);
  add(0, 6); rotXor(6, 21, 0);
  add(4, 2); rotXor(2, 17, 4); swap(4);
}

/** Absorb one 64-bit message word (c = 2 rounds). */
function compress(lo: number, hi: number): void {
  v[6] ^= lo; v[7] ^= hi;
  sipRound();
  sipRound();
  v[0] ^= lo; v[1] ^= hi;
}

/** The last block (only the length byte: every input here is whole words), d = 4 rounds; the low 32 bits. */
function finish(bytes: number): number {
  compress(0, bytes << 24);
  v[4] ^= 0xff;
  sipRound(); sipRound(); sipRound(); sipRound();
  return (v[0]! ^ v[2]! ^ v[4]! ^ v[6]!) >>> 0;
}

/** The low 32 bits of SipHash-2-4 of the 8 bytes `a`, `b` (32-bit words, little-endian). */
export function sipHash2(k: SipKey, a: number, b: number): number {
  init(k);
  compress(a >>> 0, b >>> 0);
  return finish(8);
}

/** The low 32 bits of SipHash-2-4 of the 24 bytes `a`..`f` (32-bit words, little-endian). */
export function sipHash6(k: SipKey, a: number, b: number, c: number, d: number, e: number, f: number): number {
  init(k);
  compress(a >>> 0, b >>> 0);
  compress(c >>> 0, d >>> 0);
  compress(e >>> 0, f >>> 0);
  return finish(24);
}
