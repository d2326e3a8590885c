// UDP (RFC 768): parse with length and pseudo-header checksum checks (a zero checksum means
// "none" on receive), and write datagrams that always carry a checksum (0 sent as 0xffff).
import { finishChecksum, pseudoHeaderSum, sumWords } from './checksum.js';
import { IpProto } from './ipv4.js';
import { WireError } from './wire-error.js';

/** Length of the UDP header. */
export const UDP_HEADER_LEN = 8;

/** A parsed UDP datagram; `payload` is a view trimmed to the UDP length field. */
export interface UdpDatagram {
  srcPort: number;
  dstPort: number;
  length: number;
  /** The checksum field as received (0: the sender sent none). */
  checksum: number;
  payload: Buffer;
}

/**
 * Parse a UDP datagram carried in an IPv4 packet from `src` to `dst`: `udp.truncated`,
 * `udp.badLength`, `udp.badChecksum` (unchecked when `verifyChecksum` is false: the link vouched).
 */
export function parseUdp(buf: Buffer, src: number, dst: number, verifyChecksum = true): UdpDatagram {
  if (buf.length < UDP_HEADER_LEN) throw new WireError('udp.truncated', `${buf.length} bytes`);
  const length = buf.readUInt16BE(4);
  if (length < UDP_HEADER_LEN || length > buf.length) throw new WireError('udp.badLength', `length ${length}, have ${buf.length}`);
  const checksum = buf.readUInt16BE(6);
  if (verifyChecksum && checksum !== 0 && finishChecksum(sumWords(buf, 0, length, pseudoHeaderSum(src, dst, IpProto.UDP, length))) !== 0) {
    throw new WireError('udp.badChecksum');
  }
  return { srcPort: buf.readUInt16BE(0), dstPort: buf.readUInt16BE(2), length, checksum, payload: buf.subarray(UDP_HEADER_LEN, length) };
}

/**
 * Write a UDP datagram (header, `payload` copied, checksum) at `off`; returns the offset just
 * after it. RFC 768: a computed checksum of 0 is sent as 0xffff.
 */
export function writeUdp(buf: Buffer, off: number, srcPort: number, dstPort: number, payload: Uint8Array, src: number, dst: number): number {
  const length = UDP_HEADER_LEN + payload.length;
  if (length > 0xffff) throw new RangeError(`UDP datagram too long: ${length}`);
  buf.writeUInt16BE(srcPort, off);
  buf.writeUInt16BE(dstPort, off + 2);
  buf.writeUInt16BE(length, off + 4);
  buf.writeUInt16BE(0, off + 6);
  buf.set(payload, off + UDP_HEADER_LEN);
  const c = finishChecksum(sumWords(buf, off, off + length, pseudoHeaderSum(src, dst, IpProto.UDP, length)));
  buf.writeUInt16BE(c === 0 ? 0xffff : c, off + 6);
  return off + length;
}

/** Build a complete UDP datagram in a new buffer. */
export function buildUdp(srcPort: number, dstPort: number, payload: Uint8Array, src: number, dst: number): Buffer {
  const buf = Buffer.allocUnsafe(UDP_HEADER_LEN + payload.length);
  writeUdp(buf, 0, srcPort, dstPort, payload, src, dst);
  return buf;
}
