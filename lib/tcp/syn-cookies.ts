// SYN cookies (D. J. Bernstein's scheme, as in Linux): when a listener's SYN queue is full we
// answer SYNs statelessly, encoding what we must remember in our ISN:
//   bits 31..27  t mod 32, t = now / 64 s;   bits 26..24 an MSS table index;
//   bits 23..0   a keyed hash of the 4-tuple, the peer's ISN and t.
// Window scale and SACK-permitted ride in the low 5 bits of our TSval when the peer uses
// timestamps (RFC 7323 echoes it back in TSecr), as Linux does; without timestamps they are lost.
import { type Seq, seq } from '../wire/seq.js';
import { type FourTuple, keyedHash32 } from './isn.js';

/** The MSS values a cookie can express (3 bits). */
export const COOKIE_MSS = [536, 1220, 1300, 1360, 1400, 1440, 1452, 1460] as const;

const PERIOD_MS = 64_000;

/** Encoder/validator of SYN cookies for one stack. */
export class SynCookies {
  constructor(readonly secret: Buffer) {}

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
    const h = keyedHash32(this.secret, t, peerIsn, time) & 0xffffff;
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
    const h = keyedHash32(this.secret, t, peerIsn, time) & 0xffffff;
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
