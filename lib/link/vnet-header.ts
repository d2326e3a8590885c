// The virtio_net_hdr (virtio 1.x §5.1.6, legacy 10-byte layout, as Linux's tap uses with
// IFF_VNET_HDR): in front of every frame read from or written to the tap, it says whether the
// checksum is partial (NEEDS_CSUM) or already verified (DATA_VALID) and whether the frame is a
// TCP super-frame the other side cuts at gso_size (GSO_TCPV4). What the kernel sends us is
// checked as hostile input: a header that lies about the frame behind it is a counted drop.
import type { Offload } from './link.js';
import { ETH_HEADER_LEN, EtherType } from '../wire/ethernet.js';
import { IpProto } from '../wire/ipv4.js';

/** Bytes of the header (struct virtio_net_hdr; TUNSETVNETHDRSZ says so). */
export const VNET_HDR_LEN = 10;

/** virtio_net_hdr.flags */
export const VnetFlag = { needsCsum: 1, dataValid: 2 } as const;
/** virtio_net_hdr.gso_type */
export const VnetGso = { none: 0, tcpv4: 1, udp: 3, tcpv6: 4, ecn: 0x80 } as const;

/** TCP checksum field offset in its header (RFC 9293 §3.1), UDP's (RFC 768). */
const TCP_CSUM_OFFSET = 16;
const UDP_CSUM_OFFSET = 6;
/** The smallest MSS Linux sends with (TCP_MIN_SND_MSS): a smaller gso_size is a lie. */
const MIN_GSO_SIZE = 48;

/** A received header that was refused: `reason` names the counter `link.rx.drop.vnet.<reason>`. */
export interface VnetRejection {
  reason: string;
}

/**
 * Parse and check the header at packet[0..10) against the frame after it (packet[10..)).
 * Returns the frame's Offload (undefined: a plain frame) or the rejection.
 */
export function parseVnetHeader(packet: Buffer): Offload | undefined | VnetRejection {
  if (packet.length < VNET_HDR_LEN + ETH_HEADER_LEN) return { reason: 'short' };
  const flags = packet[0]!;
  const gsoType = packet[1]!;
  const hdrLen = packet.readUInt16LE(2);
  const gsoSize = packet.readUInt16LE(4);
  const csumStart = packet.readUInt16LE(6);
  const csumOffset = packet.readUInt16LE(8);
  const len = packet.length - VNET_HDR_LEN;
  if ((flags & ~(VnetFlag.needsCsum | VnetFlag.dataValid)) !== 0) return { reason: 'badFlags' };
  // We asked for TUN_F_CSUM | TUN_F_TSO4 only: ECN-marked, IPv6 or UDP super-frames are not ours to take.
  if ((gsoType & VnetGso.ecn) !== 0) return { reason: 'ecn' };
  if (gsoType !== VnetGso.none && gsoType !== VnetGso.tcpv4) return { reason: 'badGsoType' };
  if (hdrLen > len) return { reason: 'badHdrLen' };
  const needsCsum = (flags & VnetFlag.needsCsum) !== 0;
  // Where the IP header says the transport header starts (0: not IPv4).
  const ipv4 = packet.readUInt16BE(VNET_HDR_LEN + 12) === EtherType.IPv4 && len >= ETH_HEADER_LEN + 20;
  const l4 = ipv4 ? ETH_HEADER_LEN + (packet[VNET_HDR_LEN + ETH_HEADER_LEN]! & 0x0f) * 4 : 0;
  const proto = ipv4 ? packet[VNET_HDR_LEN + ETH_HEADER_LEN + 9]! : -1;
  if (needsCsum) {
    if (!ipv4) return { reason: 'csumNotIpv4' };
    // The partial checksum must be the TCP or UDP one, right after the IP header, inside the frame.
    const want = proto === IpProto.TCP ? TCP_CSUM_OFFSET : proto === IpProto.UDP ? UDP_CSUM_OFFSET : -1;
    if (csumStart !== l4 || csumOffset !== want || csumStart + csumOffset + 2 > len) return { reason: 'badCsumStart' };
  }
  if (gsoType === VnetGso.tcpv4) {
    if (!ipv4 || proto !== IpProto.TCP) return { reason: 'gsoNotTcpv4' };
    // Linux's GSO needs the checksum to finish per segment: a super-frame always has NEEDS_CSUM.
    if (!needsCsum) return { reason: 'gsoWithoutCsum' };
    if (gsoSize < MIN_GSO_SIZE) return { reason: 'badGsoSize' };
  }
  if (!needsCsum && (flags & VnetFlag.dataValid) === 0 && gsoType === VnetGso.none) return undefined;
  return {
    csumStart: needsCsum ? csumStart : -1,
    csumOffset: needsCsum ? csumOffset : 0,
    csumValid: (flags & VnetFlag.dataValid) !== 0,
    gsoSize: gsoType === VnetGso.tcpv4 ? gsoSize : 0,
  };
}

/** True when `parseVnetHeader`'s answer is a rejection. */
export function isVnetRejection(r: Offload | undefined | VnetRejection): r is VnetRejection {
  return r !== undefined && 'reason' in r;
}

/**
 * Write the header for `frame` into `out` (10 bytes): zero for a plain frame; NEEDS_CSUM and
 * GSO_TCPV4 as `o` says, with hdr_len covering the Ethernet, IP and TCP headers.
 */
export function writeVnetHeader(out: Buffer, frame: Buffer, o: Offload | undefined): void {
  out.fill(0, 0, VNET_HDR_LEN);
  if (o === undefined) return;
  if (o.csumStart >= 0) {
    out[0] = VnetFlag.needsCsum;
    out.writeUInt16LE(o.csumStart, 6);
    out.writeUInt16LE(o.csumOffset, 8);
  }
  if (o.gsoSize > 0) {
    out[1] = VnetGso.tcpv4;
    out.writeUInt16LE(o.csumStart + ((frame[o.csumStart + 12]! >> 4) * 4), 2);
    out.writeUInt16LE(o.gsoSize, 4);
  }
}
