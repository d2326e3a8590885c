// The TIME-WAIT table (RFC 9293 §3.10.7.4 TIME-WAIT, RFC 1337, RFC 6191): a closed connection
// keeps only what it needs to re-acknowledge a retransmitted FIN and to judge a new SYN for its
// 4-tuple, for 2×MSL. Bounded: when full, the entry closest to expiry (the oldest, since every
// entry lives 2×MSL) is dropped early and counted (`tcp.timeWait.evicted`): it is the one whose
// old duplicates are most likely gone already, and refusing new TIME-WAITs instead would hand
// the burden to the peer silently.
import type { Seq } from '../wire/seq.js';
import type { FourTuple } from './isn.js';

/** What survives of a connection in TIME-WAIT. */
export interface TimeWaitEntry extends FourTuple {
  key: string;
  /** SND.NXT (after our FIN). */
  sndNxt: Seq;
  /** RCV.NXT (after the peer's FIN). */
  rcvNxt: Seq;
  /** Window to advertise in re-ACKs (already scaled down). */
  window: number;
  tsOk: boolean;
  tsRecent: number;
  tsOffset: number;
  expiresAt: number;
}

/** Insertion-ordered map = expiry-ordered, since every entry lives the same 2×MSL (restarts re-insert). */
export class TimeWaitTable {
  readonly #entries = new Map<string, TimeWaitEntry>();

  constructor(readonly max: number) {}

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): TimeWaitEntry | undefined {
    return this.#entries.get(key);
  }

  /** Insert (or restart) an entry; returns the evicted entry when the table was full. */
  add(e: TimeWaitEntry): TimeWaitEntry | undefined {
    this.#entries.delete(e.key);
    let evicted: TimeWaitEntry | undefined;
    if (this.#entries.size >= this.max) {
      const first = this.#entries.values().next();
      if (!first.done) {
        evicted = first.value;
        this.#entries.delete(first.value.key);
      }
    }
    this.#entries.set(e.key, e);
    return evicted;
  }

  /** Restart the 2×MSL timer of an entry (RFC 9293: on a retransmitted FIN). */
  restart(e: TimeWaitEntry, expiresAt: number): void {
    this.#entries.delete(e.key);
    e.expiresAt = expiresAt;
    this.#entries.set(e.key, e);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Every entry, oldest first (for the status page). */
  entries(): IterableIterator<TimeWaitEntry> {
    return this.#entries.values();
  }

  /** The earliest expiry, or Infinity. */
  nextDeadline(): number {
    const first = this.#entries.values().next();
    return first.done ? Infinity : first.value.expiresAt;
  }

  /** Remove entries expired at `now`; returns how many. */
  expire(now: number): number {
    let n = 0;
    for (const e of this.#entries.values()) {
      if (e.expiresAt > now) break;
      this.#entries.delete(e.key);
      n++;
    }
    return n;
  }

  /** Is any entry using local port `port` (for ephemeral port choice)? */
  *keys(): IterableIterator<string> {
    yield* this.#entries.keys();
  }
}
