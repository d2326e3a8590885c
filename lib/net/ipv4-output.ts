// IPv4 output framing (RFC 791 §3.2 "Fragmentation"): build the Ethernet frame(s) for one
// datagram with a single allocation per frame, fragmenting when it exceeds the MTU (offsets in
// 8-byte units, MF on all but the last, the header copied into each fragment). Routing, ARP and
// the DF decision belong to the caller.
import { ETH_HEADER_LEN, EtherType, writeEthernetHeader } from '../wire/ethernet.js';
import { IPV4_HEADER_LEN, writeIpv4Header } from '../wire/ipv4.js';

/** Header fields shared by every fragment of a datagram. */
export interface Ipv4OutFields {
  src: number;
  dst: number;
  protocol: number;
  id: number;
  ttl: number;
  tos: number;
  df: boolean;
}

const ZERO_MAC = Buffer.alloc(6);

/** Bytes in front of a transport segment built for `SendOptions.headroom`: Ethernet + IP. */
export const FRAME_HEADROOM = ETH_HEADER_LEN + IPV4_HEADER_LEN;

/**
 * The one Ethernet frame carrying `seg` as an IP datagram, written into the FRAME_HEADROOM
 * bytes in front of it in its own buffer: the segment is built once and never copied.
 */
export function ipv4FrameInPlace(srcMac: Uint8Array, f: Ipv4OutFields, seg: Uint8Array, dstMac: Uint8Array = ZERO_MAC): Buffer {
  if (seg.byteOffset < FRAME_HEADROOM) throw new RangeError('segment has no headroom');
  const frame = Buffer.from(seg.buffer, seg.byteOffset - FRAME_HEADROOM, seg.length + FRAME_HEADROOM);
  writeEthernetHeader(frame, 0, dstMac, srcMac, EtherType.IPv4);
  writeHeader(frame, f, IPV4_HEADER_LEN + seg.length, false, 0);
  return frame;
}

/**
 * The Ethernet frames carrying `head` + `body` as one IP datagram over a link of `mtu`; the
 * destination MAC is left zero (or `dstMac`) for ARP to fill. The caller checks DF before
 * asking for more than one frame.
 */
export function ipv4Frames(srcMac: Uint8Array, f: Ipv4OutFields, head: Uint8Array, body: Uint8Array | undefined, mtu: number, dstMac: Uint8Array = ZERO_MAC): Buffer[] {
  const len = head.length + (body?.length ?? 0);
  if (IPV4_HEADER_LEN + len <= mtu) {
    const frame = Buffer.allocUnsafe(ETH_HEADER_LEN + IPV4_HEADER_LEN + len);
    writeEthernetHeader(frame, 0, dstMac, srcMac, EtherType.IPv4);
    writeHeader(frame, f, IPV4_HEADER_LEN + len, false, 0);
    frame.set(head, ETH_HEADER_LEN + IPV4_HEADER_LEN);
    if (body !== undefined) frame.set(body, ETH_HEADER_LEN + IPV4_HEADER_LEN + head.length);
    return [frame];
  }
  const chunk = (mtu - IPV4_HEADER_LEN) & ~7;
  if (chunk < 8) throw new RangeError(`MTU ${mtu} is too small to fragment into`);
  const frames: Buffer[] = [];
  for (let off = 0; off < len; off += chunk) {
    const n = Math.min(chunk, len - off);
    const frame = Buffer.allocUnsafe(ETH_HEADER_LEN + IPV4_HEADER_LEN + n);
    writeEthernetHeader(frame, 0, dstMac, srcMac, EtherType.IPv4);
    writeHeader(frame, f, IPV4_HEADER_LEN + n, off + n < len, off);
    copyRange(head, body, off, n, frame, ETH_HEADER_LEN + IPV4_HEADER_LEN);
    frames.push(frame);
  }
  return frames;
}

/** The IP header of one frame (an explicit literal: object spread is slow on this path). */
function writeHeader(frame: Buffer, f: Ipv4OutFields, totalLength: number, mf: boolean, fragOffset: number): void {
  writeIpv4Header(frame, ETH_HEADER_LEN, { src: f.src, dst: f.dst, protocol: f.protocol, id: f.id, ttl: f.ttl, tos: f.tos, df: f.df, totalLength, mf, fragOffset });
}

/** Copy bytes [off, off+n) of the concatenation head+body into `dst` at `at`. */
function copyRange(head: Uint8Array, body: Uint8Array | undefined, off: number, n: number, dst: Buffer, at: number): void {
  const end = off + n;
  if (off < head.length) {
    const e = Math.min(end, head.length);
    dst.set(head.subarray(off, e), at);
    at += e - off;
    off = e;
  }
  if (off < end && body !== undefined) dst.set(body.subarray(off - head.length, end - head.length), at);
}
