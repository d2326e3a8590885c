// Answering only retransmitted SYNs while flooded ("SYN first-drop", as DDoS scrubbers do it).
// Under a SYN flood from random sources the tap's queue overflows before we read it, and a real
// client's SYN is lost there with the flood's: answering a SYN (a cookie SYN-ACK and its write)
// costs about as much again as reading it (issue 10 item 11 measured 0.36-0.47 of a flood read).
// So while flooded, a bare SYN that SYN cookies would answer is answered only when it is a
// retransmission: the same source address, ports and ISN seen in the last 2-4 s. A client
// resends its SYN with the same ISN after the initial RTO of 1 s (RFC 6298 §2.1, RFC 9293 §3.8.1)
// and connects then; a random-source flood almost never repeats one, so each of its SYNs costs a
// read and a hash, and we keep up with it.
//
// A source that proved its address since (it returned a valid SYN cookie, so it saw our SYN-ACK)
// gets its SYNs answered at once for PROVEN_MS: a random-source flood cannot prove one, and a
// client that connects again and again waits for its retransmission only the first time.
//
// "Flooded" is the demux's judgement (a read batch holding many cookie-mode SYNs); it lasts
// FLOOD_HOLD_MS after the last such batch. The memory of seen SYNs is two bitmaps of 2^23 bits
// (1 MiB each), the older cleared and reused every ROTATE_MS, indexed by SipHash under a secret
// key; they exist only while flooded. A flood SYN that hits a bit set by another (a false
// positive) is answered, as without the filter: at most a few per cent of them, as many as the
// bitmaps are full.

import { SipKey, sipHash2 } from '../siphash.js';

/** How long "flooded" lasts after the last batch that said so, ms. */
export const FLOOD_HOLD_MS = 2000;
/** Each bitmap's generation, ms: a SYN is remembered for 2-4 s, past the 1 s SYN retransmission. */
export const ROTATE_MS = 2000;
/** How long a proven source is answered at once, ms (refreshed by each handshake). */
export const PROVEN_MS = 60_000;
/** Most proven sources remembered (the oldest goes first). */
export const MAX_PROVEN = 4096;
/** Bits per bitmap (a power of two). */
const BITS = 1 << 23;

export class SynFloodFilter {
  /** Until when we count as flooded (ms on the stack's clock). */
  #floodedUntil = -Infinity;
  #current: Uint32Array | undefined;
  #previous: Uint32Array | undefined;
  #rotateAt = 0;
  /** Proven source addresses and until when they count as proven; oldest first. */
  readonly #proven = new Map<number, number>();
  readonly #key: SipKey;

  /** @param secret 16 random bytes: the hash is keyed, so nobody can aim SYNs at bits. */
  constructor(secret: Uint8Array) {
    this.#key = new SipKey(secret);
  }

  /** True while flooded. */
  flooded(now: number): boolean {
    return now < this.#floodedUntil;
  }

  /** A read batch showed a flood; returns true if that starts one (we were not flooded). */
  floodSeen(now: number): boolean {
    const starts = !this.flooded(now);
    this.#floodedUntil = now + FLOOD_HOLD_MS;
    if (this.#current === undefined) {
      this.#current = new Uint32Array(BITS / 32);
      this.#previous = new Uint32Array(BITS / 32);
      this.#rotateAt = now + ROTATE_MS;
    }
    return starts;
  }

  /** `src` completed a handshake with a valid SYN cookie: its address is real. */
  prove(src: number, now: number): void {
    this.#proven.delete(src);
    this.#proven.set(src, now + PROVEN_MS);
    if (this.#proven.size > MAX_PROVEN) this.#proven.delete(this.#proven.keys().next().value!);
  }

  /**
   * Whether a bare SYN from `src`:`srcPort` to `dstPort` with sequence number `isn` may be
   * answered: always when not flooded; while flooded, from a proven source or when seen before
   * (a retransmission). A SYN refused is remembered.
   */
  admit(src: number, srcPort: number, dstPort: number, isn: number, now: number): boolean {
    if (!this.flooded(now)) {
      // Long after the flood, the bitmaps go.
      if (this.#current !== undefined && now >= this.#floodedUntil + 2 * ROTATE_MS) this.#current = this.#previous = undefined;
      return true;
    }
    if ((this.#proven.get(src) ?? -Infinity) > now) return true;
    let cur = this.#current!;
    if (now >= this.#rotateAt) {
      const old = this.#previous!;
      // A gap of two generations or more: nothing remembered is recent.
      if (now >= this.#rotateAt + ROTATE_MS) cur.fill(0);
      old.fill(0);
      this.#previous = cur;
      this.#current = cur = old;
      this.#rotateAt = now + ROTATE_MS;
    }
    // Ports folded into the ISN word: a collision only makes a false positive.
    const h = sipHash2(this.#key, src, (isn ^ ((srcPort << 16) | dstPort)) >>> 0) & (BITS - 1);
    const word = h >>> 5;
    const bit = 1 << (h & 31);
    if ((cur[word]! & bit) !== 0 || (this.#previous![word]! & bit) !== 0) return true;
    cur[word] = cur[word]! | bit;
    return false;
  }
}
