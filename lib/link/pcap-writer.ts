// Packet capture: `PcapWriter` writes frames to a classic libpcap file (readable by tcpdump,
// tshark and Wireshark) and `PcapLink` is a Link decorator that records every frame in both
// directions. Records are buffered in memory and written with synchronous writes in chunks, so a
// capture costs one copy per frame and one system call per chunk; `close()` writes the rest.
// Classic pcap has no direction field: sent and received frames look alike in the file.
import * as fs from 'node:fs';
import type { Clock } from '../clock.js';
import type { Link, Offload } from './link.js';
import { wireFrames } from './gso.js';

/** libpcap magic for microsecond timestamps; the file is little-endian (readers detect the order from the magic). */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
/** LINKTYPE_ETHERNET: frames start with the Ethernet II header. */
export const LINKTYPE_ETHERNET = 1;
/** Size of the pcap global header. */
export const PCAP_GLOBAL_HEADER_BYTES = 24;
/** Size of each record header (ts_sec, ts_usec, incl_len, orig_len). */
export const PCAP_RECORD_HEADER_BYTES = 16;

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
}

/** Writes Ethernet frames to a classic libpcap file, buffered, with microsecond timestamps. */
export class PcapWriter {
  /** The file written. */
  readonly file: string;
  /** The snapshot length written in the global header. */
  readonly snaplen: number;
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
    this.#fd = fs.openSync(file, 'w');
    const h = this.#buf;
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

  /** Record one frame, timestamped now (or at `atMs`, wall-clock ms, if given); ignored once closed. */
  write(frame: Uint8Array, atMs?: number): void {
    if (this.#fd === undefined) return;
    const ms = atMs ?? (this.#clock !== undefined ? this.#epochMs + this.#clock.now() : performance.timeOrigin + performance.now());
    let sec = Math.floor(ms / 1000);
    let usec = Math.round((ms - sec * 1000) * 1000);
    if (usec >= 1_000_000) {
      sec += 1;
      usec -= 1_000_000;
    }
    const incl = Math.min(frame.length, this.snaplen);
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
 * A Link decorator recording every frame sent and received through it to a pcap file, as a wire
 * would carry it: super-frames cut into MSS-sized segments, partial checksums completed (gso.ts).
 */
export class PcapLink implements Link {
  readonly mac: Buffer;
  readonly mtu: number;
  readonly offload: boolean;
  /** The underlying writer (e.g. for `frames` or an explicit `flush()`). */
  readonly writer: PcapWriter;
  readonly #inner: Link;
  #handler: ((frame: Buffer, offload?: Offload) => void) | undefined;

  /** Records to `file`; the third argument is PcapWriterOptions or, for short, just a Clock. */
  constructor(inner: Link, file: string, opts?: PcapWriterOptions | Clock) {
    this.#inner = inner;
    this.mac = inner.mac;
    this.mtu = inner.mtu;
    this.offload = inner.offload === true;
    this.writer = new PcapWriter(file, isClock(opts) ? { clock: opts } : opts);
    inner.onFrame((frame, offload) => {
      this.#record(frame, offload);
      const h = this.#handler;
      if (h !== undefined) h(frame, offload);
    });
  }

  send(frame: Buffer, offload?: Offload): void {
    this.#record(frame, offload);
    this.#inner.send(frame, offload);
  }

  #record(frame: Buffer, offload: Offload | undefined): void {
    for (const f of wireFrames(frame, offload)) this.writer.write(f);
  }

  onFrame(fn: (frame: Buffer, offload?: Offload) => void): void {
    this.#handler = fn;
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

function isClock(o: PcapWriterOptions | Clock | undefined): o is Clock {
  return o !== undefined && typeof (o as Clock).setTimer === 'function' && typeof (o as Clock).now === 'function';
}
