// The stack: one Link, one IPv4 address, and the layers above it (ARP, IPv4 with reassembly and
// fragmentation, ICMP, UDP; TCP plugs in with `registerProtocol(6, ...)`). It owns the Clock,
// the RNG and the counters, and has ONE ingress catch: every received frame ends in exactly one
// outcome counter, `rx.handled.<what>` or `drop.<reason>` (so `eth.rx.frames` equals the sum of
// both families), and nothing thrown while handling a frame escapes.
// It does not forward: only datagrams for our address (and UDP broadcasts) are delivered.
import createDebug from 'debug';
import type { Clock, TimerHandle } from './clock.js';
import { Counters } from './counters.js';
import { wireFrames } from './link/gso.js';
import type { Link, Offload } from './link/link.js';
import type { Rng } from './rng.js';
import { Arp, type ArpOptions } from './net/arp.js';
import { Icmp, type IcmpOptions, type OffendingPacket } from './net/icmp.js';
import { IpIdGenerator } from './net/ip-id.js';
import { FRAME_HEADROOM, ipv4FrameInPlace, ipv4Frames } from './net/ipv4-output.js';
import type { IpHandler, NetHost, SendOptions } from './net/net-host.js';
import { Reassembler, type ReassemblyOptions } from './net/reassembly.js';
import { Udp } from './net/udp.js';
import { parseArp } from './wire/arp.js';
import { BROADCAST_MAC, EtherType, isBroadcastMac, macEquals, parseEthernet } from './wire/ethernet.js';
import { formatFrame } from './wire/format.js';
import { IcmpType, TimeExceededCode, UnreachCode } from './wire/icmp.js';
import { ipToString, parseIp, prefixMask } from './wire/ip-address.js';
import { IPV4_HEADER_LEN, IPV4_MAX_DATAGRAM, IpProto, isMulticastOrReserved, parseIpv4 } from './wire/ipv4.js';
import { WireError } from './wire/wire-error.js';

export type { IpHandler, SendOptions } from './net/net-host.js';
export type { UdpMessageHandler, UdpRemoteInfo, UdpSocket } from './net/udp.js';

/** A TCP segment whose checksum (16 bytes into the TCP header, after our 20-byte IP header) the link completes. */
const PARTIAL_TCP_CSUM: Offload = { csumStart: FRAME_HEADROOM, csumOffset: 16, csumValid: false, gsoSize: 0 };

const logDrop = createDebug('tapstack:drop');
const logIp = createDebug('tapstack:ip');

/** How to build a Stack. */
export interface StackOptions {
  link: Link;
  clock: Clock;
  rng: Rng;
  /** Our IPv4 address (number or dotted quad). */
  ip: number | string;
  /** Prefix length of our subnet (on-link destinations are resolved directly by ARP). */
  prefix: number;
  /** Next hop for off-link destinations; without one they are dropped (`ip.tx.noRoute`). */
  gateway?: number | string;
  /** Emulated path MTU (default and maximum: the link MTU). */
  pathMtu?: number;
  counters?: Counters;
  /** TTL of the datagrams we send (default 64). */
  ttl?: number;
  arp?: Partial<ArpOptions>;
  reassembly?: Partial<ReassemblyOptions>;
  icmp?: Partial<IcmpOptions>;
}

/** A user-space IPv4 host on one Link. */
export class Stack implements NetHost {
  readonly link: Link;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly counters: Counters;
  /** Our address. */
  readonly ip: number;
  readonly prefix: number;
  /** Our subnet mask and directed broadcast address. */
  readonly mask: number;
  readonly broadcast: number;
  readonly gateway: number | undefined;
  /** Our MAC (the link's). */
  readonly mac: Buffer;
  /** The link MTU (largest IP datagram in one frame). */
  readonly mtu: number;
  /** The emulated path MTU: DF datagrams larger than this get "frag needed"; our output fragments to it. */
  readonly pathMtu: number;
  readonly arp: Arp;
  readonly icmp: Icmp;
  readonly udp: Udp;
  readonly reassembly: Reassembler;
  /** The link takes TCP super-frames and partial checksums (Link.offload). */
  readonly offload: boolean;
  readonly #ttl: number;
  readonly #handlers = new Map<number, { handler: IpHandler; outcome: string }>();
  readonly #ipIds: IpIdGenerator;
  #closed = false;
  #loopQueue: Buffer[] = [];
  #loopTimer: TimerHandle | undefined;
  /** True while looped-back frames are being input (our own address is then a valid source). */
  #fromSelf = false;

  constructor(o: StackOptions) {
    this.link = o.link;
    this.clock = o.clock;
    this.rng = o.rng;
    this.counters = o.counters ?? new Counters();
    this.ip = typeof o.ip === 'string' ? parseIp(o.ip) : o.ip >>> 0;
    if (!Number.isInteger(o.prefix) || o.prefix < 0 || o.prefix > 32) throw new RangeError(`bad prefix length ${o.prefix}`);
    this.prefix = o.prefix;
    this.mask = prefixMask(o.prefix);
    this.broadcast = ((this.ip & this.mask) | ~this.mask) >>> 0;
    this.gateway = o.gateway === undefined ? undefined : typeof o.gateway === 'string' ? parseIp(o.gateway) : o.gateway >>> 0;
    this.mac = Buffer.from(o.link.mac);
    this.mtu = o.link.mtu;
    const pmtu = o.pathMtu ?? this.mtu;
    if (!Number.isInteger(pmtu) || pmtu < 68) throw new RangeError(`path MTU ${pmtu} is below IPv4's minimum of 68`);
    this.pathMtu = Math.min(pmtu, this.mtu);
    this.#ttl = o.ttl ?? 64;
    this.offload = o.link.offload === true;
    this.#ipIds = new IpIdGenerator(this.rng.bytes(16));
    this.arp = new Arp({ clock: this.clock, counters: this.counters, mac: this.mac, ip: this.ip, prefix: this.prefix, transmit: (f, o, r) => this.#transmit(f, o, r) }, o.arp);
    this.icmp = new Icmp(this, (p) => this.#handlers.get(p)?.handler, o.icmp);
    this.udp = new Udp(this, this.rng, this.icmp);
    this.reassembly = new Reassembler(this.clock, this.counters, (src, dst, quote) => this.#reassemblyTimeout(src, dst, quote), o.reassembly);
    this.link.onFrame((frame, offload) => this.input(frame, offload), { start: () => this.#batchEdge(true), end: () => this.#batchEdge(false) });
    this.arp.announce();
  }

  /** Plug a transport protocol in (TCP: 6). ICMP and UDP belong to the stack. */
  registerProtocol(protocol: number, handler: IpHandler): void {
    if (protocol === IpProto.ICMP || protocol === IpProto.UDP) throw new Error(`IP protocol ${protocol} is handled by the stack itself`);
    if (this.#handlers.has(protocol)) throw new Error(`IP protocol ${protocol} is already registered`);
    this.#handlers.set(protocol, { handler, outcome: protocol === IpProto.TCP ? 'rx.handled.tcp' : `rx.handled.proto.${protocol}` });
  }

  /**
   * Send `payload` as one IP datagram to `dst` (ARP resolution, queueing and fragmentation are
   * handled here; `payload` is copied before return). Returns false when dropped and counted
   * (no route; larger than the path MTU with `df`).
   */
  sendIp(dst: number, protocol: number, payload: Uint8Array, opts?: SendOptions): boolean {
    return this.output(dst, protocol, payload, undefined, opts);
  }

  /** A transport saw forward progress from `ip`: the neighbour it came through is reachable. */
  confirmNeighbour(ip: number): void {
    this.arp.confirm((ip & this.mask) === (this.ip & this.mask) || this.gateway === undefined ? ip : this.gateway);
  }

  /** True for the limited broadcast, our directed broadcast, multicast and class E. */
  isBroadcast(ip: number): boolean {
    return ip === this.broadcast || isMulticastOrReserved(ip);
  }

  /** NetHost.output: `head` then `body` as the payload of one datagram. */
  output(dst: number, protocol: number, head: Uint8Array, body: Uint8Array | undefined, opts: SendOptions = {}): boolean {
    if (this.#closed) return false;
    const rest = opts.rest;
    let restLength = 0;
    if (rest !== undefined) for (const r of rest) restLength += r.length;
    const len = IPV4_HEADER_LEN + head.length + (body?.length ?? 0) + restLength;
    if (len > IPV4_MAX_DATAGRAM) throw new RangeError(`datagram of ${len} bytes exceeds 65535`);
    const c = this.counters;
    const df = opts.df ?? false;
    const mtu = this.pathMtu;
    // A super-segment is cut by the link into segments that fit (TCP chose gsoSize from the path MTU).
    const gso = opts.partialCsum === true && (opts.gsoSize ?? 0) > 0;
    if (len > mtu && df && !gso) {
      c.inc('ip.tx.tooBigDf');
      return false;
    }
    dst >>>= 0;
    if (dst === this.ip) return this.#loopback(protocol, rest === undefined ? head : Buffer.concat([head, ...rest]), body, opts, df);
    const bcast = dst === 0xffffffff || dst === this.broadcast;
    let nextHop = dst;
    if (!bcast && (dst & this.mask) !== (this.ip & this.mask)) {
      if (this.gateway === undefined) {
        c.inc('ip.tx.noRoute');
        return false;
      }
      nextHop = this.gateway;
    }
    // The link cuts a super-segment into ceil(payload / gsoSize) datagrams with consecutive IDs
    // (the kernel's TCPv4 GSO), so the destination's counter moves on by that many.
    const ids = gso ? Math.ceil((len - IPV4_HEADER_LEN - (head[12]! >> 4) * 4) / opts.gsoSize!) : 1;
    const fields = { src: this.ip, dst, protocol, id: this.#ipIds.next(dst, protocol, ids), ttl: opts.ttl ?? this.#ttl, tos: opts.tos ?? 0, df };
    c.inc('ip.tx.datagrams');
    if (body === undefined && opts.headroom === true && (len <= mtu || gso) && !bcast) {
      // The segment was built with room for our headers in front: no copy, one frame.
      const frame = ipv4FrameInPlace(this.mac, fields, head, undefined, len - IPV4_HEADER_LEN);
      this.arp.send(nextHop, frame, opts.partialCsum === true ? this.#txOffload(opts.gsoSize ?? 0) : undefined, rest);
      return true;
    }
    const frames = ipv4Frames(this.mac, fields, head, rest === undefined ? body : Buffer.concat(rest), gso ? IPV4_MAX_DATAGRAM : mtu, bcast ? BROADCAST_MAC : undefined);
    if (frames.length > 1) c.inc('ip.tx.fragments', frames.length);
    const offload = opts.partialCsum === true && frames.length === 1 ? this.#txOffload(opts.gsoSize ?? 0) : undefined;
    for (const f of frames) {
      if (bcast) this.#transmit(f, offload);
      else this.arp.send(nextHop, f, offload);
    }
    return true;
  }

  /** The Offload of a TCP datagram with a partial checksum right after our IP header. */
  #txOffload(gsoSize: number): Offload {
    return gsoSize === 0 ? PARTIAL_TCP_CSUM : { ...PARTIAL_TCP_CSUM, gsoSize };
  }

  /**
   * Handle one received frame (the link's onFrame; `offload` as the link reported it, already
   * checked). Never throws; always counts one outcome.
   */
  input(frame: Buffer, offload?: Offload): void {
    this.counters.inc('eth.rx.frames');
    let outcome: string;
    try {
      outcome = this.#closed ? 'drop.closed' : this.#ethernetInput(frame, offload);
    } catch (e) {
      if (e instanceof WireError) {
        outcome = 'drop.' + e.reason;
      } else {
        outcome = 'drop.internal';
        logDrop('internal error handling %s: %O', safeFormat(frame), e);
      }
    }
    this.counters.inc(outcome);
    if (outcome.charCodeAt(0) === 100 /* 'd' */ && logDrop.enabled) logDrop('%s: %s', outcome.slice(5), safeFormat(frame));
  }

  /** A read batch of the link starts or ends: the transports that hold work for a batch are told. */
  #batchEdge(start: boolean): void {
    // Like `input`, never throws into the link's read loop.
    try {
      for (const h of this.#handlers.values()) {
        if (start) h.handler.batchStart?.();
        else h.handler.batchEnd?.();
      }
    } catch (e) {
      this.counters.inc('drop.internal');
      logDrop('internal error at a read batch edge: %O', e);
    }
  }

  /** Stop: cancel every timer, close sockets, close the link. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#loopTimer !== undefined) this.clock.clearTimer(this.#loopTimer);
    this.#loopQueue = [];
    this.arp.close();
    this.reassembly.close();
    this.udp.close();
    await this.link.close();
  }

  /**
   * A datagram to ourselves never touches the link: its frames are fed back to `input` from a
   * timer at the current time (never re-entrantly from inside the sender's call).
   */
  #loopback(protocol: number, head: Uint8Array, body: Uint8Array | undefined, opts: SendOptions, df: boolean): boolean {
    const fields = { src: this.ip, dst: this.ip, protocol, id: this.#ipIds.next(this.ip, protocol), ttl: opts.ttl ?? this.#ttl, tos: opts.tos ?? 0, df };
    this.counters.inc('ip.tx.loopback');
    const gso = opts.partialCsum === true && (opts.gsoSize ?? 0) > 0;
    for (const f of ipv4Frames(this.mac, fields, head, body, gso ? IPV4_MAX_DATAGRAM : this.pathMtu, this.mac)) {
      // No link completes our checksums on this path: the wire frames, checksummed.
      if (opts.partialCsum === true) for (const w of wireFrames(f, this.#txOffload(opts.gsoSize ?? 0))) this.#loopQueue.push(w);
      else this.#loopQueue.push(f);
    }
    if (this.#loopTimer === undefined) {
      this.#loopTimer = this.clock.setTimer(this.clock.now(), () => {
        this.#loopTimer = undefined;
        const q = this.#loopQueue;
        this.#loopQueue = [];
        this.#fromSelf = true;
        try {
          for (const f of q) this.input(f);
        } finally {
          this.#fromSelf = false;
        }
      });
    }
    return true;
  }

  #transmit(frame: Buffer, offload?: Offload, rest?: readonly Buffer[]): void {
    if (this.#closed) return;
    if (!this.offload && (offload !== undefined || rest !== undefined)) {
      // A link without offloads gets what a wire carries: cut and checksummed here.
      for (const f of wireFrames(frame, offload, rest)) this.#transmit(f);
      return;
    }
    this.counters.inc('eth.tx.frames');
    this.link.send(frame, offload, rest);
  }

  #ethernetInput(frame: Buffer, offload: Offload | undefined): string {
    const eth = parseEthernet(frame);
    const linkBroadcast = isBroadcastMac(eth.dst);
    if (!linkBroadcast && !macEquals(eth.dst, this.mac)) return 'drop.eth.notForUs';
    switch (eth.etherType) {
      case EtherType.ARP:
        return this.arp.input(parseArp(eth.payload));
      case EtherType.IPv4:
        return this.#ipInput(eth.payload, linkBroadcast, offload);
      default:
        return 'drop.eth.unsupportedType';
    }
  }

  #ipInput(buf: Buffer, linkBroadcast: boolean, offload: Offload | undefined): string {
    const ip = parseIpv4(buf);
    // RFC 1122 §3.2.1.3: a broadcast, multicast or loopback source is discarded; ours is a loop or a spoof.
    if (this.isBroadcast(ip.src) || ip.src >>> 24 === 127 || (ip.src === this.ip && !this.#fromSelf)) return 'drop.ip.badSource';
    // 0.0.0.0 is only a source for hosts that do not know their address yet (RFC 1122 §3.2.1.3 (a)): UDP only.
    if (ip.src === 0 && ip.protocol !== IpProto.UDP) return 'drop.ip.badSource';
    // Local delivery only (we do not forward); broadcasts are accepted for UDP alone.
    if (ip.dst !== this.ip && !((ip.dst === 0xffffffff || ip.dst === this.broadcast) && ip.protocol === IpProto.UDP)) return 'drop.ip.notForUs';
    // Emulated narrower path (RFC 1191): a router with next-hop MTU `pathMtu` could not forward
    // this. A merged super-frame stands for segments of gsoSize payload bytes: those are the packets.
    const wireLength = offload !== undefined && offload.gsoSize > 0 && ip.protocol === IpProto.TCP && ip.payload.length >= 20 ? ip.header.length + (ip.payload[12]! >> 4) * 4 + offload.gsoSize : ip.totalLength;
    if (ip.df && Math.min(wireLength, ip.totalLength) > this.pathMtu) {
      this.icmp.sendError(IcmpType.destUnreachable, UnreachCode.fragNeeded, this.pathMtu, ip, linkBroadcast);
      return 'drop.ip.exceedsPathMtu';
    }
    // DATA_VALID (the kernel checked it) or NEEDS_CSUM (the kernel's own, not yet summed): the
    // transport checksum is not ours to verify. Only for whole datagrams: a fragment has none.
    if (!ip.mf && ip.fragOffset === 0) return this.#deliver(ip, ip.tos, linkBroadcast, offload !== undefined);
    const r = this.reassembly.add(ip);
    if (typeof r === 'string') return r;
    if (logIp.enabled) logIp('reassembled %d bytes from %s', r.payload.length, ipToString(r.src));
    return this.#deliver(r, ip.tos, linkBroadcast);
  }

  #deliver(p: OffendingPacket, tos: number, linkBroadcast: boolean, csumTrusted = false): string {
    switch (p.protocol) {
      case IpProto.ICMP:
        return this.icmp.input(p.src, tos, p.payload);
      case IpProto.UDP:
        return this.udp.input(p, linkBroadcast, csumTrusted);
    }
    const h = this.#handlers.get(p.protocol);
    if (h !== undefined) {
      h.handler.receive(p.src, p.dst, p.payload, csumTrusted);
      return h.outcome;
    }
    // RFC 1122 §3.2.2.1: protocol unreachable for a transport we do not speak.
    this.icmp.sendError(IcmpType.destUnreachable, UnreachCode.protocol, 0, p, linkBroadcast);
    return 'drop.ip.unknownProtocol';
  }

  #reassemblyTimeout(src: number, dst: number, quote: Buffer | undefined): void {
    if (quote === undefined || this.#closed) return;
    const hl = (quote[0]! & 0x0f) * 4;
    const orig = { src, dst, protocol: quote[9]!, fragOffset: 0, header: quote.subarray(0, hl), payload: quote.subarray(hl) };
    this.icmp.sendError(IcmpType.timeExceeded, TimeExceededCode.reassembly, 0, orig, false);
  }
}

function safeFormat(frame: Buffer): string {
  try {
    return formatFrame(frame);
  } catch {
    return `(unformattable, ${frame.length} bytes)`;
  }
}
