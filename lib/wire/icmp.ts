// ICMP for IPv4 (RFC 792): parse with the checksum over the whole message, and write messages
// (echo, destination unreachable incl. RFC 1191 next-hop MTU, time exceeded).
import { internetChecksum } from './checksum.js';
import { WireError } from './wire-error.js';

/** Length of the fixed ICMP header: type, code, checksum and the 4-byte "rest of header". */
export const ICMP_HEADER_LEN = 8;

/** ICMP types used by the stack (RFC 792). */
export const IcmpType = {
  echoReply: 0,
  destUnreachable: 3,
  sourceQuench: 4,
  redirect: 5,
  echoRequest: 8,
  timeExceeded: 11,
  parameterProblem: 12,
} as const;

/** Destination-unreachable codes (RFC 792, RFC 1191 for 4). */
export const UnreachCode = { net: 0, host: 1, protocol: 2, port: 3, fragNeeded: 4 } as const;

/** Time-exceeded codes (RFC 792). */
export const TimeExceededCode = { ttl: 0, reassembly: 1 } as const;

/** A parsed ICMP message; `body` is a view of everything after the 8-byte header. */
export interface IcmpMessage {
  type: number;
  code: number;
  /** The 4-byte "rest of header" as an unsigned 32-bit number. */
  rest: number;
  /** Echo identifier (high half of `rest`). */
  id: number;
  /** Echo sequence number (low half of `rest`). */
  seq: number;
  /** Next-hop MTU of a frag-needed message (RFC 1191: low half of `rest`). */
  nextHopMtu: number;
  body: Buffer;
}

/** Parse an ICMP message: `icmp.truncated`, `icmp.badChecksum`. */
export function parseIcmp(buf: Buffer): IcmpMessage {
  if (buf.length < ICMP_HEADER_LEN) throw new WireError('icmp.truncated', `${buf.length} bytes`);
  if (internetChecksum(buf) !== 0) throw new WireError('icmp.badChecksum');
  const rest = buf.readUInt32BE(4);
  return {
    type: buf[0]!,
    code: buf[1]!,
    rest,
    id: rest >>> 16,
    seq: rest & 0xffff,
    nextHopMtu: rest & 0xffff,
    body: buf.subarray(ICMP_HEADER_LEN),
  };
}

/** True for ICMP error types (RFC 1122 §3.2.2: never send an ICMP error about one of these). */
export function isIcmpError(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/**
 * Write an ICMP message at `off` into `buf`: the 8-byte header, then `body` copied, then the
 * checksum over the whole message. Returns the offset just after it.
 */
export function writeIcmp(buf: Buffer, off: number, type: number, code: number, rest: number, body?: Uint8Array): number {
  buf[off] = type;
  buf[off + 1] = code;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  buf.writeUInt32BE(rest >>> 0, off + 4);
  let end = off + ICMP_HEADER_LEN;
  if (body !== undefined) {
    buf.set(body, end);
    end += body.length;
  }
  buf.writeUInt16BE(internetChecksum(buf, off, end), off + 2);
  return end;
}

/** Build a complete ICMP message in a new buffer. */
export function buildIcmp(type: number, code: number, rest: number, body?: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(ICMP_HEADER_LEN + (body?.length ?? 0));
  writeIcmp(buf, 0, type, code, rest, body);
  return buf;
}

/** The "rest of header" of an echo message. */
export function echoRest(id: number, seq: number): number {
  return (((id & 0xffff) << 16) | (seq & 0xffff)) >>> 0;
}
