// The sender's SACK scoreboard (RFC 6675 §3–4): which ranges above SND.UNA the peer has SACKed,
// and the RFC 6675 questions asked of it — IsLost, pipe (SetPipe) and NextSeg's candidates.
// SACKed data stays in the send buffer until cumulatively acknowledged (the receiver may renege,
// RFC 2018 §8); the connection clears the board on an RTO. Holes are computed per gap between
// SACKed blocks: every octet of one gap has the same SACKed data above it, so IsLost is per gap.
import { type Seq, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin } from '../wire/seq.js';

/** RFC 6675 §2: DupThresh = 3. */
export const DUP_THRESH = 3;

/** A SACKed range [start, end). */
export interface SackedRange {
  start: Seq;
  end: Seq;
}

/** A hole: un-SACKed octets [start, end) below the highest SACKed octet, with its IsLost verdict. */
export interface SackHole {
  start: Seq;
  end: Seq;
  lost: boolean;
}

/** SACKed ranges above SND.UNA, sorted and merged. */
export class SackScoreboard {
  readonly blocks: SackedRange[] = [];
  /** Upper bound on tracked blocks (the receiver reports at most its out-of-order queue). */
  readonly maxBlocks: number;

  constructor(maxBlocks = 1024) {
    this.maxBlocks = maxBlocks;
  }

  /**
   * Record SACK blocks of an ACK (already without a D-SACK block); blocks outside
   * (sndUna, sndMax] are ignored (RFC 2018 §4 invalid blocks). Returns bytes newly SACKed.
   */
  update(sack: ReadonlyArray<{ left: Seq; right: Seq }>, sndUna: Seq, sndMax: Seq): number {
    let added = 0;
    for (const b of sack) {
      if (!seqLt(b.left, b.right) || seqGt(b.right, sndMax)) continue;
      const start = seqMax(b.left, sndUna);
      const end = b.right;
      if (!seqLt(start, end)) continue;
      added += this.#insert(start, end);
    }
    return added;
  }

  #insert(start: Seq, end: Seq): number {
    const bl = this.blocks;
    let i = 0;
    while (i < bl.length && seqLt(bl[i]!.end, start)) i++;
    let s = start;
    let e = end;
    let covered = 0;
    let j = i;
    while (j < bl.length && seqLe(bl[j]!.start, e)) {
      const r = bl[j]!;
      covered += Math.max(0, seqDiff(seqMin(r.end, end), seqMax(r.start, start)));
      s = seqMin(s, r.start);
      e = seqMax(e, r.end);
      j++;
    }
    if (j === i && bl.length >= this.maxBlocks) return 0;
    bl.splice(i, j - i, { start: s, end: e });
    return seqDiff(end, start) - covered;
  }

  /** SND.UNA advanced to `ack`: forget what is cumulatively acknowledged. */
  ackTo(ack: Seq): void {
    const bl = this.blocks;
    let n = 0;
    while (n < bl.length && seqLe(bl[n]!.end, ack)) n++;
    if (n > 0) bl.splice(0, n);
    if (bl.length > 0 && seqLt(bl[0]!.start, ack)) bl[0]!.start = ack;
  }

  /** Forget everything (RTO: the receiver may have reneged, RFC 2018 §8). */
  clear(): void {
    this.blocks.length = 0;
  }

  get empty(): boolean {
    return this.blocks.length === 0;
  }

  /** The highest SACKed octet + 1, if anything is SACKed. */
  get highSacked(): Seq | undefined {
    return this.blocks[this.blocks.length - 1]?.end;
  }

  /** Total SACKed bytes. */
  get sackedBytes(): number {
    let n = 0;
    for (const b of this.blocks) n += seqDiff(b.end, b.start);
    return n;
  }

  /** The SACKed block holding `s`, if any. */
  blockAt(s: Seq): SackedRange | undefined {
    for (const b of this.blocks) {
      if (seqLt(s, b.start)) return undefined;
      if (seqLt(s, b.end)) return b;
    }
    return undefined;
  }

  /** Is [start, end) entirely SACKed (one transmission record, say)? */
  covers(start: Seq, end: Seq): boolean {
    const b = this.blockAt(start);
    return b !== undefined && seqLe(end, b.end);
  }

  /** The start of the first SACKed block above `s`, if any. */
  nextSackedAfter(s: Seq): Seq | undefined {
    for (const b of this.blocks) if (seqGt(b.start, s)) return b.start;
    return undefined;
  }

  /** SACKed bytes within [a, b). */
  sackedBetween(a: Seq, b: Seq): number {
    let n = 0;
    for (const r of this.blocks) {
      if (seqGe(r.start, b)) break;
      const s = seqMax(r.start, a);
      const e = seqMin(r.end, b);
      if (seqLt(s, e)) n += seqDiff(e, s);
    }
    return n;
  }

  /**
   * The holes between SND.UNA and the highest SACKed octet, each with RFC 6675 §4 IsLost:
   * DupThresh discontiguous SACKed blocks above it, or more than (DupThresh − 1) × SMSS bytes.
   */
  holes(sndUna: Seq, mss: number): SackHole[] {
    const out: SackHole[] = [];
    const bl = this.blocks;
    let above = 0;
    const bytesAbove: number[] = new Array(bl.length);
    for (let i = bl.length - 1; i >= 0; i--) {
      above += seqDiff(bl[i]!.end, bl[i]!.start);
      bytesAbove[i] = above;
    }
    let pos = sndUna;
    for (let i = 0; i < bl.length; i++) {
      const b = bl[i]!;
      if (seqLt(pos, b.start)) out.push({ start: pos, end: b.start, lost: bl.length - i >= DUP_THRESH || bytesAbove[i]! > (DUP_THRESH - 1) * mss });
      pos = seqMax(pos, b.end);
    }
    return out;
  }

  /** RFC 6675 §4 IsLost(seq). */
  isLost(s: Seq, mss: number): boolean {
    let count = 0;
    let bytes = 0;
    for (let i = this.blocks.length - 1; i >= 0; i--) {
      const b = this.blocks[i]!;
      if (seqLe(b.end, s)) break;
      if (seqLe(b.start, s)) return false; // SACKed itself
      count++;
      bytes += seqDiff(b.end, b.start);
    }
    return count >= DUP_THRESH || bytes > (DUP_THRESH - 1) * mss;
  }

  /**
   * RFC 6675 §4 SetPipe: octets in [sndUna, sndMax) neither SACKed nor lost count once, and
   * octets retransmitted (at or below HighRxt, `highRxt` = one past the last retransmitted) once more.
   */
  pipe(sndUna: Seq, sndMax: Seq, highRxt: Seq, mss: number): number {
    let pipe = seqDiff(sndMax, sndUna) - this.sackedBytes;
    for (const h of this.holes(sndUna, mss)) if (h.lost) pipe -= seqDiff(h.end, h.start);
    // Retransmitted, un-SACKed octets: [sndUna, highRxt) minus what is SACKed there.
    if (seqGt(highRxt, sndUna)) pipe += seqDiff(highRxt, sndUna) - this.sackedBetween(sndUna, highRxt);
    return Math.max(0, pipe);
  }
}
