// Slow motion for learners (`--step`, `--pace MS`, issue 11): every frame, either way, waits its
// turn in one queue and is delivered only after a wait — the next Enter, or MS milliseconds — so
// a handshake can be watched one segment at a time. The pacer has two gates, placed so that the
// trace line and explanation of a frame are printed before its wait: received frames wait above
// the tracer (they are traced, then held back from the stack), sent frames wait below the fault
// and drop decorators (they are traced, then held back from the wire). Timers keep running while a
// frame waits: stepping slower than the retransmission timer shows retransmissions.
import type { Clock } from '../clock.js';
import type { Counters } from '../counters.js';
import type { DroppedFrame, Link, Offload } from './link.js';
import { wireFrames } from './gso.js';

/** Options of a Pacer. */
export interface PacerOptions {
  clock: Clock;
  /** `--pace MS`: the wait before each frame (used when `step` is not given). */
  paceMs?: number;
  /** `--step`: resolves when the learner asks for the next frame (Enter). */
  step?: () => Promise<void>;
  /** Frames waiting at most; more are dropped and counted `drop.paceQueue` (default 10 000). */
  maxQueued?: number;
  counters?: Counters;
}

/** One queue of frames in both directions, released one at a time after each wait. */
export class Pacer {
  readonly #opts: PacerOptions;
  readonly #queue: (() => void)[] = [];
  #pumping = false;
  #closed = false;

  constructor(opts: PacerOptions) {
    this.#opts = opts;
  }

  /** Frames waiting now. */
  get queued(): number {
    return this.#queue.length;
  }

  /** A Link over `inner` whose received frames wait their turn before they go up. */
  gateRx(inner: Link): Link {
    return new Gate(inner, this, 'RX');
  }

  /** A Link over `inner` whose sent frames wait their turn before they go down to it. */
  gateTx(inner: Link): Link {
    return new Gate(inner, this, 'TX');
  }

  /** Drop what still waits; later frames pass at once. */
  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
  }

  /** Queue `deliver` (called once, after its wait); false when the queue is full. */
  enqueue(deliver: () => void): boolean {
    if (this.#closed) {
      deliver();
      return true;
    }
    if (this.#queue.length >= (this.#opts.maxQueued ?? 10_000)) {
      this.#opts.counters?.inc('drop.paceQueue');
      return false;
    }
    this.#queue.push(deliver);
    if (!this.#pumping) void this.#pump();
    return true;
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        await this.#wait();
        this.#queue.shift()?.();
      }
    } finally {
      this.#pumping = false;
    }
  }

  #wait(): Promise<void> {
    const { step, clock, paceMs = 0 } = this.#opts;
    if (step !== undefined) return step();
    return new Promise((resolve) => void clock.setTimer(clock.now() + paceMs, resolve));
  }
}

/** One direction's gate: the other direction passes straight through. */
class Gate implements Link {
  readonly mac: Buffer;
  readonly mtu: number;
  readonly #inner: Link;
  readonly #pacer: Pacer;
  readonly #dir: 'RX' | 'TX';
  #handler: ((frame: Buffer) => void) | undefined;
  #dropped: ((d: DroppedFrame) => void) | undefined;
  /** Present only over a link that drops on purpose: its drops, passed on. */
  readonly onDrop?: (fn: (d: DroppedFrame) => void) => void;

  constructor(inner: Link, pacer: Pacer, dir: 'RX' | 'TX') {
    this.#inner = inner;
    this.#pacer = pacer;
    this.#dir = dir;
    this.mac = inner.mac;
    this.mtu = inner.mtu;
    inner.onFrame((frame, offload) => {
      // Wire frames wait one by one (a super-frame is cut first); each is a view valid during
      // this call only, so a copy waits.
      for (const f of wireFrames(frame, offload)) {
        if (dir === 'TX') this.#handler?.(f);
        else {
          const copy = Buffer.from(f);
          this.#pacer.enqueue(() => this.#handler?.(copy));
        }
      }
    });
    if (inner.onDrop !== undefined) this.onDrop = (fn) => void (this.#dropped = fn);
    inner.onDrop?.((d) => this.#dropped?.(d));
  }

  send(frame: Buffer, offload?: Offload, rest?: readonly Buffer[]): void {
    for (const f of wireFrames(frame, offload, rest)) {
      if (this.#dir === 'RX') this.#inner.send(f);
      else {
        const copy = Buffer.from(f);
        this.#pacer.enqueue(() => this.#inner.send(copy));
      }
    }
  }

  onFrame(fn: (frame: Buffer) => void): void {
    this.#handler = fn;
  }


  close(): Promise<void> {
    this.#pacer.close();
    return this.#inner.close();
  }
}
