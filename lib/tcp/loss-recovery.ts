// Loss recovery of one connection. With SACK, RFC 6675: the scoreboard (sack-scoreboard.ts) is
// fed from each ACK's blocks (D-SACK blocks, RFC 2883, are counted and left out), recovery
// starts on DupThresh duplicate ACKs or a lost first segment, and NextSeg rules 1–4 with the
// rescue retransmission choose what to send, paced by RFC 6937 PRR. Without SACK, RFC 6582
// NewReno (fast retransmit, partial ACKs). An RTO ends any recovery, collapses cwnd and goes
// back to SND.UNA (RFC 6298 §5, RFC 5681 §3.1); with timestamps an RTO found spurious by the
// Eifel test (RFC 3522) is undone (RFC 4015). RACK-TLP (rack.ts) adds time-based loss marks;
// what is chosen here is sent through the output module's `retransmitRange`.
import type { Counters } from '../counters.js';
import { type Seq, seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin } from '../wire/seq.js';
import type { TcpConnection } from './connection.js';
import type { RetransmitWhy } from './retransmit-event.js';
import type { SentSegment } from './retransmit-queue.js';
import { DUP_THRESH } from './sack-scoreboard.js';
import type { ConnectionHost } from './types.js';

// Why each kind of retransmission chosen here happens (the onRetransmit event's cause and rule).
const FAST_NEWRENO: RetransmitWhy = { cause: 'fast', rule: 'DupThresh duplicate ACKs (RFC 6582 §3.2)' };
const PARTIAL_ACK: RetransmitWhy = { cause: 'fast', rule: 'partial ACK (RFC 6582 §3.2 step 5)' };
const FAST_SACK: RetransmitWhy = { cause: 'fast', rule: 'DupThresh duplicate ACKs (RFC 6675 §5 step 4)' };
const IS_LOST: RetransmitWhy = { cause: 'sack', rule: 'IsLost(HighACK + 1) (RFC 6675 §5 step 4)' };
const NEXT_SEG_1: RetransmitWhy = { cause: 'sack', rule: 'NextSeg (1)' };
const NEXT_SEG_3: RetransmitWhy = { cause: 'sack', rule: 'NextSeg (3)' };
const RESCUE: RetransmitWhy = { cause: 'rescue', rule: 'NextSeg (4)' };

/** Is a before b in 32-bit timestamp space (RFC 7323 §5.3 uses the same modular compare)? */
export function tsBefore(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** The loss-recovery state of one connection. */
export class LossRecovery {
  /** Duplicate ACKs in a row (RFC 5681 §2; with SACK, ACKs that SACK new data). */
  dupAcks = 0;
  /** RFC 6582 `recover` / RFC 6675 RecoveryPoint: HighData when recovery (or an RTO) began. */
  recover: Seq;
  /** In RFC 6675 SACK loss recovery. */
  #sackRecovery = false;
  /** In RFC 6582 NewReno fast recovery. */
  #newRenoRecovery = false;
  /** In RTO recovery: after a timeout until `recover` (SND.MAX then) is acknowledged (Linux's Loss state). */
  #rtoRecovery = false;
  /** RFC 6582 §3.2 step 5: only the first partial ACK restarts the retransmission timer. */
  #firstPartialAck = true;
  /** RFC 6675 HighRxt (one past the highest octet retransmitted in this recovery). */
  #highRxt: Seq;
  /** RFC 6675 RescueRxt (one past), undefined outside recovery. */
  #rescueRxt: Seq | undefined;
  /** rtxq order when recovery began: records retransmitted after it are "retransmitted in this recovery". */
  #recoveryOrder = 0;
  /** RFC 6937 PRR: data delivered and sent since recovery began, FlightSize then, and what this ACK allows. */
  #prrDelivered = 0;
  #prrOut = 0;
  #recoverFs = 0;
  #prrSndcnt = 0;
  /** RFC 3522: TSval of the first RTO retransmission, for the Eifel spurious-timeout test. */
  #rtoTsVal: number | undefined;

  readonly #c: TcpConnection;
  readonly #counters: Counters;

  constructor(c: TcpConnection, host: ConnectionHost) {
    this.#c = c;
    this.#counters = host.counters;
    this.recover = c.iss;
    this.#highRxt = c.iss;
  }

  get inSackRecovery(): boolean {
    return this.#sackRecovery;
  }

  get inNewRenoRecovery(): boolean {
    return this.#newRenoRecovery;
  }

  get inRtoRecovery(): boolean {
    return this.#rtoRecovery;
  }

  /** Which recovery is in progress (RFC 8985 §7.2: no tail loss probe in any of them). */
  get kind(): 'sack' | 'newreno' | 'rto' | 'none' {
    return this.#sackRecovery ? 'sack' : this.#newRenoRecovery ? 'newreno' : this.#rtoRecovery ? 'rto' : 'none';
  }

  /**
   * Put an ACK's SACK blocks on the scoreboard; returns the octets newly SACKed. RFC 2883 §4: a
   * first block at or below the cumulative ACK, or inside the second block, reports a duplicate
   * (D-SACK): counted, not a scoreboard entry.
   */
  takeSackBlocks(blocks: ReadonlyArray<{ left: Seq; right: Seq }>, ack: Seq): number {
    const c = this.#c;
    this.#counters.inc('tcp.rx.sackBlocks', blocks.length);
    const b0 = blocks[0]!;
    const b1 = blocks[1];
    const dsack = seqLe(b0.right, ack) || (b1 !== undefined && seqGe(b0.left, b1.left) && seqLe(b0.right, b1.right));
    if (dsack) {
      this.#counters.inc('tcp.rx.dsack');
      c.rack.onDsack();
    }
    return c.sackBoard().update(dsack ? blocks.slice(1) : blocks, seqMax(ack, c.sndUna), c.sndMax);
  }

  /**
   * SND.UNA advanced by `acked` (FlightSize was `flight`): the Eifel test after an RTO, the end
   * of recovery or a partial ACK, else congestion avoidance. Returns whether the retransmission
   * timer restarts (RFC 6582 §3.2 step 5 restarts it only on the first partial ACK).
   */
  onAckAdvance(ecr: number | undefined, acked: number, flight: number, now: number): boolean {
    const c = this.#c;
    let restartTimer = true;
    if (this.#rtoTsVal !== undefined) {
      // RFC 3522 §3.2 Eifel detection: the first ACK after a timeout echoes a TSval older than
      // the retransmission's, so the original arrived: the timeout was spurious. RFC 4015 §3.2:
      // undo the window cut and go on with new data instead of go-back-N.
      if (ecr !== undefined && ecr !== 0 && tsBefore(ecr, this.#rtoTsVal)) {
        this.#counters.inc('tcp.rto.spurious');
        c.cc.undo();
        c.sndNxt = c.sndMax;
        this.recover = c.sndUna;
      }
      this.#rtoTsVal = undefined;
    }
    if (this.#rtoRecovery && seqGe(c.sndUna, this.recover)) this.#rtoRecovery = false;
    if (c.state !== 'SYN-SENT' && c.state !== 'SYN-RECEIVED') {
      if (this.#sackRecovery) {
        if (seqGe(c.sndUna, this.recover)) {
          // RFC 6675 §5 (C): the cumulative ACK reached RecoveryPoint: recovery is over.
          this.#sackRecovery = false;
          c.cc.exitRecovery(c.mss);
          this.#counters.inc('tcp.recovery.done');
        } else {
          this.#counters.inc('tcp.recovery.partialAck');
          if (seqLt(this.#highRxt, c.sndUna)) this.#highRxt = c.sndUna;
        }
      } else if (this.#newRenoRecovery) {
        if (seqGe(c.sndUna, this.recover)) {
          // RFC 6582 §3.2 step 6 full ACK, option 1: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
          this.#newRenoRecovery = false;
          const fs = seqDiff(c.sndMax, c.sndUna);
          c.cc.exitRecovery(c.mss, Math.min(c.cc.ssthresh, Math.max(fs, c.mss) + c.mss));
          this.#counters.inc('tcp.recovery.done');
        } else {
          // RFC 6582 §3.2 step 5 partial ACK: retransmit the first unacknowledged segment,
          // deflate by the amount acknowledged, add back one SMSS if that was a full segment.
          this.#counters.inc('tcp.recovery.partialAck');
          c.out.retransmitRange(c.sndUna, c.mss, now, 'partialAck', PARTIAL_ACK);
          c.cc.inflate(-acked + (acked >= c.mss ? c.mss : 0), c.mss);
          restartTimer = this.#firstPartialAck;
          this.#firstPartialAck = false;
        }
      } else {
        c.cc.onAck({ acked, flight, mss: c.mss, now, srtt: c.rtt.srtt });
      }
    }
    this.dupAcks = 0;
    return restartTimer;
  }

  /**
   * A duplicate ACK. With SACK, recovery entry is decided in `maybeEnterSackRecovery` (RFC 6675
   * §5); without, the third one starts RFC 6582 NewReno fast retransmit / fast recovery, and each
   * further one inflates cwnd (step 4). The first two allow limited transmit (RFC 3042, in output).
   */
  onDupAck(now: number): void {
    const c = this.#c;
    this.dupAcks++;
    this.#counters.inc('tcp.rx.dupAck');
    if (this.#newRenoRecovery) {
      c.cc.onDupAckInRecovery(c.mss);
      return;
    }
    if (c.sackOk || this.#sackRecovery || this.dupAcks !== DUP_THRESH) return;
    // RFC 6582 §3.2 step 2: only if the ACK covers more than `recover` (not the same window again).
    if (!seqGt(c.sndUna, this.recover) || c.sndNxt !== c.sndMax) {
      this.#counters.inc('tcp.recovery.notEntered');
      return;
    }
    this.#counters.inc('tcp.recovery.newreno');
    this.recover = c.sndMax;
    this.#newRenoRecovery = true;
    this.#firstPartialAck = true;
    // Step 3: ssthresh (eq. 4 or CUBIC's beta), retransmit, cwnd = ssthresh + 3*SMSS.
    c.cc.enterRecovery(seqDiff(c.sndMax, c.sndUna), c.mss, now);
    c.cc.inflate(3 * c.mss, c.mss);
    if (c.out.retransmitRange(c.sndUna, c.mss, now, 'fast', FAST_NEWRENO) > 0) c.timers.rtx = now + c.rtt.rto;
  }

  /**
   * After an ACK (RFC 6675 §5): loss recovery starts on DupThresh duplicate ACKs or when the
   * scoreboard says the first unacknowledged segment is lost (or RACK found a loss) — once per
   * window (RecoveryPoint, §5.1). In recovery, PRR learns what this ACK delivered.
   */
  afterAck(rackLost: boolean, delivered: number, now: number): void {
    const c = this.#c;
    if (
      c.sackOk &&
      !this.#sackRecovery &&
      !this.#newRenoRecovery &&
      seqLt(c.sndUna, c.sndMax) &&
      seqGe(c.sndUna, this.recover) &&
      c.sndNxt === c.sndMax &&
      (this.dupAcks >= DUP_THRESH || rackLost || (!c.sack.empty && c.sack.isLost(c.sndUna, c.mss)))
    ) {
      // The cause of the first retransmission is what started recovery.
      this.#enterSackRecovery(now, this.dupAcks >= DUP_THRESH ? FAST_SACK : rackLost ? c.rack.why() : IS_LOST);
    }
    // RFC 6937 PRR: how much this ACK lets recovery send (DeliveredData = newly ACKed + newly SACKed).
    if (this.#sackRecovery) this.#prrUpdate(delivered);
  }

  /**
   * RACK's reorder timer marked losses (RFC 8985 §6.3) with no ACK to clock them out: start
   * recovery, or, in recovery with a weak ACK clock — fewer than DupThresh + 1 segments left in
   * the pipe (RFC 5827's early-retransmit bound), whose ACKs may never come — let one segment go
   * if the pipe is below ssthresh (RFC 6937's slow-start side). With more in flight PRR paces on
   * their ACKs, and extra sends on every timer would only overfill a queue.
   */
  onTimerLoss(now: number): void {
    const c = this.#c;
    if (!this.#sackRecovery && !this.#newRenoRecovery && seqGe(c.sndUna, this.recover) && seqLt(c.sndUna, c.sndMax)) this.#enterSackRecovery(now, c.rack.why());
    else if (this.#sackRecovery) {
      const pipe = this.#recoveryPipe();
      const room = c.cc.ssthresh - pipe;
      if (room > 0 && pipe < (DUP_THRESH + 1) * c.mss) this.#prrSndcnt = Math.max(this.#prrSndcnt, Math.min(room, c.mss));
    }
  }

  /**
   * The retransmission timer expired with data outstanding (the give-up limit is checked by the
   * caller). RFC 6298 §5.4–5.6 and RFC 5681 §3.1: back off, collapse cwnd, and go back to
   * SND.UNA; the caller's output then retransmits the earliest segment and go-back-N resends the
   * rest in slow start as ACKs come back.
   */
  onRto(now: number, repeated: boolean): void {
    const c = this.#c;
    this.#counters.inc('tcp.rto.expired');
    if (this.#sackRecovery || this.#newRenoRecovery) this.#counters.inc('tcp.rto.duringRecovery');
    // RFC 4015 §3.1 / RFC 3522: before the first cut, keep what to restore and the TSval that
    // tells a spurious timeout (the ACK echoes an older TSval than the retransmission's).
    if (!repeated) {
      c.cc.saveForUndo();
      this.#rtoTsVal = c.tsOk ? (Math.floor(now) + c.tsOffset) >>> 0 : undefined;
    } else this.#rtoTsVal = undefined;
    // RFC 6675 §5.1 / RFC 6582: recovery ends and RecoveryPoint = HighData, so the duplicate
    // ACKs this go-back-N draws cannot start a new fast recovery. RFC 2018 §8: the receiver may
    // have reneged, so the scoreboard is cleared; the ACKs that follow rebuild it and the
    // go-back-N skips what they show SACKed (no retransmission storm).
    c.cc.onRto(seqDiff(c.sndMax, c.sndUna), c.mss, now, repeated);
    this.#sackRecovery = false;
    this.#newRenoRecovery = false;
    this.#rtoRecovery = true;
    this.recover = c.sndMax;
    c.sack.clear();
    c.rack.onRto();
    c.out.rtoWhy = { cause: 'rto', rtoMs: c.rtt.rto };
    c.rtt.backoff();
    // The records stay (only their loss marks go): an Eifel undo resumes at SND.MAX and RACK,
    // pipe and NextSeg need a record for every outstanding octet (they skip unrecorded ranges).
    c.rtxq.clearLossMarks();
    c.sndNxt = c.sndUna;
    this.dupAcks = 0;
    c.out.rtxReason = 'rto';
  }

  /**
   * RFC 6675 §5 step 4: enter SACK loss recovery. RecoveryPoint = HighData, the controller cuts
   * (ssthresh = cwnd), the first segment presumed lost (at HighACK) goes out at once, and
   * HighRxt = RescueRxt = its end; `output` then sends by pipe and NextSeg.
   */
  #enterSackRecovery(now: number, why: RetransmitWhy): void {
    const c = this.#c;
    this.#counters.inc('tcp.recovery.sack');
    this.recover = c.sndMax;
    this.#sackRecovery = true;
    this.#recoveryOrder = c.rtxq.lastOrder;
    c.timers.tlp = Infinity;
    this.#recoverFs = Math.max(c.mss, seqDiff(c.sndMax, c.sndUna));
    this.#prrDelivered = 0;
    this.#prrOut = 0;
    this.#prrSndcnt = 0;
    c.cc.enterRecovery(seqDiff(c.sndMax, c.sndUna), c.mss, now);
    const firstSacked = c.sack.nextSackedAfter(c.sndUna);
    const room = firstSacked === undefined ? c.mss : Math.min(c.mss, seqDiff(firstSacked, c.sndUna));
    const n = c.out.retransmitRange(c.sndUna, room, now, 'fast', why);
    this.#prrOut += n;
    this.#highRxt = seqAdd(c.sndUna, n);
    this.#rescueRxt = this.#highRxt;
    if (n > 0) c.timers.rtx = now + c.rtt.rto;
  }

  /** RFC 6675 SetPipe with the current HighRxt (outside recovery: FlightSize minus SACKed and lost). */
  pipe(): number {
    const c = this.#c;
    if (c.sack.empty) return Math.max(0, seqDiff(c.sndMax, c.sndUna));
    return this.#sackRecovery ? this.#recoveryPipe() : c.sack.pipe(c.sndUna, c.sndMax, c.sndUna, c.mss);
  }

  /** Pipe during recovery, per record: un-SACKed, not lost (RACK or IsLost), or retransmitted in this recovery. */
  #recoveryPipe(): number {
    const c = this.#c;
    const holes = c.sack.holes(c.sndUna, c.mss);
    let pipe = 0;
    let hi = 0;
    for (const r of c.rtxq.segments) {
      if (seqLe(r.end, c.sndUna) || r.lost || c.sack.covers(r.start, r.end)) continue;
      if (!(r.retransmitted && r.order > this.#recoveryOrder)) {
        while (hi < holes.length && seqLe(holes[hi]!.end, r.start)) hi++;
        const h = holes[hi];
        if (h !== undefined && h.lost && seqGe(r.start, h.start) && seqLt(r.start, h.end)) continue;
      }
      pipe += seqDiff(r.end, seqMax(r.start, c.sndUna));
    }
    return pipe;
  }

  /**
   * RFC 6937 §3 Proportional Rate Reduction on each ACK in recovery: while pipe > ssthresh, send
   * in proportion to what was delivered (ssthresh / RecoverFS); below it, slow-start back up to
   * ssthresh but no faster than delivery + 1 SMSS (PRR-SSRB). RFC 6675's "cwnd − pipe" alone
   * would burst a whole window's worth after a large loss and lose the retransmissions again.
   */
  #prrUpdate(delivered: number): void {
    const c = this.#c;
    this.#prrDelivered += delivered;
    const pipe = this.#recoveryPipe();
    const ssthresh = c.cc.ssthresh;
    let sndcnt: number;
    if (pipe > ssthresh) sndcnt = Math.ceil((this.#prrDelivered * ssthresh) / this.#recoverFs) - this.#prrOut;
    else sndcnt = Math.min(ssthresh - pipe, Math.max(this.#prrDelivered - this.#prrOut, delivered) + c.mss);
    this.#prrSndcnt = Math.max(0, sndcnt);
  }

  /**
   * RFC 6675 §5 (C) with RFC 6937: send what PRR allows, each run chosen by NextSeg. PRR's
   * allowance rounds up to whole segments, as sending segment by segment would.
   */
  output(now: number): boolean {
    const mss = this.#c.mss;
    let sent = false;
    for (let guard = 0; guard < 4096 && this.#prrSndcnt > 0; guard++) {
      const n = this.#nextSeg(now, Math.ceil(this.#prrSndcnt / mss) * mss);
      if (n === 0) break;
      this.#prrSndcnt -= n;
      this.#prrOut += n;
      sent = true;
    }
    return sent;
  }

  /**
   * RFC 6675 §4 NextSeg, sending what it picks — with TSO the contiguous run of such segments
   * that fits `budget`, up to the next SACKed block; returns the sequence space sent (0: none).
   */
  #nextSeg(now: number, budget: number): number {
    const c = this.#c;
    const out = c.out;
    const mss = c.mss;
    // (0) What RACK marked lost (a lost retransmission included) goes first.
    const segs = c.rtxq.segments;
    for (let i = 0; i < segs.length; i++) {
      const r = segs[i]!;
      if (r.lost && seqGe(r.start, c.sndUna) && !c.sack.covers(r.start, r.end)) {
        r.lost = false;
        const again = r.retransmitted;
        const n = out.retransmitRun(i, r.start, c.sndMax, budget, now, again ? 'lost' : 'rack', c.rack.why(r), (s) => s.lost && s.retransmitted === again && !c.sack.covers(s.start, s.end));
        if (n > 0) return n;
      }
    }
    const holes = c.sack.holes(c.sndUna, mss);
    // (1) The first un-SACKed octet that IsLost, not yet retransmitted in this recovery.
    for (const h of holes) {
      if (!h.lost) continue;
      const n = this.#retransmitFirstUnsent(h.start, h.end, budget, now, NEXT_SEG_1);
      if (n > 0) return n;
    }
    // (2) New data, if the receiver's window allows (with TSO the whole budget in one go).
    const n2 = out.sendNewSegment(now, budget);
    if (n2 > 0) return n2;
    // (3) An un-SACKed octet below the highest SACKed one, lost or not, not yet retransmitted.
    for (const h of holes) {
      const n = this.#retransmitFirstUnsent(h.start, h.end, budget, now, NEXT_SEG_3);
      if (n > 0) return n;
    }
    // (4) Rescue retransmission, once per recovery: the highest outstanding un-SACKed segment;
    // HighRxt stays, RescueRxt = RecoveryPoint.
    if (this.#rescueRxt === undefined || seqGe(c.sndUna, this.#rescueRxt)) {
      const high = c.sack.highSacked;
      let start: Seq | undefined;
      let end: Seq | undefined;
      if (high === undefined || seqLt(high, c.sndMax)) {
        end = c.sndMax;
        start = seqMax(high ?? c.sndUna, seqAdd(end, -mss));
      } else {
        const last = holes[holes.length - 1];
        if (last !== undefined) {
          end = last.end;
          start = seqMax(last.start, seqAdd(end, -mss));
        }
      }
      if (start !== undefined && end !== undefined && seqLt(start, end)) {
        this.#rescueRxt = this.recover;
        return out.retransmitRange(start, seqDiff(end, start), now, 'rescue', RESCUE);
      }
    }
    return 0;
  }

  /**
   * The first part of the hole [start, end) not retransmitted in this recovery (RFC 6675's HighRxt,
   * per record), with the records after it in the hole that were not either, within `budget`.
   */
  #retransmitFirstUnsent(start: Seq, end: Seq, budget: number, now: number, why: RetransmitWhy): number {
    const c = this.#c;
    const segs = c.rtxq.segments;
    const resent = (r: SentSegment): boolean => r.retransmitted && r.order > this.#recoveryOrder;
    let s = seqMax(start, c.sndUna);
    for (let i = 0; i < segs.length; i++) {
      const r = segs[i]!;
      if (seqLe(r.end, s)) continue;
      if (seqGe(r.start, end)) break;
      if (resent(r)) {
        s = seqMax(s, r.end);
        continue;
      }
      const from = seqMax(s, r.start);
      if (seqLt(from, seqMin(end, r.end))) {
        const n = c.out.retransmitRun(i, from, end, budget, now, 'sack', why, (x) => !resent(x));
        if (n > 0) {
          if (seqGt(seqAdd(from, n), this.#highRxt)) this.#highRxt = seqAdd(from, n);
          return n;
        }
      }
    }
    return 0;
  }
}
