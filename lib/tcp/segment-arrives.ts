// SEGMENT ARRIVES (RFC 9293 §3.10.7) for a connection in SYN-SENT, SYN-RECEIVED or a
// synchronized state: the checks in the RFC's order — the acceptability test, RST (RFC 5961 §3),
// SYN (RFC 5961 §4), the ACK field (RFC 5961 §5; the sender's side of it is ack.ts), URG, the
// text (receive.ts) and the FIN — with RFC 7323 timestamps and PAWS, and what the peer's SYN says
// (its options). The state machine (connection.ts) owns the states and the user's events; this
// module reads the segment and moves them.
import type { Counters } from '../counters.js';
import { TCP_FLAGS, type TcpSegment } from '../wire/tcp.js';
import { type Seq, seqAdd, seqDiff, seqGt, seqLe, seqLt } from '../wire/seq.js';
import type { TcpConfig } from './config.js';
import type { TcpConnection } from './connection.js';
import { tsBefore } from './loss-recovery.js';
import { type ConnectionHost, TcpError } from './types.js';

const { FIN, SYN, RST, ACK, URG } = TCP_FLAGS;

/** TS.Recent is invalid after 24 days idle (RFC 7323 §5.5). */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;

/** Segment arrival for one connection (LISTEN and TIME-WAIT are the demux's). */
export class SegmentArrival {
  /** A FIN seen beyond a hole, processed when the hole fills. */
  #oooFin: Seq | undefined;

  readonly #c: TcpConnection;
  readonly #host: ConnectionHost;
  readonly #cfg: TcpConfig;
  readonly #counters: Counters;

  constructor(c: TcpConnection, host: ConnectionHost) {
    this.#c = c;
    this.#host = host;
    this.#cfg = host.config;
    this.#counters = host.counters;
  }

  /** RFC 9293 §3.10.7.3 (SYN-SENT) or §3.10.7.4 (the other states) for one segment. */
  process(seg: TcpSegment, now: number): void {
    const state = this.#c.state;
    if (state === 'SYN-SENT') this.#inSynSent(seg, now);
    else if (state !== 'CLOSED') this.#inOtherStates(seg, now);
  }

  /** Record what the peer's SYN says (RFC 9293 §3.10.7.2/3, RFC 7323 §2.2/§3.2, RFC 2018 §2). */
  takePeerSyn(syn: TcpSegment, passive: boolean, now: number): void {
    const c = this.#c;
    const o = syn.options;
    c.irs = syn.seq;
    c.rcvNxt = seqAdd(syn.seq, 1);
    // RFC 9293 §3.7.1: without the option, assume 536; clamp nonsense small values.
    c.peerMss = o.mss === undefined ? 536 : Math.max(64, o.mss);
    // Window scaling only if both sides sent WS (RFC 7323 §2.2); shift counts above 14 are 14 (§2.3).
    c.wsOk = this.#cfg.windowScaling && o.wscale !== undefined;
    if (c.wsOk) c.sndWscale = Math.min(14, o.wscale!);
    else {
      c.sndWscale = 0;
      c.rcvWscale = 0;
      if (o.wscale !== undefined && o.wscale > 14) this.#counters.inc('tcp.rx.badWscale');
    }
    c.tsOk = this.#cfg.timestamps && o.ts !== undefined;
    if (c.tsOk) {
      c.tsRecent = o.ts!.val;
      c.tsRecentAt = now;
    }
    c.sackOk = this.#cfg.sack && o.sackPermitted === true;
    // The SYN's window is never scaled (RFC 7323 §2.2).
    c.sndWnd = syn.window;
    c.maxSndWnd = Math.max(c.maxSndWnd, c.sndWnd);
    c.sndWl1 = syn.seq;
    c.sndWl2 = passive ? c.iss : syn.ack;
    c.updateMss();
    c.rcvAdv = seqAdd(c.rcvNxt, c.rcv.synWindow());
    c.lastAckSent = c.rcvNxt;
  }

  /** RFC 9293 §3.10.7.3: SYN-SENT. */
  #inSynSent(seg: TcpSegment, now: number): void {
    const c = this.#c;
    const f = seg.flags;
    const cnt = this.#counters;
    // First: the ACK must acknowledge our SYN exactly (ISS < SEG.ACK =< SND.NXT).
    if (f & ACK && (seqLe(seg.ack, c.iss) || seqGt(seg.ack, c.sndMax))) {
      cnt.inc('tcp.rx.badAckInSynSent');
      if (!(f & RST)) c.out.sendRst(seg.ack);
      return;
    }
    // Second: a RST with an acceptable ACK refuses the connection (RFC 5961 §3.2 keeps this rule).
    if (f & RST) {
      if (f & ACK) {
        cnt.inc('tcp.rx.rst.refused');
        c.enterClosed(now, new TcpError('ECONNREFUSED', `connect ECONNREFUSED`, 'connect'));
      } else cnt.inc('tcp.rx.rst.ignored');
      return;
    }
    // Fourth: SYN.
    if (!(f & SYN)) {
      cnt.inc('tcp.rx.dropped.synSent');
      return;
    }
    this.takePeerSyn(seg, false, now);
    c.heard(now);
    if (f & ACK) {
      if (c.acks.advance(seg, now)) c.notifyWritable();
      c.sndWnd = seg.window; // unscaled in a SYN (RFC 7323 §2.2)
      c.maxSndWnd = Math.max(c.maxSndWnd, c.sndWnd);
      c.sndWl1 = seg.seq;
      c.sndWl2 = seg.ack;
      c.becomeEstablished(now);
      c.out.ackNow = true;
      // "Data or controls which were queued for transmission may be included"; text and FIN
      // in the SYN-ACK are processed from the sixth step on.
      this.#text(seqAdd(seg.seq, 1), seg.payload, (f & FIN) !== 0, now);
      c.out.output(now);
    } else {
      // Simultaneous open (RFC 9293 §3.5 figure 7): answer with SYN,ACK on our ISS.
      cnt.inc('tcp.simultaneousOpen');
      c.setState('SYN-RECEIVED', now);
      c.out.sendSyn(SYN | ACK, now, true);
      c.timers.rtx = now + c.rtt.rto;
    }
  }

  /** RFC 9293 §3.10.7.4: SYN-RECEIVED and the synchronized states, in the RFC's order. */
  #inOtherStates(seg: TcpSegment, now: number): void {
    const c = this.#c;
    const cnt = this.#counters;
    const f = seg.flags;
    let segSeq = seg.seq;
    let payload = seg.payload;
    let syn = (f & SYN) !== 0;
    let fin = (f & FIN) !== 0;
    const rst = (f & RST) !== 0;

    if (c.state === 'SYN-RECEIVED' && syn && !rst && segSeq === c.irs) {
      if (!(f & ACK)) {
        // The peer retransmitted its SYN: our SYN-ACK was lost. Answer it again.
        cnt.inc('tcp.rx.dupSyn');
        c.out.sendSyn(SYN | ACK, now, true);
        return;
      }
      // Simultaneous open: the peer's SYN,ACK; its SYN is old, its ACK is news.
      syn = false;
      segSeq = seqAdd(segSeq, 1);
      c.out.ackNow = true;
    }

    // RFC 7323 §3.2: once timestamps are on, a non-RST segment without one SHOULD be dropped.
    const ts = seg.options.ts;
    if (c.tsOk && !rst) {
      if (ts === undefined) {
        cnt.inc('tcp.rx.missingTimestamp');
        return;
      }
      // PAWS (RFC 7323 §5.3 R1): an older TSval than TS.Recent marks an old duplicate.
      if (tsBefore(ts.val, c.tsRecent) && now - c.tsRecentAt < PAWS_IDLE_MS) {
        cnt.inc('tcp.rx.paws');
        c.out.sendAck(now);
        return;
      }
    }

    // RFC 5961 §4.2: a SYN in a synchronized state draws a (rate-limited) challenge ACK
    // "irrespective of the sequence number", so it is checked before the window.
    if (syn && !rst && c.state !== 'SYN-RECEIVED') {
      cnt.inc('tcp.rx.synInSynchronized');
      this.#challengeAck(now);
      return;
    }

    // First: the acceptability test (RFC 9293 §3.10.7.4, the four cases).
    const len = payload.length + (syn ? 1 : 0) + (fin ? 1 : 0);
    const wnd = c.rcvWnd;
    const lastSeq = seqAdd(segSeq, len - 1);
    const inWnd = (s: Seq): boolean => seqLe(c.rcvNxt, s) && seqLt(s, seqAdd(c.rcvNxt, wnd));
    let acceptable: boolean;
    if (len === 0) acceptable = wnd === 0 ? segSeq === c.rcvNxt : inWnd(segSeq);
    else acceptable = wnd === 0 ? false : inWnd(segSeq) || inWnd(lastSeq);
    // "If the RCV.WND is zero, no segments will be acceptable, but special allowance should be
    // made to accept valid ACKs, URGs, and RSTs": a segment at RCV.NXT is processed for its
    // control bits; its text is trimmed away below.
    if (!acceptable && wnd === 0 && segSeq === c.rcvNxt) {
      acceptable = true;
      cnt.inc('tcp.rx.zeroWindowProbe');
    }
    if (!acceptable) {
      if (rst) {
        cnt.inc('tcp.rx.rst.outOfWindow');
        return;
      }
      // SEG.SEQ = RCV.NXT−1 without data: a keep-alive or Linux-style window probe, answered below.
      if (len === 0 && segSeq === seqAdd(c.rcvNxt, -1)) cnt.inc('tcp.rx.keepAliveProbe');
      else if (len > 0 && seqLt(lastSeq, c.rcvNxt)) {
        cnt.inc('tcp.rx.duplicate');
        // RFC 2883: tell the sender which data arrived twice.
        if (payload.length > 0) c.rcv.noteDsack(segSeq, seqAdd(segSeq, payload.length));
      } else cnt.inc('tcp.rx.outOfWindow');
      c.out.sendAck(now);
      return;
    }
    c.heard(now);

    // Second: RST (RFC 5961 §3.2): exact RCV.NXT resets; elsewhere in the window, challenge.
    if (rst) {
      if (segSeq !== c.rcvNxt) {
        cnt.inc('tcp.rx.rst.inWindow');
        this.#challengeAck(now);
        return;
      }
      cnt.inc('tcp.rx.rst.valid');
      this.#onReset(now);
      return;
    }

    // Fourth: SYN in a synchronized state (RFC 5961 §4, RFC 9293 §3.10.7.4 fourth).
    if (syn) {
      if (c.state === 'SYN-RECEIVED' && c.passive) {
        // "Return this connection to the LISTEN state": forget the embryonic connection.
        cnt.inc('tcp.rx.synInSynReceived');
        c.enterClosed(now, undefined);
        return;
      }
      cnt.inc('tcp.rx.synInSynchronized');
      this.#challengeAck(now);
      return;
    }

    // Trim to the window: text before RCV.NXT was received already; text beyond the right
    // edge does not fit (RFC 9293 §3.10.7.4 "trimmed to include only the new data").
    if (seqLt(segSeq, c.rcvNxt)) {
      const cut = Math.min(seqDiff(c.rcvNxt, segSeq), payload.length);
      if (cut > 0) c.rcv.noteDsack(segSeq, seqAdd(segSeq, cut));
      payload = payload.subarray(cut);
      segSeq = seqAdd(segSeq, cut);
      cnt.inc('tcp.rx.partialDuplicate');
    }
    const room = seqDiff(seqAdd(c.rcvNxt, wnd), segSeq);
    if (payload.length > room) {
      payload = payload.subarray(0, Math.max(0, room));
      fin = false;
      c.out.ackNow = true;
      cnt.inc('tcp.rx.trimmedRight');
    }

    // Fifth: ACK.
    if (!(f & ACK)) {
      cnt.inc('tcp.rx.noAck');
      return;
    }
    if (c.state === 'SYN-RECEIVED') {
      if (seqLt(c.sndUna, seg.ack) && seqLe(seg.ack, c.sndMax)) {
        if (!this.#host.mayComplete(c)) {
          // Accept queue full: act as if the ACK was lost; our SYN-ACK retransmission retries.
          cnt.inc('tcp.listen.acceptQueueFull');
          return;
        }
        this.#takeTsRecent(seg, now);
        c.sndWnd = seg.window << c.sndWscale;
        c.maxSndWnd = Math.max(c.maxSndWnd, c.sndWnd);
        c.sndWl1 = segSeq;
        c.sndWl2 = seg.ack;
        if (c.acks.advance(seg, now)) c.notifyWritable();
        c.becomeEstablished(now);
      } else {
        cnt.inc('tcp.rx.badAckInSynReceived');
        c.out.sendRst(seg.ack);
        return;
      }
    } else if (!this.#processAck(seg, segSeq, payload.length === 0 && !fin, now)) {
      return;
    }
    // LAST-ACK and CLOSING end here once our FIN is acknowledged.
    if (c.state === 'CLOSED' || c.state === 'TIME-WAIT') return;
    if (c.state === 'CLOSING' || c.state === 'LAST-ACK') {
      c.out.output(now);
      return;
    }

    // Sixth: URG. RFC 6093: urgent data is delivered inline; we only count it.
    if (f & URG) cnt.inc('tcp.rx.urgent');

    // Seventh and eighth: text and FIN.
    this.#text(segSeq, payload, fin, now);
    c.out.output(now);
  }

  /**
   * RFC 7323 §4.3 (R3): remember the TSval of a segment covering Last.ACK.sent, but only once the
   * segment has passed every check, its ACK included (RFC 5961 §5, as Linux's tcp_ack does):
   * else one forged segment with a right sequence number, a bad ACK and a high TSval would raise
   * TS.Recent and let PAWS drop every real segment after it.
   */
  #takeTsRecent(seg: TcpSegment, now: number): void {
    const c = this.#c;
    const ts = seg.options.ts;
    if (c.tsOk && ts !== undefined && seqLe(seg.seq, c.lastAckSent) && !tsBefore(ts.val, c.tsRecent)) {
      c.tsRecent = ts.val;
      c.tsRecentAt = now;
    }
  }

  /** Fifth step for the synchronized states (RFC 5961 §5.2 first); false if the segment must be dropped now. */
  #processAck(seg: TcpSegment, segSeq: Seq, pureAck: boolean, now: number): boolean {
    const c = this.#c;
    const cnt = this.#counters;
    const ack = seg.ack;
    // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA − MAX.SND.WND, SND.NXT].
    if (seqGt(ack, c.sndMax)) {
      cnt.inc('tcp.rx.ackTooNew');
      this.#challengeAck(now);
      return false;
    }
    if (seqLt(ack, seqAdd(c.sndUna, -Math.max(c.maxSndWnd, 1)))) {
      cnt.inc('tcp.rx.ackTooOld');
      this.#challengeAck(now);
      return false;
    }
    this.#takeTsRecent(seg, now);
    if (c.acks.onAck(seg, segSeq, pureAck, now)) c.notifyWritable();
    const finAcked = c.finSeq !== undefined && seqGt(c.sndUna, c.finSeq);
    switch (c.state) {
      case 'FIN-WAIT-1':
        if (finAcked) c.setState('FIN-WAIT-2', now);
        break;
      case 'CLOSING':
        if (finAcked) c.setState('TIME-WAIT', now);
        break;
      case 'LAST-ACK':
        if (finAcked) c.enterClosed(now, undefined);
        break;
      default:
        break;
    }
    return true;
  }

  /** Seventh and eighth steps: queue text, then a FIN in sequence. */
  #text(segSeq: Seq, payload: Buffer, fin: boolean, now: number): void {
    const c = this.#c;
    const cnt = this.#counters;
    const receiving = c.state === 'ESTABLISHED' || c.state === 'FIN-WAIT-1' || c.state === 'FIN-WAIT-2';
    if (payload.length > 0) {
      if (c.orphan && receiving) {
        // Nobody will ever read it: tell the peer at once (as Linux does after close()).
        cnt.inc('tcp.rx.dataForOrphan');
        c.abort(now);
        return;
      }
      if (!receiving) {
        // CLOSE-WAIT, CLOSING, LAST-ACK: "This should not occur, since a FIN has been received".
        cnt.inc('tcp.rx.dataAfterFin');
      } else if (c.rcv.text(segSeq, payload, now)) c.notifyReadable();
    }
    if (fin) {
      const finAt = seqAdd(segSeq, payload.length);
      if (!receiving && c.state !== 'SYN-RECEIVED') {
        // A retransmitted FIN in CLOSE-WAIT, CLOSING, LAST-ACK: acknowledge it again.
        c.out.ackNow = true;
      } else if (finAt === c.rcvNxt) {
        this.#processFin(now);
      } else if (seqGt(finAt, c.rcvNxt)) {
        this.#oooFin = finAt;
        c.out.ackNow = true;
      }
    }
    if (this.#oooFin !== undefined && this.#oooFin === c.rcvNxt && !c.finReceived && receiving) {
      this.#oooFin = undefined;
      this.#processFin(now);
    }
  }

  /** Eighth step: the FIN is in sequence (RFC 9293 §3.10.7.4 eighth). */
  #processFin(now: number): void {
    const c = this.#c;
    c.rcvNxt = seqAdd(c.rcvNxt, 1);
    c.finReceived = true;
    c.notifyReadable();
    this.#counters.inc('tcp.rx.fin');
    switch (c.state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        // The peer closed first. Its FIN's ACK waits like a delayed ACK (RFC 1122 §4.2.3.2), so an
        // application that closes in response within that time sends one FIN+ACK, as Linux does:
        // the three-way close (RFC 9293 §3.6).
        if (c.timers.delack === Infinity) c.timers.delack = now + this.#cfg.delayedAckMs;
        c.setState('CLOSE-WAIT', now);
        break;
      case 'FIN-WAIT-1':
        c.out.ackNow = true;
        // Our FIN is not yet acknowledged (else we would be in FIN-WAIT-2): simultaneous close.
        c.setState('CLOSING', now);
        break;
      case 'FIN-WAIT-2':
        c.out.sendAck(now);
        c.setState('TIME-WAIT', now);
        break;
      default:
        c.out.ackNow = true;
        break;
    }
  }

  #onReset(now: number): void {
    const c = this.#c;
    switch (c.state) {
      case 'SYN-RECEIVED':
        // Passive: back to LISTEN (forget it). Active (simultaneous open): refused.
        c.enterClosed(now, c.passive ? undefined : new TcpError('ECONNREFUSED', 'connect ECONNREFUSED', 'connect'));
        break;
      case 'CLOSING':
      case 'LAST-ACK':
        c.enterClosed(now, undefined);
        break;
      default:
        this.#counters.inc('tcp.conn.reset');
        c.enterClosed(now, new TcpError('ECONNRESET', 'read ECONNRESET'));
        break;
    }
  }

  /** RFC 5961 §7: a rate-limited <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. */
  #challengeAck(now: number): void {
    const c = this.#c;
    if (this.#host.takeChallengeAck(now)) {
      this.#counters.inc('tcp.tx.challengeAck');
      c.out.sendAck(now);
    } else this.#counters.inc('tcp.challengeAck.rateLimited');
  }
}
