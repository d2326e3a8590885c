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

/** The low 32 bits of SipHash-2-4 of the 8 bytes `a`, `b` (32-bit words, little-endian). */
export function sipHash2(k: SipKey, a: number, b: number): number {
  return sip(k, 1, a, b, 0, 0, 0, 0);
}

/** The low 32 bits of SipHash-2-4 of the 24 bytes `a`..`f` (32-bit words, little-endian). */
export function sipHash6(k: SipKey, a: number, b: number, c: number, d: number, e: number, f: number): number {
  return sip(k, 3, a, b, c, d, e, f);
}

/**
 * SipHash-2-4 of `blocks` whole 64-bit words (m0,m1), (m2,m3), (m4,m5), then the length block.
 * The state lives in eight local 32-bit halves, and the round is written once inside one
 * loop: no calls, no memory per round (small helper functions and a typed-array state were not
 * inlined and cost a tenth of a flood SYN's time, issue 10 item 11).
 */
function sip(k: SipKey, blocks: number, m0: number, m1: number, m2: number, m3: number, m4: number, m5: number): number {
  // "somepseudorandomlygeneratedbytes" xor the key (SipHash paper §2.1).
  let v0l = (k.k0lo ^ 0x70736575) >>> 0, v0h = (k.k0hi ^ 0x736f6d65) >>> 0;
  let v1l = (k.k1lo ^ 0x6e646f6d) >>> 0, v1h = (k.k1hi ^ 0x646f7261) >>> 0;
  let v2l = (k.k0lo ^ 0x6e657261) >>> 0, v2h = (k.k0hi ^ 0x6c796765) >>> 0;
  let v3l = (k.k1lo ^ 0x79746573) >>> 0, v3h = (k.k1hi ^ 0x74656462) >>> 0;
  // c = 2 rounds per block (the last block holds only the length byte: inputs are whole words),
  // then d = 4 rounds after v2 ^= 0xff.
  const absorbing = 2 * (blocks + 1);
  let ml = 0, mh = 0, t = 0;
  for (let r = 0; r < absorbing + 4; r++) {
    if (r < absorbing && (r & 1) === 0) {
      const b = r >>> 1;
      ml = b === blocks ? 0 : (b === 0 ? m0 : b === 1 ? m2 : m4) >>> 0;
      mh = b === blocks ? (blocks * 8) << 24 : (b === 0 ? m1 : b === 1 ? m3 : m5) >>> 0;
      v3l = (v3l ^ ml) >>> 0; v3h = (v3h ^ mh) >>> 0;
    }
    // v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
    t = (v0l + v1l) >>> 0; v0h = (v0h + v1h + (t < v0l ? 1 : 0)) >>> 0; v0l = t;
    t = ((v1l << 13) | (v1h >>> 19)) ^ v0l; v1h = (((v1h << 13) | (v1l >>> 19)) ^ v0h) >>> 0; v1l = t >>> 0;
    t = v0l; v0l = v0h; v0h = t;
    // v2 += v3; v3 = rotl(v3, 16) ^ v2
    t = (v2l + v3l) >>> 0; v2h = (v2h + v3h + (t < v2l ? 1 : 0)) >>> 0; v2l = t;
    t = ((v3l << 16) | (v3h >>> 16)) ^ v2l; v3h = (((v3h << 16) | (v3l >>> 16)) ^ v2h) >>> 0; v3l = t >>> 0;
    // v0 += v3; v3 = rotl(v3, 21) ^ v0
    t = (v0l + v3l) >>> 0; v0h = (v0h + v3h + (t < v0l ? 1 : 0)) >>> 0; v0l = t;
    t = ((v3l << 21) | (v3h >>> 11)) ^ v0l; v3h = (((v3h << 21) | (v3l >>> 11)) ^ v0h) >>> 0; v3l = t >>> 0;
    // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
    t = (v2l + v1l) >>> 0; v2h = (v2h + v1h + (t < v2l ? 1 : 0)) >>> 0; v2l = t;
    t = ((v1l << 17) | (v1h >>> 15)) ^ v2l; v1h = (((v1h << 17) | (v1l >>> 15)) ^ v2h) >>> 0; v1l = t >>> 0;
    t = v2l; v2l = v2h; v2h = t;
    if (r < absorbing && (r & 1) === 1) {
      v0l = (v0l ^ ml) >>> 0; v0h = (v0h ^ mh) >>> 0;
      if (r === absorbing - 1) v2l = (v2l ^ 0xff) >>> 0;
    }
  }
  return (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
}
