// The Identification field of the datagrams we send (RFC 791 §3.2). A global counter lets anyone
// count what we send to others (the nmap idle scan uses such a host as its "zombie", RFC 7739
// §5.1), so IDs come from one counter per destination instead (RFC 7739 §5.3, as Linux): a
// bounded table of counters indexed by a keyed hash of destination and protocol, each starting
// at a keyed-random value. Counters stay per (src, dst, protocol), which is what reassembly needs
// from datagrams that may be fragmented (RFC 6864 §4.1); atomic ones (DF) may carry any value.
import { SipKey, sipHash2 } from '../siphash.js';

/** Buckets of the default table (8 KiB of counters). */
export const IP_ID_BUCKETS = 4096;

/** Per-destination IP IDs from a fixed table of keyed-hashed counters. */
export class IpIdGenerator {
  readonly #key: SipKey;
  readonly #ids: Uint16Array;
  readonly #mask: number;
  // Bulk traffic goes to one destination: remember its bucket instead of hashing each datagram.
  #lastDst = -1;
  #lastProtocol = -1;
  #lastBucket = 0;

  /** `secret`: 16 random bytes; `buckets`: a power of two. */
  constructor(secret: Uint8Array, buckets = IP_ID_BUCKETS) {
    if (!(buckets > 0 && (buckets & (buckets - 1)) === 0)) throw new RangeError(`buckets must be a power of two, got ${buckets}`);
    this.#key = new SipKey(secret);
    this.#ids = new Uint16Array(buckets);
    this.#mask = buckets - 1;
    // Protocols are < 256, so these inputs never collide with a destination's.
    for (let i = 0; i < buckets; i++) this.#ids[i] = sipHash2(this.#key, i, 0x100);
  }

  /** The ID of the next datagram to `dst` with `protocol`; `count` IDs are taken (a super-segment the link cuts). */
  next(dst: number, protocol: number, count = 1): number {
    if (dst !== this.#lastDst || protocol !== this.#lastProtocol) {
      this.#lastDst = dst;
      this.#lastProtocol = protocol;
      this.#lastBucket = sipHash2(this.#key, dst, protocol) & this.#mask;
    }
    const b = this.#lastBucket;
    const id = this.#ids[b]!;
    this.#ids[b] = id + count; // a Uint16Array wraps at 65536
    return id;
  }
}
