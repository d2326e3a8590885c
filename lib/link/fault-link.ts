// A Link decorator that puts a faulty path between a real link and the stack (the CLI's
// `--loss P --delay MS --seed N`): seeded loss, delay, jitter, reordering, duplication,
// corruption and an optional bottleneck, applied independently in both directions with the same
// FaultModel as the memory wire. It changes no bytes other than the corrupted bits and adds no
// frames other than the duplicates. Faults happen to wire frames: a super-frame (offloads) is cut
// into the segments it stands for first (gso.ts), and those go on as plain, checksummed frames.
import type { Clock } from '../clock.js';
import type { Rng } from '../rng.js';
import type { Counters } from '../counters.js';
import type { DroppedFrame, Link, Offload } from './link.js';
import { wireFrames } from './gso.js';
import { FaultModel, type FaultDropCause, type FaultOptions } from './fault-model.js';

/** Direction indexes in the model. */
const OUT = 0; // stack -> inner link
const IN = 1; // inner link -> stack

/** Options of a FaultLink: the fault knobs plus the clock, rng and where to count. */
export interface FaultLinkOptions extends FaultOptions {
  clock: Clock;
  rng: Rng;
  /** Where to count (default: a fresh Counters), e.g. the stack's, so the status page shows them. */
  counters?: Counters;
  /** The reason given with each dropped frame (default the cause: `loss`, `queue`, `mtu`), e.g. `--loss, seed 7`. */
  dropReason?: (cause: FaultDropCause) => string;
}

/** A Link that applies seeded faults to every frame in both directions before passing it on. */
export class FaultLink implements Link {
  readonly mac: Buffer;
  readonly mtu: number;
  readonly offload: boolean;
  /** `fault.sent`, `fault.delivered`, `fault.drop.{loss,queue,closed,noReceiver}`, `fault.duplicated`, `fault.reordered`, `fault.corrupted`, both directions together. */
  readonly counters: Counters;
  readonly #inner: Link;
  readonly #model: FaultModel;
  #handler: ((frame: Buffer) => void) | undefined;
  #dropped: ((d: DroppedFrame) => void) | undefined;

  constructor(inner: Link, opts: FaultLinkOptions) {
    this.#inner = inner;
    this.mac = inner.mac;
    this.mtu = inner.mtu;
    this.offload = inner.offload === true;
    // With nothing that delays frames, survivors pass straight through (no timer hop per frame).
    this.#model = new FaultModel({
      ...opts,
      prefix: 'fault.',
      alwaysSchedule: false,
      deliver: (dir, frame) => this.#pass(dir, frame),
      onDrop: (dir, frame, cause) => this.#dropped?.({ dir: dir === OUT ? 'TX' : 'RX', frame, reason: opts.dropReason?.(cause) ?? cause }),
    });
    this.counters = this.#model.counters;
    inner.onFrame((frame, offload) => {
      for (const f of wireFrames(frame, offload)) this.#model.submit(IN, f);
    });
  }

  send(frame: Buffer, offload?: Offload): void {
    for (const f of wireFrames(frame, offload)) this.#model.submit(OUT, f);
  }

  onFrame(fn: (frame: Buffer) => void): void {
    this.#handler = fn;
  }

  onDrop(fn: (d: DroppedFrame) => void): void {
    this.#dropped = fn;
  }

  /** Drops whatever is still in flight (counted `fault.drop.closed`) and closes the inner link. */
  close(): Promise<void> {
    this.#model.close(OUT);
    this.#model.close(IN);
    return this.#inner.close();
  }

  #pass(dir: number, frame: Buffer): boolean {
    if (dir === OUT) {
      this.#inner.send(frame);
      return true;
    }
    const h = this.#handler;
    if (h === undefined) return false;
    h(frame);
    return true;
  }
}
