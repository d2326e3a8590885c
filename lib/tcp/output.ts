// A connection's output: what to send next and how a segment is built. The send loop applies
// the peer's window and cwnd (RFC 5681), RFC 3042 limited transmit, Nagle (RFC 896, Minshall's
// variant) and sender SWS avoidance (RFC 1122 §4.2.3.4); the persist timer probes a zero window
// (RFC 9293 §3.8.6.1). Every segment a connection sends, but the bare RST, leaves through `emit`
// (options, window and SACK blocks from the receiving side in receive.ts, checksum): the one
// seam for segment building.
// Loss recovery (loss-recovery.ts) and RACK-TLP (rack.ts) choose *which* octets to resend and
// call `retransmitRange` / `sendNewSegment` here to send them.
import createDebug from 'debug';
import type { Counters } from '../counters.js';
import {
  TCP_FLAGS,
  TCP_HEADER_MIN,
  type TcpOptions,
  fillTcpChecksum,
  fillTcpPseudoChecksum,
  formatTcpFlags,
  tcpOptionsLength,
  writeTcpHeader,
  writeTcpOptions,
} from '../wire/tcp.js';
import { ipToString } from '../wire/ip-address.js';
import { type Seq, seq, seqAdd, seqDiff, seqGt, seqLe, seqLt, seqMax, seqMin } from '../wire/seq.js';
import type { TcpConfig } from './config.js';
import type { TcpConnection } from './connection.js';
import { DUP_THRESH } from './sack-scoreboard.js';
import type { RetransmitWhy } from './retransmit-event.js';
import type { SentSegment } from './retransmit-queue.js';
import type { ConnectionHost, SegmentTx } from './types.js';
import { ETH_HEADER_LEN } from '../wire/ethernet.js';
import { IPV4_HEADER_LEN, IPV4_MAX_DATAGRAM } from '../wire/ipv4.js';

const log = createDebug('tapstack:tcp');

const { FIN, SYN, RST, PSH, ACK } = TCP_FLAGS;

/** Go-back-N resends after an RTO (RFC 5681 §3.1) or a lowered path MTU (RFC 1191 §6.5). */
const GO_BACK_N: RetransmitWhy = { cause: 'go-back-n' };
const GO_BACK_N_PMTU: RetransmitWhy = { cause: 'go-back-n', rule: 'path MTU lowered (RFC 1191 §6.5)' };

/** TS option bytes on every segment once timestamps are on (NOP, NOP, kind, len, 2×4). */
export const TS_LEN = 12;

/** Bytes kept free in front of each segment for the Ethernet and IP headers (no copy in IP). */
const HEADROOM = ETH_HEADER_LEN + IPV4_HEADER_LEN;
/** The largest TCP segment (header with full options included) one IP datagram carries. */
const MAX_SUPER_SEGMENT = IPV4_MAX_DATAGRAM - IPV4_HEADER_LEN - 60;
const TX_PLAIN: SegmentTx = { headroom: true, partialCsum: false, gsoSize: 0 };
const TX_PARTIAL: SegmentTx = { headroom: true, partialCsum: true, gsoSize: 0 };

/** The sending side of one connection (it reads and moves the connection's sequence variables). */
export class TcpOutput {
  /** An ACK is owed now; `output` sends a bare one if no segment carried it. */
  ackNow = false;
  /** In-order data earned an ACK (every second full-sized segment): it may wait for the end of
   *  the read batch (demux.ts batchStart); any segment we send carries it. */
  ackOwed = false;
  /** Inside segment processing: a pure ACK waits until the user has seen the events. */
  deferAck = false;
  /** Why go-back-N is retransmitting: counter suffix. */
  rtxReason = 'rto';
  /** Set by an RTO for the output pass it triggers: the first retransmission is the timer's (then go-back-N). */
  rtoWhy: RetransmitWhy | undefined;
  /** Zero-window probes sent since the window last opened (the persist backoff). */
  persistBackoff = 0;
  /** Zero-window probes sent since the peer last acknowledged anything (Linux's icsk_probes_out). */
  unansweredProbes = 0;
  /** End of the last sub-MSS segment sent (Minshall's Nagle variant). */
  #sndSml: Seq;
  /** When data was last sent (for the RFC 5681 §4.1 idle restart); -1 = never. */
  #lastSendAt = -1;

  readonly #c: TcpConnection;
  readonly #host: ConnectionHost;
  readonly #cfg: TcpConfig;
  readonly #counters: Counters;

  constructor(c: TcpConnection, host: ConnectionHost) {
    this.#c = c;
    this.#host = host;
    this.#cfg = host.config;
    this.#counters = host.counters;
    this.#sndSml = c.iss;
  }

  /**
   * Send what windows, Nagle and SWS avoidance allow, the FIN when its turn comes, and a pure
   * ACK if one is owed and nothing else carried it. `force` is the SWS override timeout.
   */
  output(now: number, force = false): void {
    const c = this.#c;
    const cnt = this.#counters;
    const rec = c.recovery;
    let sent = false;
    if (now >= c.pmtuRaiseAt) c.raisePathMtu(now);
    if (c.canSendData()) {
      // RFC 5681 §4.1: after an idle period longer than an RTO, restart from the restart window.
      if (c.sndNxt === c.sndUna && this.#lastSendAt >= 0 && now - this.#lastSendAt > c.rtt.rto && c.cc.cwnd > 0) {
        const before = c.cc.cwnd;
        c.cc.onIdle(c.mss);
        if (c.cc.cwnd < before) cnt.inc('tcp.cwnd.idleRestart');
        this.#lastSendAt = now;
      }
      if (rec.inSackRecovery) sent = rec.output(now);
      else if (this.#cfg.rack && c.sackOk && c.sndNxt === c.sndMax && c.rack.retransmitLostAfterRto(now)) sent = true;
      for (; !rec.inSackRecovery; ) {
        // Go-back-N after an RTO skips what the scoreboard shows SACKed (no retransmission storm).
        let retransmission = seqLt(c.sndNxt, c.sndMax);
        let capped = false;
        if (retransmission && !c.sack.empty) {
          const b = c.sack.blockAt(c.sndNxt);
          if (b !== undefined) {
            c.sndNxt = seqMin(b.end, c.sndMax);
            cnt.inc('tcp.tx.skippedSacked');
            continue;
          }
        }
        const outstanding = seqDiff(c.sndNxt, c.sndUna);
        // After an RTO, what the peer SACKed since is not in flight (RFC 6675 pipe), for go-back-N
        // and new data alike; otherwise FlightSize as RFC 5681 / RFC 3042 count it.
        const pipe = !c.sack.empty && (retransmission || rec.inRtoRecovery);
        const flight = pipe ? outstanding - c.sack.sackedBetween(c.sndUna, c.sndNxt) : outstanding;
        // RFC 3042 limited transmit: each of the first two duplicate ACKs lets one new segment out
        // (not when pipe already took what they reported out of flight).
        const dupAcks = rec.dupAcks;
        const lt = dupAcks > 0 && dupAcks < DUP_THRESH && !rec.inNewRenoRecovery && !retransmission && !pipe ? dupAcks * c.mss : 0;
        const offset = seqDiff(c.sndNxt, c.sndBufSeq);
        const avail = Math.max(0, c.sndBuf.length - offset);
        const usable = Math.floor(Math.min(c.sndWnd - outstanding, c.cc.cwnd + lt - flight));
        let len = Math.min(avail, this.#maxSegment(), Math.max(0, usable));
        // A super-segment (TSO) is whole MSS-sized segments; a short one only where the data ends,
        // as sending segment by segment would (no sub-MSS piece in the middle: RFC 1122 §4.2.3.4).
        if (len > c.mss && len < avail) len -= len % c.mss;
        if (retransmission && !c.sack.empty) {
          const nb = c.sack.nextSackedAfter(c.sndNxt);
          if (nb !== undefined && seqLt(nb, c.sndMax) && seqDiff(nb, c.sndNxt) < len) {
            len = seqDiff(nb, c.sndNxt);
            capped = true;
          }
        }
        const finPos = seqAdd(c.sndBufSeq, c.sndBuf.length);
        const withFin = c.finQueued && offset + len === c.sndBuf.length && seqLe(c.sndNxt, finPos) && seqAdd(c.sndNxt, len) === finPos;
        if (len === 0 && !withFin) break;
        if (len > 0 && len < c.mss && !withFin && !force && !capped && !this.#mayPartial(len, avail, flight)) {
          cnt.inc(len === avail ? 'tcp.tx.nagleHeld' : 'tcp.tx.swsHeld');
          break;
        }
        if (lt > 0 && flight + len > c.cc.cwnd) cnt.inc('tcp.tx.limitedTransmit');
        force = false;
        const flags = ACK | (len > 0 && len === avail ? PSH : 0) | (withFin ? FIN : 0);
        retransmission = seqLt(c.sndNxt, c.sndMax);
        const goBackN = this.rtxReason === 'pmtu' ? GO_BACK_N_PMTU : GO_BACK_N;
        const wireSegments = retransmission ? this.#announceWire(c.sndNxt, len, this.rtoWhy ?? goBackN, goBackN) : 0;
        this.rtoWhy = undefined;
        this.emit(c.sndNxt, flags, offset, len, now);
        const end = seqAdd(c.sndNxt, len + (withFin ? 1 : 0));
        this.#recordSend(c.sndNxt, end, now, retransmission);
        if (retransmission) {
          cnt.inc(`tcp.tx.retransmit.${this.rtxReason}`, wireSegments);
          c.retransmissions += wireSegments;
        } else c.bytesSent += len;
        if (len > 0 && len < c.mss) this.#sndSml = end;
        if (withFin) c.finSeq = finPos;
        c.sndNxt = end;
        c.sndMax = seqMax(c.sndMax, end);
        if (c.timers.rtx === Infinity) c.timers.rtx = now + c.rtt.rto;
        c.timers.persist = Infinity;
        this.#lastSendAt = now;
        sent = true;
        if (withFin) break;
      }
    }
    this.rtoWhy = undefined;
    if (!sent && this.ackNow && !this.deferAck) this.sendAck(now);
    c.rack.armTlp(now);
    // The persist timer (RFC 9293 §3.8.6.1): data waits, nothing is in flight to bring an ACK.
    if (c.canSendData() && c.timers.persist === Infinity && c.timers.rtx === Infinity && c.sndNxt === c.sndUna) {
      const avail = c.sndBuf.length - seqDiff(c.sndNxt, c.sndBufSeq);
      if (avail > 0) c.timers.persist = now + this.#persistInterval();
    }
  }

  /** The most payload one segment may carry: the MSS, or with TSO as many MSS as 64 KB holds. */
  #maxSegment(): number {
    const mss = this.#c.mss;
    return this.#cfg.offload ? Math.max(mss, MAX_SUPER_SEGMENT - (MAX_SUPER_SEGMENT % mss)) : mss;
  }

  /**
   * Record [start, end) for retransmission: new data one MSS-sized record per segment the wire
   * carries, so loss recovery, RACK and SACK judge wire segments, not super-segments.
   */
  #recordSend(start: Seq, end: Seq, now: number, retransmission: boolean): void {
    const c = this.#c;
    const n = seqDiff(end, start);
    if (retransmission || n <= c.mss) {
      c.rtxq.onSend(start, end, now, retransmission);
      return;
    }
    for (let off = 0; off < n; off += c.mss) c.rtxq.onSend(seqAdd(start, off), seqAdd(start, Math.min(n, off + c.mss)), now, false);
  }

  /** Nagle (RFC 896, Minshall's variant) and sender SWS avoidance (RFC 1122 §4.2.3.4) for a sub-MSS segment. */
  #mayPartial(len: number, avail: number, flight: number): boolean {
    const c = this.#c;
    if (len === avail) {
      // All queued data fits: send unless a small segment is still unacknowledged.
      return c.noDelay || flight === 0 || !seqGt(this.#sndSml, c.sndUna);
    }
    // The window, not the data, limits us: only if it is at least half the largest window seen.
    return c.maxSndWnd > 0 && len >= c.maxSndWnd / 2;
  }

  /**
   * New data (RFC 6675 NextSeg rule 2; a TLP's new segment, RFC 8985 §7.3): up to `budget`
   * octets (default one SMSS) within the peer's window, the FIN with the last data. With TSO the
   * budget leaves as one super-segment of whole MSS-sized segments, as repeated NextSeg calls
   * would send them; without, one segment.
   */
  sendNewSegment(now: number, budget = this.#c.mss): number {
    const c = this.#c;
    if (c.sndNxt !== c.sndMax) return 0;
    const offset = seqDiff(c.sndNxt, c.sndBufSeq);
    const avail = Math.max(0, c.sndBuf.length - offset);
    const finPending = c.finQueued && c.finSeq === undefined;
    if (avail === 0 && !finPending) return 0;
    let len = Math.min(avail, Math.max(c.mss, Math.min(budget, this.#maxSegment())), Math.max(0, c.sndWnd - seqDiff(c.sndNxt, c.sndUna)));
    if (len < avail && len < c.mss) return 0;
    if (len > c.mss && len < avail) len -= len % c.mss;
    const withFin = finPending && len === avail;
    if (len === 0 && !withFin) return 0;
    const flags = ACK | (len > 0 && len === avail ? PSH : 0) | (withFin ? FIN : 0);
    this.emit(c.sndNxt, flags, offset, len, now);
    const n = len + (withFin ? 1 : 0);
    const end = seqAdd(c.sndNxt, n);
    this.#recordSend(c.sndNxt, end, now, false);
    c.bytesSent += len;
    if (withFin) c.finSeq = seqAdd(c.sndBufSeq, c.sndBuf.length);
    c.sndNxt = end;
    c.sndMax = end;
    if (c.timers.rtx === Infinity) c.timers.rtx = now + c.rtt.rto;
    c.timers.persist = Infinity;
    this.#lastSendAt = now;
    return n;
  }

  /**
   * Retransmit, from `from` in record `i` of the retransmit queue up to `limit` (a SACKed block's
   * edge), the run of contiguous records `take` accepts that fits `budget` octets (what RFC 6675
   * §5 and PRR, or cwnd, allow) and the peer's window: with TSO one super-segment that the link
   * cuts where the records end, so SACK and RACK still judge each wire segment by its own record;
   * without, one record. The first record always goes. Returns the sequence space sent.
   */
  retransmitRun(i: number, from: Seq, limit: Seq, budget: number, now: number, reason: string, why: RetransmitWhy, take: (r: SentSegment) => boolean): number {
    const c = this.#c;
    const maxLen = Math.min(budget, this.#maxSegment(), seqDiff(seqAdd(c.sndUna, c.sndWnd), from));
    const end = c.rtxq.runEnd(i, from, c.mss, limit, maxLen, take);
    return this.retransmitRange(from, seqDiff(end, from), now, reason, why);
  }

  /** Retransmit [start, start + maxLen) (and the FIN right after it, if sent before); returns sequence space sent. */
  retransmitRange(start: Seq, maxLen: number, now: number, reason: string, why: RetransmitWhy): number {
    const c = this.#c;
    const offset = seqDiff(start, c.sndBufSeq);
    const room = seqDiff(c.sndMax, start);
    if (offset < 0 || room <= 0) return 0;
    const dataLen = Math.max(0, Math.min(maxLen, this.#maxSegment(), c.sndBuf.length - offset, room));
    const fin = c.finSeq !== undefined && seqAdd(start, dataLen) === c.finSeq && room > dataLen;
    if (dataLen === 0 && !fin) return 0;
    const flags = ACK | (fin ? FIN : 0) | (dataLen > 0 && offset + dataLen === c.sndBuf.length ? PSH : 0);
    const wireSegments = this.#announceWire(start, dataLen, why, why);
    this.emit(start, flags, offset, dataLen, now);
    const n = dataLen + (fin ? 1 : 0);
    c.rtxq.onSend(start, seqAdd(start, n), now, true);
    this.#counters.inc(`tcp.tx.retransmit.${reason}`, wireSegments);
    c.retransmissions += wireSegments;
    if (c.timers.rtx === Infinity) c.timers.rtx = now + c.rtt.rto;
    this.#lastSendAt = now;
    return n;
  }

  // ===================================================================== persist

  /**
   * The persist timer fired: the SWS override, or a zero-window probe (RFC 9293 §3.8.6.1).
   * Returns false when the peer has left `maxRetries` probes unanswered: the caller gives up.
   */
  onPersist(now: number): boolean {
    const c = this.#c;
    if (!c.canSendData()) return true;
    const offset = seqDiff(c.sndNxt, c.sndBufSeq);
    const avail = c.sndBuf.length - offset;
    if (avail <= 0 || seqLt(c.sndUna, c.sndNxt)) return true;
    const usable = Math.min(c.sndWnd, c.cc.cwnd) - seqDiff(c.sndNxt, c.sndUna);
    if (usable > 0) {
      // The SWS "override timeout" (RFC 1122 §4.2.3.4 (4)): send what the window allows.
      this.#counters.inc('tcp.tx.swsOverride');
      this.output(now, true);
    } else {
      // RFC 1122 §4.2.2.17: the connection is kept only while the peer ACKs the probes; like
      // a retransmission, an unanswered probe counts toward the give-up limit (as Linux does).
      if (this.unansweredProbes >= this.#cfg.maxRetries) {
        this.#counters.inc('tcp.persist.giveUp');
        return false;
      }
      this.unansweredProbes++;
      // RFC 9293 §3.8.6.1: probe a zero window with one octet of new data, backing off.
      this.#counters.inc('tcp.tx.persistProbe');
      this.emit(c.sndNxt, ACK, offset, 1, now);
      c.sndMax = seqMax(c.sndMax, seqAdd(c.sndNxt, 1));
      this.persistBackoff++;
      c.timers.persist = now + this.#persistInterval();
    }
    return true;
  }

  #persistInterval(): number {
    return Math.min(this.#cfg.persistMaxMs, Math.max(this.#cfg.minRtoMs, this.#c.rtt.rto) * 2 ** this.persistBackoff);
  }

  // ===================================================================== segments

  sendAck(now: number): void {
    // SND.MAX, not SND.NXT: while go-back-N retransmits, a bare ACK must not carry an old
    // sequence number the peer would find unacceptable (as BSD's tcp_output does).
    this.emit(this.#c.sndMax, ACK, 0, 0, now);
  }

  /** Our SYN (active open) or SYN-ACK (passive or simultaneous open), recorded for retransmission; `why` when the timer resends it. */
  sendSyn(flags: number, now: number, retransmission: boolean, why?: RetransmitWhy): void {
    const c = this.#c;
    if (why !== undefined) this.announceRetransmit(c.iss, 0, why);
    this.emit(c.iss, flags, 0, 0, now);
    c.rtxq.onSend(c.iss, seqAdd(c.iss, 1), now, retransmission);
    c.sndNxt = seqAdd(c.iss, 1);
    c.sndMax = c.sndNxt;
  }

  /**
   * Announce a retransmission of `len` octets at `start` one wire segment at a time (a
   * super-segment is cut every MSS): the first for `first`, the others for `rest`. Returns the
   * number of wire segments.
   */
  #announceWire(start: Seq, len: number, first: RetransmitWhy, rest: RetransmitWhy): number {
    const mss = this.#c.mss;
    const n = Math.max(1, Math.ceil(len / mss));
    if (this.#host.onRetransmit !== undefined) {
      for (let k = 0; k < n; k++) this.announceRetransmit(seqAdd(start, k * mss), Math.min(mss, len - k * mss), k === 0 ? first : rest);
    }
    return n;
  }

  /** Tell the host's `onRetransmit` (if any) that `len` payload octets at `start` go out again, and why. */
  announceRetransmit(start: Seq, len: number, why: RetransmitWhy): void {
    const on = this.#host.onRetransmit;
    if (on === undefined) return;
    const c = this.#c;
    on({ local: { ip: ipToString(c.localIp), port: c.localPort }, remote: { ip: ipToString(c.remoteIp), port: c.remotePort }, seq: start, len, ...why });
  }

  /** A bare RST <SEQ=seqNo><CTL=RST>: no options, no window. */
  sendRst(seqNo: Seq): void {
    const c = this.#c;
    this.#counters.inc('tcp.tx.rst');
    const buf = Buffer.allocUnsafe(TCP_HEADER_MIN);
    writeTcpHeader(buf, 0, { srcPort: c.localPort, dstPort: c.remotePort, seq: seqNo, ack: seq(0), flags: RST, window: 0 }, TCP_HEADER_MIN);
    fillTcpChecksum(buf, c.localIp, c.remoteIp);
    this.#counters.inc('tcp.tx.segments');
    this.#host.transmit(c.localIp, c.remoteIp, buf);
  }

  /**
   * Build, checksum and transmit one segment carrying sndBuf[offset, offset+len): the options
   * (SYN options, timestamps, SACK and D-SACK blocks), the window, and the ACK bookkeeping.
   */
  emit(seqNo: Seq, flags: number, offset: number, len: number, now: number): void {
    const c = this.#c;
    const o: TcpOptions = {};
    const syn = (flags & SYN) !== 0;
    const tsVal = (Math.floor(now) + c.tsOffset) >>> 0;
    if (syn) {
      o.mss = c.advertisedMss;
      const active = !(flags & ACK);
      // Active: offer what we support. Passive: answer only what the peer offered.
      if (active ? this.#cfg.windowScaling : c.wsOk) o.wscale = c.rcvWscale;
      if (active ? this.#cfg.sack : c.sackOk) o.sackPermitted = true;
      if (active ? this.#cfg.timestamps : c.tsOk) o.ts = { val: tsVal, ecr: active ? 0 : c.tsRecent };
    } else {
      if (c.tsOk) o.ts = { val: tsVal, ecr: c.tsRecent };
      if (c.sackOk && flags & ACK && c.rcv.hasSackInfo) {
        // RFC 2018 §3: at most 4 blocks, 3 beside timestamps (and what the MTU leaves room for).
        const room = c.pmtu - 40 - Math.min(len, c.mss) - (c.tsOk ? TS_LEN : 0);
        const blocks = c.rcv.sackBlocks(Math.min(c.tsOk ? 3 : 4, Math.floor((room - 4) / 8)));
        if (blocks.length > 0) o.sack = blocks;
      }
    }
    const window = syn ? c.rcv.synWindowField() : c.rcv.selectWindow();
    const hl = TCP_HEADER_MIN + tcpOptionsLength(o);
    // With TSO the link sums the segment (and each piece it cuts): only the pseudo-header here,
    // and the payload goes as views of the send buffer, written after the headers (writev).
    const offload = this.#cfg.offload;
    const rest: Buffer[] | undefined = offload && len > 0 ? [] : undefined;
    // Built once, with room in front for IP's headers (lib/net/ipv4-output.ts ipv4FrameInPlace).
    const buf = Buffer.allocUnsafe(HEADROOM + hl + (rest === undefined ? len : 0)).subarray(HEADROOM);
    const ackNo = flags & ACK ? c.rcvNxt : seq(0);
    writeTcpHeader(buf, 0, { srcPort: c.localPort, dstPort: c.remotePort, seq: seqNo, ack: ackNo, flags, window }, hl);
    writeTcpOptions(buf, TCP_HEADER_MIN, o);
    if (rest !== undefined) c.sndBuf.views(offset, len, rest);
    else if (len > 0) c.sndBuf.copyOut(offset, len, buf, hl);
    if (offload) fillTcpPseudoChecksum(buf, c.localIp, c.remoteIp, hl + len);
    else fillTcpChecksum(buf, c.localIp, c.remoteIp);
    if (flags & ACK) {
      c.lastAckSent = c.rcvNxt;
      c.timers.delack = Infinity;
      this.ackNow = false;
      this.ackOwed = false;
      c.rcv.unackedBytes = 0;
    }
    this.#counters.inc('tcp.tx.segments');
    // A super-segment (TSO): the link cuts it into MSS-sized segments.
    const gsoSize = offload && len > c.mss ? c.mss : 0;
    c.history?.record(true, now, seqNo, ackNo, flags, len, window, o, gsoSize);
    if (log.enabled) log('%s tx %s seq=%d ack=%d win=%d len=%d', c.key, formatTcpFlags(flags), seqNo, ackNo, window, len);
    this.#host.transmit(c.localIp, c.remoteIp, buf, !offload ? TX_PLAIN : rest !== undefined ? { headroom: true, partialCsum: true, gsoSize, rest } : TX_PARTIAL);
  }
}
