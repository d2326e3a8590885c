// IPv4 reassembly (RFC 791 §3.2, RFC 815): fragments keyed by (src, dst, protocol, id) are kept
// in a sorted list of received ranges, which has RFC 815's hole semantics (the datagram is
// complete when the ranges cover [0, end of the MF=0 fragment) with no gap). Any overlap other
// than an exact duplicate discards the whole datagram (RFC 5722's rule, applied to IPv4).
// Limits: datagram size, concurrent reassemblies, total memory, and a timeout.
import createDebug from 'debug';
import type { Clock, TimerHandle } from '../clock.js';
import type { Counters } from '../counters.js';
import { ipToString } from '../wire/ip-address.js';
import { IPV4_MAX_DATAGRAM, type Ipv4Packet } from '../wire/ipv4.js';

const log = createDebug('tapstack:ip');

/** Tunables of reassembly. */
export interface ReassemblyOptions {
  /** Lifetime of an incomplete datagram from its first fragment (RFC 1122 §3.3.2: 60-120 s suggested; Linux 30 s). */
  timeoutMs: number;
  /** Most datagrams being reassembled at once. */
  maxDatagrams: number;
  /** Most bytes held over all reassemblies (fragment data plus a fixed cost per fragment). */
  maxBytes: number;
}

/** Defaults: 30 s, 64 datagrams, 4 MiB. */
export const DEFAULT_REASSEMBLY_OPTIONS: ReassemblyOptions = { timeoutMs: 30_000, maxDatagrams: 64, maxBytes: 4 * 1024 * 1024 };

/** Bookkeeping cost charged per stored fragment, so floods of tiny fragments are bounded too. */
export const FRAGMENT_OVERHEAD = 64;

/** A reassembled datagram: the first fragment's header (a copy) and the joined payload. */
export interface Reassembled {
  src: number;
  dst: number;
  protocol: number;
  /** Always 0: the datagram is whole again. */
  fragOffset: 0;
  header: Buffer;
  payload: Buffer;
}

/** Called when an incomplete datagram times out; `quote` is the first fragment (header + data) if it had arrived. */
export type ReassemblyTimeout = (src: number, dst: number, quote: Buffer | undefined) => void;

type Range = { start: number; end: number; data: Buffer };

type Entry = {
  key: string;
  src: number;
  dst: number;
  protocol: number;
  id: number;
  ranges: Range[];
  /** End of the datagram's data once the MF=0 fragment arrived, else -1. */
  end: number;
  received: number;
  bytes: number;
  firstHeader: Buffer | undefined;
  deadline: number;
};

/** The reassembly table. `add` returns the whole datagram, or the outcome counter of the fragment. */
export class Reassembler {
  readonly #clock: Clock;
  readonly #counters: Counters;
  readonly #o: ReassemblyOptions;
  readonly #onTimeout: ReassemblyTimeout;
  /** Insertion order is deadline order (the timeout is fixed). */
  readonly #table = new Map<string, Entry>();
  #bytes = 0;
  #timer: TimerHandle | undefined;

  constructor(clock: Clock, counters: Counters, onTimeout: ReassemblyTimeout, opts: Partial<ReassemblyOptions> = {}) {
    this.#clock = clock;
    this.#counters = counters;
    this.#onTimeout = onTimeout;
    this.#o = { ...DEFAULT_REASSEMBLY_OPTIONS, ...opts };
  }

  /** Datagrams currently being reassembled. */
  get count(): number {
    return this.#table.size;
  }

  /** Bytes currently held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Add one fragment (a packet with MF set or a non-zero offset). */
  add(ip: Ipv4Packet): Reassembled | string {
    const start = ip.fragOffset;
    const len = ip.payload.length;
    const end = start + len;
    // RFC 791: every fragment but the last carries a multiple of 8 bytes.
    if (ip.mf && (len === 0 || (len & 7) !== 0)) return 'drop.ip.reasm.badFragmentLength';
    const key = `${ip.src}:${ip.dst}:${ip.protocol}:${ip.id}`;
    let e = this.#table.get(key);
    // "Ping of death": the pieces would add up to more than an IP datagram can be.
    if (ip.headerLength + end > IPV4_MAX_DATAGRAM) {
      if (e !== undefined) this.#kill(e);
      return 'drop.ip.reasm.tooBig';
    }
    if (e === undefined) {
      // Full: refusing new datagrams would let a flood of never-completing fragments lock real
      // ones out for the whole timeout, so the oldest is evicted instead (as Linux's evictor does).
      if (this.#table.size >= this.#o.maxDatagrams) this.#evictOldest(undefined);
      e = { key, src: ip.src, dst: ip.dst, protocol: ip.protocol, id: ip.id, ranges: [], end: -1, received: 0, bytes: 0, firstHeader: undefined, deadline: this.#clock.now() + this.#o.timeoutMs };
      this.#table.set(key, e);
      this.#counters.inc('ip.reasm.started');
      this.#arm();
    }
    // The last fragment fixes the length; everything must agree with it.
    if (!ip.mf) {
      const lastEnd = e.ranges.length > 0 ? e.ranges[e.ranges.length - 1]!.end : 0;
      if ((e.end >= 0 && e.end !== end) || lastEnd > end) {
        this.#kill(e);
        return 'drop.ip.reasm.inconsistent';
      }
      e.end = end;
    } else if (e.end >= 0 && end > e.end) {
      this.#kill(e);
      return 'drop.ip.reasm.inconsistent';
    }
    // Find the insertion point (first range starting at or after `start`).
    const r = e.ranges;
    let lo = 0;
    let hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (r[mid]!.start < start) lo = mid + 1;
      else hi = mid;
    }
    const next = r[lo];
    const prev = lo > 0 ? r[lo - 1] : undefined;
    if (next !== undefined && next.start === start && next.end === end) {
      // An exact duplicate is the network repeating itself, not an attack (RFC 8200 §4.5).
      return 'drop.ip.reasm.duplicate';
    }
    if ((prev !== undefined && prev.end > start) || (next !== undefined && next.start < end)) {
      if (log.enabled) log('overlapping fragment id=%d from %s: discarding the datagram', ip.id, ipToString(ip.src));
      this.#kill(e);
      return 'drop.ip.reasm.overlap';
    }
    const cost = len + FRAGMENT_OVERHEAD + (start === 0 ? ip.headerLength : 0);
    while (this.#bytes + cost > this.#o.maxBytes && this.#evictOldest(e));
    if (this.#bytes + cost > this.#o.maxBytes) {
      if (e.ranges.length === 0) this.#remove(e);
      return 'drop.ip.reasm.noMemory';
    }
    r.splice(lo, 0, { start, end, data: Buffer.from(ip.payload) });
    if (start === 0) e.firstHeader = Buffer.from(ip.header);
    e.received += len;
    e.bytes += cost;
    this.#bytes += cost;
    if (e.end < 0 || e.received !== e.end) return 'rx.handled.ip.fragment';
    // No overlaps, so covering [0, end) byte for byte means no hole is left.
    const payload = Buffer.allocUnsafe(e.end);
    for (const x of r) x.data.copy(payload, x.start);
    this.#remove(e);
    this.#counters.inc('ip.reasm.completed');
    return { src: e.src, dst: e.dst, protocol: e.protocol, fragOffset: 0, header: e.firstHeader!, payload };
  }

  /** Forget everything and cancel the timer. */
  close(): void {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#table.clear();
    this.#bytes = 0;
  }

  /** Drop the oldest datagram other than `keep`; false when there is none. */
  #evictOldest(keep: Entry | undefined): boolean {
    for (const old of this.#table.values()) {
      if (old === keep) continue;
      this.#counters.inc('ip.reasm.evicted');
      this.#remove(old);
      return true;
    }
    return false;
  }

  #kill(e: Entry): void {
    this.#counters.inc('ip.reasm.discarded');
    this.#remove(e);
  }

  #remove(e: Entry): void {
    this.#table.delete(e.key);
    this.#bytes -= e.bytes;
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    const first = this.#table.values().next().value as Entry | undefined;
    if (first === undefined) return;
    this.#timer = this.#clock.setTimer(first.deadline, () => this.#expire());
  }

  #expire(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    for (const e of this.#table.values()) {
      if (e.deadline > now) break;
      this.#remove(e);
      this.#counters.inc('ip.reasm.timeout');
      if (log.enabled) log('reassembly of id=%d from %s timed out', e.id, ipToString(e.src));
      // RFC 792 / RFC 1122 §3.2.2.4: time exceeded code 1, only if fragment zero is available.
      const first = e.ranges[0];
      const quote = e.firstHeader !== undefined && first !== undefined && first.start === 0 ? Buffer.concat([e.firstHeader, first.data.subarray(0, 576)]) : undefined;
      this.#onTimeout(e.src, e.dst, quote);
    }
    this.#arm();
  }
}
