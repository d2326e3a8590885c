// IPv4 header (RFC 791): parse with every length and the header checksum checked before any
// field is trusted, options skipped; write a 20-byte header (we never send options).
import { internetChecksum } from './checksum.js';
import { readIp, writeIp } from './ip-address.js';
import { WireError } from './wire-error.js';

/** Length of an IPv4 header without options. */
export const IPV4_HEADER_LEN = 20;

/** The largest IPv4 datagram (total length is a 16-bit field). */
export const IPV4_MAX_DATAGRAM = 65535;

/** IP protocol numbers (IANA). */
export const IpProto = { ICMP: 1, TCP: 6, UDP: 17 } as const;

/** A parsed IPv4 packet. `header` (with options) and `payload` are views into the input buffer. */
export interface Ipv4Packet {
  /** Header length in bytes (IHL * 4). */
  headerLength: number;
  tos: number;
  totalLength: number;
  id: number;
  df: boolean;
  mf: boolean;
  /** Fragment offset in bytes (the field times 8). */
  fragOffset: number;
  ttl: number;
  protocol: number;
  src: number;
  dst: number;
  header: Buffer;
  /** The data after the header, trimmed to `totalLength` (Ethernet padding removed). */
  payload: Buffer;
}

/**
 * Parse an IPv4 packet: `ip.truncated`, `ip.badVersion`, `ip.badIhl`, `ip.badTotalLength`,
 * `ip.badChecksum`. Bytes after `totalLength` (Ethernet minimum-size padding) are ignored.
 */
export function parseIpv4(buf: Buffer): Ipv4Packet {
  if (buf.length < IPV4_HEADER_LEN) throw new WireError('ip.truncated', `${buf.length} bytes`);
  const vihl = buf[0]!;
  if (vihl >> 4 !== 4) throw new WireError('ip.badVersion', `version ${vihl >> 4}`);
  const headerLength = (vihl & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LEN) throw new WireError('ip.badIhl', `ihl ${vihl & 0x0f}`);
  if (headerLength > buf.length) throw new WireError('ip.truncated', `header ${headerLength} > ${buf.length} bytes`);
  const totalLength = buf.readUInt16BE(2);
  if (totalLength < headerLength || totalLength > buf.length) {
    throw new WireError('ip.badTotalLength', `total length ${totalLength}, header ${headerLength}, have ${buf.length}`);
  }
  if (internetChecksum(buf, 0, headerLength) !== 0) throw new WireError('ip.badChecksum');
  const frag = buf.readUInt16BE(6);
  return {
    headerLength,
    tos: buf[1]!,
    totalLength,
    id: buf.readUInt16BE(4),
    df: (frag & 0x4000) !== 0,
    mf: (frag & 0x2000) !== 0,
    fragOffset: (frag & 0x1fff) * 8,
    ttl: buf[8]!,
    protocol: buf[9]!,
    src: readIp(buf, 12),
    dst: readIp(buf, 16),
    header: buf.subarray(0, headerLength),
    payload: buf.subarray(headerLength, totalLength),
  };
}

/** The fields needed to write an option-less IPv4 header. */
export interface Ipv4HeaderFields {
  tos?: number;
  totalLength: number;
  id: number;
  df?: boolean;
  mf?: boolean;
  /** Fragment offset in bytes; must be a multiple of 8. */
  fragOffset?: number;
  ttl: number;
  protocol: number;
  src: number;
  dst: number;
}

/** Write a 20-byte IPv4 header with its checksum at `off`; returns the offset just after it. */
export function writeIpv4Header(buf: Buffer, off: number, h: Ipv4HeaderFields): number {
  const fragOffset = h.fragOffset ?? 0;
  if ((fragOffset & 7) !== 0) throw new RangeError(`fragment offset ${fragOffset} is not a multiple of 8`);
  buf[off] = 0x45;
  buf[off + 1] = h.tos ?? 0;
  buf.writeUInt16BE(h.totalLength, off + 2);
  buf.writeUInt16BE(h.id & 0xffff, off + 4);
  buf.writeUInt16BE((h.df ? 0x4000 : 0) | (h.mf ? 0x2000 : 0) | (fragOffset >>> 3), off + 6);
  buf[off + 8] = h.ttl;
  buf[off + 9] = h.protocol;
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  writeIp(buf, off + 12, h.src);
  writeIp(buf, off + 16, h.dst);
  buf.writeUInt16BE(internetChecksum(buf, off, off + IPV4_HEADER_LEN), off + 10);
  return off + IPV4_HEADER_LEN;
}

/** True for 224.0.0.0/4 (multicast) and 240.0.0.0/4 (reserved, incl. 255.255.255.255). */
export function isMulticastOrReserved(ip: number): boolean {
  return ip >>> 28 >= 0xe;
}
