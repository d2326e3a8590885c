import t from 'tap';
import { SipKey, sipHash2, sipHash6 } from '../lib/siphash.js';
import { SeededRng } from '../lib/rng.js';

const M64 = (1n << 64n) - 1n;
const rotl = (x: bigint, n: bigint): bigint => ((x << n) | (x >> (64n - n))) & M64;

/** SipHash-2-4 straight from the paper, over BigInts and any bytes: the reference. */
function reference(key: Uint8Array, msg: Uint8Array): bigint {
  const le = (b: Uint8Array, o: number, n: number): bigint => {
    let x = 0n;
    for (let i = n - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[o + i]!);
    return x;
  };
  const k0 = le(key, 0, 8);
  const k1 = le(key, 8, 8);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = (): void => {
    v0 = (v0 + v1) & M64; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M64; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & M64; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & M64; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const full = msg.length - (msg.length % 8);
  const blocks: bigint[] = [];
  for (let o = 0; o < full; o += 8) blocks.push(le(msg, o, 8));
  blocks.push((BigInt(msg.length & 0xff) << 56n) | le(msg, full, msg.length - full));
  for (const m of blocks) {
    v3 ^= m;
    round(); round();
    v0 ^= m;
  }
  v2 ^= 0xffn;
  round(); round(); round(); round();
  return v0 ^ v1 ^ v2 ^ v3;
}

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);

t.test('the reference matches the SipHash paper (Appendix A) and its first test vector', async (t) => {
  t.equal(reference(KEY, Uint8Array.from({ length: 15 }, (_, i) => i)), 0xa129ca6149be45e5n);
  t.equal(reference(KEY, new Uint8Array(0)), 0x726fdb47dd0e0e31n);
});

t.test('sipHash2 and sipHash6 are the low 32 bits of SipHash-2-4 of their words, little-endian', async (t) => {
  const rng = new SeededRng(9);
  const words = (n: number): { w: number[]; bytes: Buffer } => {
    const w = Array.from({ length: n }, () => rng.u32());
    const bytes = Buffer.alloc(4 * n);
    w.forEach((x, i) => bytes.writeUInt32LE(x, 4 * i));
    return { w, bytes };
  };
  for (let i = 0; i < 200; i++) {
    const keyBytes = i === 0 ? KEY : rng.bytes(16);
    const key = new SipKey(keyBytes);
    const two = words(2);
    t.equal(sipHash2(key, two.w[0]!, two.w[1]!), Number(reference(keyBytes, two.bytes) & 0xffffffffn));
    const six = words(6);
    const [a, b, c, d, e, f] = six.w as [number, number, number, number, number, number];
    t.equal(sipHash6(key, a, b, c, d, e, f), Number(reference(keyBytes, six.bytes) & 0xffffffffn));
  }
  t.throws(() => new SipKey(new Uint8Array(8)), RangeError);
});
