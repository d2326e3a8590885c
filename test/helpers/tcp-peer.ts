// A scripted TCP peer for tests over fake time: it injects hand-built segments into a real
// TcpLayer (on a fake Stack that records what the layer sends) and hands back our segments
// parsed, one by one. States are built by driving real segments, never by poking fields.
import { FakeClock } from '../../lib/clock.js';
import { Counters } from '../../lib/counters.js';
import { SeededRng } from '../../lib/rng.js';
import type { TcpConfig } from '../../lib/tcp/config.js';
import type { TcpConnection } from '../../lib/tcp/connection.js';
import type { TcpListener } from '../../lib/tcp/demux.js';
import { type IpHandler, type StackLike, TcpLayer } from '../../lib/tcp/tcp-layer.js';
import type { SendOptions } from '../../lib/net/net-host.js';
import { parseIp } from '../../lib/wire/ip-address.js';
import { type Seq, seq, seqAdd, seqDiff } from '../../lib/wire/seq.js';
import { TCP_FLAGS, type TcpOptions, type TcpSegment, parseTcp, serializeTcp } from '../../lib/wire/tcp.js';

/** Our (the stack's) address and the scripted peer's. */
export const LOCAL = parseIp('10.0.0.2');
export const PEER = parseIp('10.0.0.1');

const LETTERS: Record<string, number> = { F: TCP_FLAGS.FIN, S: TCP_FLAGS.SYN, R: TCP_FLAGS.RST, P: TCP_FLAGS.PSH, A: TCP_FLAGS.ACK, U: TCP_FLAGS.URG };

/** Flags as letters in a fixed order: SYN|ACK = 'SA', FIN|ACK = 'FA', PSH|ACK = 'PA', RST|ACK = 'RA'. */
export function flagLetters(f: number): string {
  let s = '';
  for (const l of 'FSRPAU') if (f & LETTERS[l]!) s += l;
  return s === '' ? '-' : s;
}

function parseLetters(s: string): number {
  let f = 0;
  for (const ch of s) {
    const v = LETTERS[ch];
    if (v === undefined) throw new Error(`bad flag letter ${ch}`);
    f |= v;
  }
  return f;
}

/** A fake Stack recording what TCP sends. */
export class FakeStack implements StackLike {
  readonly counters = new Counters();
  readonly rng: SeededRng;
  readonly ip: number;
  mtu: number;
  pathMtu: number | undefined;
  handler: IpHandler | undefined;
  /** Everything sent, as [dst, payload copy] with the offload IP was asked for (TSO). */
  readonly sent: Array<{ dst: number; payload: Buffer; df: boolean; partialCsum: boolean; gsoSize: number; pieces: number }> = [];
  onSend: ((dst: number, payload: Buffer) => void) | undefined;

  constructor(
    readonly clock: FakeClock,
    opts: { ip?: number; mtu?: number; seed?: number } = {},
  ) {
    this.ip = opts.ip ?? LOCAL;
    this.mtu = opts.mtu ?? 1500;
    this.rng = new SeededRng(opts.seed ?? 1);
  }

  registerProtocol(protocol: number, handler: IpHandler): void {
    if (protocol === 6) this.handler = handler;
  }

  sendIp(dst: number, _protocol: number, payload: Buffer, opts?: SendOptions): void {
    const copy = Buffer.concat([payload, ...(opts?.rest ?? [])]);
    this.sent.push({ dst, payload: copy, df: opts?.df === true, partialCsum: opts?.partialCsum === true, gsoSize: opts?.gsoSize ?? 0, pieces: 1 + (opts?.rest?.length ?? 0) });
    this.onSend?.(dst, copy);
  }
}

/** One of our segments as the peer sees it. */
export interface Out {
  /** Flags as letters, e.g. 'SA'. */
  flags: string;
  seq: Seq;
  ack: Seq;
  win: number;
  len: number;
  payload: Buffer;
  options: TcpOptions;
  seg: TcpSegment;
  /** When it was sent (fake ms). */
  at: number;
}

/** What `send` accepts: defaults track the conversation. */
export interface In {
  flags?: string;
  seq?: number;
  ack?: number;
  win?: number;
  options?: TcpOptions;
  payload?: Buffer | string;
  srcPort?: number;
  dstPort?: number;
}

/** The scripted peer plus the TcpLayer under test. */
export class ScriptedPeer {
  readonly clock: FakeClock;
  readonly stack: FakeStack;
  readonly tcp: TcpLayer;
  readonly counters: Counters;
  /** Peer's port and the local port it talks to. */
  port = 40000;
  localPort = 80;
  /** Peer's ISN and next sequence number. */
  iss: Seq = seq(1_000_000);
  snd: Seq = seq(1_000_000);
  /** What the peer acknowledges next (our next byte). */
  rcv: Seq = seq(0);
  /** Our ISN (learned from our SYN or SYN-ACK). */
  ourIss: Seq = seq(0);
  /** Window field the peer advertises. */
  win = 65535;
  /** Add TS options automatically once timestamps were negotiated. */
  useTs = false;
  /** Peer TSval clock offset. */
  tsBase = 5_000_000;
  lastTsSeen = 0;
  #idx = 0;

  constructor(opts: { config?: Partial<TcpConfig>; mtu?: number; seed?: number; start?: number } = {}) {
    this.clock = new FakeClock(opts.start ?? 0);
    this.stack = new FakeStack(this.clock, { mtu: opts.mtu, seed: opts.seed });
    this.tcp = new TcpLayer(this.stack, opts.config ?? {});
    this.counters = this.stack.counters;
  }

  /** The peer's current TSval. */
  tsNow(): number {
    return (this.tsBase + Math.floor(this.clock.now())) >>> 0;
  }

  /** Inject a segment from the peer (defaults: ACK, seq = snd, ack = rcv, win, TS when on). */
  send(i: In = {}): void {
    const flags = parseLetters(i.flags ?? 'A');
    const payload = typeof i.payload === 'string' ? Buffer.from(i.payload) : (i.payload ?? Buffer.alloc(0));
    const explicitSeq = i.seq !== undefined;
    const s = explicitSeq ? seq(i.seq!) : this.snd;
    const options = i.options ?? (this.useTs ? { ts: { val: this.tsNow(), ecr: this.lastTsSeen } } : {});
    const buf = serializeTcp(
      { srcPort: i.srcPort ?? this.port, dstPort: i.dstPort ?? this.localPort, seq: s, ack: seq(i.ack ?? this.rcv), flags, window: i.win ?? this.win, options, payload },
      PEER,
      LOCAL,
    );
    if (!explicitSeq) this.snd = seqAdd(this.snd, payload.length + (flags & TCP_FLAGS.SYN ? 1 : 0) + (flags & TCP_FLAGS.FIN ? 1 : 0));
    this.stack.handler!.receive(PEER, LOCAL, buf);
  }

  /** Inject what `fn` sends as one read batch of the link (IpHandler batchStart … batchEnd). */
  batch(fn: () => void): void {
    const h = this.stack.handler!;
    h.batchStart?.();
    try {
      fn();
    } finally {
      h.batchEnd?.();
    }
  }

  /** Our segments not yet taken by `next`. */
  get pending(): number {
    return this.stack.sent.length - this.#idx;
  }

  /** Take our next segment (throws if there is none). */
  next(): Out {
    const e = this.stack.sent[this.#idx];
    if (e === undefined) throw new Error(`no segment sent (at ${this.clock.now()} ms)`);
    this.#idx++;
    // A partial checksum (offload) is the link's to complete: gso.test.ts checks that part.
    const seg = parseTcp(e.payload, LOCAL, e.dst, !e.partialCsum);
    if (seg.options.ts !== undefined) this.lastTsSeen = seg.options.ts.val;
    return { flags: flagLetters(seg.flags), seq: seg.seq, ack: seg.ack, win: seg.window, len: seg.payload.length, payload: seg.payload, options: seg.options, seg, at: this.clock.now() };
  }

  /** Take all pending segments. */
  drain(): Out[] {
    const out: Out[] = [];
    while (this.pending > 0) out.push(this.next());
    return out;
  }

  /** The first 8 bytes of our segment with sequence `s` (ports, seq), as an ICMP error quotes it (RFC 792). */
  quote(s: Seq): Buffer {
    const q = Buffer.alloc(8);
    q.writeUInt16BE(this.localPort, 0);
    q.writeUInt16BE(this.port, 2);
    q.writeUInt32BE(s, 4);
    return q;
  }

  /** Our sequence number relative to our ISN. */
  rel(s: Seq): number {
    return seqDiff(s, this.ourIss);
  }

  /** Peer sequence relative to the peer's ISN. */
  prel(s: Seq): number {
    return seqDiff(s, this.iss);
  }

  advance(ms: number): void {
    this.clock.advance(ms);
  }

  advanceTo(t: number): void {
    this.clock.advanceTo(t);
  }

  /**
   * The peer sends a SYN (with `synOptions`) to `localPort` and takes our SYN-ACK (which must be
   * one); learns our ISN from it, so `rcv` acknowledges our SYN. Our side is in SYN-RECEIVED.
   */
  sendSyn(synOptions: TcpOptions = { mss: 1460 }): Out {
    this.send({ flags: 'S', options: synOptions, ack: 0 });
    const synAck = this.next();
    if (synAck.flags !== 'SA') throw new Error(`expected SYN-ACK, got ${synAck.flags}`);
    this.ourIss = synAck.seq;
    this.rcv = seqAdd(synAck.seq, 1);
    this.useTs = synOptions.ts !== undefined && synAck.options.ts !== undefined;
    return synAck;
  }

  /**
   * Passive open up to SYN-RECEIVED: listen on `localPort`, the peer sends a SYN, we answer
   * SYN-ACK (see `sendSyn`). The peer's ACK is left to the test; `handshakePassive` sends it.
   */
  passiveOpen(synOptions: TcpOptions = { mss: 1460 }, backlog?: number): { listener: TcpListener; synAck: Out } {
    const listener = this.tcp.listen(this.localPort, { backlog });
    return { listener, synAck: this.sendSyn(synOptions) };
  }

  /**
   * Passive open: listen on `localPort`, peer sends SYN (with `synOptions`), we answer SYN-ACK,
   * peer ACKs. Returns the accepted connection (ESTABLISHED) and our SYN-ACK.
   */
  handshakePassive(synOptions: TcpOptions = { mss: 1460 }, backlog?: number): { conn: TcpConnection; synAck: Out } {
    const l = this.tcp.listen(this.localPort, { backlog });
    let conn: TcpConnection | undefined;
    l.onConnection = (ll) => {
      conn = ll.accept();
    };
    const synAck = this.sendSyn(synOptions);
    this.send({ flags: 'A' });
    if (conn === undefined) throw new Error('no connection accepted');
    return { conn, synAck };
  }

  /**
   * Active open up to SYN-SENT: we connect to the peer and send our SYN (which must be one); the
   * peer learns our port and ISN from it, so `rcv` acknowledges it. The answer is left to the
   * test; `handshakeActive` sends the SYN-ACK.
   */
  activeOpen(): { conn: TcpConnection; syn: Out } {
    const conn = this.tcp.connect({ host: PEER, port: this.port });
    const syn = this.next();
    if (syn.flags !== 'S') throw new Error(`expected SYN, got ${syn.flags}`);
    this.localPort = syn.seg.srcPort;
    this.ourIss = syn.seq;
    this.rcv = seqAdd(syn.seq, 1);
    return { conn, syn };
  }

  /** Active open to the peer: we send SYN, peer answers SYN-ACK with `synAckOptions`, we ACK. */
  handshakeActive(synAckOptions: TcpOptions = { mss: 1460 }): { conn: TcpConnection; syn: Out; ack: Out } {
    const { conn, syn } = this.activeOpen();
    const opts = { ...synAckOptions };
    if (opts.ts !== undefined) opts.ts = { val: this.tsNow(), ecr: syn.options.ts?.val ?? 0 };
    this.send({ flags: 'SA', options: opts });
    this.useTs = synAckOptions.ts !== undefined && syn.options.ts !== undefined;
    const ack = this.next();
    return { conn, syn, ack };
  }

  /** Collect what the connection reads into a string sink (reads everything on `readable`). */
  collect(conn: TcpConnection): { data: () => Buffer; ended: () => boolean; closedWith: () => string | undefined; closed: () => boolean } {
    const chunks: Buffer[] = [];
    let closed = false;
    let err: string | undefined;
    conn.events.readable = () => {
      this.tcp.run((now) => {
        for (let b = conn.read(now); b !== undefined; b = conn.read(now)) chunks.push(Buffer.from(b));
      });
    };
    conn.events.closed = (e) => {
      closed = true;
      err = e?.code;
    };
    return { data: () => Buffer.concat(chunks), ended: () => conn.readEnded, closedWith: () => err, closed: () => closed };
  }
}

/** Our segment i of 1000 bytes, for a ScriptedPeer sender with MSS 1000 (relative sequence 1 + 1000 i). */
export function segAt(p: ScriptedPeer, i: number): Seq {
  return seqAdd(p.ourIss, 1 + 1000 * i);
}

/** SACK blocks covering our 1000-byte segments [from, to) each. */
export function sackSegs(p: ScriptedPeer, ...ranges: Array<[number, number]>): Array<{ left: Seq; right: Seq }> {
  return ranges.map(([a, b]) => ({ left: segAt(p, a), right: segAt(p, b) }));
}
