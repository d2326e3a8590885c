// The stack's Link over a real TAP device: opens (or attaches to) the tap, optionally configures
// the kernel's side of it (address, MTU, up, transmit queue), and moves frames through the Tap
// fast path. With offloads on it is the one place that speaks virtio_net_hdr: the kernel cuts our
// TCP super-frames and completes our checksums (TSO), and hands us merged super-frames with
// partial or verified checksums (GRO), each header checked before the frame goes up.
// It does not answer ARP or anything else: the stack does, with its own MAC address.

import createDebug from 'debug';
import { Counters } from '../counters.js';
import type { BatchHooks, Link, Offload } from './link.js';
import { Tap, tapAddon } from './tap.js';
import { VNET_HDR_LEN, isVnetRejection, parseVnetHeader, writeVnetHeader } from './vnet-header.js';
import { wireFrames } from './gso.js';
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
  /** Most frames read per wake-up (default 64). */
  batch?: number;
  /** Offloads (IFF_VNET_HDR, TUNSETOFFLOAD CSUM|TSO4): TCP super-frames both ways, partial
   *  checksums. Default false: plain frames, TUNSETOFFLOAD(0). */
  offload?: boolean;
  /** Write super-frames from a writer thread (`Tap.startWriter`), so the kernel's receive work
   *  for them runs on another core. Default: on with offloads (only they make frames that big). */
  writerThread?: boolean;
  /** Where the link counts vnet-header drops (`link.rx.drop.vnet.<reason>`) and the super-frames
   *  each way (`link.tx.superFrames`, `link.rx.superFrames`); default its own. */
  counters?: Counters;
}

/** The transmit queue we give a tap we create: a burst of 10 k closes must not be dropped
 *  (the default 1000 overflowed in the issue 9 measurements). */
export const TAP_TX_QUEUE_LEN = 10_000;

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
  /** Frames this link could not hand to the tap (see `dropped`). */
  #dropped = 0;
  /** Frames whose write threw (a bad frame, a vanished tap), also counted in `dropped`. */
  errors = 0;
  /** The last write or read error, if any (reading stops on a read error: the tap is gone). */
  lastError: Error | null = null;
  /** Offloads on: frames carry a virtio_net_hdr. */
  readonly offload: boolean;
  readonly counters: Counters;
  /** The header written in front of each frame (one buffer, reused: writev copies it). */
  readonly #vnetHdr = Buffer.alloc(VNET_HDR_LEN);
  readonly #pieces: Buffer[] = [this.#vnetHdr, this.#vnetHdr];
  #closed = false;
  #onError: ((err: Error) => void) | null = null;

  private constructor(tap: Tap, mac: Buffer | undefined, counters: Counters) {
    this.tap = tap;
    this.offload = tap.vnetHdr;
    this.counters = counters;
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

  /** Frames not written: the kernel had no room, the interface is down, a write failed (here or
   *  in the writer thread), or the link was closed. */
  get dropped(): number {
    return this.#dropped + this.tap.writerStats.dropped;
  }

  /** The tap's interface name. */
  get name(): string {
    return this.tap.name;
  }

  /** Open the tap and configure its kernel side; on any failure the tap is released again. */
  static async open(options: TapLinkOptions = {}): Promise<TapLink> {
    const offload = options.offload ?? false;
    const tap = new Tap({ name: options.name ?? 'tap0', vnetHdr: offload, ...(options.batch !== undefined ? { batch: options.batch } : {}) });
    try {
      if (offload) {
        const k = tapAddon().constants;
        tap.setOffload(k.TUN_F_CSUM | k.TUN_F_TSO4);
      }
      if (options.writerThread ?? offload) tap.startWriter();
      if (tap.created && tap.txQueueLen < TAP_TX_QUEUE_LEN) tap.txQueueLen = TAP_TX_QUEUE_LEN;
      if (options.mtu !== undefined) tap.mtu = options.mtu;
      if (options.hostIp != null) tap.ipv4 = options.hostIp;
      if (options.up ?? options.hostIp != null) tap.isUp = true;
      const mac = typeof options.mac === 'string' ? parseMac(options.mac) : options.mac;
      const link = new TapLink(tap, mac, options.counters ?? new Counters());
      if (log.enabled) log('tap %s open: mtu %d, host %s %s, stack mac %s', tap.name, link.mtu, tap.mac, tap.ipv4 || '(no address)', link.mac.toString('hex'));
      return link;
    } catch (err) {
      tap.release();
      throw err;
    }
  }

  /** Write one frame; never throws: a frame that cannot be written is counted in `dropped`. */
  send(frame: Buffer, offload?: Offload, rest?: readonly Buffer[]): void {
    if (this.#closed) {
      this.#dropped++;
      return;
    }
    try {
      if (this.offload) {
        // One writev(): the header, the frame and the payload pieces, nothing copied to glue them.
        writeVnetHeader(this.#vnetHdr, frame, offload);
        // Counted so a test or /_stack can tell TSO from one frame per segment.
        if (offload !== undefined && offload.gsoSize > 0) this.counters.inc('link.tx.superFrames');
        // The pieces array is reused (the write is synchronous): no array per frame.
        const pieces = this.#pieces;
        pieces.length = 2;
        pieces[1] = frame;
        if (rest !== undefined) for (const r of rest) pieces.push(r);
        if (!this.tap.sendFrame(pieces)) this.#dropped++;
      } else if (offload !== undefined || rest !== undefined) {
        for (const f of wireFrames(frame, offload, rest)) if (!this.tap.sendFrame(f)) this.#dropped++;
      } else if (!this.tap.sendFrame(frame)) this.#dropped++;
    } catch (err) {
      this.#dropped++;
      this.errors++;
      this.lastError = err as Error;
      log('tap %s: write of %d bytes failed: %s', this.tap.name, frame.length, (err as Error).message);
    }
  }

  /** Register the receiver; reading the tap starts now (frames wait in the kernel until then). */
  onFrame(fn: (frame: Buffer, offload?: Offload) => void, batch?: BatchHooks): void {
    if (this.#closed) return;
    this.tap.onFrames((frames, count) => {
      batch?.start();
      try {
        // The receiver may close the link mid-batch: then the rest of the batch is not delivered.
        for (let i = 0; i < count && !this.#closed; i++) {
          const packet = frames[i]!;
          if (!this.offload) {
            fn(packet);
            continue;
          }
          const o = parseVnetHeader(packet);
          if (isVnetRejection(o)) {
            this.counters.inc(`link.rx.drop.vnet.${o.reason}`);
            continue;
          }
          if (o !== undefined && o.gsoSize > 0) this.counters.inc('link.rx.superFrames');
          fn(packet.subarray(VNET_HDR_LEN), o);
        }
      } finally {
        batch?.end();
      }
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
