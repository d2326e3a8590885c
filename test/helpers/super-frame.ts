// A TCP/IPv4 super-frame as a stack with offloads hands it to the link: one Ethernet frame with
// a 64 KB-class payload and only the pseudo-header sum in the TCP checksum (NEEDS_CSUM), for the
// gso, vnet-header and stack tests.
import type { Offload } from '../../lib/link/link.js';
import { ETH_HEADER_LEN, EtherType, writeEthernetHeader } from '../../lib/wire/ethernet.js';
import { IPV4_HEADER_LEN, IpProto, writeIpv4Header } from '../../lib/wire/ipv4.js';
import { type Seq, seq } from '../../lib/wire/seq.js';
import { TCP_FLAGS, type TcpOptions, fillTcpPseudoChecksum, tcpOptionsLength, writeTcpHeader, writeTcpOptions } from '../../lib/wire/tcp.js';

export const SRC_MAC = Buffer.from('02000000000a', 'hex');
export const DST_MAC = Buffer.from('02000000000b', 'hex');

/** What to put in the frame (defaults: 10.0.0.1:40000 > 10.0.0.2:80, ACK|PSH, TS option). */
export interface SuperFrameInit {
  payload: Buffer;
  src?: number;
  dst?: number;
  srcPort?: number;
  dstPort?: number;
  seq?: Seq;
  ack?: Seq;
  flags?: number;
  id?: number;
  options?: TcpOptions;
}

/** The frame and its Offload (gsoSize as given; 0 for a plain partial-checksum frame). */
export function superFrame(init: SuperFrameInit, gsoSize: number): { frame: Buffer; offload: Offload } {
  const options = init.options ?? { ts: { val: 1000, ecr: 2000 } };
  const hl = 20 + tcpOptionsLength(options);
  const src = init.src ?? 0x0a000001;
  const dst = init.dst ?? 0x0a000002;
  const l4 = ETH_HEADER_LEN + IPV4_HEADER_LEN;
  const frame = Buffer.alloc(l4 + hl + init.payload.length);
  writeEthernetHeader(frame, 0, DST_MAC, SRC_MAC, EtherType.IPv4);
  writeIpv4Header(frame, ETH_HEADER_LEN, { totalLength: IPV4_HEADER_LEN + hl + init.payload.length, id: init.id ?? 0x1234, df: true, ttl: 64, protocol: IpProto.TCP, src, dst });
  const seg = frame.subarray(l4);
  const { ACK, PSH } = TCP_FLAGS;
  writeTcpHeader(seg, 0, { srcPort: init.srcPort ?? 40000, dstPort: init.dstPort ?? 80, seq: init.seq ?? seq(1000), ack: init.ack ?? seq(5000), flags: init.flags ?? ACK | PSH, window: 500 }, hl);
  writeTcpOptions(seg, 20, options);
  init.payload.copy(seg, hl);
  fillTcpPseudoChecksum(seg, src, dst);
  return { frame, offload: { csumStart: l4, csumOffset: 16, csumValid: false, gsoSize } };
}
