// Packet capture: `PcapWriter` writes frames to a classic libpcap file or to pcapng (both
// readable by tcpdump, tshark and Wireshark) and `PcapLink` is a Link decorator that records every
// frame in both directions. Records are buffered in memory and written with synchronous writes in
// chunks, so a capture costs one copy per frame and one system call per chunk; `close()` writes
// the rest. Classic pcap has no direction field and no comments; pcapng (RFC draft
// draft-ietf-opsawg-pcapng) marks each frame inbound or outbound and can carry a comment, which is
// how a frame dropped on purpose (`--loss`, `--drop`) stays in the capture, at its place, marked.
import * as fs from 'node:fs';
import type { Clock } from '../clock.js';
import { BatchRelay, type BatchHooks, type DroppedFrame, type Link, type Offload } from './link.js';
import { wireFrames } from './gso.js';

/** libpcap magic for microsecond timestamps; the file is little-endian (readers detect the order from the magic). */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
/** LINKTYPE_ETHERNET: frames start with the Ethernet II header. */
export const LINKTYPE_ETHERNET = 1;
/** Size of the pcap global header. */
export const PCAP_GLOBAL_HEADER_BYTES = 24;
/** Size of each record header (ts_sec, ts_usec, incl_len, orig_len). */
export const PCAP_RECORD_HEADER_BYTES = 16;
/** pcapng block types (draft-ietf-opsawg-pcapng §4): Section Header, Interface Description, Enhanced Packet. */
export const PCAPNG_SHB = 0x0a0d0d0a;
export const PCAPNG_IDB = 1;
export const PCAPNG_EPB = 6;
/** Fixed part of an Enhanced Packet Block: type, length, interface, timestamp (2), captured and original length; the trailing length. */
const EPB_FIXED = 28 + 4;

/** Which way a frame went, and an optional comment, for pcapng's epb_flags and opt_comment. */
export interface FrameMeta {
  dir?: 'RX' | 'TX';
  comment?: string;
}

/** Options of a PcapWriter. */
export interface PcapWriterOptions {
  /** Timestamps come from `epochMs + clock.now()` (for tests); default: the wall clock. */
  clock?: Clock;
  /** Wall-clock time (ms since 1970) of the clock's 0; only with `clock` (default 0). */
  epochMs?: number;
  /** Bytes of each frame kept (longer frames are truncated, their original length recorded; default 262144). */
  snaplen?: number;
  /** Buffered bytes that trigger a write to the file (default 64 KiB). */
  chunkBytes?: number;
  /** `pcap` (classic libpcap, the default) or `pcapng` (direction and comments per frame). */
  format?: 'pcap' | 'pcapng';
}

/** Writes Ethernet frames to a classic libpcap file, buffered, with microsecond timestamps. */
export class PcapWriter {
  /** The file written. */
  readonly file: string;
  /** The snapshot length written in the global header. */
  readonly snaplen: number;
  /** The file format written. */
  readonly format: 'pcap' | 'pcapng';
  readonly #clock: Clock | undefined;
  readonly #epochMs: number;
  readonly #buf: Buffer;
  #used = 0;
  #fd: number | undefined;
  #frames = 0;

  /** Creates (truncates) `file` and writes the global header; throws the fs error if it cannot. */
  constructor(file: string, opts: PcapWriterOptions = {}) {
    this.file = file;
    this.#clock = opts.clock;
    this.#epochMs = opts.epochMs ?? 0;
    this.snaplen = opts.snaplen ?? 262144;
    if (!(Number.isInteger(this.snaplen) && this.snaplen > 0)) throw new RangeError(`snaplen must be a positive integer, got ${this.snaplen}`);
    const chunk = opts.chunkBytes ?? 64 * 1024;
    this.#buf = Buffer.allocUnsafe(Math.max(chunk, PCAP_GLOBAL_HEADER_BYTES + PCAP_RECORD_HEADER_BYTES));
    this.format = opts.format ?? 'pcap';
    this.#fd = fs.openSync(file, 'w');
    const h = this.#buf;
    if (this.format === 'pcapng') {
      // Section Header Block (little-endian by its byte-order magic, section length unknown),
      // then one Interface Description Block: Ethernet, our snaplen, microsecond timestamps (the default).
      h.writeUInt32LE(PCAPNG_SHB, 0);
      h.writeUInt32LE(28, 4);
      h.writeUInt32LE(0x1a2b3c4d, 8);
      h.writeUInt16LE(1, 12);
      h.writeUInt16LE(0, 14);
      h.writeInt32LE(-1, 16);
      h.writeInt32LE(-1, 20);
      h.writeUInt32LE(28, 24);
      h.writeUInt32LE(PCAPNG_IDB, 28);
      h.writeUInt32LE(20, 32);
      h.writeUInt16LE(LINKTYPE_ETHERNET, 36);
      h.writeUInt16LE(0, 38);
      h.writeUInt32LE(this.snaplen, 40);
      h.writeUInt32LE(20, 44);
      this.#used = 48;
      this.flush();
      return;
    }
    h.writeUInt32LE(PCAP_MAGIC_US, 0);
    h.writeUInt16LE(2, 4); // version major
    h.writeUInt16LE(4, 6); // version minor
    h.writeInt32LE(0, 8); // thiszone: timestamps are UTC
    h.writeUInt32LE(0, 12); // sigfigs
    h.writeUInt32LE(this.snaplen, 16);
    h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    this.#used = PCAP_GLOBAL_HEADER_BYTES;
    this.flush(); // the file is valid (empty capture) from the start
  }

  /** Frames recorded so far. */
  get frames(): number {
    return this.#frames;
  }

  /** Whether the writer is still open. */
  get isOpen(): boolean {
    return this.#fd !== undefined;
  }

  /** Record one frame, timestamped now (or at `atMs`, wall-clock ms, if given); ignored once closed.
   *  `meta` (direction, comment) is written only to pcapng. */
  write(frame: Uint8Array, atMs?: number, meta?: FrameMeta): void {
    if (this.#fd === undefined) return;
    const ms = atMs ?? (this.#clock !== undefined ? this.#epochMs + this.#clock.now() : performance.timeOrigin + performance.now());
    let sec = Math.floor(ms / 1000);
    let usec = Math.round((ms - sec * 1000) * 1000);
    if (usec >= 1_000_000) {
      sec += 1;
      usec -= 1_000_000;
    }
    const incl = Math.min(frame.length, this.snaplen);
    if (this.format === 'pcapng') {
      this.#writeEpb(frame.subarray(0, incl), frame.length, sec * 1_000_000 + usec, meta);
      this.#frames++;
      return;
    }
    if (this.#used + PCAP_RECORD_HEADER_BYTES + incl > this.#buf.length) this.flush();
    const b = this.#buf;
    let o = this.#used;
    b.writeUInt32LE(sec >>> 0, o);
    b.writeUInt32LE(usec, o + 4);
    b.writeUInt32LE(incl, o + 8);
    b.writeUInt32LE(frame.length, o + 12);
    o += PCAP_RECORD_HEADER_BYTES;
    if (o + incl <= b.length) {
      b.set(incl === frame.length ? frame : frame.subarray(0, incl), o);
      this.#used = o + incl;
    } else {
      // Larger than the whole chunk: write the header, then the frame straight from its buffer.
      this.#used = o;
      this.flush();
      writeAll(this.#fd, frame.subarray(0, incl));
    }
    this.#frames++;
  }

  /** One Enhanced Packet Block: interface 0, the timestamp in µs, the data padded to 4 bytes, then
   *  epb_flags (direction: 1 inbound, 2 outbound) and opt_comment when given. */
  #writeEpb(data: Uint8Array, origLen: number, us: number, meta: FrameMeta | undefined): void {
    const comment = meta?.comment !== undefined ? Buffer.from(meta.comment, 'utf8') : undefined;
    const optBytes = (meta?.dir !== undefined ? 8 : 0) + (comment !== undefined ? 4 + pad4(comment.length) : 0);
    const total = EPB_FIXED + pad4(data.length) + (optBytes > 0 ? optBytes + 4 : 0);
    if (this.#used + total > this.#buf.length) this.flush();
    const b = total <= this.#buf.length ? this.#buf : Buffer.alloc(total);
    let o = b === this.#buf ? this.#used : 0;
    if (b === this.#buf) b.fill(0, o, o + total);
    b.writeUInt32LE(PCAPNG_EPB, o);
    b.writeUInt32LE(total, o + 4);
    b.writeUInt32LE(0, o + 8);
    b.writeUInt32LE(Math.floor(us / 2 ** 32), o + 12);
    b.writeUInt32LE(us % 2 ** 32, o + 16);
    b.writeUInt32LE(data.length, o + 20);
    b.writeUInt32LE(origLen, o + 24);
    b.set(data, o + 28);
    o += 28 + pad4(data.length);
    if (optBytes > 0) {
      if (meta?.dir !== undefined) {
        b.writeUInt16LE(2, o);
        b.writeUInt16LE(4, o + 2);
        b.writeUInt32LE(meta.dir === 'RX' ? 1 : 2, o + 4);
        o += 8;
      }
      if (comment !== undefined) {
        b.writeUInt16LE(1, o);
        b.writeUInt16LE(comment.length, o + 2);
        comment.copy(b, o + 4);
        o += 4 + pad4(comment.length);
      }
      b.writeUInt32LE(0, o); // opt_endofopt
      o += 4;
    }
    b.writeUInt32LE(total, o);
    if (b === this.#buf) this.#used = o + 4;
    else writeAll(this.#fd!, b);
  }

  /** Write everything buffered to the file now. */
  flush(): void {
    if (this.#fd === undefined || this.#used === 0) return;
    writeAll(this.#fd, this.#buf.subarray(0, this.#used));
    this.#used = 0;
  }

  /** Flush and close the file; later writes are ignored. Safe to call twice. */
  close(): void {
    if (this.#fd === undefined) return;
    try {
      this.flush();
    } finally {
      fs.closeSync(this.#fd);
      this.#fd = undefined;
    }
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
}

/**
 * A Link decorator recording every frame sent and received through it to a capture file, as a
 * wire would carry it: super-frames cut into MSS-sized segments, partial checksums completed
 * (gso.ts). Over a link that drops frames on purpose (it has `onDrop`) the file is pcapng and each
 * dropped frame is kept at its place with a comment (`dropped: --loss, seed 7`), so frame numbers
 * in Wireshark are the trace's packet numbers; the drop reports are passed on to the decorator above.
 */
export class PcapLink implements Link {
  readonly mac: Buffer;
  readonly mtu: number;
  readonly offload: boolean;
  /** The underlying writer (e.g. for `frames` or an explicit `flush()`). */
  readonly writer: PcapWriter;
  readonly #inner: Link;
  readonly #ng: boolean;
  #handler: ((frame: Buffer, offload?: Offload) => void) | undefined;
  /** Frames pass through synchronously: the inner link's read batches are the receiver's. */
  readonly #batch = new BatchRelay();
  #dropped: ((d: DroppedFrame) => void) | undefined;
  /** Present only over a link that drops on purpose: its drops, passed on. */
  readonly onDrop?: (fn: (d: DroppedFrame) => void) => void;
  /** Set while `send` is in the inner link: whether the frame being sent was dropped below. */
  #sendDropped = false;

  /** Records to `file`; the third argument is PcapWriterOptions or, for short, just a Clock. */
  constructor(inner: Link, file: string, opts?: PcapWriterOptions | Clock) {
    this.#inner = inner;
    this.mac = inner.mac;
    this.mtu = inner.mtu;
    this.offload = inner.offload === true;
    const o = isClock(opts) ? { clock: opts } : opts;
    this.writer = new PcapWriter(file, { format: inner.onDrop !== undefined ? 'pcapng' : 'pcap', ...o });
    this.#ng = this.writer.format === 'pcapng';
    inner.onFrame((frame, offload) => {
      for (const f of wireFrames(frame, offload)) this.writer.write(f, undefined, this.#ng ? RX : undefined);
      const h = this.#handler;
      if (h !== undefined) h(frame, offload);
    }, this.#batch);
    if (inner.onDrop !== undefined) this.onDrop = (fn) => void (this.#dropped = fn);
    inner.onDrop?.((d) => {
      if (d.dir === 'TX') this.#sendDropped = true;
      this.writer.write(d.frame, undefined, { dir: d.dir, comment: `dropped: ${d.reason}` });
      this.#dropped?.(d);
    });
  }

  send(frame: Buffer, offload?: Offload, rest?: readonly Buffer[]): void {
    if (!this.#ng) {
      for (const f of wireFrames(frame, offload, rest)) this.writer.write(f);
      this.#inner.send(frame, offload, rest);
      return;
    }
    // Below drops frames on purpose: hand it wire frames one by one, each recorded after the inner
    // link took it, so a frame dropped below is recorded once, as dropped.
    for (const f of wireFrames(frame, offload, rest)) {
      this.#sendDropped = false;
      this.#inner.send(f);
      if (!this.#sendDropped) this.writer.write(f, undefined, TX);
    }
    this.#sendDropped = false;
  }

  onFrame(fn: (frame: Buffer, offload?: Offload) => void, batch?: BatchHooks): void {
    this.#handler = fn;
    this.#batch.to = batch;
  }


  /** Closes the inner link, then flushes and closes the file (frames that arrive while the inner link closes are kept). */
  async close(): Promise<void> {
    try {
      await this.#inner.close();
    } finally {
      this.writer.close();
    }
  }
}

/** `n` rounded up to a multiple of 4 (pcapng pads block data and options to 32 bits). */
function pad4(n: number): number {
  return (n + 3) & ~3;
}

const RX: FrameMeta = { dir: 'RX' };
const TX: FrameMeta = { dir: 'TX' };

function isClock(o: PcapWriterOptions | Clock | undefined): o is Clock {
  return o !== undefined && typeof (o as Clock).setTimer === 'function' && typeof (o as Clock).now === 'function';
}
