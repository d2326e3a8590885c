// RACK-TLP (RFC 8985) for one connection, on when the config's `rack` is set and SACK was
// negotiated. RACK (§6) marks a transmission lost by time: sent before a segment that was
// delivered, and older than RACK.rtt plus a reordering window (none in recovery until the path
// has reordered; wider after D-SACKs); a retransmission can be found lost again this way, which
// RFC 6675 alone cannot see. The reorder timer (§6.2 step 5) fires when the next record ages.
// TLP (§7) sends one probe when a tail of segments draws no ACK, at the latest when the RTO would
// fire, so the loss is detected by ACKs instead of an RTO. What is marked lost is resent by loss recovery
// (loss-recovery.ts) or, outside it after an RTO, here within cwnd.
import type { Counters } from '../counters.js';
import { type Seq, seqDiff, seqGe, seqGt, seqLt, seqMax } from '../wire/seq.js';
import type { TcpConfig } from './config.js';
import type { TcpConnection } from './connection.js';
import type { RetransmitWhy } from './retransmit-event.js';
import type { SentSegment } from './retransmit-queue.js';
import { DUP_THRESH } from './sack-scoreboard.js';
import type { ConnectionHost } from './types.js';

/** RFC 8985 §7.2: the PTO while the connection has no SRTT sample. */
const NO_SRTT_PTO_MS = 1000;

/** The RACK-TLP state of one connection. */
export class Rack {
  /** RACK (RFC 8985 §6.2): transmission order and RTT of the latest-sent delivered segment. */
  #order = -1;
  #rtt = Infinity;
  #minRtt = Infinity;
  /** RACK.fack (RFC 8985 §6.2 step 3): one past the highest segment delivered, cumulatively or selectively. */
  #fack: Seq;
  /** RACK.reordering_seen: a never-retransmitted segment was delivered below RACK.fack. */
  #reorderingSeen = false;
  /** RFC 8985 §6.2 step 4's D-SACK adaptation: RACK.reo_wnd_mult, RACK.reo_wnd_persist, RACK.dsack_round. */
  #reoWndMult = 1;
  #reoWndPersist = 0;
  #dsackRound: Seq | undefined;
  /** The ACK being processed carries a D-SACK; it found the connection in fast or RTO recovery. */
  #dsack = false;
  #recoveryBefore = false;
  /** A tail loss probe is out (RFC 8985 §7: one per tail). */
  #tlpOut = false;
  /** The reordering window of the last detection and the last PTO armed (for the onRetransmit event). */
  #reoWnd = 0;
  /** Some record may carry a lost mark (set when one is marked): lets output skip the scan. */
  #maybeLost = false;
  #pto = 0;
  /** Highest cumulative ACK seen (TLP bookkeeping). */
  #ackSeen: Seq;

  readonly #c: TcpConnection;
  readonly #cfg: TcpConfig;
  readonly #counters: Counters;

  constructor(c: TcpConnection, host: ConnectionHost) {
    this.#c = c;
    this.#cfg = host.config;
    this.#counters = host.counters;
    this.#ackSeen = c.iss;
    this.#fack = c.iss;
  }

  /**
   * RFC 8985 §6.2 step 3 (RACK_detect_reordering), run after the ACK's SACK blocks reach the
   * scoreboard and before its cumulative ACK removes the records: each segment newly delivered,
   * in sequence order, raises RACK.fack or, never retransmitted and ending below it, shows that
   * the path reorders. A segment SACKed earlier is not newly delivered by the cumulative ACK.
   */
  onDelivered(ack: Seq, newlySacked: number): void {
    const c = this.#c;
    this.#recoveryBefore = c.recovery.kind !== 'none';
    if (!this.#cfg.rack || !c.sackOk) return;
    const high = newlySacked > 0 ? c.sack.highSacked : undefined;
    for (const r of c.rtxq.segments) {
      if (r.sacked) continue;
      if (seqGt(r.end, ack)) {
        if (high === undefined || seqGe(r.start, high)) break;
        if (!c.sack.covers(r.start, r.end)) continue;
        r.sacked = true;
      }
      if (seqGt(r.end, this.#fack)) this.#fack = r.end;
      else if (seqLt(r.end, this.#fack) && !r.retransmitted) this.#reorderingSeen = true;
    }
  }

  /**
   * An acceptable ACK arrived (RFC 8985 §6.2): it ends a probe's tail if it delivered anything;
   * the latest-sent delivered segment sets RACK's order and RTT; what was sent before it and is
   * older than an RTT plus the reordering window is lost. Returns true if anything was newly marked.
   */
  onAck(ack: Seq, newlySacked: number, now: number): boolean {
    const c = this.#c;
    let lost = false;
    if (newlySacked > 0 || seqGt(ack, this.#ackSeen)) this.#tlpOut = false;
    this.#ackSeen = seqMax(this.#ackSeen, ack);
    if (this.#cfg.rack && c.sackOk && c.canSendData()) {
      this.#adaptReoWnd();
      this.#update(now, newlySacked > 0);
      if (c.sndNxt === c.sndMax && (!c.sack.empty || c.recovery.inSackRecovery)) lost = this.#detect(now);
      else c.timers.rack = Infinity;
    }
    this.#dsack = false;
    return lost;
  }

  /** The ACK being processed reports a duplicate (D-SACK, RFC 2883): a retransmission was spurious. */
  onDsack(): void {
    this.#dsack = true;
  }

  /**
   * RFC 8985 §6.2 step 4, D-SACK adaptation: the first D-SACK of a round trip widens the window
   * by one more min_RTT / 4 and keeps it for 16 recoveries; after that many without, it is back to one.
   */
  #adaptReoWnd(): void {
    const c = this.#c;
    if (this.#dsackRound !== undefined && seqGe(c.sndUna, this.#dsackRound)) this.#dsackRound = undefined;
    if (this.#dsackRound === undefined && this.#dsack) {
      this.#dsackRound = c.sndNxt;
      this.#reoWndMult++;
      this.#reoWndPersist = 16;
    } else if (this.#recoveryBefore && c.recovery.kind === 'none' && --this.#reoWndPersist <= 0) {
      this.#reoWndMult = 1;
    }
  }

  /** An RTO: the timers stop and a new tail may be probed. */
  onRto(): void {
    const t = this.#c.timers;
    t.tlp = Infinity;
    t.rack = Infinity;
    this.#tlpOut = false;
  }

  /** RACK step 2 for one delivered record: the latest-sent one sets RACK's order and RTT. */
  #consider(r: SentSegment, now: number): void {
    if (r.order <= this.#order) return;
    const rtt = now - r.sentAt;
    // A retransmission ACKed sooner than the minimum RTT was delivered by its original (RFC 8985 §6.2 step 2).
    if (r.retransmitted && rtt < this.#minRtt) return;
    this.#order = r.order;
    this.#rtt = rtt;
    if (rtt < this.#minRtt) this.#minRtt = rtt;
  }

  #update(now: number, scanSacked: boolean): void {
    const c = this.#c;
    const d = c.rtxq.lastDelivered;
    if (d !== undefined) this.#consider(d, now);
    if (scanSacked) for (const r of c.rtxq.segments) if (r.order > this.#order && c.sack.covers(r.start, r.end)) this.#consider(r, now);
  }

  /**
   * RACK detection (RFC 8985 §6.2 steps 4–5, transmission order standing in for send-time ties):
   * a record sent before the latest delivered one and older than RACK.rtt + reo_wnd is lost;
   * the next record to age arms the reorder timer. Returns true if anything was newly marked.
   */
  #detect(now: number): boolean {
    const c = this.#c;
    if (this.#order < 0) return false;
    const srtt = c.rtt.srtt ?? 0;
    const rtt = Number.isFinite(this.#rtt) ? this.#rtt : srtt;
    const reo = this.#reorderWindow(srtt);
    this.#reoWnd = reo;
    let any = false;
    let wait = Infinity;
    for (const r of c.rtxq.segments) {
      if (r.lost || r.order >= this.#order || seqLt(r.start, c.sndUna) || c.sack.covers(r.start, r.end)) continue;
      const left = r.sentAt + rtt + reo - now;
      if (left <= 0) {
        r.lost = true;
        any = true;
        this.#maybeLost = true;
        this.#counters.inc(r.retransmitted ? 'tcp.recovery.lostRetransmission' : 'tcp.rack.lost');
      } else if (left < wait) wait = left;
    }
    c.timers.rack = wait === Infinity ? Infinity : now + wait;
    return any;
  }

  /**
   * RFC 8985 §6.2 step 4 (RACK_update_reo_wnd): until the path has shown reordering, no window in
   * fast or RTO recovery or once DupThresh segments are SACKed (a loss is then far likelier than
   * reordering); else min(reo_wnd_mult · min_RTT / 4, SRTT).
   */
  #reorderWindow(srtt: number): number {
    const c = this.#c;
    if (!this.#reorderingSeen && (c.recovery.kind !== 'none' || this.#segsSackedAtLeast(DUP_THRESH))) return 0;
    return Number.isFinite(this.#minRtt) ? Math.min((this.#reoWndMult * this.#minRtt) / 4, srtt) : 0;
  }

  /** RACK.segs_sacked >= n: at least `n` transmitted segments are SACKed on the scoreboard. */
  #segsSackedAtLeast(n: number): boolean {
    const c = this.#c;
    if (c.sack.empty) return false;
    let k = 0;
    for (const r of c.rtxq.segments) if (c.sack.covers(r.start, r.end) && ++k >= n) return true;
    return false;
  }

  /**
   * The reorder timer fired: mark what has aged, let loss recovery act on it, send
   * (RFC 8985 §6.3: "detect losses ... and retransmit").
   */
  onTimer(now: number): void {
    const c = this.#c;
    if (!c.canSendData() || !c.sackOk || c.sndNxt !== c.sndMax) return;
    if (!this.#detect(now)) return;
    c.recovery.onTimerLoss(now);
    c.out.output(now);
  }

  /**
   * Outside SACK recovery — after an RTO, when RFC 6675 §5.1 keeps fast recovery off until
   * RecoveryPoint is acknowledged — RACK still marks (re)transmissions lost (RFC 8985 §6.2
   * step 4, §6.3). Resend them within cwnd (lost and SACKed octets are not in flight), as Linux's
   * loss state does; otherwise a lost retransmission of the go-back-N waits for the next RTO.
   */
  retransmitLostAfterRto(now: number): boolean {
    if (!this.#maybeLost) return false;
    const c = this.#c;
    let lostBytes = 0;
    for (const r of c.rtxq.segments) if (r.lost && seqGe(r.start, c.sndUna) && !c.sack.covers(r.start, r.end)) lostBytes += seqDiff(r.end, r.start);
    if (lostBytes === 0) {
      // Nothing marked is left to resend: no scan on every output until RACK marks again.
      this.#maybeLost = false;
      return false;
    }
    let sent = false;
    const segs = c.rtxq.segments;
    for (let i = 0; i < segs.length; i++) {
      const r = segs[i]!;
      if (!r.lost || seqLt(r.start, c.sndUna) || c.sack.covers(r.start, r.end)) continue;
      const len = Math.min(c.mss, seqDiff(r.end, r.start));
      const flight = seqDiff(c.sndMax, c.sndUna) - c.sack.sackedBetween(c.sndUna, c.sndMax) - lostBytes;
      if (flight + len > c.cc.cwnd && (sent || flight > 0)) break;
      // With TSO the contiguous lost records that cwnd allows go as one super-segment.
      const again = r.retransmitted;
      r.lost = false;
      const n = c.out.retransmitRun(i, r.start, c.sndMax, c.cc.cwnd - flight, now, again ? 'lost' : 'rack', { ...this.why(r), afterRto: true }, (x) => x.lost && x.retransmitted === again && !c.sack.covers(x.start, x.end));
      lostBytes -= Math.max(n, seqDiff(r.end, r.start));
      if (n > 0) sent = true;
    }
    return sent;
  }

  /** The cause of resending what RACK marked lost (`r`: a lost retransmission is named so). */
  why(r?: SentSegment): RetransmitWhy {
    const why: RetransmitWhy = { cause: 'rack', reorderWindowMs: this.#reoWnd };
    if (r?.retransmitted) why.rule = 'lost retransmission (RFC 8985 §6.2)';
    return why;
  }

  /**
   * RFC 8985 §7.2: arm the probe timeout (2 SRTT, plus the peer's delayed-ACK allowance for a lone
   * segment; 1 s with no SRTT yet; at most until the RTO expiry) — outside fast and RTO recovery
   * and while nothing is SACKed (RACK.segs_sacked = 0: the reorder timer covers those holes).
   */
  armTlp(now: number): void {
    const c = this.#c;
    const srtt = c.rtt.srtt;
    if (
      !this.#cfg.rack || !c.sackOk || c.recovery.kind !== 'none' || !c.sack.empty || this.#tlpOut ||
      !c.canSendData() || c.sndNxt !== c.sndMax || !seqLt(c.sndUna, c.sndMax)
    ) {
      c.timers.tlp = Infinity;
      return;
    }
    // TLP_calc_PTO: no RTT sample yet (say the handshake was retransmitted: Karn) — PTO = 1 s.
    let pto = NO_SRTT_PTO_MS;
    if (srtt !== undefined) {
      pto = 2 * srtt + 2;
      if (seqDiff(c.sndMax, c.sndUna) <= c.mss) pto += 200;
      pto = Math.max(10, pto);
    }
    // TLP_calc_PTO: a PTO past the RTO expiry is cut to it, and the probe goes in the RTO's place
    // (the connection runs a due probe before a due RTO; Linux's tcp_schedule_loss_probe alike).
    const rtoAt = c.timers.rtx;
    if (rtoAt > now && now + pto > rtoAt) pto = rtoAt - now;
    this.#pto = pto;
    c.timers.tlp = now + pto;
  }

  /** RFC 8985 §7.3: the probe — new data if the window allows, else the last segment again. */
  onTlp(now: number): void {
    const c = this.#c;
    if (!c.canSendData() || c.recovery.kind !== 'none' || c.sndNxt !== c.sndMax || !seqLt(c.sndUna, c.sndMax)) return;
    let n = c.out.sendNewSegment(now);
    if (n === 0) {
      const last = c.rtxq.segments[c.rtxq.segments.length - 1];
      if (last !== undefined) n = c.out.retransmitRange(last.start, Math.min(c.mss, seqDiff(last.end, last.start)), now, 'tlp', { cause: 'tlp', ptoMs: this.#pto });
    }
    if (n === 0) return;
    this.#counters.inc('tcp.tx.tlp');
    this.#tlpOut = true;
    c.timers.rtx = now + c.rtt.rto;
  }
}
