// The remote end of a packetdrill run: the far side of the memory wire. It answers the stack's ARP
// requests, puts the script's injected TCP segments and ICMP errors on the wire as whole Ethernet
// frames (so they reach TCP through tapstack's own IPv4 and ICMP), and captures every TCP segment
// the stack sends, stamped with the fake time it left.
import type { Clock } from '../clock.js';
import type { Link } from '../link/link.js';
import { ArpOp, parseArp } from '../wire/arp.js';
import { buildArpFrame } from '../net/arp.js';
import { ETH_HEADER_LEN, EtherType, parseEthernet, writeEthernetHeader } from '../wire/ethernet.js';
import { buildIcmp, IcmpType } from '../wire/icmp.js';
import { IPV4_HEADER_LEN, IpProto, parseIpv4, writeIpv4Header } from '../wire/ipv4.js';
import { type TcpSegment, type TcpSegmentInit, parseTcp, serializeTcp } from '../wire/tcp.js';

/** One segment tapstack sent, as the peer received it. */
export interface Captured {
  /** Fake time it left, ms. */
  at: number;
  seg: TcpSegment;
  /** The IP payload (the TCP segment's bytes), for ICMP quotes and the report. */
  bytes: Buffer;
}

/** The scripted remote host on one end of the wire. */
export class WirePeer {
  /** Segments sent by the stack, not yet claimed by a `>` line. */
  readonly captured: Captured[] = [];
  /** Frames from the stack that were neither ARP nor TCP (ICMP errors, ...), counted. */
  otherFrames = 0;
  #ipId = 1;

  constructor(
    readonly link: Link,
    readonly clock: Clock,
    readonly ip: number,
    readonly stackIp: number,
    readonly stackMac: Buffer,
  ) {
    link.onFrame((f) => this.#receive(f));
  }

  #receive(frame: Buffer): void {
    const eth = parseEthernet(frame);
    if (eth.etherType === EtherType.ARP) {
      const a = parseArp(eth.payload);
      if (a.op === ArpOp.request && a.targetIp === this.ip) this.link.send(buildArpFrame(ArpOp.reply, this.link.mac, this.ip, a.senderMac, a.senderIp, a.senderMac));
      return;
    }
    if (eth.etherType !== EtherType.IPv4) return void this.otherFrames++;
    const ip = parseIpv4(eth.payload);
    if (ip.protocol !== IpProto.TCP) return void this.otherFrames++;
    const bytes = Buffer.from(ip.payload);
    this.captured.push({ at: this.clock.now(), seg: parseTcp(bytes, ip.src, ip.dst), bytes });
  }

  /** Put one TCP segment from the peer to the stack on the wire. */
  sendTcp(s: TcpSegmentInit): void {
    this.#sendIp(IpProto.TCP, serializeTcp(s, this.ip, this.stackIp));
  }

  /**
   * An ICMP destination unreachable (RFC 792) quoting the IP header and the first 8 bytes of
   * `quotedTcp` as if a router on the path (here: the peer) got it from the stack.
   */
  sendIcmpUnreachable(code: number, nextHopMtu: number, quotedTcp: Buffer): void {
    const quote = Buffer.alloc(IPV4_HEADER_LEN + 8);
    writeIpv4Header(quote, 0, { totalLength: IPV4_HEADER_LEN + quotedTcp.length, id: 0, df: true, ttl: 64, protocol: IpProto.TCP, src: this.stackIp, dst: this.ip });
    quotedTcp.copy(quote, IPV4_HEADER_LEN, 0, 8);
    // RFC 1191 §4: frag-needed carries the next-hop MTU in the low 16 bits of the "unused" word.
    this.#sendIp(IpProto.ICMP, buildIcmp(IcmpType.destUnreachable, code, nextHopMtu & 0xffff, quote));
  }

  #sendIp(protocol: number, payload: Buffer): void {
    const f = Buffer.allocUnsafe(ETH_HEADER_LEN + IPV4_HEADER_LEN + payload.length);
    writeEthernetHeader(f, 0, this.stackMac, this.link.mac, EtherType.IPv4);
    writeIpv4Header(f, ETH_HEADER_LEN, { totalLength: IPV4_HEADER_LEN + payload.length, id: this.#ipId++, df: true, ttl: 64, protocol, src: this.ip, dst: this.stackIp });
    payload.copy(f, ETH_HEADER_LEN + IPV4_HEADER_LEN);
    this.link.send(f);
  }
}
