// A connection's receiving side (gVisor's rcv.go): text arriving in sequence or out of order
// (RFC 9293 §3.10.7.4 seventh step), when to ACK it (RFC 9293 §3.8.6.3, RFC 1122 §4.2.3.2
// delayed ACKs, RFC 5681 §4.2 immediate ACKs), the SACK and D-SACK blocks our ACKs carry
// (RFC 2018 §4, RFC 2883 §4), and the window we offer (RFC 9293 §3.8.6.2.2 receiver SWS
// avoidance; the right edge never moves left). The FIN and the state changes it causes stay in
// the state machine (connection.ts); the output module asks here for the window and the blocks.
import type { Counters } from '../counters.js';
import { type Seq, seqAdd, seqDiff, seqMax } from '../wire/seq.js';
import type { TcpConfig } from './config.js';
import type { TcpConnection } from './connection.js';
import type { ConnectionHost } from './types.js';

/**
 * A read batch holds the ACK for in-order wire segments to its end, but not past 1/4 of the
 * receive buffer unacknowledged: the peer's window must keep moving while a long batch is handled.
 */
const ACK_HOLD_FRACTION = 4;

/** The receiving side of one connection (it moves RCV.NXT and the advertised right edge). */
export class TcpReceiver {
  /** Payload received since our last ACK ("every second full-sized segment", RFC 9293 §3.8.6.3). */
  unackedBytes = 0;
  /** Estimate of the peer's segment size (largest payload seen), for "every second full segment". */
  #rcvMss: number;
  /** A D-SACK block (RFC 2883) for the next ACK. */
  #dsack: { left: Seq; right: Seq } | undefined;

  readonly #c: TcpConnection;
  readonly #cfg: TcpConfig;
  readonly #counters: Counters;

  constructor(c: TcpConnection, host: ConnectionHost) {
    this.#c = c;
    this.#cfg = host.config;
    this.#counters = host.counters;
    this.#rcvMss = Math.min(536, c.advertisedMss);
  }

  /**
   * Text of an acceptable segment, trimmed to the window, in a state that receives: queue it in
   * order or out of order and decide the ACK. Returns true if in-order data became readable.
   */
  text(segSeq: Seq, payload: Buffer, now: number): boolean {
    const c = this.#c;
    const cnt = this.#counters;
    if (segSeq !== c.rcvNxt) {
      // Out of order: keep it (bounded by the window and a segment count) and ACK at once
      // so the sender sees a duplicate ACK (RFC 5681 §4.2, RFC 9293 §3.10.7.4).
      cnt.inc('tcp.rx.outOfOrder');
      const segEnd = seqAdd(segSeq, payload.length);
      if (c.rcvBuf.covers(segSeq, segEnd)) this.noteDsack(segSeq, segEnd);
      if (!c.rcvBuf.insertOutOfOrder(segSeq, Buffer.from(payload))) cnt.inc('tcp.rx.outOfOrderDropped');
      c.out.ackNow = true;
      return false;
    }
    // The IP layer's payload is a view valid only during this call: keep a copy.
    c.rcvBuf.pushInOrder(Buffer.from(payload));
    c.rcvNxt = seqAdd(c.rcvNxt, payload.length);
    c.bytesReceived += payload.length;
    if (payload.length > this.#rcvMss) this.#rcvMss = Math.min(payload.length, c.advertisedMss);
    this.unackedBytes += payload.length;
    if (c.rcvBuf.hasOutOfOrder) {
      // RFC 5681 §4.2: ACK at once a segment that fills (part of) a gap.
      const before = c.rcvNxt;
      c.rcvNxt = c.rcvBuf.pullInOrder(c.rcvNxt);
      c.bytesReceived += seqDiff(c.rcvNxt, before);
      c.out.ackNow = true;
      cnt.inc('tcp.rx.gapFilled');
    }
    // RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2: ACK at least every second full-sized segment (at
    // the latest when the read batch ends, demux.ts batchStart).
    if (this.unackedBytes > this.#rcvMss) {
      c.out.ackOwed = true;
      if (this.unackedBytes >= c.rcvBuf.capacity / ACK_HOLD_FRACTION) c.out.ackNow = true;
    }
    else if (c.timers.delack === Infinity) c.timers.delack = now + this.#cfg.delayedAckMs;
    return true;
  }

  /** Duplicate data [left, right) arrived: the next ACK carries it as a D-SACK block (RFC 2883 §4). */
  noteDsack(left: Seq, right: Seq): void {
    if (!this.#c.sackOk) return;
    this.#dsack = { left, right };
    this.#c.out.ackNow = true;
  }

  /** Is there anything for SACK blocks to report (out-of-order data or a duplicate)? */
  get hasSackInfo(): boolean {
    return this.#c.rcvBuf.hasOutOfOrder || this.#dsack !== undefined;
  }

  /** Up to `max` blocks for the next ACK: the D-SACK block first, once (RFC 2883 §4), then the SACK blocks. */
  sackBlocks(max: number): Array<{ left: Seq; right: Seq }> {
    const blocks: Array<{ left: Seq; right: Seq }> = [];
    if (this.#dsack !== undefined && max > 0) {
      blocks.push(this.#dsack);
      this.#dsack = undefined;
      this.#counters.inc('tcp.tx.dsack');
    }
    for (const b of this.#c.rcvBuf.sackBlocks(max - blocks.length)) blocks.push(b);
    return blocks;
  }

  // ===================================================================== the window we offer

  /** The window a SYN or SYN-ACK offers (never scaled, RFC 7323 §2.2). */
  synWindow(): number {
    return Math.min(0xffff, this.#c.rcvBuf.free);
  }

  /** The SYN window for a segment being built, moving rcvAdv once the peer's ISN is known. */
  synWindowField(): number {
    const c = this.#c;
    const w = this.synWindow();
    if (c.state !== 'SYN-SENT' && c.state !== 'CLOSED') c.rcvAdv = seqMax(c.rcvAdv, seqAdd(c.rcvNxt, w));
    return w;
  }

  /** The most window the buffer could offer now. */
  #windowLimit(): number {
    return Math.min(this.#c.rcvBuf.free, 0xffff << this.#c.rcvWscale);
  }

  /** The window to put in the next segment (already scaled down), moving rcvAdv; never shrinks. */
  selectWindow(): number {
    const c = this.#c;
    const cur = c.rcvWnd;
    const free = this.#windowLimit();
    // Receiver SWS avoidance: move the right edge only by min(buffer/2, MSS) or more.
    let wnd = cur;
    if (free - cur >= Math.min(c.rcvBuf.capacity / 2, c.advertisedMss) || (free > cur && free === c.rcvBuf.capacity)) wnd = free;
    let field = wnd >>> c.rcvWscale;
    // Round up rather than shrink the edge offered before (RFC 9293 §3.8.6: do not shrink).
    if (field << c.rcvWscale < cur) field++;
    field = Math.min(field, 0xffff);
    const offered = field << c.rcvWscale;
    c.rcvAdv = seqMax(c.rcvAdv, seqAdd(c.rcvNxt, offered));
    return field;
  }

  /** After the application read: is a window update worth a segment (RFC 9293 §3.8.6.2.2, receiver SWS avoidance)? */
  windowUpdateDue(): boolean {
    const c = this.#c;
    const cur = c.rcvWnd;
    const grow = this.#windowLimit() - cur;
    return grow >= Math.min(c.rcvBuf.capacity / 2, 2 * c.advertisedMss) && (cur < c.rcvBuf.capacity / 2 || cur < 2 * c.advertisedMss);
  }
}
