// A Linux TAP device as a Node Duplex stream, shaped like npm `tuntap2`'s `Tap` (name, mac, mtu,
// ipv4, isUp, release(), one whole Ethernet frame per 'data' chunk, works with `for await`),
// plus a fast path (`onFrames` / `sendFrame`) that the stack uses to skip stream machinery.
// It moves frames and configures the kernel side of the tap; it does not parse frames.
// The work is done by the N-API addon in native/tap.c (uv_poll on a non-blocking fd; optionally a
// writer thread for big frames, native/tap-writer.h).

import { Duplex } from 'node:stream';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ipToString, macToString, parseCidr, parseMac } from '../wire/ip-address.js';

/** The native TapHandle (native/tap.c): one open /dev/net/tun file descriptor. */
export interface NativeTapHandle {
  readonly name: string;
  readonly fd: number;
  readonly vnetHdr: boolean;
  /** True when this open created the interface (false: an existing persistent tap was attached). */
  readonly created: boolean;
  /** The read ring: frame i of a batch starts at i × slotSize; its length is lengths[i]. */
  readonly ring: ArrayBuffer;
  readonly lengths: Uint32Array;
  readonly slots: number;
  readonly slotSize: number;
  /** onBatch(count): frames 0..count-1 are in the ring until it returns. */
  start(onBatch: (count: number) => void, onError: (err: Error) => void): void;
  stop(): void;
  write(frame: FrameBytes): boolean;
  writeBatch(frames: readonly FrameBytes[], count?: number): number;
  setOffload(flags: number): void;
  startWriter(ringBytes: number, minLen: number): void;
  writerStats(): WriterStats;
  ref(): void;
  unref(): void;
  close(): void;
}

/** What the writer thread did (`startWriter`): frames it wrote, and frames it dropped as a full or
 *  down interface drops them. */
export interface WriterStats {
  written: number;
  dropped: number;
}

/** One frame to write: its bytes, or its pieces in order (written with one writev()). */
export type FrameBytes = Uint8Array | readonly Uint8Array[];

/** What native/build/Release/tapstack_tap.node exports. */
export interface NativeTapAddon {
  TapHandle: new (name: string, vnetHdr?: boolean, slots?: number) => NativeTapHandle;
  getMac(name: string): Buffer;
  setMac(name: string, mac: Uint8Array): void;
  getMtu(name: string): number;
  setMtu(name: string, mtu: number): void;
  getFlags(name: string): number;
  setUp(name: string, up: boolean): void;
  getIpv4(name: string): [string, number] | null;
  setIpv4(name: string, ip: string, prefix: number): void;
  getTxQueueLen(name: string): number;
  setTxQueueLen(name: string, qlen: number): void;
  constants: {
    TUN_F_CSUM: number;
    TUN_F_TSO4: number;
    TUN_F_TSO6: number;
    TUN_F_TSO_ECN: number;
    TUN_F_UFO: number;
    IFF_UP: number;
    IFF_RUNNING: number;
    VNET_HDR_LEN: number;
    IFNAMSIZ: number;
  };
}

/** Error codes of failures in this module itself (the OS ones carry their errno name). */
export const TapErrorCode = { notBuilt: 'ERR_TAPSTACK_NATIVE' } as const;

let addon: NativeTapAddon | undefined;

/** The package root: the nearest parent folder whose package.json is tapstack's. Found by walking
 *  up because this file runs both from lib/link/ (TS source) and from dist/lib/link/ (build). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        if ((JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'tapstack') return dir;
      } catch {
        // unreadable package.json: keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find tapstack's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** Load the native addon once, on first use (so importing this module never fails). */
export function tapAddon(): NativeTapAddon {
  if (addon !== undefined) return addon;
  const file = join(packageRoot(), 'native', 'build', 'Release', 'tapstack_tap.node');
  if (!existsSync(file)) {
    throw Object.assign(
      new Error(`the TAP addon is not built (${file} is missing): run \`npm install\` or \`npm run build\``),
      { code: TapErrorCode.notBuilt },
    );
  }
  addon = createRequire(import.meta.url)(file) as NativeTapAddon;
  return addon;
}

/** How to open a tap. */
export interface TapOptions {
  /** Interface name (at most 15 bytes); an existing persistent tap is attached. Default: the
   *  kernel picks a free `tapN`. */
  name?: string;
  /** Open with IFF_VNET_HDR: every frame read or written starts with a 10-byte virtio_net_hdr
   *  (lib/link/vnet-header.ts); off by default. */
  vnetHdr?: boolean;
  /** Most frames handed over per wake-up: the read ring's slots of 64 KiB each (default 64). */
  batch?: number;
}

/**
 * An open TAP device. The properties `mac`, `mtu`, `ipv4` and `isUp` describe (and set) the
 * kernel's side of the tap, live, through ioctls. As a Duplex it yields one whole frame per
 * chunk and writes one frame per `write()`; `onFrames`/`sendFrame` are the allocation-light
 * equivalents used by the stack (while `onFrames` is set, the stream side receives nothing).
 */
export class Tap extends Duplex {
  readonly #handle: NativeTapHandle;
  readonly #ring: Buffer;
  #released = false;
  #fast: ((frames: Buffer[], count: number) => void) | null = null;
  /** The array of views handed to the fast path, reused every batch. */
  readonly #views: Buffer[] = [];
  #streamWantsData = false;
  /** Frames the JS thread could not write (see `dropped`). */
  #dropped = 0;

  constructor(options: TapOptions | string = {}) {
    const opts = typeof options === 'string' ? { name: options } : options;
    // objectMode: a chunk is a frame, never merged with or split from its neighbours.
    super({ objectMode: true, readableHighWaterMark: 1024, allowHalfOpen: false });
    this.#handle = new (tapAddon().TapHandle)(opts.name ?? '', opts.vnetHdr ?? false, opts.batch);
    this.#ring = Buffer.from(this.#handle.ring);
  }

  /** The interface name the kernel gave (or that was attached). */
  get name(): string {
    return this.#handle.name;
  }

  /** Always true: this is a TAP (layer 2) device (for tuntap2 compatibility). */
  get isTap(): boolean {
    return true;
  }

  /** Always false (for tuntap2 compatibility). */
  get isTun(): boolean {
    return false;
  }

  /** The file descriptor, or -1 once released. */
  get fd(): number {
    return this.#handle.fd;
  }

  /** Whether frames carry a virtio_net_hdr (opened with `vnetHdr`). */
  get vnetHdr(): boolean {
    return this.#handle.vnetHdr;
  }

  /** True when opening created the interface (false: an existing persistent tap was attached). */
  get created(): boolean {
    return this.#handle.created;
  }

  /** The interface's transmit queue length (frames the kernel queues toward this reader). */
  get txQueueLen(): number {
    return tapAddon().getTxQueueLen(this.name);
  }

  set txQueueLen(qlen: number) {
    tapAddon().setTxQueueLen(this.name, qlen);
  }

  /** Frames not written, on any write path and by the writer thread: no room in the kernel
   *  (EAGAIN/ENOBUFS) or the interface is down (EIO). */
  get dropped(): number {
    return this.#dropped + this.#handle.writerStats().dropped;
  }

  /** True once `release()` (or `destroy()`) closed the device. */
  get released(): boolean {
    return this.#released;
  }

  /** The kernel side's Ethernet address, "aa:bb:cc:dd:ee:ff". */
  get mac(): string {
    return macToString(tapAddon().getMac(this.name));
  }

  set mac(text: string) {
    tapAddon().setMac(this.name, parseMac(text));
  }

  /** The kernel side's MAC as 6 bytes. */
  get macBytes(): Buffer {
    return tapAddon().getMac(this.name);
  }

  /** The interface MTU (largest IP packet; frames are up to mtu + 14 bytes). */
  get mtu(): number {
    return tapAddon().getMtu(this.name);
  }

  set mtu(mtu: number) {
    tapAddon().setMtu(this.name, mtu);
  }

  /** The kernel side's IPv4 address as CIDR ("10.0.0.1/24"), or "" when it has none. */
  get ipv4(): string {
    const a = tapAddon().getIpv4(this.name);
    return a === null ? '' : `${a[0]}/${a[1]}`;
  }

  set ipv4(cidr: string) {
    const { ip, prefix } = parseCidr(cidr);
    tapAddon().setIpv4(this.name, ipToString(ip), prefix);
  }

  /** Whether the interface is administratively up (IFF_UP). */
  get isUp(): boolean {
    return (tapAddon().getFlags(this.name) & tapAddon().constants.IFF_UP) !== 0;
  }

  set isUp(up: boolean) {
    tapAddon().setUp(this.name, up);
  }

  /**
   * Fast path: receive frames in batches (every frame ready at one wake-up, in order), with no
   * stream in between. `null` stops it. `frames[0..count)` are views into the read ring, valid
   * only until `fn` returns (copy what you keep); the array itself is reused.
   */
  onFrames(fn: ((frames: Buffer[], count: number) => void) | null): void {
    if (this.#released) return;
    this.#fast = fn;
    if (fn !== null) this.#handle.start(this.#onFastBatch, this.#onNativeError);
    else if (this.#streamWantsData) this.#startStream();
    else this.#handle.stop();
  }

  /** Fast path: write one frame now (or queue it for the writer thread, `startWriter`). Returns
   *  false if it was dropped (no room, or interface down); throws for a frame the kernel rejects
   *  (under 14 bytes, over 64 KiB), a released tap, or an error the writer thread met. */
  sendFrame(frame: FrameBytes): boolean {
    if (this.#handle.write(frame)) return true;
    this.#dropped++;
    return false;
  }

  /** Fast path: write `count` frames (default all), one write() each; returns how many were
   *  dropped. Throws as sendFrame does, with `index` on the error: frames before it were handled. */
  sendFrames(frames: readonly FrameBytes[], count = frames.length): number {
    const dropped = this.#handle.writeBatch(frames, count);
    this.#dropped += dropped;
    return dropped;
  }

  /**
   * Hand big frames to a writer thread (native/tap-writer.h): a frame of at least `minLength`
   * bytes, and every frame written while some are queued, is copied into a ring of `ringBytes`
   * and written from there in order, so the kernel's receive work for it (its copy, the receiving
   * socket's TCP) runs on another core. A small frame with nothing queued is still written at
   * once: a thread wake-up would add to every round trip. `sendFrame` then means "written or
   * queued"; what the thread cannot write is counted in `dropped`, and an error other than a
   * full or down interface is thrown by the next write. `release()` writes what is queued first.
   */
  startWriter({ ringBytes = 4 << 20, minLength = 4096 }: { ringBytes?: number; minLength?: number } = {}): void {
    this.#handle.startWriter(ringBytes, minLength);
  }

  /** What the writer thread did: `{ written: 0, dropped: 0 }` without one. */
  get writerStats(): WriterStats {
    return this.#handle.writerStats();
  }

  /** Set TUNSETOFFLOAD flags (TUN_F_* from `tapAddon().constants`); only for vnetHdr taps. */
  setOffload(flags: number): void {
    this.#handle.setOffload(flags);
  }

  /** Let an active reader keep the process alive (the default). */
  ref(): this {
    this.#handle.ref();
    return this;
  }

  /** Do not keep the process alive just because this tap is being read. */
  unref(): this {
    this.#handle.unref();
    return this;
  }

  /**
   * Close the device now (synchronously: the same persistent tap can be opened again right after).
   * A non-persistent tap disappears with it. The readable side ends after the frames already
   * received, so `for await` loops finish; further writes fail.
   */
  release(): void {
    if (this.#released) return;
    this.#closeNative();
    this.push(null);
    this.end();
  }

  #closeNative(): void {
    this.#released = true;
    this.#fast = null;
    this.#handle.close();
  }

  // Reading errors mean the tap is gone (interface deleted): the stream fails with the error.
  readonly #onNativeError = (err: Error): void => {
    this.#closeNative();
    this.destroy(err);
  };

  /** Views of the first `count` frames in the ring (a view each, no copy). */
  #batchViews(count: number): Buffer[] {
    const { lengths, slotSize } = this.#handle;
    const views = this.#views;
    for (let i = 0; i < count; i++) views[i] = this.#ring.subarray(i * slotSize, i * slotSize + lengths[i]!);
    return views;
  }

  readonly #onFastBatch = (count: number): void => {
    this.#fast?.(this.#batchViews(count), count);
  };

  readonly #onStreamFrames = (count: number): void => {
    let more = true;
    const views = this.#batchViews(count);
    // A 'data' handler may release() the tap mid-batch: nothing may be pushed after its end.
    // Each chunk is a copy: a stream consumer keeps it past the next batch.
    for (let i = 0; i < count && !this.#released; i++) more = this.push(Buffer.from(views[i]!));
    // Backpressure: stop reading the fd; the kernel queues (then drops) until _read asks again.
    if (!more) {
      this.#streamWantsData = false;
      this.#handle.stop();
    }
  };

  #startStream(): void {
    this.#handle.start(this.#onStreamFrames, this.#onNativeError);
  }

  override _read(): void {
    if (this.#released || this.#streamWantsData) return;
    this.#streamWantsData = true;
    if (this.#fast === null) this.#startStream();
  }

  override _write(chunk: Uint8Array, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      this.sendFrame(chunk);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _writev(chunks: { chunk: Uint8Array }[], callback: (error?: Error | null) => void): void {
    try {
      this.sendFrames(chunks.map((c) => c.chunk));
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#released) this.#closeNative();
    callback(error);
  }
}
