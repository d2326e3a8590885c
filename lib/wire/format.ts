// One Wireshark-like line per frame (DESIGN.md "One line per packet"): used by the tracer, logs
// and test failures. Never throws: a malformed frame is named by its WireError reason.
// Checksums are reported (`[bad cksum]`), not enforced, so a trace shows what was on the wire.
import { internetChecksum, pseudoHeaderSum, sumWords, finishChecksum } from './checksum.js';
import { ipToString, macToString, readIp } from './ip-address.js';
import { ArpOp, parseArp } from './arp.js';
import { EtherType, parseEthernet } from './ethernet.js';
import { IpProto, parseIpv4, type Ipv4Packet } from './ipv4.js';
import { IcmpType } from './icmp.js';
import { formatTcpFlags, parseTcp, TCP_FLAGS, type TcpOptions, type TcpSegment } from './tcp.js';
import { WireError } from './wire-error.js';

/**
 * Formats the TCP part of a line: `src`/`dst` are addresses, `segment` the TCP header and data
 * (a view; possibly only the first fragment). The hook for teaching mode (relative sequence
 * numbers per connection need state, hence a function the caller owns); default `formatTcp`.
 */
export type TcpFormatter = (src: number, dst: number, segment: Buffer) => string;

/** Options of `formatFrame` / `formatIpPacket`. */
export interface FormatOptions {
  /** Replaces the default TCP summary (`formatTcp`). */
  tcp?: TcpFormatter;
}

/** One line describing an Ethernet frame. */
export function formatFrame(frame: Buffer, opts: FormatOptions = {}): string {
  try {
    const eth = parseEthernet(frame);
    switch (eth.etherType) {
      case EtherType.ARP:
        return formatArp(eth.payload);
      case EtherType.IPv4:
        return formatIpPacket(eth.payload, opts);
      case EtherType.IPv6:
        return `${macToString(eth.src)} > ${macToString(eth.dst)} IPv6 len=${eth.payload.length}`;
      default:
        return `${macToString(eth.src)} > ${macToString(eth.dst)} ethertype 0x${eth.etherType.toString(16).padStart(4, '0')} len=${eth.payload.length}`;
    }
  } catch (e) {
    return malformed(e, frame.length);
  }
}

/** One line describing an ARP packet. */
export function formatArp(buf: Buffer): string {
  try {
    const a = parseArp(buf);
    if (a.op === ArpOp.request) {
      const tag = a.senderIp === a.targetIp ? ' (gratuitous)' : a.senderIp === 0 ? ' (probe)' : '';
      return `ARP who-has ${ipToString(a.targetIp)} tell ${ipToString(a.senderIp)}${tag}`;
    }
    return `ARP ${ipToString(a.senderIp)} is-at ${macToString(a.senderMac)}`;
  } catch (e) {
    return malformed(e, buf.length);
  }
}

/** One line describing an IPv4 packet (transport summary, then fragment information). */
export function formatIpPacket(buf: Buffer, opts: FormatOptions = {}): string {
  let ip: Ipv4Packet;
  try {
    ip = parseIpv4(buf);
  } catch (e) {
    return malformed(e, buf.length);
  }
  const src = ipToString(ip.src);
  const dst = ipToString(ip.dst);
  const isFragment = ip.mf || ip.fragOffset !== 0;
  const frag = isFragment ? ` frag id=${ip.id} off=${ip.fragOffset}${ip.mf ? ' MF' : ''}` : '';
  if (ip.fragOffset !== 0) return `${src} > ${dst} ${protoName(ip.protocol)} len=${ip.payload.length}${frag}`;
  let body: string;
  try {
    switch (ip.protocol) {
      case IpProto.ICMP:
        body = `${src} > ${dst} ${formatIcmp(ip.payload, !isFragment)}`;
        break;
      case IpProto.UDP:
        body = formatUdp(ip, !isFragment);
        break;
      case IpProto.TCP:
        body = opts.tcp !== undefined ? opts.tcp(ip.src, ip.dst, ip.payload) : formatTcp(ip.src, ip.dst, ip.payload, !isFragment);
        break;
      default:
        body = `${src} > ${dst} ${protoName(ip.protocol)} len=${ip.payload.length}`;
    }
  } catch (e) {
    body = `${src} > ${dst} ${protoName(ip.protocol)} ${malformed(e, ip.payload.length)}`;
  }
  return body + frag;
}

function protoName(p: number): string {
  return p === IpProto.ICMP ? 'ICMP' : p === IpProto.UDP ? 'UDP' : p === IpProto.TCP ? 'TCP' : `proto ${p}`;
}

function malformed(e: unknown, len: number): string {
  return `malformed ${e instanceof WireError ? e.reason : String(e)} len=${len}`;
}

const UNREACH_NAMES = ['net', 'host', 'protocol', 'port', 'frag needed', 'source route failed'];

function formatIcmp(b: Buffer, verify: boolean): string {
  if (b.length < 8) throw new WireError('icmp.truncated');
  const bad = verify && internetChecksum(b) !== 0 ? ' [bad cksum]' : '';
  const type = b[0]!;
  const code = b[1]!;
  const len = b.length - 8;
  switch (type) {
    case IcmpType.echoRequest:
    case IcmpType.echoReply:
      return `ICMP echo ${type === 8 ? 'request' : 'reply'} id=${b.readUInt16BE(4)} seq=${b.readUInt16BE(6)} len=${len}${bad}`;
    case IcmpType.destUnreachable: {
      const what = code === 4 ? `frag needed mtu=${b.readUInt16BE(6)}` : `${UNREACH_NAMES[code] ?? `code ${code}`} unreachable`;
      return `ICMP ${what}${quoted(b.subarray(8))}${bad}`;
    }
    case IcmpType.timeExceeded:
      return `ICMP time exceeded ${code === 1 ? 'in reassembly' : code === 0 ? 'in transit' : `code ${code}`}${quoted(b.subarray(8))}${bad}`;
    default:
      return `ICMP type ${type} code ${code} len=${len}${bad}`;
  }
}

/** " (about 10.0.0.2:9 > 10.0.0.1:5000 UDP)": the packet an ICMP error quotes, best effort. */
function quoted(q: Buffer): string {
  if (q.length < 20 || q[0]! >> 4 !== 4) return '';
  const hl = (q[0]! & 15) * 4;
  const p = q[9]!;
  const s = ipToString(readIp(q, 12));
  const d = ipToString(readIp(q, 16));
  if ((p === IpProto.UDP || p === IpProto.TCP) && q.length >= hl + 4) {
    return ` (about ${s}:${q.readUInt16BE(hl)} > ${d}:${q.readUInt16BE(hl + 2)} ${protoName(p)})`;
  }
  return ` (about ${s} > ${d} ${protoName(p)})`;
}

function formatUdp(ip: Ipv4Packet, verify: boolean): string {
  const b = ip.payload;
  if (b.length < 8) throw new WireError('udp.truncated');
  const length = b.readUInt16BE(4);
  const cks = b.readUInt16BE(6);
  let bad = '';
  if (verify) {
    if (length < 8 || length > b.length) throw new WireError('udp.badLength');
    if (cks !== 0 && finishChecksum(sumWords(b, 0, length, pseudoHeaderSum(ip.src, ip.dst, IpProto.UDP, length))) !== 0) bad = ' [bad cksum]';
  }
  return `${ipToString(ip.src)}:${b.readUInt16BE(0)} > ${ipToString(ip.dst)}:${b.readUInt16BE(2)} UDP len=${length - 8}${bad}`;
}

/**
 * The default TCP summary, built on lib/wire/tcp.ts: absolute sequence numbers (relative ones
 * need per-connection state: pass `opts.tcp`), options spelt out as Wireshark does.
 */
export function formatTcp(src: number, dst: number, b: Buffer, verify = true): string {
  let seg: TcpSegment;
  let bad = '';
  try {
    seg = parseTcp(b, src, dst, verify);
  } catch (e) {
    if (!(e instanceof WireError) || e.reason !== 'tcp.badChecksum') throw e;
    seg = parseTcp(b, src, dst, false);
    bad = ' [bad cksum]';
  }
  const ack = (seg.flags & TCP_FLAGS.ACK) !== 0 ? ` Ack=${seg.ack}` : '';
  return `${ipToString(src)}:${seg.srcPort} > ${ipToString(dst)}:${seg.dstPort} [${formatTcpFlags(seg.flags)}] Seq=${seg.seq}${ack} Win=${seg.window} Len=${seg.payload.length}${formatTcpOptions(seg.options)}${bad}`;
}

/** " MSS=1460 SACK_PERM TSval=1 TSecr=0 WS=128 SLE=.. SRE=..": options in Wireshark's words. */
export function formatTcpOptions(o: TcpOptions): string {
  let s = '';
  if (o.mss !== undefined) s += ` MSS=${o.mss}`;
  if (o.sackPermitted) s += ' SACK_PERM';
  if (o.ts !== undefined) s += ` TSval=${o.ts.val} TSecr=${o.ts.ecr}`;
  if (o.wscale !== undefined) s += ` WS=${2 ** Math.min(o.wscale, 14)}`;
  for (const blk of o.sack ?? []) s += ` SLE=${blk.left} SRE=${blk.right}`;
  return s;
}
