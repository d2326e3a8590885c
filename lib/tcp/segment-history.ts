// A bounded record of one connection's segments, both ways, for drawing its ladder diagram (the
// teaching site draws the connection that loads it, issue 11). The first HEAD segments stay
// (the handshake and the first exchange), then a ring keeps the latest RING: a connection of
// any length holds at most 64 entries. Room grows by doubling from the HEAD entries, so a short
// connection (a handshake and one request: about a dozen segments) holds a quarter of it; past
// that, recording a segment writes seven numbers and allocates nothing.
import { TCP_FLAGS, type TcpOptions } from '../wire/tcp.js';
import { type Seq, seq, seqAdd, seqDiff } from '../wire/seq.js';

const { FIN, SYN, PSH, ACK } = TCP_FLAGS;
const HEAD = 8;
const RING = 56;
/** Numbers per entry: time (µs since the first), seq, ack, len, window field, packed flags/options, MSS option. */
const STRIDE = 7;
const OUT = 1 << 8;
const SACK_PERM = 1 << 9;
const TS = 1 << 10;
const SACK_SHIFT = 11; // 3 bits: SACK blocks
const WS_SHIFT = 14; // 4 bits: window scale + 1 (0: none)

/** One recorded segment, sequence numbers relative to each side's ISN (as Wireshark shows them). */
export type HistorySegment = {
  /** Milliseconds since the first recorded segment. */
  t: number;
  dir: 'in' | 'out';
  flags: number;
  seq: number;
  /** 0 when the ACK flag is off. */
  ack: number;
  len: number;
  /** The window in bytes: the field scaled by the sender's shift (RFC 7323 §2.3), except in SYNs. */
  win: number;
  mss?: number;
  wscale?: number;
  sackPerm: boolean;
  ts: boolean;
  sackBlocks: number;
};

/** What a history holds now: the kept first segments, how many between were overwritten, the latest ones. */
export type HistoryView = { head: HistorySegment[]; omitted: number; tail: HistorySegment[] };

/** The first and the latest segments of one connection, both ways. */
export class SegmentHistory {
  #e = new Uint32Array(HEAD * STRIDE);
  #count = 0;
  #t0 = 0;

  /**
   * Record a segment we sent (`out`) or received, before it changes any state. A super-segment
   * the link cuts (`segmentSize` > 0, TSO) is recorded as the pieces the wire carries: each
   * `segmentSize` bytes, FIN and PSH on the last piece only, as the kernel's GSO cuts it.
   */
  record(out: boolean, now: number, seqNo: Seq, ack: Seq, flags: number, len: number, window: number, o: TcpOptions, segmentSize = 0): void {
    if (segmentSize <= 0 || len <= segmentSize) return this.#put(out, now, seqNo, ack, flags, len, window, o);
    for (let off = 0; off < len; off += segmentSize) {
      const last = off + segmentSize >= len;
      this.#put(out, now, seqAdd(seqNo, off), ack, last ? flags : flags & ~(FIN | PSH), Math.min(segmentSize, len - off), window, o);
    }
  }

  #put(out: boolean, now: number, seqNo: Seq, ack: Seq, flags: number, len: number, window: number, o: TcpOptions): void {
    if (this.#count === 0) this.#t0 = now;
    const slot = this.#count < HEAD ? this.#count : HEAD + ((this.#count - HEAD) % RING);
    // The ring wraps only once the room is full, so until then `slot` is `#count`.
    if (slot * STRIDE >= this.#e.length) this.#grow();
    const e = this.#e;
    const i = slot * STRIDE;
    e[i] = Math.min(0xffffffff, Math.round((now - this.#t0) * 1000));
    e[i + 1] = seqNo;
    e[i + 2] = ack;
    e[i + 3] = len;
    e[i + 4] = window;
    e[i + 5] = (flags & 0xff) | (out ? OUT : 0) | (o.sackPermitted === true ? SACK_PERM : 0) | (o.ts !== undefined ? TS : 0) |
      (Math.min(7, o.sack?.length ?? 0) << SACK_SHIFT) | (o.wscale !== undefined ? (Math.min(14, o.wscale) + 1) << WS_SHIFT : 0);
    e[i + 6] = o.mss ?? 0;
    this.#count++;
  }

  #grow(): void {
    const e = new Uint32Array(Math.min(HEAD + RING, (this.#e.length / STRIDE) * 2) * STRIDE);
    e.set(this.#e);
    this.#e = e;
  }

  /** Entries there is room for now (for tests: the history grows as it fills). */
  get capacity(): number {
    return this.#e.length / STRIDE;
  }

  /**
   * The segments in order, relative to our ISN `iss` and the peer's `irs`, windows scaled by
   * the shifts in force (`sndWscale` the peer's, `rcvWscale` ours).
   */
  view(iss: Seq, irs: Seq, sndWscale: number, rcvWscale: number): HistoryView {
    const at = (slot: number): HistorySegment => {
      const e = this.#e;
      const i = slot * STRIDE;
      const p = e[i + 5]!;
      const out = (p & OUT) !== 0;
      const flags = p & 0xff;
      const syn = (flags & SYN) !== 0;
      const ws = (p >>> WS_SHIFT) & 15;
      return {
        t: e[i]! / 1000,
        dir: out ? 'out' : 'in',
        flags,
        seq: seqDiff(seq(e[i + 1]!), out ? iss : irs) >>> 0,
        ack: flags & ACK ? seqDiff(seq(e[i + 2]!), out ? irs : iss) >>> 0 : 0,
        len: e[i + 3]!,
        win: syn ? e[i + 4]! : e[i + 4]! * 2 ** (out ? rcvWscale : sndWscale),
        ...(e[i + 6] !== 0 ? { mss: e[i + 6]! } : {}),
        ...(ws !== 0 ? { wscale: ws - 1 } : {}),
        sackPerm: (p & SACK_PERM) !== 0,
        ts: (p & TS) !== 0,
        sackBlocks: (p >>> SACK_SHIFT) & 7,
      };
    };
    const n = this.#count;
    const head = Array.from({ length: Math.min(n, HEAD) }, (_, k) => at(k));
    const ringed = Math.max(0, n - HEAD);
    const kept = Math.min(ringed, RING);
    const tail = Array.from({ length: kept }, (_, k) => at(HEAD + ((n - kept + k - HEAD) % RING)));
    return { head, omitted: ringed - kept, tail };
  }
}
