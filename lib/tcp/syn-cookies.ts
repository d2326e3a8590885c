// SYN cookies (D. J. Bernstein's scheme, as in Linux): when a listener's SYN queue is full we
// answer SYNs statelessly, encoding what we must remember in our ISN:
//   bits 31..27  t mod 32, t = now / 64 s;   bits 26..24 an MSS table index;
//   bits 23..0   a MAC of the 4-tuple, the peer's ISN and t: SipHash-2-4 (as Linux), keyed once.
// Window scale and SACK-permitted ride in the low 5 bits of our TSval when the peer uses
// timestamps (RFC 7323 echoes it back in TSecr), as Linux does; without timestamps they are lost.
// A cookie is computed for every SYN of a flood: SipHash allocates nothing, where a node:crypto
// digest made two objects per SYN and was a fifth of its cost (issue 10 item 11).
import { SipKey, sipHash6 } from '../siphash.js';
import { type Seq, seq } from '../wire/seq.js';
import type { FourTuple } from './isn.js';

/** The MSS values a cookie can express (3 bits). */
export const COOKIE_MSS = [536, 1220, 1300, 1360, 1400, 1440, 1452, 1460] as const;

const PERIOD_MS = 64_000;

/** Encoder/validator of SYN cookies for one stack. */
export class SynCookies {
  readonly #key: SipKey;

  /** `secret`: at least 16 random bytes (the first 16 are the SipHash key). */
  constructor(secret: Buffer) {
    this.#key = new SipKey(secret);
  }

  /** The 24-bit MAC of a cookie. */
  #mac(t: FourTuple, peerIsn: Seq, time: number): number {
    return sipHash6(this.#key, t.localIp, t.remoteIp, (t.localPort << 16) | t.remotePort, peerIsn, time, 0) & 0xffffff;
  }

  /** The largest table MSS not above `mss`. */
  static mssIndex(mss: number): number {
    let idx = 0;
    for (let i = 0; i < COOKIE_MSS.length; i++) if (COOKIE_MSS[i]! <= mss) idx = i;
    return idx;
  }

  /** Our ISN for a SYN from `t` with sequence `peerIsn` and peer MSS `mss`. */
  encode(t: FourTuple, peerIsn: Seq, mss: number, nowMs: number): Seq {
    const time = Math.floor(nowMs / PERIOD_MS) & 31;
    const idx = SynCookies.mssIndex(mss);
    const h = this.#mac(t, peerIsn, time);
    return seq(((time << 27) | (idx << 24) | h) >>> 0);
  }

  /**
   * Validate the cookie (our ISN = ack − 1) of a returning ACK; the MSS it encodes, or undefined
   * if forged or older than two periods (64–128 s).
   */
  decode(t: FourTuple, peerIsn: Seq, cookie: Seq, nowMs: number): number | undefined {
    const time = cookie >>> 27;
    const idx = (cookie >>> 24) & 7;
    const nowT = Math.floor(nowMs / PERIOD_MS);
    const age = (((nowT & 31) - time) + 32) % 32;
    if (age > 1) return undefined;
    const h = this.#mac(t, peerIsn, time);
    if ((cookie & 0xffffff) !== h) return undefined;
    return COOKIE_MSS[idx];
  }

  /** Options packed into TSval's low 5 bits: WS shift (15 = none) and SACK-permitted. */
  static packTsBits(wscale: number | undefined, sack: boolean): number {
    return (wscale === undefined ? 15 : Math.min(14, wscale)) | (sack ? 16 : 0);
  }

  /** Unpack `packTsBits` from an echoed TSecr. */
  static unpackTsBits(ecr: number): { wscale: number | undefined; sack: boolean } {
    const ws = ecr & 15;
    return { wscale: ws === 15 ? undefined : ws, sack: (ecr & 16) !== 0 };
  }
}
