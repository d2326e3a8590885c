// A simulated Ethernet cable with two ends, `a` and `b`: what one end sends the other receives,
// copied, always through the injected Clock (so FakeClock tests drive delivery), with seeded
// loss, delay, jitter, reordering, duplication, corruption, an MTU and an optional bottleneck
// (rate + FIFO queue with tail drop) for congestion-control simulations. It does no ARP, no IP,
// no switching: exactly two stations. Everything it does is counted in `wire.counters`.
import type { Clock } from '../clock.js';
import type { Rng } from '../rng.js';
import { Counters } from '../counters.js';
import { parseMac } from '../wire/ip-address.js';
import type { Link } from './link.js';
import { FaultModel, type FaultOptions } from './fault-model.js';

/** Ethernet II header bytes on top of the MTU (no FCS). */
const ETH_HEADER = 14;

/** Options of a memory wire: the fault knobs (see FaultOptions) plus clock, rng, MTU and MACs. */
export interface MemoryWireOptions extends FaultOptions {
  clock: Clock;
  rng: Rng;
  /** Largest Ethernet payload; longer frames (> mtu + 14 bytes) are dropped (default 1500). */
  mtu?: number;
  /** Where to count (default: a fresh Counters); names are `wire.sent`, `wire.drop.loss`, ... */
  counters?: Counters;
  /** MAC of end `a` (default 02:00:00:00:00:0a). */
  macA?: Buffer | string;
  /** MAC of end `b` (default 02:00:00:00:00:0b). */
  macB?: Buffer | string;
}

/** One end of a memory wire: a Link whose frames arrive at the other end. */
export class MemoryWireEnd implements Link {
  readonly mac: Buffer;
  readonly mtu: number;
  readonly #wire: MemoryWire;
  /** Direction index of frames this end sends (= index of the other end). */
  readonly #toPeer: number;
  #handler: ((frame: Buffer) => void) | undefined;

  /** @internal created by MemoryWire. */
  constructor(wire: MemoryWire, mac: Buffer, mtu: number, toPeer: number) {
    this.#wire = wire;
    this.mac = mac;
    this.mtu = mtu;
    this.#toPeer = toPeer;
  }

  send(frame: Buffer): void {
    this.#wire.transmit(this.#toPeer, frame);
  }

  onFrame(fn: (frame: Buffer) => void): void {
    this.#handler = fn;
  }

  close(): Promise<void> {
    this.#wire.closeEnd(1 - this.#toPeer);
    return Promise.resolve();
  }

  /** @internal the wire hands a due frame to this end's receiver. */
  receive(frame: Buffer): boolean {
    const h = this.#handler;
    if (h === undefined) return false;
    h(frame);
    return true;
  }
}

/** Two Links joined by a seeded, clock-driven faulty cable. */
export class MemoryWire {
  /** End `a`: frames sent here arrive at `b`. */
  readonly a: MemoryWireEnd;
  /** End `b`: frames sent here arrive at `a`. */
  readonly b: MemoryWireEnd;
  /** `wire.sent`, `wire.delivered`, `wire.drop.{loss,mtu,queue,closed,noReceiver}`, `wire.duplicated`, `wire.reordered`, `wire.corrupted`. */
  readonly counters: Counters;
  readonly #model: FaultModel;
  readonly #ends: MemoryWireEnd[];

  constructor(opts: MemoryWireOptions) {
    const mtu = opts.mtu ?? 1500;
    if (!(Number.isInteger(mtu) && mtu >= 68)) throw new RangeError(`mtu must be an integer >= 68, got ${mtu}`);
    this.counters = opts.counters ?? new Counters();
    this.#model = new FaultModel({
      ...opts,
      counters: this.counters,
      prefix: 'wire.',
      maxFrameBytes: mtu + ETH_HEADER,
      alwaysSchedule: true,
      deliver: (dir, frame) => this.#arrive(dir, frame),
    });
    this.a = new MemoryWireEnd(this, toMac(opts.macA ?? '02:00:00:00:00:0a'), mtu, 1);
    this.b = new MemoryWireEnd(this, toMac(opts.macB ?? '02:00:00:00:00:0b'), mtu, 0);
    this.#ends = [this.a, this.b];
  }

  /** Copies still travelling on the wire (both directions). */
  get inFlight(): number {
    return this.#model.inFlight;
  }

  /** @internal a frame sent towards end `to` (0 = a, 1 = b). */
  transmit(to: number, frame: Buffer): void {
    if (this.#model.isClosed(1 - to)) {
      // The sending end is closed: it no longer transmits.
      this.counters.inc('wire.sent');
      this.counters.inc('wire.drop.closed');
      return;
    }
    this.#model.submit(to, frame);
  }

  /** @internal stop delivering to end `idx` (0 = a, 1 = b). */
  closeEnd(idx: number): void {
    this.#model.close(idx);
  }

  #arrive(dir: number, frame: Buffer): boolean {
    return this.#ends[dir]!.receive(frame);
  }
}

function toMac(m: Buffer | string): Buffer {
  const b = typeof m === 'string' ? parseMac(m) : Buffer.from(m);
  if (b.length !== 6) throw new RangeError('a MAC is 6 bytes');
  return b;
}
