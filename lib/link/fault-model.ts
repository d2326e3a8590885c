// The fault model shared by the memory wire and the fault-injecting decorator: it decides, from
// an injected Rng, what a path does to each frame (MTU drop, loss, bottleneck queueing and
// serialization, duplication, delay and jitter, reordering, bit corruption) and schedules the
// surviving copies through an injected Clock with ONE timer over a shared delivery heap.
// It does not know what a Link is: its owner submits frames with a direction (0 or 1) and gets
// them back through `deliver(dir, frame)`.
import type { Clock, TimerHandle } from '../clock.js';
import type { Rng } from '../rng.js';
import { Counters } from '../counters.js';

/** The knobs of a faulty path; every probability is per frame and in [0, 1]. */
export interface FaultOptions {
  /** Probability that a frame is lost (checked before the bottleneck, as netem does). */
  loss?: number;
  /** Fixed one-way propagation delay in ms, added after the bottleneck. */
  delayMs?: number;
  /** Each copy's delay varies uniformly in [delayMs - jitterMs, delayMs + jitterMs] (not below 0);
   *  jitter alone never reorders: a copy is never due before the previous in-order copy. */
  jitterMs?: number;
  /** Probability that a frame is held back by `reorderDelayMs` so that later frames overtake it. */
  reorder?: number;
  /** Extra hold of a reordered frame in ms (default `max(1, delayMs)`). */
  reorderDelayMs?: number;
  /** Probability that a frame arrives twice. */
  duplicate?: number;
  /** Probability that a copy has one random bit flipped. */
  corrupt?: number;
  /** Bottleneck rate in bits per second (frame bytes only: no preamble, FCS or gap); unset = no bottleneck. */
  bandwidthBps?: number;
  /** Frames that may wait behind the one being serialized at the bottleneck; more are tail-dropped (default 1000). */
  queueLimit?: number;
}

/** What the owner of a FaultModel provides besides the knobs. */
export interface FaultModelConfig extends FaultOptions {
  clock: Clock;
  rng: Rng;
  /** Where the counters go (default: a fresh Counters). */
  counters?: Counters;
  /** Counter name prefix, e.g. `wire.` (default `fault.`). */
  prefix?: string;
  /** Frames longer than this many bytes are dropped (`drop.mtu`); unset = no limit. */
  maxFrameBytes?: number;
  /** Deliver through the clock even when nothing delays frames (the memory wire does; default true). */
  alwaysSchedule?: boolean;
  /** Called with each copy when it is due; `dir` is the direction it was submitted with. Returning
   *  `false` means nobody was listening (counted `drop.noReceiver` instead of `delivered`). */
  deliver: (dir: number, frame: Buffer) => boolean;
  /** Told of each frame the path loses (loss, bottleneck queue, MTU), synchronously in `submit`. */
  onDrop?: (dir: number, frame: Buffer, cause: FaultDropCause) => void;
}

/** Why the path lost a frame. */
export type FaultDropCause = 'loss' | 'queue' | 'mtu';

/** A copy in flight: due time, tie-break sequence, direction and bytes. */
type InFlight = { due: number; seq: number; dir: number; frame: Buffer };

/** Per-direction path state. */
type Direction = {
  /** Due time of the last in-order copy (jitter never makes a later frame overtake it). */
  lastDue: number;
  /** Departure (end of serialization) times of frames still in the bottleneck, oldest first. */
  departures: number[];
  /** Index of the oldest live entry in `departures`. */
  head: number;
};

/** Seeded per-frame fault decisions plus a single-timer delivery queue, for any number of directions. */
export class FaultModel {
  /** The counters this model increments (`<prefix>sent`, `<prefix>drop.loss`, ...). */
  readonly counters: Counters;
  readonly #clock: Clock;
  readonly #rng: Rng;
  readonly #deliver: (dir: number, frame: Buffer) => boolean;
  readonly #onDrop: ((dir: number, frame: Buffer, cause: FaultDropCause) => void) | undefined;
  readonly #loss: number;
  readonly #delayMs: number;
  readonly #jitterMs: number;
  readonly #reorder: number;
  readonly #reorderDelayMs: number;
  readonly #duplicate: number;
  readonly #corrupt: number;
  readonly #bps: number;
  readonly #queueLimit: number;
  readonly #maxFrameBytes: number;
  readonly #scheduled: boolean;
  readonly #dirs: Direction[] = [];
  readonly #closed: boolean[] = [];
  // Counter names, built once so the per-frame path does no string work.
  readonly #cSent: string;
  readonly #cDelivered: string;
  readonly #cLoss: string;
  readonly #cMtu: string;
  readonly #cQueue: string;
  readonly #cClosed: string;
  readonly #cNoReceiver: string;
  readonly #cDuplicated: string;
  readonly #cReordered: string;
  readonly #cCorrupted: string;
  /** Min-heap of copies in flight ordered by (due, seq). */
  readonly #heap: InFlight[] = [];
  #seq = 0;
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;

  constructor(cfg: FaultModelConfig) {
    this.#clock = cfg.clock;
    this.#rng = cfg.rng;
    this.#deliver = cfg.deliver;
    this.#onDrop = cfg.onDrop;
    this.counters = cfg.counters ?? new Counters();
    this.#loss = probability('loss', cfg.loss ?? 0);
    this.#duplicate = probability('duplicate', cfg.duplicate ?? 0);
    this.#reorder = probability('reorder', cfg.reorder ?? 0);
    this.#corrupt = probability('corrupt', cfg.corrupt ?? 0);
    this.#delayMs = nonNegative('delayMs', cfg.delayMs ?? 0);
    this.#jitterMs = nonNegative('jitterMs', cfg.jitterMs ?? 0);
    this.#reorderDelayMs = nonNegative('reorderDelayMs', cfg.reorderDelayMs ?? Math.max(1, this.#delayMs));
    if (cfg.bandwidthBps !== undefined && !(cfg.bandwidthBps > 0)) throw new RangeError(`bandwidthBps must be > 0, got ${cfg.bandwidthBps}`);
    this.#bps = cfg.bandwidthBps ?? 0;
    this.#queueLimit = nonNegative('queueLimit', cfg.queueLimit ?? 1000);
    this.#maxFrameBytes = cfg.maxFrameBytes ?? Infinity;
    this.#scheduled =
      (cfg.alwaysSchedule ?? true) || this.#delayMs > 0 || this.#jitterMs > 0 || this.#reorder > 0 || this.#bps > 0;
    const p = cfg.prefix ?? 'fault.';
    this.#cSent = p + 'sent';
    this.#cDelivered = p + 'delivered';
    this.#cLoss = p + 'drop.loss';
    this.#cMtu = p + 'drop.mtu';
    this.#cQueue = p + 'drop.queue';
    this.#cClosed = p + 'drop.closed';
    this.#cNoReceiver = p + 'drop.noReceiver';
    this.#cDuplicated = p + 'duplicated';
    this.#cReordered = p + 'reordered';
    this.#cCorrupted = p + 'corrupted';
  }

  /** Copies in flight (not yet delivered or dropped). */
  get inFlight(): number {
    return this.#heap.length;
  }

  /** Apply the faults to `frame` travelling in direction `dir` and schedule what survives.
   *  `frame` is copied: the caller may reuse it after the call. */
  submit(dir: number, frame: Buffer): void {
    const c = this.counters;
    c.inc(this.#cSent);
    if (this.#closed[dir] === true) {
      c.inc(this.#cClosed);
      return;
    }
    if (frame.length > this.#maxFrameBytes) {
      c.inc(this.#cMtu);
      this.#onDrop?.(dir, frame, 'mtu');
      return;
    }
    const rng = this.#rng;
    if (this.#loss > 0 && rng.float() < this.#loss) {
      c.inc(this.#cLoss);
      this.#onDrop?.(dir, frame, 'loss');
      return;
    }
    const d = this.#direction(dir);
    const now = this.#clock.now();
    let base = now;
    if (this.#bps > 0) {
      // Bottleneck: one frame serializes at a time, FIFO; its departure is
      // max(now, previous departure) + size * 8 / bps. Frames whose departure is still ahead are
      // in the queue; the oldest of them is the one on the wire, the rest wait (tail drop).
      const q = d.departures;
      while (d.head < q.length && q[d.head]! <= now) d.head++;
      if (d.head === q.length) {
        q.length = 0;
        d.head = 0;
      } else if (d.head > 1024 && d.head * 2 > q.length) {
        q.splice(0, d.head);
        d.head = 0;
      }
      const inSystem = q.length - d.head;
      if (inSystem > this.#queueLimit) {
        c.inc(this.#cQueue);
        this.#onDrop?.(dir, frame, 'queue');
        return;
      }
      const prev = inSystem > 0 ? q[q.length - 1]! : now;
      // (bytes * 8000) / bps: exact whenever the serialization time is a whole number of ms.
      base = Math.max(now, prev) + (frame.length * 8000) / this.#bps;
      q.push(base);
    }
    let copies = 1;
    if (this.#duplicate > 0 && rng.float() < this.#duplicate) {
      copies = 2;
      c.inc(this.#cDuplicated);
    }
    for (let i = 0; i < copies; i++) {
      let due = base + this.#delayMs;
      if (this.#jitterMs > 0) due = Math.max(base, due + (rng.float() * 2 - 1) * this.#jitterMs);
      if (due < d.lastDue) due = d.lastDue;
      if (this.#reorder > 0 && rng.float() < this.#reorder) {
        // Held back; does not move lastDue, so the frames behind it overtake it.
        due += this.#reorderDelayMs;
        c.inc(this.#cReordered);
      } else {
        d.lastDue = due;
      }
      const corrupted = this.#corrupt > 0 && frame.length > 0 && rng.float() < this.#corrupt;
      // A copy whenever the frame outlives this call, gets changed or is handed over a second
      // time: the sender may reuse its buffer and a receiver may rewrite the one it gets.
      let copy = frame;
      if (this.#scheduled || corrupted || i > 0) {
        copy = Buffer.allocUnsafe(frame.length);
        frame.copy(copy);
      }
      if (corrupted) {
        const bit = rng.u32() % (copy.length * 8);
        copy[bit >>> 3] ^= 1 << (bit & 7);
        c.inc(this.#cCorrupted);
      }
      if (this.#scheduled) this.#push({ due, seq: this.#seq++, dir, frame: copy });
      else this.#hand(dir, copy);
    }
  }

  /** Stop delivering in direction `dir`: copies in flight to it are dropped (`drop.closed`), later submits too. */
  close(dir: number): void {
    this.#closed[dir] = true;
    const h = this.#heap;
    let kept = 0;
    for (let i = 0; i < h.length; i++) {
      const e = h[i]!;
      if (e.dir === dir) this.counters.inc(this.#cClosed);
      else h[kept++] = e;
    }
    if (kept !== h.length) {
      h.length = kept;
      for (let i = (kept >>> 1) - 1; i >= 0; i--) this.#siftDown(i);
    }
    this.#arm();
  }

  /** Whether direction `dir` has been closed. */
  isClosed(dir: number): boolean {
    return this.#closed[dir] === true;
  }

  #direction(dir: number): Direction {
    let d = this.#dirs[dir];
    if (d === undefined) {
      d = { lastDue: -Infinity, departures: [], head: 0 };
      this.#dirs[dir] = d;
    }
    return d;
  }

  #push(e: InFlight): void {
    const h = this.#heap;
    h.push(e);
    this.#siftUp(h.length - 1);
    if (e.due < this.#timerAt) this.#arm();
  }

  /** Keep exactly one timer armed at the earliest due copy (none when nothing is in flight). */
  #arm(): void {
    const at = this.#heap.length > 0 ? this.#heap[0]!.due : Infinity;
    if (at === this.#timerAt) return;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at !== Infinity) this.#timer = this.#clock.setTimer(at, this.#onTimer);
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    const h = this.#heap;
    // Deliver only copies that were in flight when the timer fired: what the receivers send in
    // reply (even with delay 0) waits for the next timer, so a ping-pong cannot starve the loop.
    const limit = this.#seq;
    try {
      while (h.length > 0) {
        const e = h[0]!;
        if (e.due > now || e.seq >= limit) break;
        this.#pop();
        if (this.#closed[e.dir] === true) this.counters.inc(this.#cClosed);
        else this.#hand(e.dir, e.frame);
      }
    } finally {
      // Re-arm even if a receiver threw, so the path never stalls.
      this.#arm();
    }
  };

  #hand(dir: number, frame: Buffer): void {
    this.counters.inc(this.#deliver(dir, frame) ? this.#cDelivered : this.#cNoReceiver);
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.#siftDown(0);
    }
  }

  #siftUp(i: number): void {
    const h = this.#heap;
    const e = h[i]!;
    while (i > 0) {
      const p = (i - 1) >>> 1;
      const pe = h[p]!;
      if (!before(e, pe)) break;
      h[i] = pe;
      i = p;
    }
    h[i] = e;
  }

  #siftDown(i: number): void {
    const h = this.#heap;
    const n = h.length;
    const e = h[i]!;
    for (;;) {
      let m = 2 * i + 1;
      if (m >= n) break;
      if (m + 1 < n && before(h[m + 1]!, h[m]!)) m++;
      if (!before(h[m]!, e)) break;
      h[i] = h[m]!;
      i = m;
    }
    h[i] = e;
  }
}

function before(a: InFlight, b: InFlight): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

function probability(name: string, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${name} must be a probability in [0, 1], got ${p}`);
  return p;
}

function nonNegative(name: string, v: number): number {
  if (!(v >= 0)) throw new RangeError(`${name} must be >= 0, got ${v}`);
  return v;
}
