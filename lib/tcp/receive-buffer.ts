// The receive buffer: in-order bytes waiting for the application, plus the out-of-order queue
// of segments beyond RCV.NXT (bounded by the window and a segment count), from which SACK blocks
// (RFC 2018) are built. Payloads are kept as views of the received buffers, not copied.
import { type Seq, seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from '../wire/seq.js';

/** A contiguous run of out-of-order bytes starting at `start`. */
interface OooRange {
  start: Seq;
  end: Seq;
  chunks: Buffer[];
  /** When it last received a segment (a counter): SACK blocks are reported most recent first. */
  stamp: number;
}

/** Bytes for the application plus the out-of-order queue. */
export class ReceiveBuffer {
  readonly #ready: Buffer[] = [];
  #readyBytes = 0;
  /** Out-of-order ranges, sorted, non-overlapping, non-adjacent. */
  readonly #ooo: OooRange[] = [];
  #oooSegments = 0;
  /** The range that received the most recent segment (RFC 2018 §4: reported first). */
  #recent: OooRange | undefined;
  #stamp = 0;

  /** @param capacity the receive buffer size (SO_RCVBUF); @param maxOooSegments the out-of-order queue bound. */
  constructor(
    readonly capacity: number,
    readonly maxOooSegments = 256,
  ) {}

  /** Bytes ready for the application. */
  get readyBytes(): number {
    return this.#readyBytes;
  }

  /** Free space counted from RCV.NXT (what the receive window may offer). */
  get free(): number {
    return Math.max(0, this.capacity - this.#readyBytes);
  }

  /** True if the out-of-order queue holds data. */
  get hasOutOfOrder(): boolean {
    return this.#ooo.length > 0;
  }

  /** Append in-order bytes (they start at RCV.NXT). */
  pushInOrder(data: Buffer): void {
    if (data.length === 0) return;
    this.#ready.push(data);
    this.#readyBytes += data.length;
  }

  /**
   * Queue out-of-order `data` at `start` (> RCV.NXT, already trimmed to the window). Returns
   * false if it was dropped because the queue holds `maxOooSegments` segments already.
   */
  insertOutOfOrder(start: Seq, data: Buffer): boolean {
    if (data.length === 0) return true;
    let end = seqAdd(start, data.length);
    // Find the first range that ends at or after start.
    let i = 0;
    while (i < this.#ooo.length && seqLt(this.#ooo[i]!.end, start)) i++;
    // Entirely inside an existing range: a duplicate.
    const cur = this.#ooo[i];
    if (cur !== undefined && seqLe(cur.start, start) && seqLe(end, cur.end)) {
      this.#recent = cur;
      cur.stamp = ++this.#stamp;
      return true;
    }
    if (this.#oooSegments >= this.maxOooSegments) return false;
    // Merge with every range overlapping or adjacent to [start, end).
    let newStart = start;
    const pieces: Buffer[] = [];
    let j = i;
    let before: Buffer[] = [];
    let after: Buffer[] = [];
    while (j < this.#ooo.length && seqLe(this.#ooo[j]!.start, end)) {
      const r = this.#ooo[j]!;
      if (seqLt(r.start, newStart)) {
        newStart = r.start;
        before = trimEnd(r.chunks, seqDiff(start, r.start));
      }
      if (seqGt(r.end, end)) {
        after = trimStart(r.chunks, seqDiff(end, r.start));
        end = r.end;
      }
      this.#oooSegments -= r.chunks.length;
      j++;
    }
    pieces.push(...before, data, ...after);
    const merged: OooRange = { start: newStart, end, chunks: pieces, stamp: ++this.#stamp };
    this.#ooo.splice(i, j - i, merged);
    this.#oooSegments += pieces.length;
    this.#recent = merged;
    return true;
  }

  /**
   * After RCV.NXT advanced to `rcvNxt`, move out-of-order data that is now in order to the ready
   * queue; returns the new RCV.NXT.
   */
  pullInOrder(rcvNxt: Seq): Seq {
    let nxt = rcvNxt;
    while (this.#ooo.length > 0 && seqLe(this.#ooo[0]!.start, nxt)) {
      const r = this.#ooo.shift()!;
      this.#oooSegments -= r.chunks.length;
      if (r === this.#recent) this.#recent = undefined;
      if (seqGt(r.end, nxt)) {
        for (const c of trimStart(r.chunks, seqDiff(nxt, r.start))) this.pushInOrder(c);
        nxt = r.end;
      }
    }
    return nxt;
  }

  /**
   * SACK blocks for our ACKs (RFC 2018 §4): the block holding the most recently received segment
   * first, then "the most recently reported SACK blocks" — the others by recency of their last
   * segment, newest first (the RFC's page 8–9 examples) — at most `max`.
   */
  sackBlocks(max: number): Array<{ left: Seq; right: Seq }> {
    const out: Array<{ left: Seq; right: Seq }> = [];
    if (max <= 0 || this.#ooo.length === 0) return out;
    const byRecency = this.#ooo.length === 1 ? this.#ooo : [...this.#ooo].sort((x, y) => y.stamp - x.stamp);
    for (const r of byRecency) {
      if (out.length >= max) break;
      out.push({ left: r.start, right: r.end });
    }
    return out;
  }

  /** True if [start, end) is entirely held out of order already (a duplicate: D-SACK, RFC 2883). */
  covers(start: Seq, end: Seq): boolean {
    return this.#ooo.some((r) => seqLe(r.start, start) && seqLe(end, r.end));
  }

  /** Out-of-order blocks held, each with a hole before it. */
  get outOfOrderBlocks(): number {
    return this.#ooo.length;
  }

  /** Bytes held out of order. */
  get outOfOrderBytes(): number {
    let n = 0;
    for (const r of this.#ooo) n += seqDiff(r.end, r.start);
    return n;
  }

  /** True if `s` lies inside queued out-of-order data. */
  holdsOutOfOrder(s: Seq): boolean {
    return this.#ooo.some((r) => seqGe(s, r.start) && seqLt(s, r.end));
  }

  /** Take up to `max` ready bytes as one Buffer (a view when possible), or undefined if none. */
  read(max = Infinity): Buffer | undefined {
    const first = this.#ready[0];
    if (first === undefined || max <= 0) return undefined;
    if (first.length <= max) {
      this.#ready.shift();
      // An emptied array keeps its backing store; truncating drops it, so an idle connection holds none.
      if (this.#ready.length === 0) this.#ready.length = 0;
      this.#readyBytes -= first.length;
      return first;
    }
    this.#ready[0] = first.subarray(max);
    this.#readyBytes -= max;
    return first.subarray(0, max);
  }

  /** Drop everything (abort). */
  clear(): void {
    this.#ready.length = 0;
    this.#readyBytes = 0;
    this.#ooo.length = 0;
    this.#oooSegments = 0;
    this.#recent = undefined;
  }
}

/** The first `n` bytes of a chunk list. */
function trimEnd(chunks: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  let left = n;
  for (const c of chunks) {
    if (left <= 0) break;
    out.push(c.length <= left ? c : c.subarray(0, left));
    left -= c.length;
  }
  return out;
}

/** The chunk list without its first `n` bytes. */
function trimStart(chunks: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = n;
  for (const c of chunks) {
    if (skip >= c.length) {
      skip -= c.length;
      continue;
    }
    out.push(skip > 0 ? c.subarray(skip) : c);
    skip = 0;
  }
  return out;
}
