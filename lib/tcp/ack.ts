// The sender's half of the fifth step of segment arrival (RFC 9293 §3.10.7.4 "fifth, check the
// ACK field"; gVisor's snd.go handleRcvdSegment), for an ACK the state machine found acceptable
// (RFC 5961 §5.2): SND.UNA moves and frees the send buffer, an RTT sample is taken (RFC 7323 §4
// from TSecr, else RFC 6298 §3 with Karn's rule), the retransmission timer restarts or stops
// (RFC 6298 §5.2–5.3), and SND.WND is taken only from newer segments (SND.WL1/WL2). SACK
// blocks, duplicate ACKs, RACK and the start of recovery are handed to loss-recovery.ts and rack.ts.
import type { Counters } from '../counters.js';
import type { TcpSegment } from '../wire/tcp.js';
import { type Seq, seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from '../wire/seq.js';
import type { TcpConnection } from './connection.js';
import type { ConnectionHost } from './types.js';

/** ACK processing for one connection's sender. */
export class AckHandler {
  readonly #c: TcpConnection;
  readonly #counters: Counters;

  constructor(c: TcpConnection, host: ConnectionHost) {
    this.#c = c;
    this.#counters = host.counters;
  }

  /**
   * An acceptable ACK in a synchronized state (`pureAck`: no text, no FIN). Returns true if
   * send-buffer space was freed (the user's `writable`).
   */
  onAck(seg: TcpSegment, segSeq: Seq, pureAck: boolean, now: number): boolean {
    const c = this.#c;
    const ack = seg.ack;
    const win = seg.window << c.sndWscale;
    const oldWnd = c.sndWnd;
    const blocks = c.sackOk ? seg.options.sack : undefined;
    const unaBefore = c.sndUna;
    // The peer answers: zero-window probing goes on (RFC 1122 §4.2.2.17).
    c.out.unansweredProbes = 0;
    const newlySacked = blocks !== undefined && blocks.length > 0 ? c.recovery.takeSackBlocks(blocks, ack) : 0;
    c.rack.onDelivered(ack, newlySacked);
    let freed = false;
    if (seqGt(ack, c.sndUna)) {
      freed = this.advance(seg, now);
    } else if (ack === c.sndUna && seqLt(c.sndUna, c.sndMax)) {
      // RFC 6675 §2: with SACK, a duplicate ACK is one that SACKs new data; without, RFC 5681 §2.
      const dup = blocks !== undefined && blocks.length > 0 ? newlySacked > 0 : pureAck && win === oldWnd;
      if (dup) c.recovery.onDupAck(now);
    }
    // Window update (RFC 9293 §3.10.7.4 fifth, ESTABLISHED): only from newer segments.
    if (seqLt(c.sndWl1, segSeq) || (c.sndWl1 === segSeq && seqLe(c.sndWl2, ack))) {
      c.sndWnd = win;
      c.sndWl1 = segSeq;
      c.sndWl2 = ack;
      if (win > c.maxSndWnd) c.maxSndWnd = win;
      if (oldWnd === 0 && win > 0) {
        this.#counters.inc('tcp.rx.windowOpened');
        c.timers.persist = Infinity;
        c.out.persistBackoff = 0;
      }
    }
    // RACK (RFC 8985 §6.2) marks losses by time; RFC 6675 §5 decides whether recovery starts;
    // PRR (RFC 6937) learns what this ACK delivered (newly ACKed + newly SACKed).
    const rackLost = c.rack.onAck(ack, newlySacked, now);
    c.recovery.afterAck(rackLost, Math.max(0, seqDiff(c.sndUna, unaBefore)) + newlySacked, now);
    return freed;
  }

  /**
   * SND.UNA advances to SEG.ACK: free the buffer, take an RTT sample, grow cwnd, rearm the
   * timer. Returns true if send-buffer space was freed.
   */
  advance(seg: TcpSegment, now: number): boolean {
    const c = this.#c;
    const ack = seg.ack;
    const acked = seqDiff(ack, c.sndUna);
    const flight = seqDiff(c.sndMax, c.sndUna);
    const dataAcked = Math.min(Math.max(0, seqDiff(ack, c.sndBufSeq)), c.sndBuf.length);
    if (dataAcked > 0) {
      c.sndBuf.consume(dataAcked);
      c.sndBufSeq = seqAdd(c.sndBufSeq, dataAcked);
    }
    c.sndUna = ack;
    if (seqLt(c.sndNxt, ack)) c.sndNxt = ack;
    c.sack.ackTo(ack);
    // RTT (RFC 7323 §4 from TSecr; else RFC 6298 §3 Karn: only never-retransmitted segments).
    const sentAt = c.rtxq.onAck(ack);
    const ecr = seg.options.ts?.ecr;
    if (c.tsOk && ecr !== undefined && ecr !== 0) {
      const r = (Math.floor(now) - ((ecr - c.tsOffset) >>> 0)) | 0;
      if (r >= 0 && r < 3_600_000) c.rtt.sample(r);
    } else if (sentAt !== undefined) {
      c.rtt.sample(now - sentAt);
    }
    c.retries = 0;
    const restartTimer = c.recovery.onAckAdvance(ecr, acked, flight, now);
    // RFC 6298 §5.2/§5.3: stop the timer when all is acknowledged, else restart it.
    if (seqGe(c.sndUna, c.sndMax)) c.timers.rtx = Infinity;
    else if (restartTimer || c.timers.rtx === Infinity) c.timers.rtx = now + c.rtt.rto;
    if (seqGe(c.sndUna, c.sndMax)) c.out.persistBackoff = 0;
    // Send-buffer autotuning, as Linux's tcp_sndbuf_expand: room for twice cwnd, so a window's
    // worth is queued behind what is in flight and each ACK finds full super-segments to send.
    c.sndBuf.grow(2 * c.cc.cwnd);
    return dataAcked > 0;
  }
}
