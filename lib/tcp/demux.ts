// The TCP core's front door, sans-IO: it parses segments, finds their connection by 4-tuple,
// runs LISTEN (SYN queue, accept queue, SYN cookies), answers segments for closed ports with
// RST (RFC 9293 §3.10.7.1), keeps the TIME-WAIT table (RFC 1337, RFC 6191), picks ISNs (RFC 6528)
// and ephemeral ports, and multiplexes every connection's timers into one `nextDeadline()`
// through a heap of per-connection deadlines (deadline-heap.ts): no event scans the table.
// It never reads a clock and never touches a Link: `now` comes in, segments leave via `output`.
import createDebug from 'debug';
import type { Counters } from '../counters.js';
import type { Rng } from '../rng.js';
import { type Seq, seq, seqAdd, seqGe, seqGt, seqLe } from '../wire/seq.js';
import { IP_PROTO_TCP, TCP_FLAGS, TCP_HEADER_MIN, type TcpOptions, type TcpSegment, fillTcpChecksum, fillTcpPseudoChecksum, parseTcp, parseTcpOptions, segmentLength, tcpOptionsLength, writeTcpHeader, writeTcpOptions } from '../wire/tcp.js';
import { finishChecksum, pseudoHeaderSum, sumWords } from '../wire/checksum.js';
import { FRAME_HEADROOM } from '../net/ipv4-output.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig } from './config.js';
import { DeadlineHeap } from './deadline-heap.js';
import { type ConnectionHost, TcpConnection, connectionKey } from './connection.js';
import { type FourTuple, IsnGenerator } from './isn.js';
import { PathMtuCache } from './path-mtu-cache.js';
import type { RetransmitEvent } from './retransmit-event.js';
import { SynCookies } from './syn-cookies.js';
import { SynFloodFilter } from './syn-flood-filter.js';
import { TimeWaitTable, type TimeWaitEntry } from './time-wait.js';
import { SegmentHistory } from './segment-history.js';
import { SendMemoryBudget } from './send-buffer.js';
import { type PathMtu, type SegmentTx, TcpError, type TcpState } from './types.js';

const log = createDebug('tapstack:tcp');
const { FIN, SYN, RST, ACK } = TCP_FLAGS;
/** A segment without options (shared, never written to). */
const NO_OPTIONS: TcpOptions = Object.freeze({});
/** Cookie-mode SYNs in one read batch that mean a flood: half the link's default batch of 64
 *  frames, which a reader that keeps up rarely fills. */
const FLOOD_BATCH_SYNS = 32;
/** How segments without a connection leave: built with room for IP's headers in front, summed here or by the link. */
const TX_PLAIN: SegmentTx = { headroom: true, partialCsum: false, gsoSize: 0 };
const TX_PARTIAL: SegmentTx = { headroom: true, partialCsum: true, gsoSize: 0 };

/** How the demux reaches the world. */
export interface TcpDemuxOptions {
  counters: Counters;
  rng: Rng;
  config?: Partial<TcpConfig>;
  /** Send a finished TCP segment from localIp to remoteIp (IP protocol 6). */
  output(localIp: number, remoteIp: number, segment: Buffer, tx?: SegmentTx): void;
  /** The path MTU toward `remoteIp` (the link MTU unless something lowered it). */
  mtuFor(remoteIp: number): number;
  /** A connection with `remoteIp` made forward progress (new data acknowledged or received). */
  progress?(remoteIp: number): void;
}

/** A passive OPEN (RFC 9293 §3.10.1): the LISTEN state with its two bounded queues. */
export class TcpListener {
  /** Embryonic connections in SYN-RECEIVED (bounded by `config.synBacklog`; then SYN cookies). */
  readonly synQueue = new Set<TcpConnection>();
  /** Established connections waiting for `accept()` (bounded by `backlog`). */
  readonly acceptQueue: TcpConnection[] = [];
  /** Called when the accept queue gained a connection; typically calls `accept()` at once. */
  onConnection: ((l: TcpListener) => void) | undefined;
  closed = false;
  /** SYN cookies were sent recently: ACKs to the listener may carry a valid cookie. */
  cookiesUntil = -Infinity;
  /** Its connections record their segments (segment-history.ts), for the teaching site's ladder. */
  keepHistory = false;

  constructor(
    readonly ip: number,
    readonly port: number,
    public backlog: number,
  ) {}

  /** Take the oldest established connection, if any. */
  accept(): TcpConnection | undefined {
    return this.acceptQueue.shift();
  }
}

/** The TCP core: all connections, listeners and the TIME-WAIT table of one stack. */
export class TcpDemux implements ConnectionHost {
  readonly config: TcpConfig;
  readonly counters: Counters;
  readonly sendMemory: SendMemoryBudget;
  readonly #conns = new Map<string, TcpConnection>();
  /** Each live connection's earliest deadline; may be early (lazy), never late. */
  readonly #deadlines = new DeadlineHeap<TcpConnection>();
  readonly #listeners = new Map<number, TcpListener>();
  readonly timeWait: TimeWaitTable;
  /** Path MTUs learned from validated ICMP (RFC 1191 §6.3), floored and expiring. */
  readonly pathMtus: PathMtuCache;
  /** Called synchronously before each retransmitted segment goes to IP, with its cause. */
  onRetransmit: ((e: RetransmitEvent) => void) | undefined;
  readonly #isn: IsnGenerator;
  readonly #cookies: SynCookies;
  readonly #rng: Rng;
  readonly #output: TcpDemuxOptions['output'];
  readonly #mtuFor: TcpDemuxOptions['mtuFor'];
  readonly #progress: TcpDemuxOptions['progress'];
  /** ISN floors for tuples reopened from TIME-WAIT (RFC 6191 / RFC 1122 §4.2.2.13). */
  readonly #reuseIsn = new Map<string, Seq>();
  #challengeWindowStart = -Infinity;
  #challengeCount = 0;
  readonly #notify = new Set<TcpListener>();
  /** Inside a link read batch (batchStart..batchEnd): ACKs for in-order data wait for its end. */
  #inBatch = false;
  /** The connections that owe such an ACK, each once. */
  readonly #owedAcks = new Set<TcpConnection>();
  /** The connection the previous segment was for (always one in #conns, or undefined). */
  #lastConn: TcpConnection | undefined;
  /** Cookie-mode SYNs in the current read batch; -1 outside a batch. */
  #batchSyns = -1;
  /** Made at the first flood: while flooded only retransmitted SYNs are answered. */
  #floodFilter: SynFloodFilter | undefined;

  constructor(opts: TcpDemuxOptions) {
    this.config = { ...DEFAULT_TCP_CONFIG, ...opts.config };
    this.counters = opts.counters;
    this.sendMemory = new SendMemoryBudget(this.config.sndBufGrowthBudget);
    this.#rng = opts.rng;
    this.#output = opts.output;
    this.#mtuFor = opts.mtuFor;
    this.#progress = opts.progress;
    this.timeWait = new TimeWaitTable(this.config.timeWaitMax);
    this.pathMtus = new PathMtuCache(this.config.minPathMtu, this.config.pathMtuExpiryMs);
    this.#isn = new IsnGenerator(opts.rng.bytes(32));
    this.#cookies = new SynCookies(opts.rng.bytes(32));
  }

  /** Live connections (any state but LISTEN/TIME-WAIT/CLOSED). */
  connections(): IterableIterator<TcpConnection> {
    return this.#conns.values();
  }

  /** Every open listener. */
  listeners(): IterableIterator<TcpListener> {
    return this.#listeners.values();
  }

  /** The listener on `port`, if any. */
  listener(port: number): TcpListener | undefined {
    return this.#listeners.get(port);
  }

  // ================================================================ user calls

  /** Passive OPEN on `port` (0 = pick an ephemeral one); EADDRINUSE if taken. */
  listen(port: number, opts: { ip?: number; backlog?: number } = {}): TcpListener {
    let p = port;
    if (p === 0) p = this.#pickPort(() => true);
    if (this.#listeners.has(p)) throw new TcpError('EADDRINUSE', `listen EADDRINUSE: address already in use :::${p}`, 'listen');
    const l = new TcpListener(opts.ip ?? 0, p, Math.max(1, opts.backlog ?? this.config.backlog));
    this.#listeners.set(p, l);
    this.counters.inc('tcp.listen.opened');
    return l;
  }

  /** Stop listening: embryonic and not-yet-accepted connections are reset. */
  closeListener(l: TcpListener, now: number): void {
    if (l.closed) return;
    l.closed = true;
    if (this.#listeners.get(l.port) === l) this.#listeners.delete(l.port);
    for (const c of [...l.synQueue, ...l.acceptQueue]) c.abort(now);
    l.synQueue.clear();
    l.acceptQueue.length = 0;
  }

  /** Active OPEN (RFC 9293 §3.10.1) from `localIp` (ephemeral port unless given) to remote. */
  connect(o: { localIp: number; remoteIp: number; remotePort: number; localPort?: number }, now: number): TcpConnection {
    let localPort = o.localPort ?? 0;
    const free = (p: number): boolean => {
      const k = connectionKey({ localIp: o.localIp, localPort: p, remoteIp: o.remoteIp, remotePort: o.remotePort });
      return !this.#conns.has(k) && this.timeWait.get(k) === undefined;
    };
    if (localPort === 0) localPort = this.#pickPort(free);
    else if (!free(localPort)) throw new TcpError('EADDRINUSE', `connect EADDRINUSE: port ${localPort}`, 'connect');
    const t: FourTuple = { localIp: o.localIp, localPort, remoteIp: o.remoteIp, remotePort: o.remotePort };
    const c = new TcpConnection(this, { ...t, iss: this.#isn.isn(t, now), tsOffset: this.#isn.tsOffset(t), ...this.pathMtuToward(o.remoteIp, now), passive: false });
    this.#conns.set(c.key, c);
    this.counters.inc('tcp.conn.activeOpens');
    c.openActive(now);
    return c;
  }

  /** RFC 6056-style random ephemeral port, probing on from a random start. */
  #pickPort(free: (p: number) => boolean): number {
    const lo = this.config.ephemeralLow;
    const n = this.config.ephemeralHigh - lo + 1;
    const start = this.#rng.u32() % n;
    for (let i = 0; i < n; i++) {
      const p = lo + ((start + i) % n);
      if (!this.#listeners.has(p) && free(p)) return p;
    }
    throw new TcpError('EADDRNOTAVAIL', 'connect EADDRNOTAVAIL: no ephemeral port free', 'connect');
  }

  /**
   * The path MTU for a connection to `remoteIp`: a learned one while it is current (with its
   * expiry, when the connection tries the link's again), else the link's.
   */
  pathMtuToward(remoteIp: number, now: number): PathMtu {
    const link = this.#mtuFor(remoteIp);
    const learned = this.pathMtus.get(remoteIp, now);
    return learned !== undefined && learned.mtu < link ? { mtu: learned.mtu, pmtuRaiseAt: learned.expiresAt } : { mtu: link, pmtuRaiseAt: Infinity };
  }

  /**
   * ICMP said the path MTU from `localIp` toward `remoteIp` is `mtu` (RFC 1191). Validated before
   * anything is stored (RFC 5927 §5.2, against forged ICMP): the quote must name an existing
   * connection and a sequence number it has outstanding; then that connection adapts and the value
   * (floored at `minPathMtu`) is remembered for new connections to the host.
   */
  pathMtu(localIp: number, remoteIp: number, mtu: number, now: number, quoted: Buffer | undefined): void {
    const c = this.#quotedConnection(localIp, remoteIp, quoted);
    if (c === undefined) return;
    if (mtu >= c.pmtu) {
      this.counters.inc('tcp.pmtu.notLower');
      return;
    }
    const kept = this.pathMtus.learn(remoteIp, mtu, now);
    if (kept > mtu) this.counters.inc('tcp.pmtu.floored');
    c.pathMtu(kept, now);
  }

  /**
   * ICMP destination unreachable about a segment we sent. RFC 1122 §4.2.3.9: codes 0, 1, 5
   * are soft errors (TCP keeps retrying); protocol/port unreachable (2, 3) are hard: a
   * connection still in SYN-SENT is refused (as Linux does; established ones keep going, RFC 5461).
   */
  icmpUnreachable(localIp: number, remoteIp: number, code: number, quoted: Buffer | undefined, now: number): void {
    const c = this.#quotedConnection(localIp, remoteIp, quoted);
    if (c === undefined) return;
    if ((code === 2 || code === 3) && c.state === 'SYN-SENT') {
      this.counters.inc('tcp.icmp.hardError');
      c.refuse(now);
    } else this.counters.inc('tcp.icmp.softError');
  }

  /**
   * The connection an ICMP error's quoted TCP header names, if the quote holds at least the 8
   * bytes RFC 792 promises (ports and sequence number), the 4-tuple is a live connection, and the
   * quoted sequence number lies in SND.UNA..SND.MAX (RFC 5927 §5.2); else undefined, counted.
   */
  #quotedConnection(localIp: number, remoteIp: number, quoted: Buffer | undefined): TcpConnection | undefined {
    if (quoted === undefined || quoted.length < 8) {
      this.counters.inc('tcp.icmp.shortQuote');
      return undefined;
    }
    const c = this.#conns.get(connectionKey({ localIp, localPort: quoted.readUInt16BE(0), remoteIp, remotePort: quoted.readUInt16BE(2) }));
    if (c === undefined) {
      this.counters.inc('tcp.icmp.unmatched');
      return undefined;
    }
    const s = seq(quoted.readUInt32BE(4));
    if (seqGe(s, c.sndUna) && seqLe(s, c.sndMax)) return c;
    this.counters.inc('tcp.icmp.badSeq');
    return undefined;
  }


  // ================================================================ input

  /**
   * A TCP segment arrived from `src` for `dst` (`csumTrusted`: the link vouched for its
   * checksum). Throws WireError for malformed input.
   */
  receive(src: number, dst: number, buf: Buffer, now: number, csumTrusted = false): void {
    if (this.#floodSyn(src, dst, buf, now, csumTrusted)) return;
    const seg = parseTcp(buf, src, dst, this.config.verifyChecksum && !csumTrusted);
    // Bulk traffic is a run of segments for one connection: it is found without building the key.
    const last = this.#lastConn;
    const hit = last !== undefined && last.remotePort === seg.srcPort && last.localPort === seg.dstPort && last.remoteIp === src && last.localIp === dst;
    const key = hit ? last.key : `${dst}:${seg.dstPort}:${src}:${seg.srcPort}`;
    const c = hit ? last : this.#conns.get(key);
    if (c !== undefined) {
      this.#lastConn = c;
      const una = c.sndUna;
      const nxt = c.rcvNxt;
      c.segmentArrives(seg, now);
      if (c.sndUna !== una || c.rcvNxt !== nxt) this.#progress?.(src);
    } else {
      this.counters.inc('tcp.rx.segments');
      const tw = this.timeWait.get(key);
      if (tw === undefined || !this.#timeWaitInput(tw, seg, now)) {
        const l = this.#listeners.get(seg.dstPort);
        if (l !== undefined && (l.ip === 0 || l.ip === dst)) this.#listenInput(l, seg, src, dst, key, now);
        else this.#closedInput(seg, src, dst);
      }
    }
    this.#flushNotifications();
  }

  /**
   * The SYN flood's short way (issue 10 item 11): a bare SYN (no ACK, RST or FIN, no payload) to
   * a listener that answers with SYN cookies, for a 4-tuple with no connection or TIME-WAIT entry,
   * is answered straight from its bytes: no parsed segment, nothing kept. Under a flood these are
   * nearly all the input, and every microsecond spent on one is a SYN the tap's queue drops
   * before we read it; so while flooded only a retransmitted SYN is answered, the others are
   * counted and dropped (syn-flood-filter.ts). False: the segment takes the ordinary way (which
   * counts what is wrong).
   */
  #floodSyn(src: number, dst: number, buf: Buffer, now: number, csumTrusted: boolean): boolean {
    if (buf.length < TCP_HEADER_MIN || (buf[13]! & (SYN | ACK | RST | FIN)) !== SYN) return false;
    const hl = (buf[12]! >>> 4) * 4;
    if (hl < TCP_HEADER_MIN || hl !== buf.length) return false;
    const localPort = buf.readUInt16BE(2);
    const l = this.#listeners.get(localPort);
    if (l === undefined || (l.ip !== 0 && l.ip !== dst) || !this.#cookieMode(l) || l.acceptQueue.length >= l.backlog) return false;
    if (this.config.verifyChecksum && !csumTrusted && finishChecksum(sumWords(buf, 0, hl, pseudoHeaderSum(src, dst, IP_PROTO_TCP, hl))) !== 0) return false;
    const remotePort = buf.readUInt16BE(0);
    // A batch this full of such SYNs means we read behind a flood (syn-flood-filter.ts): from
    // now on only a SYN seen before, a retransmission, is answered; the others cost no more.
    if (this.#batchSyns >= 0 && ++this.#batchSyns === FLOOD_BATCH_SYNS && (this.#floodFilter ??= new SynFloodFilter(this.#rng.bytes(16))).floodSeen(now)) {
      this.counters.inc('tcp.synFlood.started');
    }
    if (this.#floodFilter !== undefined && !this.#floodFilter.admit(src, remotePort, localPort, buf.readUInt32BE(4), now)) {
      this.counters.inc('tcp.rx.segments');
      this.counters.inc('tcp.synFlood.firstDropped');
      return true;
    }
    const key = `${dst}:${localPort}:${src}:${remotePort}`;
    if (this.#conns.has(key) || this.timeWait.get(key) !== undefined) return false;
    const options = hl > TCP_HEADER_MIN ? parseTcpOptions(buf, TCP_HEADER_MIN, hl) : NO_OPTIONS;
    this.counters.inc('tcp.rx.segments');
    this.#sendCookieSynAck(l, { localIp: dst, localPort, remoteIp: src, remotePort }, seq(buf.readUInt32BE(4)), options, now);
    return true;
  }

  /** The listener answers SYNs statelessly: always, or while its SYN queue is full. */
  #cookieMode(l: TcpListener): boolean {
    const mode = this.config.synCookies;
    return mode === 'always' || (mode === 'auto' && l.synQueue.size >= this.config.synBacklog);
  }

  /**
   * A read batch of the link starts. Until `batchEnd`, the ACK that in-order data earns ("at least
   * every second full-sized segment", RFC 5681 §4.2) is owed, not sent: several such segments of
   * one connection in one batch draw one cumulative ACK (RFC 9293 §3.10.7.4 lets ACKs be
   * coalesced), sent as soon as the batch is handled. Duplicate ACKs for out-of-order data and
   * every other immediate ACK still leave one per segment: the peer's fast retransmit counts them.
   */
  batchStart(): void {
    this.#batchSyns = 0;
    // With the link's offloads the peer's TSO hands us super-frames, each ACKed at once (as
    // Linux ACKs a GRO packet): few ACKs already, and holding them only delays the sender, whose
    // window is our 256 KiB buffer (measured: discard 1353 vs 1611 Mbit/s held vs not; without
    // offloads 890 vs 701, the ACKs saved being CPU saved).
    if (!this.config.offload) this.#inBatch = true;
  }

  /** Some connection owes an ACK held for the end of the read batch. */
  get owesAcks(): boolean {
    return this.#owedAcks.size > 0;
  }

  /**
   * The batch is handled: each connection that still owes an ACK sends one, but those in `later`
   * (writes corked for the end of the tick), whose data will carry it (RFC 9293 §3.10.7.4).
   */
  batchEnd(now: number, later?: ReadonlySet<TcpConnection>): void {
    this.#inBatch = false;
    this.#batchSyns = -1;
    if (this.#owedAcks.size === 0) return;
    for (const c of this.#owedAcks) if (later === undefined || !later.has(c)) c.sendOwedAck(now);
    this.#owedAcks.clear();
  }

  /** RFC 9293 §3.10.7.1: no connection, no listener. Never answer a RST. */
  #closedInput(seg: TcpSegment, src: number, dst: number): void {
    this.counters.inc('tcp.rx.noListener');
    if (seg.flags & RST) {
      this.counters.inc('tcp.rx.rst.ignored');
      return;
    }
    this.counters.inc('tcp.tx.rst.closedPort');
    if (seg.flags & ACK) this.#sendRaw(dst, src, seg.dstPort, seg.srcPort, seg.ack, seq(0), RST, 0);
    else this.#sendRaw(dst, src, seg.dstPort, seg.srcPort, seq(0), seqAdd(seg.seq, segmentLength(seg)), RST | ACK, 0);
  }

  /** RFC 9293 §3.10.7.2: LISTEN. */
  #listenInput(l: TcpListener, seg: TcpSegment, src: number, dst: number, key: string, now: number): void {
    const f = seg.flags;
    const cfg = this.config;
    if (f & RST) {
      this.counters.inc('tcp.rx.rst.ignored');
      return;
    }
    // "Any acknowledgment is bad if it arrives on a connection still in the LISTEN state": a pure
    // ACK (unless it carries a SYN cookie) and a SYN-ACK alike draw <SEQ=SEG.ACK><CTL=RST>.
    if (f & ACK) {
      if (!(f & SYN) && cfg.synCookies !== 'never' && (cfg.synCookies === 'always' || now < l.cookiesUntil) && this.#cookieAck(l, seg, src, dst, now)) return;
      this.counters.inc(f & SYN ? 'tcp.rx.synAckToListener' : 'tcp.rx.ackToListener');
      this.#sendRaw(dst, src, seg.dstPort, seg.srcPort, seg.ack, seq(0), RST, 0);
      return;
    }
    if (!(f & SYN)) {
      this.counters.inc('tcp.rx.dropped.listen');
      return;
    }
    // A SYN. The accept queue bounds everything (Linux drops SYNs while it is full).
    if (l.acceptQueue.length >= l.backlog) {
      this.counters.inc('tcp.listen.acceptQueueFull');
      return;
    }
    const t: FourTuple = { localIp: dst, localPort: seg.dstPort, remoteIp: src, remotePort: seg.srcPort };
    if (this.#cookieMode(l)) {
      this.#sendCookieSynAck(l, t, seg.seq, seg.options, now);
      return;
    }
    if (l.synQueue.size >= cfg.synBacklog) {
      this.counters.inc('tcp.listen.synQueueFull');
      return;
    }
    let iss = this.#isn.isn(t, now);
    const floor = this.#reuseIsn.get(key);
    if (floor !== undefined) {
      this.#reuseIsn.delete(key);
      if (!seqGt(iss, floor)) iss = floor;
    }
    const c = new TcpConnection(this, { ...t, iss, tsOffset: this.#isn.tsOffset(t), ...this.pathMtuToward(src, now), passive: true });
    c.listener = l;
    if (l.keepHistory) c.history = new SegmentHistory();
    this.#conns.set(c.key, c);
    l.synQueue.add(c);
    this.counters.inc('tcp.listen.synReceived');
    c.openPassive(seg, now);
  }

  #rcvWscale(): number {
    let ws = 0;
    while (ws < 14 && this.config.rcvBufSize >>> ws > 0xffff) ws++;
    return this.config.windowScaling ? ws : 0;
  }

  /** Answer a SYN (sequence `synSeq`, options `synOptions`) statelessly with a SYN cookie as our ISN. */
  #sendCookieSynAck(l: TcpListener, t: FourTuple, synSeq: Seq, synOptions: TcpOptions, now: number): void {
    const cfg = this.config;
    const peerMss = synOptions.mss ?? 536;
    const iss = this.#cookies.encode(t, synSeq, peerMss, now);
    const o: TcpOptions = { mss: Math.max(88, this.pathMtuToward(t.remoteIp, now).mtu - 40) };
    if (cfg.timestamps && synOptions.ts !== undefined) {
      // WS and SACK-permitted survive only inside TSval (echoed back in TSecr).
      const ws = cfg.windowScaling ? synOptions.wscale : undefined;
      const sack = cfg.sack && synOptions.sackPermitted === true;
      const bits = SynCookies.packTsBits(ws, sack);
      const base = (Math.floor(now) + this.#isn.tsOffset(t)) >>> 0;
      let val = ((base & ~31) | bits) >>> 0;
      if (((base - val) | 0) < 0) val = (((base & ~31) - 32) | bits) >>> 0;
      o.ts = { val, ecr: synOptions.ts.val };
      if (sack) o.sackPermitted = true;
      if (ws !== undefined) o.wscale = this.#rcvWscale();
    }
    l.cookiesUntil = now + 128_000;
    this.counters.inc('tcp.synCookie.sent');
    const window = Math.min(0xffff, cfg.rcvBufSize);
    this.#transmitSeg(t, { seq: iss, ack: seqAdd(synSeq, 1), flags: SYN | ACK, window, options: o });
  }

  /** An ACK to a listener: if it returns a valid cookie, the connection is born ESTABLISHED. */
  #cookieAck(l: TcpListener, seg: TcpSegment, src: number, dst: number, now: number): boolean {
    const t: FourTuple = { localIp: dst, localPort: seg.dstPort, remoteIp: src, remotePort: seg.srcPort };
    const cookie = seqAdd(seg.ack, -1);
    const mss = this.#cookies.decode(t, seqAdd(seg.seq, -1), cookie, now);
    if (mss === undefined) {
      this.counters.inc('tcp.synCookie.invalid');
      return false;
    }
    if (l.acceptQueue.length >= l.backlog) {
      this.counters.inc('tcp.listen.acceptQueueFull');
      return true;
    }
    this.counters.inc('tcp.synCookie.valid');
    this.#floodFilter?.prove(src, now);
    let wscale: number | undefined;
    let sack = false;
    if (this.config.timestamps && seg.options.ts !== undefined) ({ wscale, sack } = SynCookies.unpackTsBits(seg.options.ts.ecr));
    const c = new TcpConnection(this, { ...t, iss: cookie, tsOffset: this.#isn.tsOffset(t), ...this.pathMtuToward(src, now), passive: true });
    c.listener = l;
    if (l.keepHistory) c.history = new SegmentHistory();
    this.#conns.set(c.key, c);
    l.synQueue.add(c);
    c.openFromCookie(seg, mss, wscale, sack, Math.min(0xffff, this.config.rcvBufSize), now);
    c.segmentArrives(seg, now);
    return true;
  }

  /**
   * TIME-WAIT input (RFC 9293 §3.10.7.4, RFC 1337, RFC 6191). Returns false when a new SYN may
   * reuse the tuple (the entry is gone and the listener should take the SYN).
   */
  #timeWaitInput(tw: TimeWaitEntry, seg: TcpSegment, now: number): boolean {
    const f = seg.flags;
    const c = this.counters;
    // RFC 1337: a RST must not assassinate TIME-WAIT.
    if (f & RST) {
      c.inc('tcp.timeWait.rstIgnored');
      return true;
    }
    const ts = seg.options.ts;
    if (f & SYN && !(f & ACK)) {
      // RFC 6191 §2: newer timestamp (both sides used them), else a higher sequence number (RFC 1122 §4.2.2.13).
      const newer = tw.tsOk && ts !== undefined ? ((tw.tsRecent - ts.val) | 0) < 0 : seqGt(seg.seq, tw.rcvNxt);
      if (newer) {
        c.inc('tcp.timeWait.reused');
        this.timeWait.delete(tw.key);
        this.#reuseIsn.set(tw.key, seqAdd(tw.sndNxt, 65535 + 2));
        return false;
      }
      c.inc('tcp.timeWait.synRejected');
      this.#timeWaitAck(tw, now);
      return true;
    }
    if (tw.tsOk && ts !== undefined && ((ts.val - tw.tsRecent) | 0) < 0) {
      c.inc('tcp.rx.paws');
      this.#timeWaitAck(tw, now);
      return true;
    }
    if (f & FIN && seqAdd(seg.seq, seg.payload.length + 1) === tw.rcvNxt) {
      // "The only thing that can arrive in this state is a retransmission of the remote FIN.
      // Acknowledge it, and restart the 2 MSL timeout."
      c.inc('tcp.timeWait.reAck');
      this.#timeWaitAck(tw, now);
      this.timeWait.restart(tw, now + 2 * this.config.mslMs);
      return true;
    }
    if (seg.payload.length > 0 || f & (SYN | FIN) || seg.seq !== tw.rcvNxt) {
      // Unacceptable in a synchronized state: ACK (rate-limited like any challenge).
      c.inc('tcp.timeWait.unacceptable');
      if (this.takeChallengeAck(now)) this.#timeWaitAck(tw, now);
      return true;
    }
    c.inc('tcp.timeWait.ackIgnored');
    return true;
  }

  #timeWaitAck(tw: TimeWaitEntry, now: number): void {
    const o: TcpOptions = {};
    if (tw.tsOk) o.ts = { val: (Math.floor(now) + tw.tsOffset) >>> 0, ecr: tw.tsRecent };
    this.counters.inc('tcp.timeWait.ackSent');
    this.#transmitSeg(tw, { seq: tw.sndNxt, ack: tw.rcvNxt, flags: ACK, window: tw.window, options: o });
  }

  // ================================================================ ConnectionHost

  transmit(localIp: number, remoteIp: number, segment: Buffer, tx?: SegmentTx): void {
    this.#output(localIp, remoteIp, segment, tx);
  }

  takeChallengeAck(now: number): boolean {
    if (now - this.#challengeWindowStart >= 1000) {
      this.#challengeWindowStart = now;
      this.#challengeCount = 0;
    }
    if (this.#challengeCount >= this.config.challengeAckLimit) return false;
    this.#challengeCount++;
    return true;
  }

  oweAck(c: TcpConnection): boolean {
    if (!this.#inBatch) return false;
    this.#owedAcks.add(c);
    return true;
  }

  mayComplete(c: TcpConnection): boolean {
    const l = c.listener as TcpListener | undefined;
    return l === undefined || (!l.closed && l.acceptQueue.length < l.backlog);
  }

  timerArmed(c: TcpConnection, at: number): void {
    // Only an earlier deadline moves the entry; a later one is found stale when it comes due.
    if (at < this.#deadlines.at(c)) this.#deadlines.set(c, at);
  }

  stateChanged(c: TcpConnection, from: TcpState, to: TcpState, now: number): void {
    const l = c.listener as TcpListener | undefined;
    if (to === 'ESTABLISHED') {
      this.counters.inc('tcp.conn.established');
      if (from === 'SYN-RECEIVED' && l !== undefined && l.synQueue.delete(c)) {
        l.acceptQueue.push(c);
        this.#notify.add(l);
      }
    } else if (to === 'TIME-WAIT') {
      this.#conns.delete(c.key);
      if (this.#lastConn === c) this.#lastConn = undefined;
      this.#deadlines.delete(c);
      this.#detach(c);
      const evicted = this.timeWait.add({
        key: c.key,
        localIp: c.localIp,
        localPort: c.localPort,
        remoteIp: c.remoteIp,
        remotePort: c.remotePort,
        sndNxt: c.sndNxt,
        rcvNxt: c.rcvNxt,
        window: Math.min(0xffff, c.rcvWnd >>> c.rcvWscale),
        tsOk: c.tsOk,
        tsRecent: c.tsRecent,
        tsOffset: c.tsOffset,
        expiresAt: now + 2 * this.config.mslMs,
      });
      this.counters.inc('tcp.timeWait.entered');
      if (evicted !== undefined) this.counters.inc('tcp.timeWait.evicted');
    } else if (to === 'CLOSED') {
      this.#conns.delete(c.key);
      if (this.#lastConn === c) this.#lastConn = undefined;
      this.#deadlines.delete(c);
      this.#detach(c);
      this.counters.inc('tcp.conn.closed');
    }
  }

  #detach(c: TcpConnection): void {
    c.sndBuf.returnGrowth();
    const l = c.listener as TcpListener | undefined;
    if (l === undefined) return;
    l.synQueue.delete(c);
    const i = l.acceptQueue.indexOf(c);
    if (i >= 0) l.acceptQueue.splice(i, 1);
  }

  #flushNotifications(): void {
    if (this.#notify.size === 0) return;
    const ls = [...this.#notify];
    this.#notify.clear();
    for (const l of ls) if (!l.closed && l.acceptQueue.length > 0) l.onConnection?.(l);
  }

  // ================================================================ timers

  /** The earliest time `onDeadline` must run (possibly early: then it finds nothing due), or Infinity. */
  nextDeadline(): number {
    return Math.min(this.timeWait.nextDeadline(), this.#deadlines.minAt);
  }

  /** Run every timer due at `now`: the connections whose heap entry is due, each re-queued at its real next deadline. */
  onDeadline(now: number): void {
    const due: TcpConnection[] = [];
    for (let c = this.#deadlines.popDue(now); c !== undefined; c = this.#deadlines.popDue(now)) due.push(c);
    for (const c of due) {
      if (this.#conns.get(c.key) !== c) continue;
      if (c.nextDeadline() <= now) c.onTimer(now);
      if (this.#conns.get(c.key) === c) this.#deadlines.set(c, c.nextDeadline());
    }
    const n = this.timeWait.expire(now);
    if (n > 0) this.counters.inc('tcp.timeWait.expired', n);
    this.#flushNotifications();
  }

  /** Abort every connection and listener (stack shutdown). */
  close(now: number): void {
    for (const l of [...this.#listeners.values()]) this.closeListener(l, now);
    for (const c of [...this.#conns.values()]) c.abort(now);
  }

  // ================================================================ raw segments

  #sendRaw(localIp: number, remoteIp: number, localPort: number, remotePort: number, seqNo: Seq, ackNo: Seq, flags: number, window: number): void {
    this.#transmitSeg({ localIp, localPort, remoteIp, remotePort }, { seq: seqNo, ack: ackNo, flags, window });
  }

  #transmitSeg(t: FourTuple, s: { seq: Seq; ack: Seq; flags: number; window: number; options?: TcpOptions }): void {
    if (s.flags & RST) this.counters.inc('tcp.tx.rst');
    this.counters.inc('tcp.tx.segments');
    if (log.enabled) log('%d -> %d:%d flags=%d seq=%d ack=%d (no connection)', t.localPort, t.remoteIp, t.remotePort, s.flags, s.seq, s.ack);
    // Built once with room in front for IP's headers (ipv4FrameInPlace), as connections build theirs.
    const hl = TCP_HEADER_MIN + tcpOptionsLength(s.options);
    const buf = Buffer.allocUnsafe(FRAME_HEADROOM + hl).subarray(FRAME_HEADROOM);
    writeTcpHeader(buf, 0, { srcPort: t.localPort, dstPort: t.remotePort, seq: s.seq, ack: s.ack, flags: s.flags, window: s.window }, hl);
    if (s.options !== undefined) writeTcpOptions(buf, TCP_HEADER_MIN, s.options);
    if (this.config.offload) fillTcpPseudoChecksum(buf, t.localIp, t.remoteIp);
    else fillTcpChecksum(buf, t.localIp, t.remoteIp);
    this.#output(t.localIp, t.remoteIp, buf, this.config.offload ? TX_PARTIAL : TX_PLAIN);
  }
}
