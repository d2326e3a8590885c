// A Link test double: records what is sent through it and lets a test inject received frames.
import type { Link } from '../../lib/link/link.js';

/** A Link whose `sent` array holds copies of every frame sent and whose `inject` plays the network. */
export class RecordingLink implements Link {
  readonly mac = Buffer.from([0x02, 0, 0, 0, 0, 0x01]);
  readonly mtu: number;
  readonly sent: Buffer[] = [];
  closed = false;
  #handler: ((frame: Buffer) => void) | undefined;

  constructor(mtu = 1500) {
    this.mtu = mtu;
  }

  send(frame: Buffer): void {
    this.sent.push(Buffer.from(frame));
  }

  onFrame(fn: (frame: Buffer) => void): void {
    this.#handler = fn;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** Deliver `frame` to the registered receiver as if it came from the network. */
  inject(frame: Buffer): void {
    this.#handler?.(frame);
  }
}
