// Initial sequence numbers per RFC 6528 (ISN = M + F(4-tuple, secret), M a 4 µs clock) and the
// per-connection timestamp offset of RFC 7323 §5.4 (a keyed hash of the 4-tuple), both keyed by a
// secret drawn from the injected Rng.
import { createHash } from 'node:crypto';
import { type Seq, seq } from '../wire/seq.js';

/** The connection identity hashed by ISNs, timestamp offsets and SYN cookies. */
export interface FourTuple {
  localIp: number;
  localPort: number;
  remoteIp: number;
  remotePort: number;
}

/** A keyed 32-bit hash of a 4-tuple plus extra words (SHA-256 truncated). */
export function keyedHash32(secret: Buffer, t: FourTuple, ...extra: number[]): number {
  const b = Buffer.allocUnsafe(12 + 4 * extra.length);
  b.writeUInt32BE(t.localIp >>> 0, 0);
  b.writeUInt16BE(t.localPort, 4);
  b.writeUInt32BE(t.remoteIp >>> 0, 6);
  b.writeUInt16BE(t.remotePort, 10);
  extra.forEach((v, i) => b.writeUInt32BE(v >>> 0, 12 + 4 * i));
  return createHash('sha256').update(secret).update(b).digest().readUInt32BE(0);
}

/** RFC 6528 ISN generator. */
export class IsnGenerator {
  constructor(readonly secret: Buffer) {}

  /** ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M ticking every 4 µs (RFC 6528 §3). */
  isn(t: FourTuple, nowMs: number): Seq {
    const m = Math.floor(nowMs * 250) % 0x1_0000_0000;
    return seq(m + keyedHash32(this.secret, t, 0x150));
  }

  /** RFC 7323 §5.4: a per-connection random offset for TSval, the same for every incarnation of a tuple. */
  tsOffset(t: FourTuple): number {
    return keyedHash32(this.secret, t, 0x7350);
  }
}
