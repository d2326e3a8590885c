// ARP for IPv4 over Ethernet (RFC 826): the 28-byte packet only. Other hardware or protocol
// types are refused as `arp.unsupported`; the cache and resolution live in lib/net/arp.ts.
import { readIp, writeIp } from './ip-address.js';
import { WireError } from './wire-error.js';

/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_LEN = 28;

/** ARP opcodes (RFC 826). */
export const ArpOp = { request: 1, reply: 2 } as const;

/** A parsed Ethernet/IPv4 ARP packet; the MACs are views into the received buffer. */
export interface ArpPacket {
  op: number;
  senderMac: Buffer;
  senderIp: number;
  targetMac: Buffer;
  targetIp: number;
}

/** Parse an ARP packet (trailing Ethernet padding ignored): `arp.truncated`, `arp.unsupported`. */
export function parseArp(buf: Buffer): ArpPacket {
  if (buf.length < 8) throw new WireError('arp.truncated', `${buf.length} bytes`);
  const htype = buf.readUInt16BE(0);
  const ptype = buf.readUInt16BE(2);
  const hlen = buf[4]!;
  const plen = buf[5]!;
  if (htype !== 1 || ptype !== 0x0800 || hlen !== 6 || plen !== 4) {
    throw new WireError('arp.unsupported', `htype=${htype} ptype=0x${ptype.toString(16)} hlen=${hlen} plen=${plen}`);
  }
  if (buf.length < ARP_LEN) throw new WireError('arp.truncated', `${buf.length} bytes`);
  const op = buf.readUInt16BE(6);
  if (op !== ArpOp.request && op !== ArpOp.reply) throw new WireError('arp.unsupported', `op=${op}`);
  return {
    op,
    senderMac: buf.subarray(8, 14),
    senderIp: readIp(buf, 14),
    targetMac: buf.subarray(18, 24),
    targetIp: readIp(buf, 24),
  };
}

/** Write an Ethernet/IPv4 ARP packet at `off`; returns the offset just after it. */
export function writeArp(buf: Buffer, off: number, p: { op: number; senderMac: Uint8Array; senderIp: number; targetMac: Uint8Array; targetIp: number }): number {
  buf.writeUInt16BE(1, off);
  buf.writeUInt16BE(0x0800, off + 2);
  buf[off + 4] = 6;
  buf[off + 5] = 4;
  buf.writeUInt16BE(p.op, off + 6);
  buf.set(p.senderMac.subarray(0, 6), off + 8);
  writeIp(buf, off + 14, p.senderIp);
  buf.set(p.targetMac.subarray(0, 6), off + 18);
  writeIp(buf, off + 24, p.targetIp);
  return off + ARP_LEN;
}
