// Ethernet II framing (IEEE 802.3 type field >= 0x0600): parse a frame into a header and a
// payload view, and write a header into a caller's buffer. No FCS: TAP frames carry none.
import { WireError } from './wire-error.js';

/** Length of an Ethernet II header: destination MAC, source MAC, EtherType. */
export const ETH_HEADER_LEN = 14;

/** EtherType values the stack understands (plus IPv6, only to name it in traces). */
export const EtherType = { IPv4: 0x0800, ARP: 0x0806, IPv6: 0x86dd, VLAN: 0x8100 } as const;

/** The broadcast MAC ff:ff:ff:ff:ff:ff. */
export const BROADCAST_MAC: Buffer = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** A parsed Ethernet II frame; `dst`, `src` and `payload` are views into the received buffer. */
export interface EthernetFrame {
  dst: Buffer;
  src: Buffer;
  etherType: number;
  payload: Buffer;
}

/** Parse an Ethernet II frame; throws `eth.truncated` when shorter than a header. */
export function parseEthernet(frame: Buffer): EthernetFrame {
  if (frame.length < ETH_HEADER_LEN) throw new WireError('eth.truncated', `${frame.length} bytes`);
  return {
    dst: frame.subarray(0, 6),
    src: frame.subarray(6, 12),
    etherType: frame.readUInt16BE(12),
    payload: frame.subarray(ETH_HEADER_LEN),
  };
}

/** Write an Ethernet II header at `off`; returns the offset just after it. */
export function writeEthernetHeader(buf: Buffer, off: number, dst: Uint8Array, src: Uint8Array, etherType: number): number {
  // Byte copies: cheaper than creating two subarray views per frame.
  for (let i = 0; i < 6; i++) {
    buf[off + i] = dst[i]!;
    buf[off + 6 + i] = src[i]!;
  }
  buf.writeUInt16BE(etherType, off + 12);
  return off + ETH_HEADER_LEN;
}

/** True for ff:ff:ff:ff:ff:ff. */
export function isBroadcastMac(mac: Uint8Array): boolean {
  return mac[0] === 0xff && mac[1] === 0xff && mac[2] === 0xff && mac[3] === 0xff && mac[4] === 0xff && mac[5] === 0xff;
}

/** True for group addresses (the I/G bit set): multicast and broadcast. */
export function isGroupMac(mac: Uint8Array): boolean {
  return (mac[0]! & 1) === 1;
}

/** True when two MACs are equal. */
export function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3] && a[4] === b[4] && a[5] === b[5];
}
