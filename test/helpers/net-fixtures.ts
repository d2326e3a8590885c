// Frames a scripted peer sends to a Stack, decoders for what the Stack sends back, and the
// bookkeeping assertion every stack test ends with ("every frame ends in one outcome").
import { FakeClock } from '../../lib/clock.js';
import { Counters } from '../../lib/counters.js';
import { SeededRng } from '../../lib/rng.js';
import { Stack, type StackOptions } from '../../lib/stack.js';
import { ArpOp, parseArp, writeArp, type ArpPacket } from '../../lib/wire/arp.js';
import { BROADCAST_MAC, EtherType, parseEthernet, writeEthernetHeader, type EthernetFrame } from '../../lib/wire/ethernet.js';
import { buildIcmp, echoRest, parseIcmp, type IcmpMessage } from '../../lib/wire/icmp.js';
import { parseIp, parseMac } from '../../lib/wire/ip-address.js';
import { IpProto, parseIpv4, writeIpv4Header, type Ipv4Packet } from '../../lib/wire/ipv4.js';
import { buildUdp, parseUdp, type UdpDatagram } from '../../lib/wire/udp.js';
import { FakeLink } from './fake-link.js';

export const STACK_MAC = parseMac('02:00:00:00:00:02');
export const STACK_IP = parseIp('10.0.0.2');
export const PEER_MAC = parseMac('02:00:00:00:00:01');
export const PEER_IP = parseIp('10.0.0.1');

/** An Ethernet frame. */
export function ethFrame(payload: Uint8Array, etherType: number = EtherType.IPv4, dst: Uint8Array = STACK_MAC, src: Uint8Array = PEER_MAC): Buffer {
  const f = Buffer.alloc(14 + payload.length);
  writeEthernetHeader(f, 0, dst, src, etherType);
  f.set(payload, 14);
  return f;
}

/** An ARP frame from the peer (default: who-has STACK_IP tell PEER_IP, broadcast). */
export function arpFrame(p: Partial<ArpPacket> = {}, ethDst: Uint8Array = BROADCAST_MAC, ethSrc: Uint8Array = p.senderMac ?? PEER_MAC): Buffer {
  const a = Buffer.alloc(28);
  writeArp(a, 0, { op: p.op ?? ArpOp.request, senderMac: p.senderMac ?? PEER_MAC, senderIp: p.senderIp ?? PEER_IP, targetMac: p.targetMac ?? Buffer.alloc(6), targetIp: p.targetIp ?? STACK_IP });
  return ethFrame(a, EtherType.ARP, ethDst, ethSrc);
}

/** Fields of an IPv4 packet the peer sends. */
export interface IpSpec {
  src?: number;
  dst?: number;
  protocol?: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  fragOffset?: number;
  ttl?: number;
  tos?: number;
}

/** An IPv4 packet (header + payload). */
export function ipPacket(payload: Uint8Array, s: IpSpec = {}): Buffer {
  const b = Buffer.alloc(20 + payload.length);
  writeIpv4Header(b, 0, {
    src: s.src ?? PEER_IP, dst: s.dst ?? STACK_IP, protocol: s.protocol ?? IpProto.ICMP, id: s.id ?? 0x1234,
    df: s.df ?? false, mf: s.mf ?? false, fragOffset: s.fragOffset ?? 0, ttl: s.ttl ?? 64, tos: s.tos ?? 0, totalLength: 20 + payload.length,
  });
  b.set(payload, 20);
  return b;
}

/** An IPv4 packet in an Ethernet frame to the stack. */
export function ipFrame(payload: Uint8Array, s: IpSpec = {}, ethDst: Uint8Array = STACK_MAC): Buffer {
  return ethFrame(ipPacket(payload, s), EtherType.IPv4, ethDst);
}

/** An ICMP echo request message. */
export function echoRequest(id: number, seq: number, data: Uint8Array): Buffer {
  return buildIcmp(8, 0, echoRest(id, seq), data);
}

/** A UDP datagram from the peer to the stack. */
export function udpTo(srcPort: number, dstPort: number, data: Uint8Array, src = PEER_IP, dst = STACK_IP): Buffer {
  return buildUdp(srcPort, dstPort, data, src, dst);
}

/** Split an IP payload into fragment frames of at most `chunk` data bytes (a multiple of 8). */
export function fragmentFrames(payload: Buffer, chunk: number, s: IpSpec = {}, ethDst: Uint8Array = STACK_MAC): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < payload.length; off += chunk) {
    const n = Math.min(chunk, payload.length - off);
    out.push(ipFrame(payload.subarray(off, off + n), { ...s, fragOffset: off, mf: off + n < payload.length }, ethDst));
  }
  return out;
}

/** Everything decodable in a frame the stack sent. */
export interface Decoded {
  eth: EthernetFrame;
  arp?: ArpPacket;
  ip?: Ipv4Packet;
  icmp?: IcmpMessage;
  udp?: UdpDatagram;
}

/** Decode a frame fully (verifying every checksum); fragments decode to `ip` only. */
export function decode(frame: Buffer): Decoded {
  const eth = parseEthernet(frame);
  if (eth.etherType === EtherType.ARP) return { eth, arp: parseArp(eth.payload) };
  const ip = parseIpv4(eth.payload);
  if (ip.mf || ip.fragOffset !== 0) return { eth, ip };
  if (ip.protocol === IpProto.ICMP) return { eth, ip, icmp: parseIcmp(ip.payload) };
  if (ip.protocol === IpProto.UDP) return { eth, ip, udp: parseUdp(ip.payload, ip.src, ip.dst) };
  return { eth, ip };
}

/**
 * A Stack on a FakeLink with a FakeClock and a seeded RNG; the start-up gratuitous ARPs are cleared.
 * `mac` is the link's (and so the stack's) MAC, default STACK_MAC; the captured Linux frames need
 * `LINUX_STACK_MAC` to be delivered rather than dropped as `eth.notForUs`.
 */
export function makeStack(opts: Partial<StackOptions> & { mtu?: number; mac?: Uint8Array } = {}): { stack: Stack; link: FakeLink; clock: FakeClock; counters: Counters } {
  const { mtu, mac, ...stackOpts } = opts;
  const link = new FakeLink(mac ?? STACK_MAC, mtu ?? 1500);
  const clock = new FakeClock(1000);
  const counters = new Counters();
  const stack = new Stack({ link, clock, rng: new SeededRng(1), ip: STACK_IP, prefix: 24, counters, arp: { gratuitousCount: 0 }, ...stackOpts });
  link.take();
  return { stack, link, clock, counters };
}

/** Teach the stack the peer's MAC (an ARP request from the peer, by default PEER_MAC's) and discard the reply. */
export function learnPeer(link: FakeLink, request: Buffer = arpFrame()): void {
  link.inject(request);
  link.take();
}

/** Every received frame ended in exactly one outcome counter. */
export function accounted(counters: Counters): { frames: number; outcomes: number } {
  return { frames: counters.get('eth.rx.frames'), outcomes: counters.sum('rx.handled.') + counters.sum('drop.') };
}

/** A UDP datagram in an IPv4 packet in an Ethernet frame (pseudo-header from `s.src`/`s.dst`). */
export function udpFrame(srcPort: number, dstPort: number, data: Uint8Array, s: IpSpec = {}, ethDst: Uint8Array = STACK_MAC): Buffer {
  return ipFrame(udpTo(srcPort, dstPort, data, s.src ?? PEER_IP, s.dst ?? STACK_IP), { ...s, protocol: 17 }, ethDst);
}
