// The retransmission queue: one record per transmitted segment (sequence range, send time,
// whether it was a retransmission) in sequence order — per wire segment, also when TSO sends
// many as one super-segment. It gives Karn-safe RTT samples (RFC 6298 §3); the SACK scoreboard
// (RFC 6675) and RACK (RFC 8985) judge these records (the `sacked` and `lost` marks are theirs).
import { type Seq, seqDiff, seqGe, seqGt, seqLe, seqLt } from '../wire/seq.js';

/** One transmitted segment, SYN and FIN included (they occupy sequence space). */
export interface SentSegment {
  start: Seq;
  end: Seq;
  /** When this range was (last) sent, in ms. */
  sentAt: number;
  /** True if any byte of the range had been sent before: its ACK is ambiguous (Karn). */
  retransmitted: boolean;
  /** The peer has SACKed the whole range (RACK's mark of what was delivered, RFC 8985 §6.2 step 3). */
  sacked: boolean;
  /** Deemed lost again after a retransmission (see the connection's lost-retransmission check). */
  lost: boolean;
  /** Transmission order (increases with every send): "sent after" without clock ties (RFC 8985 §6.2 uses time). */
  order: number;
}

/** Segments sent and not yet cumulatively acknowledged, in sequence order. */
export class RetransmitQueue {
  readonly segments: SentSegment[] = [];
  #order = 0;
  /** The most recently sent record that a cumulative ACK removed (RACK's delivered segment, RFC 8985 §6.2). */
  lastDelivered: SentSegment | undefined;

  /** The transmission order of the latest send. */
  get lastOrder(): number {
    return this.#order;
  }

  /**
   * Record a transmission of [start, end). A range overlapping recorded ones (a retransmission)
   * marks them retransmitted with the new send time; any part beyond the last record is added.
   */
  onSend(start: Seq, end: Seq, now: number, retransmitted: boolean): void {
    const last = this.segments[this.segments.length - 1];
    if (last === undefined || seqGe(start, last.end)) {
      this.segments.push({ start, end, sentAt: now, retransmitted, sacked: false, lost: false, order: ++this.#order });
      return;
    }
    for (const s of this.segments) {
      if (seqGe(s.start, end)) break;
      if (seqGt(s.end, start)) {
        s.retransmitted = true;
        s.sentAt = now;
        s.lost = false;
        s.order = ++this.#order;
      }
    }
    if (seqGt(end, last.end)) this.segments.push({ start: last.end, end, sentAt: now, retransmitted: true, sacked: false, lost: false, order: ++this.#order });
  }

  /**
   * Remove what `ack` cumulatively acknowledges; returns the send time of the newest fully
   * acknowledged segment that was never retransmitted (an RTT sample per Karn), if any.
   */
  onAck(ack: Seq): number | undefined {
    let sampleSentAt: number | undefined;
    let n = 0;
    for (const s of this.segments) {
      if (seqLe(s.end, ack)) {
        if (!s.retransmitted) sampleSentAt = s.sentAt;
        if (this.lastDelivered === undefined || s.order > this.lastDelivered.order) this.lastDelivered = s;
        n++;
      } else {
        if (seqLt(s.start, ack)) s.start = ack;
        break;
      }
    }
    if (n > 0) this.segments.splice(0, n);
    return sampleSentAt;
  }

  /**
   * After an RTO: forget the loss marks (the go-back-N resends everything not SACKed) but keep
   * the records, so that if the timeout proves spurious and sending resumes at SND.MAX (RFC 4015),
   * every outstanding octet still has a record for RACK, pipe and NextSeg.
   */
  clearLossMarks(): void {
    for (const s of this.segments) s.lost = false;
  }

  /** Forget everything (a path MTU drop resends everything at the new size and re-records it; close). */
  clear(): void {
    this.segments.length = 0;
    this.lastDelivered = undefined;
  }

  /**
   * The end of the run that one super-segment may resend from `from` (in `segments[i]`): the
   * records that follow it contiguously while `take` accepts them, each but the last exactly `mss`
   * long (the link cuts a super-segment every `mss` octets, so each wire segment is one record),
   * none past `limit`, and within `maxLen` octets — the first record always.
   */
  runEnd(i: number, from: Seq, mss: number, limit: Seq, maxLen: number, take: (r: SentSegment) => boolean): Seq {
    let r = this.segments[i]!;
    let end = seqLt(limit, r.end) ? limit : r.end;
    for (;;) {
      const next = this.segments[++i];
      if (end !== r.end || seqDiff(end, seqGt(from, r.start) ? from : r.start) !== mss || next === undefined || next.start !== end) return end;
      if (seqGt(next.end, limit) || seqDiff(next.end, from) > maxLen || !take(next)) return end;
      r = next;
      end = r.end;
    }
  }

  /** Bytes of sequence space recorded from `from` on. */
  bytesFrom(from: Seq): number {
    const last = this.segments[this.segments.length - 1];
    return last === undefined || seqGe(from, last.end) ? 0 : seqDiff(last.end, from);
  }
}
