// The thin glue between the sans-IO TCP core and a Stack: it implements the Stack's IpHandler for
// protocol 6, reads the Clock, keeps ONE timer armed no later than the core's nextDeadline() (lazy:
// a deadline that moves later leaves it; it fires, finds nothing due, re-arms), sends segments
// with stack.sendIp(dst, 6, seg, {df: true}), and coalesces writes made in the same tick
// (autocorking) before they reach Nagle. It holds no TCP logic of its own.
//
// API (what the CLI, e2e tests and lib/socket use):
//
//   const tcp = new TcpLayer(stack, { mslMs: 30_000, ... })   // registers itself for protocol 6
//   const l = tcp.listen(7, { backlog })          // a core TcpListener; l.onConnection = (l) => l.accept()
//   const c = tcp.connect({ host: '10.0.0.1', port: 80 })   // a core TcpConnection in SYN-SENT
//   tcp.run((now) => c.shutdown(now))             // any core call that needs `now`; re-arms the timer
//   tcp.write(c, bytes)                           // autocorked write; returns bytes accepted
//   tcp.onRetransmit = (e) => …                 // why each segment is resent (retransmit-event.ts)
//   tcp.learnedPathMtus()                         // [{ ip, mtu, expiresInMs }] from validated ICMP
//   tcp.unlisten(l); tcp.counters; tcp.core (TcpDemux: connections(), timeWait, listener(port))
//   c.info()                                      // state, srtt, rto, cwnd, windows... per connection
//   tcp.close()                                   // abort everything (before stack.close())
//   new RelativeSeqFormatter().format             // lib/tcp/relative-format.ts: Wireshark-style
//                                                 // relative Seq/Ack for formatFrame(…, { tcp })
//
// For Node-style sockets use lib/socket: `createServer(tcp, onConnection)`, `connect(tcp, opts)`.
import type { Clock, TimerHandle } from '../clock.js';
import type { Counters } from '../counters.js';
import { CryptoRng, type Rng } from '../rng.js';
import { ipToString, parseIp } from '../wire/ip-address.js';
import { IP_PROTO_TCP } from '../wire/tcp.js';
import type { TcpConfig } from './config.js';
import type { TcpConnection } from './connection.js';
import type { SegmentTx } from './types.js';
import type { SendOptions } from '../net/net-host.js';
import { TcpDemux, type TcpListener } from './demux.js';
import type { RetransmitEvent } from './retransmit-event.js';

/** RFC 1191: TCP segments go out with Don't Fragment set (one shared options object, not one per segment). */
const SEND_DF = { df: true } as const;
/** The same for segments built with headroom; with the link's checksum offload; per gso size. */
const SEND_DF_HEADROOM = { df: true, headroom: true } as const;
const SEND_DF_PARTIAL = { df: true, headroom: true, partialCsum: true } as const;

/** What the layer needs from lib/stack.ts's Stack (structural, so tests can pass a fake). */
export interface StackLike {
  readonly clock: Clock;
  readonly counters: Counters;
  /** Our IPv4 address (unsigned 32-bit). */
  readonly ip: number;
  /** Link MTU. */
  readonly mtu: number;
  /** Path MTU if configured lower than the link's. */
  readonly pathMtu?: number;
  readonly rng?: Rng;
  /** The link takes TCP super-frames and partial checksums (Stack.offload). */
  readonly offload?: boolean;
  registerProtocol(protocol: number, handler: IpHandler): void;
  /** Reachability advice for the neighbour toward `ip` (ARP keeps it fresh and cached). */
  confirmNeighbour?(ip: number): void;
  sendIp(dst: number, protocol: number, payload: Buffer, opts?: SendOptions): void;
}

/** The Stack's per-protocol receiver interface (CONTRACT.md). */
export interface IpHandler {
  receive(src: number, dst: number, payload: Buffer, csumTrusted?: boolean): void;
  pathMtu?(dst: number, mtu: number, quoted: Buffer): void;
  unreachable?(dst: number, code: number, quotedPayload: Buffer): void;
  batchStart?(): void;
  batchEnd?(): void;
}

/** TCP tunables plus the randomness source (defaults to the stack's, else crypto). */
export interface TcpLayerOptions extends Partial<TcpConfig> {
  rng?: Rng;
}

/** TCP for one Stack: the IpHandler for protocol 6 around a TcpDemux. */
export class TcpLayer implements IpHandler {
  readonly core: TcpDemux;
  readonly clock: Clock;
  readonly counters: Counters;
  readonly stack: StackLike;
  #timer: TimerHandle | undefined;
  #armedAt = Infinity;
  readonly #corked = new Set<TcpConnection>();
  #flushScheduled = false;
  #closed = false;

  constructor(stack: StackLike, opts: TcpLayerOptions = {}) {
    const { rng, ...config } = opts;
    this.stack = stack;
    this.clock = stack.clock;
    this.counters = stack.counters;
    this.core = new TcpDemux({
      counters: stack.counters,
      rng: rng ?? stack.rng ?? new CryptoRng(),
      config: { offload: stack.offload === true, ...config },
      output: (_src, dst, seg, tx) => {
        if (!this.#closed) stack.sendIp(dst, IP_PROTO_TCP, seg, sendOptions(tx));
      },
      mtuFor: () => stack.pathMtu ?? stack.mtu,
      ...(stack.confirmNeighbour !== undefined ? { progress: (ip: number) => stack.confirmNeighbour!(ip) } : {}),
    });
    stack.registerProtocol(IP_PROTO_TCP, this);
  }

  /**
   * Called synchronously before each retransmitted segment goes to IP, with the cause the core
   * decided on (RTO, fast retransmit, SACK rule, RACK, rescue, TLP, go-back-N).
   */
  get onRetransmit(): ((e: RetransmitEvent) => void) | undefined {
    return this.core.onRetransmit;
  }

  set onRetransmit(f: ((e: RetransmitEvent) => void) | undefined) {
    this.core.onRetransmit = f;
  }

  /** Our address as text. */
  get address(): string {
    return ipToString(this.stack.ip);
  }

  // ---------------------------------------------------------------- IpHandler

  receive(src: number, dst: number, payload: Buffer, csumTrusted = false): void {
    // RFC 1122 §4.2.3.10: TCP is unicast only; a segment to or from a broadcast or multicast
    // address is dropped silently (no RST either).
    if (dst !== this.stack.ip || src === 0 || src === 0xffffffff || src >>> 28 >= 14) {
      this.counters.inc('tcp.rx.notUnicast');
      return;
    }
    try {
      this.core.receive(src, dst, payload, this.clock.now(), csumTrusted);
    } finally {
      this.#rearm();
    }
  }

  /** A read batch of the link starts: ACKs for in-order data wait for its end (TcpDemux.batchStart). */
  batchStart(): void {
    this.core.batchStart();
  }

  /** The batch is handled: the owed ACKs leave, but on connections with corked writes, whose data carries them. */
  batchEnd(): void {
    // Most batches owe nothing (always so with offloads): then no clock read, closure or rearm.
    if (!this.core.owesAcks) this.core.batchEnd(0);
    else this.run((now) => this.core.batchEnd(now, this.#corked));
  }

  pathMtu(dst: number, mtu: number, quoted?: Buffer): void {
    this.run((now) => this.core.pathMtu(this.stack.ip, dst, mtu, now, quoted));
  }

  unreachable(dst: number, code: number, quoted: Buffer): void {
    this.counters.inc(`tcp.rx.icmpUnreachable.${code}`);
    this.run((now) => this.core.icmpUnreachable(this.stack.ip, dst, code, quoted, now));
  }

  /** Path MTUs learned from ICMP, per destination, with the time left before they expire (RFC 1191 §6.3). */
  learnedPathMtus(): Array<{ ip: string; mtu: number; expiresInMs: number }> {
    const now = this.clock.now();
    return this.core.pathMtus.entries(now).map((e) => ({ ip: ipToString(e.ip), mtu: e.mtu, expiresInMs: e.expiresAt - now }));
  }

  // ---------------------------------------------------------------- user calls

  /** Run core calls that need `now`, then re-arm the timer. */
  run<T>(fn: (now: number) => T): T {
    try {
      return fn(this.clock.now());
    } finally {
      this.#rearm();
    }
  }

  /** Passive open on `port` (0 = ephemeral). Throws a TcpError EADDRINUSE. */
  listen(port: number, opts: { host?: string; backlog?: number } = {}): TcpListener {
    const any = opts.host === undefined || opts.host === '0.0.0.0' || opts.host.includes(':');
    return this.core.listen(port, { ip: any ? 0 : parseIp(opts.host!), backlog: opts.backlog });
  }

  /** Stop a listener (pending connections are reset). */
  unlisten(l: TcpListener): void {
    this.run((now) => this.core.closeListener(l, now));
  }

  /** Active open to host:port from our address. */
  connect(opts: { host: string | number; port: number; localPort?: number }): TcpConnection {
    const remoteIp = typeof opts.host === 'number' ? opts.host : parseIp(opts.host === 'localhost' ? '127.0.0.1' : opts.host);
    return this.run((now) => this.core.connect({ localIp: this.stack.ip, remoteIp, remotePort: opts.port, localPort: opts.localPort }, now));
  }

  /**
   * Queue `data` on `c` and transmit at the end of the current tick, so writes made together
   * (an HTTP header and body) leave as one segment (autocorking). Returns bytes accepted.
   * `borrow`: see TcpConnection.write.
   */
  write(c: TcpConnection, data: Uint8Array, borrow = false): number {
    const n = c.write(data, this.clock.now(), false, borrow);
    this.#corked.add(c);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flushCorked());
    }
    return n;
  }

  /** Transmit everything corked now. */
  #flushCorked(): void {
    this.#flushScheduled = false;
    const cs = [...this.#corked];
    this.#corked.clear();
    this.run((now) => {
      for (const c of cs) {
        c.flush(now);
        // An ACK owed since the read batch (batchEnd) goes alone if no data carried it.
        c.sendOwedAck(now);
      }
    });
  }

  /** Abort every connection and stop the timer. */
  close(): void {
    this.run((now) => this.core.close(now));
    this.#closed = true;
    if (this.#timer !== undefined) this.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Infinity;
  }

  #rearm(): void {
    if (this.#closed) return;
    const d = this.core.nextDeadline();
    // Lazy (issue 9 item 3): only an earlier deadline touches the Node timer, or none left at all
    // (nothing keeps an idle stack's event loop busy).
    if (d >= this.#armedAt && (d !== Infinity || this.#timer === undefined)) return;
    if (this.#timer !== undefined) this.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#armedAt = d;
    if (d === Infinity) return;
    this.#timer = this.clock.setTimer(d, () => {
      this.#timer = undefined;
      this.#armedAt = Infinity;
      this.run((now) => this.core.onDeadline(now));
    });
  }
}

/** IP's options for a segment: DF always (RFC 1191); headroom, partial checksum and gso size as built. */
function sendOptions(tx: SegmentTx | undefined): SendOptions {
  if (tx === undefined) return SEND_DF;
  if (!tx.partialCsum) return tx.headroom ? SEND_DF_HEADROOM : SEND_DF;
  if (tx.gsoSize === 0 && tx.rest === undefined) return SEND_DF_PARTIAL;
  return { df: true, headroom: tx.headroom, partialCsum: true, gsoSize: tx.gsoSize, rest: tx.rest };
}
