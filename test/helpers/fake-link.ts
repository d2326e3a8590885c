// A scripted Link for unit tests: records every frame the stack sends (copied) and lets the
// test inject frames as if they had arrived from the wire.
import type { BatchHooks, Link } from '../../lib/link/link.js';
import { parseMac } from '../../lib/wire/ip-address.js';

/** A Link whose far side is the test. */
export class FakeLink implements Link {
  readonly mac: Buffer;
  readonly mtu: number;
  /** Frames sent by the stack, oldest first (copies). */
  sent: Buffer[] = [];
  closed = false;
  #fn: ((frame: Buffer) => void) | undefined;
  #batch: BatchHooks | undefined;

  /** `mac` as text ("02:00:00:00:00:02") or bytes (copied). */
  constructor(mac: string | Uint8Array = '02:00:00:00:00:02', mtu = 1500) {
    this.mac = typeof mac === 'string' ? parseMac(mac) : Buffer.from(mac);
    this.mtu = mtu;
  }

  send(frame: Buffer): void {
    this.sent.push(Buffer.from(frame));
  }

  onFrame(fn: (frame: Buffer) => void, batch?: BatchHooks): void {
    this.#fn = fn;
    this.#batch = batch;
  }

  /** Deliver `frame` to the stack as if received. */
  inject(frame: Buffer): void {
    if (this.#fn === undefined) throw new Error('no receiver registered');
    this.#fn(frame);
  }

  /** Deliver `frames` as one read batch (bracketed by the receiver's batch hooks, as a TAP does). */
  injectBatch(frames: readonly Buffer[]): void {
    if (this.#fn === undefined) throw new Error('no receiver registered');
    this.#batch?.start();
    try {
      for (const f of frames) this.#fn(f);
    } finally {
      this.#batch?.end();
    }
  }

  /** The frames sent since the last call (and forget them). */
  take(): Buffer[] {
    const s = this.sent;
    this.sent = [];
    return s;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
