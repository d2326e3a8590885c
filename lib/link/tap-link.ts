// The stack's Link over a real TAP device: opens (or attaches to) the tap, optionally configures
// the kernel's side of it (address, MTU, up), and moves frames through the Tap fast path.
// It does not answer ARP or anything else: the stack does, with its own MAC address.

import createDebug from 'debug';
import type { Link } from './link.js';
import { Tap } from './tap.js';
import { parseMac } from '../wire/ip-address.js';

const log = createDebug('tapstack:link');

/** How to open a TapLink. */
export interface TapLinkOptions {
  /** TAP interface name (default "tap0"); created if missing, attached if it exists. */
  name?: string;
  /** Address for the kernel side of the tap as CIDR ("10.0.0.1/24"); null or absent leaves
   *  the tap's addresses as they are. */
  hostIp?: string | null;
  /** Set the interface MTU (default: leave it, 1500 on a new tap). */
  mtu?: number;
  /** true: bring the interface up; false: leave it as it is (default: true when `hostIp` is
   *  given). A tap that is down carries nothing: every send is dropped. */
  up?: boolean;
  /** The stack's own MAC (default: the kernel side's MAC with the last bit of the last byte
   *  flipped, so it is stable for a persistent tap and never equal to the kernel's). */
  mac?: Buffer | string;
  /** Most frames read per wake-up (default 256). */
  batch?: number;
}

/** A Link whose far side is the Linux kernel, through a TAP device. */
export class TapLink implements Link {
  /** The stack's own Ethernet address (NOT the kernel side's: that is `hostMac`). */
  readonly mac: Buffer;
  /** The kernel side's Ethernet address. */
  readonly hostMac: Buffer;
  /** The tap's MTU when the link was opened. */
  readonly mtu: number;
  /** The underlying device. */
  readonly tap: Tap;
  /** Frames not written: the kernel had no room, the interface is down, a write failed, or
   *  the link was closed. */
  dropped = 0;
  /** Frames whose write threw (a bad frame, a vanished tap), also counted in `dropped`. */
  errors = 0;
  /** The last write or read error, if any (reading stops on a read error: the tap is gone). */
  lastError: Error | null = null;
  #closed = false;
  #onError: ((err: Error) => void) | null = null;

  private constructor(tap: Tap, mac: Buffer | undefined) {
    this.tap = tap;
    this.hostMac = tap.macBytes;
    this.mtu = tap.mtu;
    if (mac !== undefined) {
      this.mac = Buffer.from(mac);
    } else {
      this.mac = Buffer.from(this.hostMac);
      this.mac[5] = this.mac[5]! ^ 1;
    }
    tap.on('error', (err: Error) => {
      this.lastError = err;
      log('tap %s: %s', tap.name, err.message);
      this.#onError?.(err);
    });
  }

  /** The tap's interface name. */
  get name(): string {
    return this.tap.name;
  }

  /** Open the tap and configure its kernel side; on any failure the tap is released again. */
  static async open(options: TapLinkOptions = {}): Promise<TapLink> {
    const tap = new Tap({ name: options.name ?? 'tap0', ...(options.batch !== undefined ? { batch: options.batch } : {}) });
    try {
      if (options.mtu !== undefined) tap.mtu = options.mtu;
      if (options.hostIp != null) tap.ipv4 = options.hostIp;
      if (options.up ?? options.hostIp != null) tap.isUp = true;
      const mac = typeof options.mac === 'string' ? parseMac(options.mac) : options.mac;
      const link = new TapLink(tap, mac);
      if (log.enabled) log('tap %s open: mtu %d, host %s %s, stack mac %s', tap.name, link.mtu, tap.mac, tap.ipv4 || '(no address)', link.mac.toString('hex'));
      return link;
    } catch (err) {
      tap.release();
      throw err;
    }
  }

  /** Write one frame; never throws: a frame that cannot be written is counted in `dropped`. */
  send(frame: Buffer): void {
    if (this.#closed) {
      this.dropped++;
      return;
    }
    try {
      if (!this.tap.sendFrame(frame)) this.dropped++;
    } catch (err) {
      this.dropped++;
      this.errors++;
      this.lastError = err as Error;
      log('tap %s: write of %d bytes failed: %s', this.tap.name, frame.length, (err as Error).message);
    }
  }

  /** Register the receiver; reading the tap starts now (frames wait in the kernel until then). */
  onFrame(fn: (frame: Buffer) => void): void {
    if (this.#closed) return;
    this.tap.onFrames((frames) => {
      // The receiver may close the link mid-batch: then the rest of the batch is not delivered.
      for (let i = 0; i < frames.length && !this.#closed; i++) fn(frames[i]!);
    });
  }

  /** Be told when reading fails for good (the interface was deleted); not part of `Link`. */
  onError(fn: (err: Error) => void): void {
    this.#onError = fn;
  }

  /** Release the tap (a tap this process created disappears; a persistent one stays). */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.tap.release();
    }
    return Promise.resolve();
  }
}
