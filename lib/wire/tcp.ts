// TCP header codec (RFC 9293 §3.1) with its options: MSS (RFC 9293 §3.2), window scale and
// timestamps (RFC 7323), SACK-permitted and SACK blocks (RFC 2018), NOP/EOL; unknown options
// are skipped by their length. Pure: no state, no I/O. Parse checks lengths and the checksum
// over the IPv4 pseudo-header first, then meaning; each failure is a WireError with a stable
// reason (`tcp.truncated`, `tcp.badDataOffset`, `tcp.badChecksum`, `tcp.badOption`).
import { finishChecksum, pseudoHeaderSum, sumWords } from './checksum.js';
import { type Seq, seq } from './seq.js';
import { WireError } from './wire-error.js';

/** TCP control bits (RFC 9293 §3.1, RFC 3168 for ECE/CWR). */
export const TCP_FLAGS = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** Option kinds we know (IANA "TCP Option Kind Numbers"). */
export const TCP_OPTION = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WS: 3,
  SACK_PERM: 4,
  SACK: 5,
  TS: 8,
} as const;

/** The protocol number of TCP in the IPv4 header. */
export const IP_PROTO_TCP = 6;

/** The fixed header length (no options). */
export const TCP_HEADER_MIN = 20;

/** One SACK block: the sequence space [left, right) received (RFC 2018 §3). */
export interface SackBlock {
  left: Seq;
  right: Seq;
}

/** The options of one segment; absent fields were not present. */
export interface TcpOptions {
  /** Maximum segment size (only meaningful in SYNs). */
  mss?: number;
  /** Window scale shift count as sent (RFC 7323 §2.2; the receiver clamps to 14). */
  wscale?: number;
  /** SACK-permitted (RFC 2018 §2). */
  sackPermitted?: boolean;
  /** SACK blocks (RFC 2018 §3). */
  sack?: SackBlock[];
  /** Timestamps TSval/TSecr (RFC 7323 §3). */
  ts?: { val: number; ecr: number };
}

/** A parsed TCP segment. `payload` is a view into the received buffer, not a copy. */
export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  seq: Seq;
  ack: Seq;
  /** Header length in bytes (data offset × 4). */
  headerLength: number;
  flags: number;
  window: number;
  checksum: number;
  urgent: number;
  options: TcpOptions;
  payload: Buffer;
}

/** What `serializeTcp` needs: everything but the derived header length and checksum. */
export interface TcpSegmentInit {
  srcPort: number;
  dstPort: number;
  seq: Seq;
  ack: Seq;
  flags: number;
  window: number;
  urgent?: number;
  options?: TcpOptions;
  payload?: Uint8Array;
}

/** Parse a TCP segment from `buf` (the whole IP payload), verifying the checksum unless told not to. */
export function parseTcp(buf: Buffer, src: number, dst: number, verifyChecksum = true): TcpSegment {
  if (buf.length < TCP_HEADER_MIN) throw new WireError('tcp.truncated', `${buf.length} bytes`);
  const headerLength = (buf[12]! >>> 4) * 4;
  if (headerLength < TCP_HEADER_MIN) throw new WireError('tcp.badDataOffset', `data offset ${headerLength / 4}`);
  if (headerLength > buf.length) throw new WireError('tcp.truncated', `header ${headerLength} > ${buf.length}`);
  if (verifyChecksum) {
    const sum = sumWords(buf, 0, buf.length, pseudoHeaderSum(src, dst, IP_PROTO_TCP, buf.length));
    if (finishChecksum(sum) !== 0) throw new WireError('tcp.badChecksum');
  }
  return {
    srcPort: buf.readUInt16BE(0),
    dstPort: buf.readUInt16BE(2),
    seq: seq(buf.readUInt32BE(4)),
    ack: seq(buf.readUInt32BE(8)),
    headerLength,
    flags: buf[13]!,
    window: buf.readUInt16BE(14),
    checksum: buf.readUInt16BE(16),
    urgent: buf.readUInt16BE(18),
    options: headerLength > TCP_HEADER_MIN ? parseTcpOptions(buf, TCP_HEADER_MIN, headerLength) : {},
    payload: buf.subarray(headerLength),
  };
}

/** Parse the option bytes `buf[start, end)`; malformed lengths throw `tcp.badOption`. */
export function parseTcpOptions(buf: Buffer, start: number, end: number): TcpOptions {
  const o: TcpOptions = {};
  let i = start;
  while (i < end) {
    const kind = buf[i]!;
    if (kind === TCP_OPTION.EOL) break;
    if (kind === TCP_OPTION.NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) throw new WireError('tcp.badOption', `kind ${kind} without length`);
    const len = buf[i + 1]!;
    if (len < 2 || i + len > end) throw new WireError('tcp.badOption', `kind ${kind} length ${len}`);
    switch (kind) {
      case TCP_OPTION.MSS:
        if (len !== 4) throw new WireError('tcp.badOption', `MSS length ${len}`);
        o.mss = buf.readUInt16BE(i + 2);
        break;
      case TCP_OPTION.WS:
        if (len !== 3) throw new WireError('tcp.badOption', `WS length ${len}`);
        o.wscale = buf[i + 2]!;
        break;
      case TCP_OPTION.SACK_PERM:
        if (len !== 2) throw new WireError('tcp.badOption', `SACK_PERM length ${len}`);
        o.sackPermitted = true;
        break;
      case TCP_OPTION.SACK: {
        if ((len - 2) % 8 !== 0 || len === 2) throw new WireError('tcp.badOption', `SACK length ${len}`);
        const blocks: SackBlock[] = [];
        for (let j = i + 2; j < i + len; j += 8) blocks.push({ left: seq(buf.readUInt32BE(j)), right: seq(buf.readUInt32BE(j + 4)) });
        o.sack = blocks;
        break;
      }
      case TCP_OPTION.TS:
        if (len !== 10) throw new WireError('tcp.badOption', `TS length ${len}`);
        o.ts = { val: buf.readUInt32BE(i + 2), ecr: buf.readUInt32BE(i + 6) };
        break;
      default:
        // RFC 9293 §3.2: a TCP implementation MUST ignore options it does not implement.
        break;
    }
    i += len;
  }
  return o;
}

/** The bytes `writeTcpOptions` will produce for `o` (a multiple of 4). */
export function tcpOptionsLength(o: TcpOptions | undefined): number {
  if (o === undefined) return 0;
  let n = 0;
  if (o.mss !== undefined) n += 4;
  // SACK_PERM rides in the NOP,NOP slot of TS (or pads itself to 4 alone).
  if (o.ts !== undefined) n += 12;
  else if (o.sackPermitted) n += 4;
  if (o.wscale !== undefined) n += 4;
  if (o.sack !== undefined && o.sack.length > 0) n += 4 + 8 * o.sack.length;
  return n;
}

/**
 * Write options in Linux's order and padding (MSS, SACK_PERM+TS, NOP+WS; NOP,NOP,TS; NOP,NOP,SACK)
 * at `off`; returns the number of bytes written (a multiple of 4).
 */
export function writeTcpOptions(buf: Buffer, off: number, o: TcpOptions): number {
  let i = off;
  if (o.mss !== undefined) {
    buf[i] = TCP_OPTION.MSS;
    buf[i + 1] = 4;
    buf.writeUInt16BE(o.mss, i + 2);
    i += 4;
  }
  if (o.ts !== undefined) {
    if (o.sackPermitted) {
      buf[i] = TCP_OPTION.SACK_PERM;
      buf[i + 1] = 2;
    } else {
      buf[i] = TCP_OPTION.NOP;
      buf[i + 1] = TCP_OPTION.NOP;
    }
    buf[i + 2] = TCP_OPTION.TS;
    buf[i + 3] = 10;
    buf.writeUInt32BE(o.ts.val >>> 0, i + 4);
    buf.writeUInt32BE(o.ts.ecr >>> 0, i + 8);
    i += 12;
  } else if (o.sackPermitted) {
    buf[i] = TCP_OPTION.NOP;
    buf[i + 1] = TCP_OPTION.NOP;
    buf[i + 2] = TCP_OPTION.SACK_PERM;
    buf[i + 3] = 2;
    i += 4;
  }
  if (o.wscale !== undefined) {
    buf[i] = TCP_OPTION.NOP;
    buf[i + 1] = TCP_OPTION.WS;
    buf[i + 2] = 3;
    buf[i + 3] = o.wscale;
    i += 4;
  }
  if (o.sack !== undefined && o.sack.length > 0) {
    buf[i] = TCP_OPTION.NOP;
    buf[i + 1] = TCP_OPTION.NOP;
    buf[i + 2] = TCP_OPTION.SACK;
    buf[i + 3] = 2 + 8 * o.sack.length;
    i += 4;
    for (const b of o.sack) {
      buf.writeUInt32BE(b.left, i);
      buf.writeUInt32BE(b.right, i + 4);
      i += 8;
    }
  }
  return i - off;
}

/** Serialize a segment into a fresh Buffer with its checksum over the pseudo-header (src → dst). */
export function serializeTcp(s: TcpSegmentInit, src: number, dst: number): Buffer {
  const optLen = tcpOptionsLength(s.options);
  if (optLen > 40) throw new RangeError(`TCP options too long: ${optLen}`);
  const hl = TCP_HEADER_MIN + optLen;
  const payloadLen = s.payload?.length ?? 0;
  const buf = Buffer.allocUnsafe(hl + payloadLen);
  writeTcpHeader(buf, 0, s, hl);
  if (s.options !== undefined) writeTcpOptions(buf, TCP_HEADER_MIN, s.options);
  if (payloadLen > 0) buf.set(s.payload!, hl);
  fillTcpChecksum(buf, src, dst);
  return buf;
}

/** Write the fixed 20 bytes at `off` (checksum zeroed); `headerLength` includes options. */
export function writeTcpHeader(buf: Buffer, off: number, s: TcpSegmentInit, headerLength: number): void {
  buf.writeUInt16BE(s.srcPort, off);
  buf.writeUInt16BE(s.dstPort, off + 2);
  buf.writeUInt32BE(s.seq >>> 0, off + 4);
  buf.writeUInt32BE(s.ack >>> 0, off + 8);
  buf[off + 12] = (headerLength / 4) << 4;
  buf[off + 13] = s.flags;
  buf.writeUInt16BE(s.window, off + 14);
  buf.writeUInt16BE(0, off + 16);
  buf.writeUInt16BE(s.urgent ?? 0, off + 18);
}

/** Compute and store the checksum of the complete segment `buf` sent from src to dst. */
export function fillTcpChecksum(buf: Buffer, src: number, dst: number): void {
  buf.writeUInt16BE(0, 16);
  const sum = sumWords(buf, 0, buf.length, pseudoHeaderSum(src, dst, IP_PROTO_TCP, buf.length));
  buf.writeUInt16BE(finishChecksum(sum), 16);
}

/**
 * Store only the pseudo-header sum, folded and not complemented, in the checksum field of `buf`
 * (a segment from src to dst): what a link that completes checksums (NEEDS_CSUM) expects; it
 * adds the segment's own words from the TCP header on.
 */
export function fillTcpPseudoChecksum(buf: Buffer, src: number, dst: number): void {
  buf.writeUInt16BE(~finishChecksum(pseudoHeaderSum(src, dst, IP_PROTO_TCP, buf.length)) & 0xffff, 16);
}

/** Control bits in Wireshark's spelling, e.g. "SYN, ACK". */
export function formatTcpFlags(flags: number): string {
  const names: string[] = [];
  if (flags & TCP_FLAGS.FIN) names.push('FIN');
  if (flags & TCP_FLAGS.SYN) names.push('SYN');
  if (flags & TCP_FLAGS.RST) names.push('RST');
  if (flags & TCP_FLAGS.PSH) names.push('PSH');
  if (flags & TCP_FLAGS.ACK) names.push('ACK');
  if (flags & TCP_FLAGS.URG) names.push('URG');
  if (flags & TCP_FLAGS.ECE) names.push('ECE');
  if (flags & TCP_FLAGS.CWR) names.push('CWR');
  return names.join(', ');
}

/** The sequence space a segment occupies: payload plus one for SYN and one for FIN (RFC 9293 §3.4). */
export function segmentLength(s: { flags: number; payload: { length: number } }): number {
  return s.payload.length + (s.flags & TCP_FLAGS.SYN ? 1 : 0) + (s.flags & TCP_FLAGS.FIN ? 1 : 0);
}
