// UDP (RFC 768) over the stack: a port table with a small dgram-like socket API, checksummed
// sends, and ICMP port unreachable (RFC 1122 §4.1.3.1) when nothing is bound.
import createDebug from 'debug';
import type { Rng } from '../rng.js';
import { ipToString, parseIp } from '../wire/ip-address.js';
import { IpProto } from '../wire/ipv4.js';
import { UnreachCode, IcmpType } from '../wire/icmp.js';
import { parseUdp, UDP_HEADER_LEN, writeUdp } from '../wire/udp.js';
import type { Icmp, OffendingPacket } from './icmp.js';
import type { NetHost } from './net-host.js';

const log = createDebug('tapstack:udp');

/** The largest UDP payload in one IPv4 datagram (65,535 - 20 - 8). */
export const UDP_MAX_PAYLOAD = 65507;

/** Where a datagram came from (the shape of node:dgram's rinfo, plus the numeric address). */
export interface UdpRemoteInfo {
  address: string;
  family: 'IPv4';
  port: number;
  size: number;
  /** The source address as an unsigned 32-bit number. */
  ip: number;
  /** The address it was sent to: ours, or a broadcast (RFC 1122 §4.1.3.5: UDP passes it up). */
  dst: number;
}

/** Called for each datagram received on a socket; `msg` is a copy the receiver may keep. */
export type UdpMessageHandler = (msg: Buffer, rinfo: UdpRemoteInfo) => void;

/** An error with a Node-style `code` (`EADDRINUSE`, `EMSGSIZE`, `ERR_SOCKET_DGRAM_NOT_RUNNING`...). */
export class UdpError extends Error {
  constructor(readonly code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = 'UdpError';
  }
}

/** A bound UDP port. */
export class UdpSocket {
  #closed = false;

  constructor(readonly udp: Udp, readonly port: number, readonly onMessage: UdpMessageHandler) {}

  /** Send `buf` to `ip:port` (the payload is copied; UDP checksum always set). Throws EMSGSIZE over 65,507 bytes. */
  send(buf: Uint8Array, port: number, ip: number | string): void {
    if (this.#closed) throw new UdpError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'socket is closed');
    this.udp.sendFrom(this.port, buf, port, typeof ip === 'string' ? parseIp(ip) : ip);
  }

  /** Release the port. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.udp.release(this);
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }
}

/** The UDP layer: port table, input, output. */
export class Udp {
  readonly #host: NetHost;
  readonly #rng: Rng;
  readonly #icmp: Icmp;
  readonly #ports = new Map<number, UdpSocket>();

  constructor(host: NetHost, rng: Rng, icmp: Icmp) {
    this.#host = host;
    this.#rng = rng;
    this.#icmp = icmp;
  }

  /** Bind `port` (0: an ephemeral port 49152-65535) and receive its datagrams. Throws EADDRINUSE. */
  bind(port: number, onMessage: UdpMessageHandler): UdpSocket {
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError(`bad UDP port ${port}`);
    if (port === 0) port = this.#ephemeral();
    if (this.#ports.has(port)) throw new UdpError('EADDRINUSE', `UDP port ${port} is already bound`);
    const s = new UdpSocket(this, port, onMessage);
    this.#ports.set(port, s);
    return s;
  }

  /** The socket bound to `port`, if any. */
  socket(port: number): UdpSocket | undefined {
    return this.#ports.get(port);
  }

  /** Send a datagram from `srcPort` (used by UdpSocket.send). */
  sendFrom(srcPort: number, payload: Uint8Array, dstPort: number, dst: number): void {
    if (payload.length > UDP_MAX_PAYLOAD) throw new UdpError('EMSGSIZE', `${payload.length} bytes is more than a UDP datagram holds`);
    if (!Number.isInteger(dstPort) || dstPort <= 0 || dstPort > 0xffff) throw new RangeError(`bad UDP port ${dstPort}`);
    const dgram = Buffer.allocUnsafe(UDP_HEADER_LEN + payload.length);
    writeUdp(dgram, 0, srcPort, dstPort, payload, this.#host.ip, dst);
    this.#host.counters.inc('udp.tx.datagrams');
    this.#host.output(dst, IpProto.UDP, dgram, undefined, { df: false });
  }

  /** Unbind a socket (used by UdpSocket.close). */
  release(s: UdpSocket): void {
    if (this.#ports.get(s.port) === s) this.#ports.delete(s.port);
  }

  /** Close every socket. */
  close(): void {
    for (const s of [...this.#ports.values()]) s.close();
  }

  /** Handle a UDP datagram for us (or broadcast); returns the outcome counter. */
  input(orig: OffendingPacket, linkBroadcast: boolean, csumTrusted = false): string {
    const src = orig.src;
    const d = parseUdp(orig.payload, src, orig.dst, !csumTrusted);
    if (d.checksum === 0) this.#host.counters.inc('udp.rx.noChecksum');
    const s = this.#ports.get(d.dstPort);
    if (s === undefined) {
      if (log.enabled) log('nothing bound on port %d (from %s:%d)', d.dstPort, ipToString(src), d.srcPort);
      // RFC 1122 §4.1.3.1: port unreachable (the ICMP layer suppresses it for broadcasts).
      this.#icmp.sendError(IcmpType.destUnreachable, UnreachCode.port, 0, orig, linkBroadcast);
      return 'drop.udp.noPort';
    }
    s.onMessage(Buffer.from(d.payload), { address: ipToString(src), family: 'IPv4', port: d.srcPort, size: d.payload.length, ip: src, dst: orig.dst });
    return 'rx.handled.udp';
  }

  #ephemeral(): number {
    for (let i = 0; i < 64; i++) {
      const p = 49152 + (this.#rng.u32() % 16384);
      if (!this.#ports.has(p)) return p;
    }
    for (let p = 49152; p <= 65535; p++) if (!this.#ports.has(p)) return p;
    throw new UdpError('EADDRINUSE', 'no ephemeral UDP port left');
  }
}
