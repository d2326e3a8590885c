// ICMP (RFC 792, RFC 1122 §3.2.2, RFC 1812 §4.3.2): echo replies of any size, errors we send
// (destination unreachable, frag needed with RFC 1191 next-hop MTU, reassembly time exceeded)
// under the "never an error about..." rules and a token-bucket rate limit, and errors we receive
// about datagrams we sent, handed to the protocol that sent them.
import createDebug from 'debug';
import { finishChecksum, sumWords } from '../wire/checksum.js';
import { ipToString, readIp } from '../wire/ip-address.js';
import { ICMP_HEADER_LEN, IcmpType, isIcmpError, parseIcmp, UnreachCode } from '../wire/icmp.js';
import { IPV4_HEADER_LEN, IpProto } from '../wire/ipv4.js';
import type { IpHandler, NetHost } from './net-host.js';
import { TokenBucket } from './token-bucket.js';

const log = createDebug('tapstack:icmp');

/** RFC 1812 §4.3.2.3: an error quotes as much of the datagram as fits in 576 bytes. */
export const ICMP_ERROR_MAX = 576;
const QUOTE_MAX = ICMP_ERROR_MAX - IPV4_HEADER_LEN - ICMP_HEADER_LEN;

/** RFC 1191 §7 plateau table, for frag-needed messages from routers that send no MTU. */
const PLATEAUS = [32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

/** Tunables of the ICMP layer. */
export interface IcmpOptions {
  /** Errors that may be sent back to back. */
  errorBurst: number;
  /** Sustained error rate. */
  errorsPerSecond: number;
}

/** Defaults: burst 10, 100 errors/s. */
export const DEFAULT_ICMP_OPTIONS: IcmpOptions = { errorBurst: 10, errorsPerSecond: 100 };

/** The datagram an error is about, as received. */
export interface OffendingPacket {
  src: number;
  dst: number;
  protocol: number;
  fragOffset: number;
  /** Its IP header (with options). */
  header: Buffer;
  /** Its payload (or the first fragment's data). */
  payload: Buffer;
}

/** The ICMP engine. */
export class Icmp {
  readonly #host: NetHost;
  readonly #bucket: TokenBucket;
  readonly #handler: (protocol: number) => IpHandler | undefined;

  constructor(host: NetHost, handler: (protocol: number) => IpHandler | undefined, opts: Partial<IcmpOptions> = {}) {
    const o = { ...DEFAULT_ICMP_OPTIONS, ...opts };
    this.#host = host;
    this.#handler = handler;
    this.#bucket = new TokenBucket(o.errorBurst, o.errorsPerSecond, host.clock.now());
  }

  /** Handle an ICMP message addressed to us; returns the outcome counter. */
  input(src: number, tos: number, payload: Buffer): string {
    const m = parseIcmp(payload);
    const c = this.#host.counters;
    switch (m.type) {
      case IcmpType.echoRequest: {
        // RFC 792: the reply carries the request's identifier, sequence number and data. It is
        // sent with DF clear so a large reply can be fragmented.
        const head = Buffer.allocUnsafe(ICMP_HEADER_LEN);
        head[0] = IcmpType.echoReply;
        head[1] = 0;
        head.writeUInt16BE(0, 2);
        head.writeUInt32BE(m.rest, 4);
        head.writeUInt16BE(finishChecksum(sumWords(head, 0, ICMP_HEADER_LEN, sumWords(m.body, 0, m.body.length))), 2);
        c.inc('icmp.tx.echoReply');
        this.#host.output(src, IpProto.ICMP, head, m.body, { df: false, tos });
        return 'rx.handled.icmp.echoRequest';
      }
      case IcmpType.echoReply:
        return 'rx.handled.icmp.echoReply';
      case IcmpType.destUnreachable:
      case IcmpType.timeExceeded:
      case IcmpType.parameterProblem:
        return this.#errorInput(m.type, m.code, m.nextHopMtu, m.body);
      default:
        return 'drop.icmp.unsupportedType';
    }
  }

  /**
   * Send an ICMP error about `orig` to its source, unless RFC 1122 §3.2.2 / RFC 1812 §4.3.2.7
   * forbid it or the rate limit says no. `linkBroadcast`: it came in a link-layer broadcast
   * frame. Returns true when sent.
   */
  sendError(type: number, code: number, rest: number, orig: OffendingPacket, linkBroadcast: boolean): boolean {
    const c = this.#host.counters;
    const h = this.#host;
    if (orig.fragOffset !== 0) {
      c.inc('icmp.tx.suppressed.fragment');
      return false;
    }
    if (orig.src === 0 || h.isBroadcast(orig.src) || orig.src >>> 24 === 127) {
      c.inc('icmp.tx.suppressed.badSource');
      return false;
    }
    if (linkBroadcast || h.isBroadcast(orig.dst)) {
      c.inc('icmp.tx.suppressed.broadcast');
      return false;
    }
    if (orig.protocol === IpProto.ICMP) {
      // Never about an ICMP error (or a message we cannot tell is not one).
      const t = orig.payload.length > 0 ? orig.payload[0]! : 255;
      if (isIcmpError(t) || t > 18) {
        c.inc('icmp.tx.suppressed.aboutError');
        return false;
      }
    }
    if (!this.#bucket.take(h.clock.now())) {
      c.inc('icmp.tx.rateLimited');
      return false;
    }
    const qlen = Math.min(orig.header.length + orig.payload.length, QUOTE_MAX);
    const msg = Buffer.allocUnsafe(ICMP_HEADER_LEN + qlen);
    msg[0] = type;
    msg[1] = code;
    msg.writeUInt16BE(0, 2);
    msg.writeUInt32BE(rest >>> 0, 4);
    const hl = Math.min(orig.header.length, qlen);
    orig.header.copy(msg, ICMP_HEADER_LEN, 0, hl);
    orig.payload.copy(msg, ICMP_HEADER_LEN + hl, 0, qlen - hl);
    msg.writeUInt16BE(finishChecksum(sumWords(msg, 0, msg.length)), 2);
    c.inc(`icmp.tx.error.${type}.${code}`);
    if (log.enabled) log('error type %d code %d to %s', type, code, ipToString(orig.src));
    return h.output(orig.src, IpProto.ICMP, msg, undefined, { df: false });
  }

  /** An error about a datagram we sent: hand it to the protocol that sent it. */
  #errorInput(type: number, code: number, mtu: number, body: Buffer): string {
    // The quoted header: at least 20 bytes, version 4, and sent by us.
    if (body.length < IPV4_HEADER_LEN || body[0]! >> 4 !== 4) return 'drop.icmp.badQuote';
    const hl = (body[0]! & 0x0f) * 4;
    if (hl < IPV4_HEADER_LEN || body.length < hl) return 'drop.icmp.badQuote';
    if (readIp(body, 12) !== this.#host.ip) return 'drop.icmp.notOurs';
    this.#host.counters.inc(`icmp.rx.error.${type}.${code}`);
    const protocol = body[9]!;
    const dst = readIp(body, 16);
    const quoted = body.subarray(hl);
    const handler = this.#handler(protocol);
    if (type === IcmpType.destUnreachable && code === UnreachCode.fragNeeded) {
      let next = mtu;
      if (next < 68) {
        // RFC 1191 §5: an old router sends no MTU; guess the next plateau below the quoted length.
        const len = body.readUInt16BE(2);
        next = PLATEAUS.find((p) => p < len) ?? 68;
      }
      if (log.enabled) log('frag needed for %s: mtu %d', ipToString(dst), next);
      handler?.pathMtu?.(dst, next, quoted);
      return 'rx.handled.icmp.fragNeeded';
    }
    if (type === IcmpType.destUnreachable) {
      handler?.unreachable?.(dst, code, quoted);
      return 'rx.handled.icmp.unreachable';
    }
    return type === IcmpType.timeExceeded ? 'rx.handled.icmp.timeExceeded' : 'rx.handled.icmp.parameterProblem';
  }
}
